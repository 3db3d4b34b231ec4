"""`geohazard` command line. The JSON shapes printed here are a public contract (tests/test_cli_contract.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.config import load_settings
from app.errors import ServiceError
from app.interfaces.render import ask_payload, assessment_json, render_assessment, render_graded, render_hits
from app.provision import MODELS, ModelError, install_model, model_status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, ServiceError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="geohazard", description="地灾应急决策助手 GeoHazard Copilot")
    sub = parser.add_subparsers(dest="command", required=True)

    def kb_arg(p):
        p.add_argument("--kb", type=Path, help="知识库目录 / knowledge-base directory (default: bundled corpus)")

    p = sub.add_parser("ingest", help="导入文件或文件夹 / ingest files or folders")
    p.add_argument("paths", nargs="+", type=Path)
    kb_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    for name, func, helptext in (("retrieve", cmd_retrieve, "检索 / retrieve passages"),
                                 ("ask", cmd_ask, "提问 / ask a question")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("question", nargs="?")
        kb_arg(p)
        p.add_argument("-k", type=int, default=None, help="number of passages")
        p.add_argument("--json", action="store_true")
        p.add_argument("--batch", type=Path, help="JSONL file of {id, question}; prints one JSON line each")
        if name == "retrieve":
            p.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
        p.set_defaults(func=func)

    p = sub.add_parser("assess", help="险情/灾情研判 / assess a situation")
    p.add_argument("situation", help="情况描述，如：某村后山滑坡，威胁45户约180人，潜在经济损失约3000万元")
    kb_arg(p)
    p.add_argument("--region", help="事发地区（默认从描述中识别）")
    p.add_argument("--persons-per-household", type=float, default=None,
                   help="只有户数时按此户均人数估算（会在结果中写明这一假设）")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("list", help="列出已导入文档 / list documents")
    kb_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="移除文档 / remove a document")
    p.add_argument("path", type=Path)
    kb_arg(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("chat", help="终端对话 / chat in the terminal")
    kb_arg(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="启动浏览器界面 / start the web UI")
    kb_arg(p)
    p.add_argument("--host", default=None, help="绑定地址（默认 127.0.0.1；其他地址必须设置登录）")
    p.add_argument("--port", type=int, default=None, help="端口（默认 7860）")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="评测 / run an evaluation suite from eval/")
    p.add_argument("suite", choices=["retrieval", "answers", "all"])
    p.add_argument("--limit", type=int, default=None, help="answers: only the first N questions")
    p.add_argument("--kb", type=Path, help="default: an eval KB of corpus/ plus ../shared/corpus-public/")
    p.add_argument("--no-write", action="store_true", help="print only; do not write eval/results/")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=None,
                   help="同时评测朴素基线 / also run the naive LangChain baseline (default: on for answers and all)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="性能基准 / benchmark speed, memory and ingest on this machine")
    p.add_argument("--model", choices=sorted(MODELS), default=None, help="default: GEOHAZARD_MODEL")
    p.add_argument("--kb", type=Path, help="LLM and retrieval questions run on this KB (default: bundled corpus)")
    p.add_argument("--runs", type=int, default=6, help="questions per LLM measurement")
    p.add_argument("--sizes", default="1000,10000,100000", help="synthetic KB sizes for retrieval latency")
    p.add_argument("--skip-llm", action="store_true", help="no model: retrieval and ingest only")
    p.add_argument("--skip-ingest", action="store_true", help="no ingest throughput measurement")
    p.add_argument("--ingest-files", type=int, default=12, help="corpus files ingested (as text and as PDF)")
    p.add_argument("--no-write", action="store_true", help="print only; do not write eval/results/")
    p.set_defaults(func=cmd_bench)

    audit_cmd = sub.add_parser("audit", help="审计日志 / audit log").add_subparsers(dest="action", required=True)
    p = audit_cmd.add_parser("export", help="导出审计记录 / export records")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--out", type=Path, help="output file (default: standard output)")
    p.add_argument("--since", help="only records at or after this ISO time, e.g. 2026-01-02 or 2026-01-02T08:00+08:00")
    p.set_defaults(func=cmd_audit_export)
    p = audit_cmd.add_parser("verify", help="校验哈希链 / verify the hash chain")
    p.set_defaults(func=cmd_audit_verify)

    model = sub.add_parser("model", help="模型管理 / model management").add_subparsers(dest="action", required=True)
    p = model.add_parser("install", help="下载、拼接并校验模型 / fetch, assemble and verify")
    p.add_argument("--model", choices=sorted(MODELS), default=None)
    p.set_defaults(func=cmd_model_install)
    p = model.add_parser("status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_model_status)
    return parser


def _copilot(args):
    from app.pipeline import Copilot

    return Copilot(load_settings(), getattr(args, "kb", None))


def _questions(args) -> list[tuple[object, str]]:
    if args.batch:
        items = []
        for line_no, line in enumerate(args.batch.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                row = json.loads(line)
                items.append((row.get("id", line_no), str(row["question"])))
        return items
    if not args.question:
        raise SystemExit("需要问题或 --batch / a QUESTION or --batch FILE is required")
    return [(None, args.question)]


def _emit(payload: dict) -> None:
    print(json.dumps(payload, ensure_ascii=False), flush=True)


def cmd_ingest(args) -> int:
    results = _copilot(args).ingest(args.paths, progress=not args.json)
    for r in results:
        if args.json:
            _emit({"path": r.path, "status": r.status, "chunks": r.chunks, "message": r.message,
                   "warnings": r.warnings})
        else:
            mark = {"added": "✓ 新增", "updated": "✓ 更新", "unchanged": "= 未变", "skipped": "- 跳过"}.get(
                r.status, "✗ 失败")
            detail = f"{r.chunks} 段 / chunks" if r.chunks else r.message
            print(f"{mark}  {r.path}  {detail}")
            for w in r.warnings:
                print(f"    ⚠ {w}")
    failed = sum(1 for r in results if not r.ok)
    if not args.json:
        print(f"完成 / done: {len(results) - failed} ok, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_retrieve(args) -> int:
    copilot = _copilot(args)
    for qid, question in _questions(args):
        hits, seconds = copilot.retrieve(question, args.k, args.mode)
        payload = {"question": question, "hits": [h.to_json() for h in hits], "retrieve_s": round(seconds, 4)}
        if args.batch:
            payload = {"id": qid, **payload}
        if args.json or args.batch:
            _emit(payload)
        else:
            for h in hits:
                print(f"[{h.rank}] {h.score:.4f} 《{h.chunk.title}》 {h.chunk.locator}\n    {h.chunk.text[:120]}")
    return 0


def cmd_assess(args) -> int:
    copilot = _copilot(args)
    show = None if args.json else (lambda prelim: print(render_graded(prelim) + "\n", flush=True))
    assessment = copilot.assess(args.situation, args.region, args.persons_per_household, on_graded=show)
    if args.json:
        _emit(assessment_json(assessment, copilot.model_info))
    else:
        print(render_assessment(assessment))
    return 0


def cmd_ask(args) -> int:
    copilot = _copilot(args)
    for qid, question in _questions(args):
        stream = None if (args.json or args.batch) else (lambda piece: print(piece, end="", flush=True))
        show = None if stream is None else (lambda hits: print(render_hits(hits) + "\n", flush=True))
        graded = None if stream is None else (lambda prelim: print(render_graded(prelim) + "\n", flush=True))
        payload, text = ask_payload(copilot, question, args.k, on_token=stream, on_hits=show, on_graded=graded)
        if args.json or args.batch:
            _emit({"id": qid, **payload} if args.batch else payload)
        else:
            print("\n\n" + text)
    return 0


def cmd_list(args) -> int:
    docs = _copilot(args).kb.documents()
    for d in docs:
        if args.json:
            _emit({"source": d.source, "title": d.title, "doc_type": d.doc_type, "chunks": d.chunk_count,
                   "ingested_at": d.ingested_at, "status": d.status, "warnings": d.warnings})
        else:
            print(f"{d.doc_type:10s} {d.chunk_count:4d}  {d.title}  ({d.source})")
    return 0


def cmd_remove(args) -> int:
    removed = _copilot(args).kb.remove(str(args.path.resolve()))
    print("已移除 / removed" if removed else "未找到该文档 / not in the knowledge base")
    return 0 if removed else 1


def cmd_serve(args) -> int:
    from app.interfaces.web import ConfigError, serve

    try:
        serve(_copilot(args), args.host, args.port)
    except ConfigError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_chat(args) -> int:
    copilot = _copilot(args)
    print("地灾应急决策助手（终端模式）。输入问题回车；输入 exit 退出。", flush=True)
    _ = copilot.kb, copilot.llm
    while True:
        try:
            question = input("\n问> ").strip()
        except EOFError:
            return 0
        if question.lower() in ("exit", "quit", "退出"):
            return 0
        if question:
            _, text = ask_payload(copilot, question, on_token=lambda p: print(p, end="", flush=True),
                                  on_hits=lambda hits: print(render_hits(hits) + "\n", flush=True),
                                  on_graded=lambda prelim: print(render_graded(prelim) + "\n", flush=True))
            print("\n\n" + text)


def cmd_eval(args) -> int:
    from app.interfaces import eval_report, evaluation
    from app.pipeline import Copilot

    settings = load_settings()
    if args.kb:
        copilot = Copilot(settings, args.kb)
    else:
        copilot = Copilot(settings, settings.home / "kb" / "eval")
        sources = [settings.corpus_dir] + ([evaluation.SHARED_PUBLIC] if evaluation.SHARED_PUBLIC.is_dir() else [])
        failed = [r for r in copilot.ingest(sources, progress=True) if not r.ok]
        for r in failed:
            print(f"✗ {r.path}: {r.message}", file=sys.stderr)
    suites = ["retrieval", "answers"] if args.suite == "all" else [args.suite]
    use_baseline = args.baseline if args.baseline is not None else args.suite in ("answers", "all")
    baseline = None
    if use_baseline:
        baseline_sources = [Path(d.source) for d in copilot.kb.documents() if Path(d.source).exists()]
        baseline = evaluation.make_baseline(copilot, baseline_sources)
    for suite in suites:
        if suite == "retrieval":
            results = evaluation.run_retrieval_eval(copilot, baseline=baseline)
        else:
            questions = evaluation.load_questions("answers")[: args.limit]
            results = evaluation.run_answers_eval(copilot, questions, baseline=baseline)
        previous = eval_report.previous_results(suite, results["date"])  # read before this run replaces it
        if not args.no_write:
            eval_report.save_json(results, suite)
        render = eval_report.retrieval_report if suite == "retrieval" else eval_report.answers_report
        report = render(results, previous)
        print(report)
        if not args.no_write:
            print(f"写入 / written: {eval_report.write_results(results, report, suite)}", file=sys.stderr)
    return 0


def cmd_audit_export(args) -> int:
    from datetime import datetime

    from app import audit

    try:
        since = datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"错误：无法识别的时间 / error: not an ISO time: {args.since}", file=sys.stderr)
        return 2
    db = audit.connect(load_settings().audit_db)
    try:
        records = audit.read_records(db, since)
    finally:
        db.close()
    text = audit.to_csv(records) if args.format == "csv" else audit.to_jsonl(records)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        print(f"已导出 / exported: {len(records)} records → {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_audit_verify(args) -> int:
    from app import audit

    path = load_settings().audit_db
    db = audit.connect(path)
    try:
        records = audit.read_records(db)
    finally:
        db.close()
    problems = audit.verify_chain(records)
    for problem in problems:
        print(f"✗ {problem}")
    if problems:
        print(f"审计日志已被篡改 / audit log tampered: {len(problems)} problems in {len(records)} records ({path})")
        return 1
    head = records[-1]["hash"] if records else audit.GENESIS
    print(f"审计日志完整 / audit chain intact: {len(records)} records, head {head} ({path})")
    return 0


def cmd_bench(args) -> int:
    from app.interfaces.bench import run_bench

    return run_bench(args)


def cmd_model_install(args) -> int:
    settings = load_settings()
    install_model(settings.models_dir, args.model or settings.model, log=lambda m: print(m, file=sys.stderr))
    return 0


def cmd_model_status(args) -> int:
    rows = model_status(load_settings().models_dir)
    for row in rows:
        if args.json:
            _emit(row)
        else:
            print(f"{row['name']:10s} {'已安装 installed' if row['installed'] else '未安装 missing':16s} {row['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
