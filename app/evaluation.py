"""Evaluation harness: run question sets from eval/questions/ and score them.

Retrieval: hit@1, hit@5 and MRR, for hybrid, dense-only and BM25-only retrieval on the same knowledge base.
A question counts as hit at rank r when the r-th passage is one of its expected (source, locator) chunks.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT

EVAL_DIR = PROJECT_ROOT / "eval"
SHARED_PUBLIC = PROJECT_ROOT.parent / "shared" / "corpus-public"


@dataclass(frozen=True)
class Expected:
    source: str  # path relative to the project ("corpus/cards/x.md") or "corpus-public/x.md"
    locator: str


def load_questions(name: str) -> list[dict]:
    path = EVAL_DIR / "questions" / f"{name}.jsonl"
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def matches(source: str, locator: str, expected: Expected) -> bool:
    return source.replace("\\", "/").endswith("/" + expected.source) and locator == expected.locator


def first_hit_rank(ranked: list[tuple[str, str]], expected: list[Expected]) -> int | None:
    """1-based rank of the first retrieved (source, locator) that is expected, else None."""
    for rank, (source, locator) in enumerate(ranked, start=1):
        if any(matches(source, locator, e) for e in expected):
            return rank
    return None


def retrieval_summary(ranks: list[int | None]) -> dict:
    n = len(ranks) or 1
    return {
        "questions": len(ranks),
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def run_retrieval_eval(copilot, modes=("hybrid", "dense", "lexical"), k: int = 10) -> dict:
    questions = load_questions("retrieval")
    present = {d.source.replace("\\", "/") for d in copilot.kb.documents()}
    usable, skipped = [], []
    for q in questions:
        expected = [Expected(e["source"], e["locator"]) for e in q["expected"]]
        if any(p.endswith("/" + e.source) for e in expected for p in present):
            usable.append((q, expected))
        else:
            skipped.append(q["id"])
    results: dict = {"date": str(dt.date.today()), "kb_chunks": copilot.kb.chunk_count(),
                     "skipped": skipped, "modes": {}, "rows": []}
    per_mode_ranks: dict[str, list] = {m: [] for m in modes}
    latencies: dict[str, list] = {m: [] for m in modes}
    for q, expected in usable:
        row = {"id": q["id"], "question": q["question"], "category": q.get("category", "")}
        for mode in modes:
            hits, seconds = copilot.retrieve(q["question"], k=k, mode=mode)
            rank = first_hit_rank([(h.chunk.source, h.chunk.locator) for h in hits], expected)
            per_mode_ranks[mode].append(rank)
            latencies[mode].append(seconds)
            row[mode] = rank
        results["rows"].append(row)
    for mode in modes:
        summary = retrieval_summary(per_mode_ranks[mode])
        lat = sorted(latencies[mode]) or [0.0]
        summary["latency_p50_ms"] = 1000 * lat[len(lat) // 2]
        summary["latency_p95_ms"] = 1000 * lat[min(len(lat) - 1, int(0.95 * (len(lat) - 1) + 0.5))]
        results["modes"][mode] = summary
    return results


def retrieval_report(results: dict) -> str:
    lines = [f"# Retrieval evaluation {results['date']}", "",
             f"Knowledge base: {results['kb_chunks']} chunks; questions: "
             f"{next(iter(results['modes'].values()))['questions']} (skipped, source not loaded: "
             f"{len(results['skipped'])}).", "",
             "| mode | hit@1 | hit@5 | MRR | p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
    for mode, s in results["modes"].items():
        lines.append(f"| {mode} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr']:.3f} | "
                     f"{s['latency_p50_ms']:.1f} | {s['latency_p95_ms']:.1f} |")
    lines += ["", "| id | category | question | " + " | ".join(results["modes"]) + " |",
              "|---|---|---|" + "---|" * len(results["modes"])]
    for row in results["rows"]:
        ranks = " | ".join("–" if row[m] is None else str(row[m]) for m in results["modes"])
        lines.append(f"| {row['id']} | {row['category']} | {row['question']} | {ranks} |")
    return "\n".join(lines) + "\n"


def write_results(results: dict, report: str, suite: str) -> Path:
    out_dir = EVAL_DIR / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{results['date']}-{suite}"
    stem.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    stem.with_suffix(".md").write_text(report, encoding="utf-8")
    return stem.with_suffix(".md")
