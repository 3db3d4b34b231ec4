"""`python -m eval eval {retrieval,answers,dialogues,all}` and `python -m eval bench …` (also reachable as
`geohazard eval` and `geohazard bench`, which run this module in the project checkout). Needs the `eval` extra
(matplotlib, fpdf2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.config import load_settings
from app.provision import MODELS


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="geohazard", description="评测与性能基准 / evaluation and benchmarks")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("eval", help="评测 / run an evaluation suite from eval/")
    p.add_argument("suite", choices=["retrieval", "answers", "dialogues", "all"],
                   help="all = retrieval and answers; dialogues runs on its own (with and without history)")
    p.add_argument("--limit", type=int, default=None, help="answers, dialogues: only the first N")
    p.add_argument("--kb", type=Path, help="default: an eval KB of corpus/ plus ../shared/corpus-public/")
    p.add_argument("--no-write", action="store_true", help="print only; do not write eval/results/")
    p.add_argument("--tag", default="", help="suffix for the result files, e.g. avx2 → <date>-answers-avx2.md "
                   "(another llama.cpp build on the same questions; compare with python -m eval.builds)")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=None,
                   help="同时评测朴素基线 / also run the naive LangChain baseline "
                        "(default: on for answers and all; "
                        "not for dialogues, whose comparison is the same dialogues without history)")
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
    return top


def cmd_eval(args) -> int:
    from app.pipeline import Copilot
    from eval import harness, report as eval_report

    settings = load_settings()
    if args.kb:
        copilot = Copilot(settings, args.kb)
    else:
        copilot = Copilot(settings, settings.home / "kb" / "eval")
        sources = [settings.corpus_dir] + ([harness.SHARED_PUBLIC] if harness.SHARED_PUBLIC.is_dir() else [])
        failed = [r for r in copilot.ingest(sources, progress=True) if not r.ok]
        for r in failed:
            print(f"✗ {r.path}: {r.message}", file=sys.stderr)
    if args.suite == "dialogues":
        if args.baseline:
            print("dialogues: --baseline does not apply (the comparison is the last message without history)",
                  file=sys.stderr)
        return _eval_dialogues(copilot, args)
    suites = ["retrieval", "answers"] if args.suite == "all" else [args.suite]
    use_baseline = args.baseline if args.baseline is not None else args.suite in ("answers", "all")
    baseline = None
    if use_baseline:
        baseline_sources = [Path(d.source) for d in copilot.kb.documents() if Path(d.source).exists()]
        baseline = harness.make_baseline(copilot, baseline_sources)
    for suite in suites:
        if suite == "retrieval":
            results = harness.run_retrieval_eval(copilot, baseline=baseline)
        else:
            questions = harness.load_questions("answers")[: args.limit]
            results = harness.run_answers_eval(copilot, questions, baseline=baseline)
        name = f"{suite}-{args.tag}" if args.tag else suite  # a tagged run (another build) keeps its own files
        results["name"] = name
        previous = eval_report.previous_results(name, results["date"])  # read before this run replaces it
        if not args.no_write:
            eval_report.save_json(results, name)
        render = eval_report.retrieval_report if suite == "retrieval" else eval_report.answers_report
        report = render(results, previous)
        print(report)
        if not args.no_write:
            print(f"写入 / written: {eval_report.write_results(results, report, name)}", file=sys.stderr)
    return 0


def _eval_dialogues(copilot, args) -> int:
    from eval import dialogues, dialogues_report, report as eval_report

    results = dialogues.run_both(copilot, dialogues.load_dialogues()[: args.limit])
    previous = eval_report.previous_results("dialogues", results["date"])  # read before this run replaces it
    if not args.no_write:
        eval_report.save_json(results, "dialogues")
    report = dialogues_report.dialogues_report(results, previous)
    print(report)
    if not args.no_write:
        print(f"写入 / written: {dialogues_report.write_dialogue_results(results, report)}", file=sys.stderr)
    return 0


def cmd_bench(args) -> int:
    from eval.bench import run_bench

    return run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
