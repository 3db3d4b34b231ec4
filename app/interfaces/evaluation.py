"""Evaluation harness: run question sets from eval/questions/ and score them.

Answers: fact recall, answer correctness, grade accuracy, refusal accuracy, false-refusal rate, citation
validity (a cited passage is one that holds the fact) and the unsupported-sentence rate.

Retrieval: hit@1, hit@5 and MRR, for hybrid, dense-only and BM25-only retrieval on the same knowledge base.
A question counts as hit at rank r when the r-th passage is one of its expected (source, locator) chunks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT

EVAL_DIR = PROJECT_ROOT / "eval"
SHARED_PUBLIC = PROJECT_ROOT.parent / "shared" / "corpus-public"


@dataclass(frozen=True)
class Expected:
    source: str  # path relative to the project ("corpus/cards/x.md") or "corpus-public/x.md"
    locator: str


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


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
        lat = latencies[mode] or [0.0]
        summary["latency_p50_ms"] = 1000 * percentile(lat, 0.5)
        summary["latency_p95_ms"] = 1000 * percentile(lat, 0.95)
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


def fact_found(answer: str, alternatives: list[str]) -> bool:
    """A fact counts when any accepted wording appears; grade words are matched as whole grades
    (大型 inside 特大型 does not count)."""
    text = answer.replace(" ", "")
    for alt in alternatives:
        for match in re.finditer(re.escape(alt), text):
            if alt in ("大型", "中型", "小型") and text[max(0, match.start() - 1):match.start()] == "特":
                continue
            if alt in ("I级", "II级") and match.start() > 0 and text[match.start() - 1] == "I":
                continue
            return True
    return False


def run_answers_eval(copilot, questions: list[dict] | None = None) -> dict:
    """Answer every question of eval/questions/answers.jsonl and score facts, grades, refusals, citations."""
    from app.interfaces.render import ask_payload

    questions = questions if questions is not None else load_questions("answers")
    rows = []
    for q in questions:
        start = time.perf_counter()
        payload, text = ask_payload(copilot, q["question"])
        seconds = time.perf_counter() - start
        expected = [Expected(e["source"], e["locator"]) for e in q.get("sources", [])]
        cited = [(c["source"], c["locator"]) for c in payload["citations"]]
        facts = q.get("facts", [])
        row = {
            "id": q["id"], "kind": q["kind"], "category": q.get("category", ""), "question": q["question"],
            "refused": payload["refused"], "seconds": round(seconds, 2),
            "facts_found": sum(fact_found(text, alts) for alts in facts), "facts": len(facts),
            "citation_valid": first_hit_rank(cited, expected) is not None if expected else None,
            "citations": len(cited), "invalid_citations": len(payload["invalid_citations"]),
            "unsupported": payload["unsupported_sentences"], "sentences": _sentence_count(payload["answer"]),
            "answer": payload["answer"],
        }
        if q["kind"] == "grade":
            row["grade_ok"] = _grade_matches(payload.get("assessment"), q["expected"])
        rows.append(row)
        print(f"[{len(rows)}/{len(questions)}] {q['id']} refused={row['refused']} facts={row['facts_found']}/"
              f"{row['facts']} {seconds:.1f}s", file=sys.stderr, flush=True)
    return {"date": str(dt.date.today()), "model": copilot.model_info.name, "rows": rows,
            "summary": answers_summary(rows)}


def answers_summary(rows: list[dict]) -> dict:
    def share(values):
        values = list(values)
        return sum(values) / len(values) if values else None

    answerable = [r for r in rows if r["kind"] != "refusal"]
    facts = [r for r in rows if r["kind"] == "fact"]
    answered = [r for r in answerable if not r["refused"]]
    seconds = [r["seconds"] for r in rows] or [0.0]
    return {
        "questions": len(rows),
        "fact_recall": share(r["facts_found"] / r["facts"] for r in facts if r["facts"]),
        "answer_correctness": share(r["facts_found"] == r["facts"] for r in facts if r["facts"]),
        "grade_accuracy": share(r["grade_ok"] for r in rows if r["kind"] == "grade"),
        "refusal_accuracy": share(r["refused"] == (r["kind"] == "refusal") for r in rows),
        "false_refusal_rate": share(r["refused"] for r in answerable),
        "citation_validity": share(r["citation_valid"] for r in answered if r["citation_valid"] is not None),
        "unsupported_sentence_rate": (sum(r["unsupported"] for r in answered)
                                      / max(1, sum(r["sentences"] for r in answered))),
        "latency_p50_s": percentile(seconds, 0.5),
        "latency_p95_s": percentile(seconds, 0.95),
    }


def answers_report(results: dict) -> str:
    s = results["summary"]

    def pct(v):
        return "n/a" if v is None else f"{v:.3f}"

    lines = [f"# Answer evaluation {results['date']} — {results['model']}", "",
             f"Questions: {s['questions']}.", "", "| metric | value |", "|---|---|"]
    for key in ("fact_recall", "answer_correctness", "grade_accuracy", "refusal_accuracy", "false_refusal_rate",
                "citation_validity", "unsupported_sentence_rate"):
        lines.append(f"| {key} | {pct(s[key])} |")
    lines += [f"| latency p50 / p95 | {s['latency_p50_s']:.1f} s / {s['latency_p95_s']:.1f} s |", "",
              "| id | kind | refused | facts | grade ok | cited right | unsupported | s | answer |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        answer = r["answer"].replace("\n", " ").replace("|", "\\|")[:160]
        lines.append(f"| {r['id']} | {r['kind']} | {r['refused']} | {r['facts_found']}/{r['facts']} | "
                     f"{r.get('grade_ok', '')} | {r['citation_valid']} | {r['unsupported']} | {r['seconds']} | "
                     f"{answer} |")
    return "\n".join(lines) + "\n"


def _grade_matches(assessment: dict | None, expected: dict) -> bool:
    if not assessment:
        return False
    key = "hazard_grade" if expected.get("scale") == "险情" else "disaster_grade"
    grade = assessment.get(key) or {}
    if expected.get("grade") is None:
        return grade.get("grade") is None
    return grade.get("grade") == expected["grade"] and grade.get("response_level") == expected.get("response_level")


def _sentence_count(text: str) -> int:
    return max(1, len(re.findall(r"[。！？!?\n]", text.strip())))
