"""Benchmark the answer path on this machine: model load, retrieval latency, time to first token,
decode tokens/s, end-to-end time and peak RSS. Writes a Markdown table to eval/results/.

    .venv/bin/python eval/benchmark.py [--model qwen1.5b] [--kb DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import time
from pathlib import Path

from app.config import load_settings
from app.interfaces.evaluation import percentile
from app.pipeline import Copilot

QUESTIONS = [
    "接到地质灾害险情报告后，当地政府应当怎样组织群众转移？",
    "险情中受威胁人数达到多少算大型？",
    "泥石流来了应该往哪里跑？",
    "发现滑坡前兆后群测群防员应该做什么？",
    "地质灾害气象风险预警分几个等级？",
    "镇雄凉水村滑坡造成多少人死亡？",
    "重庆对特大型地质灾害的报告时限是多少？",
    "危险区里禁止哪些活动？",
]


def cpu_description() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
        name = next(ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name"))
        flags = next(ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags"))
        simd = [f for f in flags if f.startswith(("avx2", "avx512f", "amx"))]
        return f"{name}, {os.cpu_count()} cores, {' '.join(simd)}"
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen1.5b")
    parser.add_argument("--kb", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    copilot = Copilot(load_settings(model=args.model), args.kb)
    kb_chunks = copilot.kb.chunk_count()
    copilot.retrieve("预热 warm-up")  # embedding model and BM25 index load
    retrieval = []
    for _ in range(3):
        for q in QUESTIONS:
            retrieval.append(copilot.retrieve(q)[1])
    start = time.perf_counter()
    copilot.llm
    load_s = time.perf_counter() - start

    rows = []
    for q in QUESTIONS[: args.runs]:
        answer = copilot.ask(q)
        t = answer.timings
        if t["first_token_s"] is None:
            rows.append((q, t["retrieve_s"], None, None, t["total_s"], 0))
            continue
        generated = t["completion_tokens"]  # reasoning and answer, as streamed
        decode_s = max(t["total_s"] - t["first_token_s"], 1e-6)
        rows.append((q, t["retrieve_s"], t["first_token_s"], (generated - 1) / decode_s, t["total_s"], generated))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ttft = [r[2] for r in rows if r[2] is not None]
    tps = [r[3] for r in rows if r[3] is not None]
    total = [r[4] for r in rows]
    lines = [
        f"# Benchmark {dt.date.today()} — {copilot.model_info.name}",
        "",
        f"Machine: {cpu_description()}; Python {platform.python_version()}; "
        f"knowledge base: {kb_chunks} chunks; n_threads={copilot.settings.n_threads}.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| model load | {load_s:.2f} s |",
        f"| retrieval latency p50 / p95 ({len(retrieval)} queries) | "
        f"{percentile(retrieval, .5) * 1000:.1f} ms / {percentile(retrieval, .95) * 1000:.1f} ms |",
        f"| time to first token, median ({len(ttft)} questions) | {statistics.median(ttft):.2f} s |"
        if ttft else "| time to first token | n/a (all refused) |",
        f"| decode speed, median | {statistics.median(tps):.1f} tokens/s (generated tokens after the first) |"
        if tps else "| decode speed | n/a |",
        f"| end-to-end answer time, median | {statistics.median(total):.2f} s |",
        f"| peak RSS | {peak_rss_mb:.0f} MB |",
        "",
        "| question | retrieve s | first token s | tokens/s | total s | generated tokens |",
        "|---|---|---|---|---|---|",
    ]
    for q, r, f, s, tot, n in rows:
        lines.append(f"| {q} | {r:.3f} | {'' if f is None else f'{f:.2f}'} | {'' if s is None else f'{s:.1f}'} "
                     f"| {tot:.2f} | {n} |")
    report = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results" / f"{dt.date.today()}-bench-{args.model}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
