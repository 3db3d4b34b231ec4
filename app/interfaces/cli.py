"""`geohazard` command line. The JSON shapes printed here are a public contract (tests/test_cli_contract.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.config import load_settings
from app.errors import ServiceError
from app.interfaces.render import assessment_json, render_assessment, render_graded, render_hits, reply_payload
from app.interfaces.cli_admin import (cmd_audit_export, cmd_audit_head, cmd_audit_verify, cmd_forward,
                                      cmd_model_install, cmd_model_status, cmd_reach, emit)
from app.provision import MODELS, ModelError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.umask(0o077)  # knowledge bases, conversations, audit log, briefs: readable by this account only
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
        p.add_argument("--batch", type=Path, help="JSONL file of {id, question[, conversation]}; prints one JSON "
                       "line each; lines with the same conversation are turns of one conversation")
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

    p = sub.add_parser("reach", help="影响范围估算 / runout estimate from published relations (no model)")
    p.add_argument("text", nargs="?", help="情况描述（可代替下列参数），如：约50万方滑坡，高差约300米")
    p.add_argument("--type", dest="hazard_type", choices=["滑坡", "崩塌", "泥石流", "碎屑流"])
    p.add_argument("--volume", type=float, help="体积/一次冲出方量，立方米")
    p.add_argument("--height", type=float, help="高差：后缘（物源区顶部）至坡脚（堆积区）的落差，米")
    p.add_argument("--path", choices=["open", "channelized", "obstructed"], help="运动路径：开阔/沟道/受阻")
    p.add_argument("--material", choices=["rock", "soil", "loess", "fill"], help="物质：岩质/土质/黄土/填土")
    p.add_argument("--slope-height", type=float, help="坡高，米（与坡度一起确定坡脚位置）")
    p.add_argument("--slope-angle", type=float, help="坡度，度")
    p.add_argument("--channel-length", type=float, help="泥石流沟长，米")
    p.add_argument("--distance", type=float, help="村庄等距坡脚（沟口）的水平距离，米")
    p.add_argument("--svg", type=Path, help="把剖面示意图写入此 SVG 文件")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reach)

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

    for name, helptext in (("eval", "评测 / run an evaluation suite from eval/ (python -m eval eval --help)"),
                           ("bench", "性能基准 / benchmark speed, memory and ingest (python -m eval bench --help)")):
        p = sub.add_parser(name, help=helptext, add_help=False)  # every argument, --help too, goes to eval/
        p.add_argument("args", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_forward)

    audit_cmd = sub.add_parser("audit", help="审计日志 / audit log").add_subparsers(dest="action", required=True)
    p = audit_cmd.add_parser("export", help="导出审计记录 / export records")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--out", type=Path, help="output file (default: standard output)")
    p.add_argument("--since", help="only records at or after this ISO time, e.g. 2026-01-02 or 2026-01-02T08:00+08:00")
    p.set_defaults(func=cmd_audit_export)
    p = audit_cmd.add_parser("verify", help="校验哈希链 / verify the hash chain")
    p.add_argument("--expect", metavar="HASH", help="a head hash noted earlier (geohazard audit head) and kept "
                                                    "elsewhere: it must still be in the chain")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_cmd.add_parser("head", help="打印最新记录的哈希 / print the newest record's hash")
    p.set_defaults(func=cmd_audit_head)

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


def _questions(args) -> list[tuple[object, str, str | None]]:
    """(id, question, conversation id) for each line of --batch (lines with the same "conversation" are turns
    of one conversation, in file order), or the one question given."""
    if args.batch:
        items = []
        for line_no, line in enumerate(args.batch.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                row = json.loads(line)
                conversation = row.get("conversation")
                items.append((row.get("id", line_no), str(row["question"]),
                              None if conversation is None else str(conversation)))
        return items
    if not args.question:
        raise SystemExit("需要问题或 --batch / a QUESTION or --batch FILE is required")
    return [(None, args.question, None)]


def cmd_ingest(args) -> int:
    results = _copilot(args).ingest(args.paths, progress=not args.json)
    for r in results:
        if args.json:
            emit({"path": r.path, "status": r.status, "chunks": r.chunks, "message": r.message,
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
    for qid, question, _ in _questions(args):
        hits, seconds = copilot.retrieve(question, args.k, args.mode)
        payload = {"question": question, "hits": [h.to_json() for h in hits], "retrieve_s": round(seconds, 4)}
        if args.batch:
            payload = {"id": qid, **payload}
        if args.json or args.batch:
            emit(payload)
        else:
            for h in hits:
                print(f"[{h.rank}] {h.score:.4f} 《{h.chunk.title}》 {h.chunk.locator}\n    {h.chunk.text[:120]}")
    return 0


def cmd_assess(args) -> int:
    copilot = _copilot(args)
    show = None if args.json else (lambda prelim: print(render_graded(prelim) + "\n", flush=True))
    assessment = copilot.assess(args.situation, args.region, args.persons_per_household, on_graded=show)
    if args.json:
        emit(assessment_json(assessment, copilot.model_info))
    else:
        print(render_assessment(assessment))
    return 0


def _show_hits(hits) -> None:
    if hits:
        print(render_hits(hits) + "\n", flush=True)


def _reply(copilot, question: str, k: int | None, stream: bool, conversation=None) -> tuple[dict, str]:
    """One message through the router; when streaming, sources (or the grade card) are printed first."""
    if not stream:
        return reply_payload(copilot.reply(question, k, conversation=conversation), copilot.model_info)
    result = copilot.reply(
        question, k, conversation=conversation, on_token=lambda piece: print(piece, end="", flush=True),
        on_hits=_show_hits, on_graded=lambda prelim: print(render_graded(prelim) + "\n", flush=True))
    return reply_payload(result, copilot.model_info)


def cmd_ask(args) -> int:
    from app.reason.conversation import ConversationState

    copilot = _copilot(args)
    conversations: dict[str, ConversationState] = {}
    for qid, question, conversation_id in _questions(args):
        machine = args.json or args.batch
        state = None if conversation_id is None else conversations.setdefault(conversation_id, ConversationState())
        payload, text = _reply(copilot, question, args.k, stream=not machine, conversation=state)
        if conversation_id is not None:
            payload = {"conversation": conversation_id, **payload}
        if machine:
            emit({"id": qid, **payload} if args.batch else payload)
        else:
            print("\n\n" + text)
    return 0


def cmd_list(args) -> int:
    docs = _copilot(args).kb.documents()
    for d in docs:
        if args.json:
            emit({"source": d.source, "title": d.title, "doc_type": d.doc_type, "chunks": d.chunk_count,
                   "ingested_at": d.ingested_at, "status": d.status, "warnings": d.warnings})
        else:
            waiting = "  〔向量生成中，暂仅关键词检索〕" if d.status == "lexical" else ""
            print(f"{d.doc_type:10s} {d.chunk_count:4d}  {d.title}  ({d.source}){waiting}")
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
    from app.reason.conversation import ConversationState

    copilot = _copilot(args)
    print("地灾应急决策助手（终端模式）。输入问题回车；追问和续报会接着上文理解；输入 exit 退出。", flush=True)
    _ = copilot.kb, copilot.llm
    state = ConversationState()  # follow-ups and incident updates build on the earlier messages
    while True:
        try:
            question = input("\n问> ").strip()
        except EOFError:
            return 0
        if question.lower() in ("exit", "quit", "退出"):
            return 0
        if question:
            _, text = _reply(copilot, question, None, stream=True, conversation=state)
            print("\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())
