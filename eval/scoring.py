"""Evaluation scoring: pure functions from retrieved passages and answers to scores.

Retrieval: a question counts as hit at rank r when the r-th passage is one of its expected (source, locator)
chunks; hit@1, hit@5 and MRR per mode, hit@5 per category.

Answers: fact recall, answer correctness, grade accuracy, refusal accuracy, false-refusal rate, citation
validity (a cited passage is one that holds the fact) and the unsupported-sentence rate. Ours and the naive
baseline's answers go through the same functions (`score_answer`). Also the ours/baseline comparison (`ratio`,
`ahead`) the reports show.
"""

from __future__ import annotations

from eval.health import health

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Expected:
    source: str  # path relative to the project ("corpus/cards/x.md") or "corpus-public/x.md"
    locator: str


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


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


def first_hit_rank_multi(ranked: list[list[tuple[str, str]]], expected: list[Expected]) -> int | None:
    """Like first_hit_rank, but each rank holds several (source, locator) keys (a baseline split may span
    several of our chunks)."""
    for rank, keys in enumerate(ranked, start=1):
        if any(matches(source, locator, e) for source, locator in keys for e in expected):
            return rank
    return None


def split_keys(split) -> list[tuple[str, str]]:
    """The (source, locator) keys a baseline split (a langchain Document) holds."""
    locators = [x for x in str(split.metadata.get("locators", "")).split("|") if x]
    return [(split.metadata["source"], loc) for loc in locators]


def retrieval_categories(results: dict, metric: str = "hit@5") -> dict[str, dict[str, float]]:
    """`metric` (hit@5, hit@1, mrr) per question category, per mode."""
    out: dict[str, dict[str, float]] = {}
    for mode in results["modes"]:
        groups: dict[str, list] = {}
        for row in results["rows"]:
            groups.setdefault(row["category"] or "other", []).append(row[mode])
        out[mode] = {cat: retrieval_summary(ranks)[metric] for cat, ranks in sorted(groups.items())}
    return out


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


def score_answer(q: dict, payload: dict, text: str, seconds: float) -> dict:
    """One scored row from an answer in the `ask` JSON shape, ours or the baseline's: the same function
    scores both. `text` is what the reader sees (answer and its source list)."""
    expected = [Expected(e["source"], e["locator"]) for e in q.get("sources", [])]
    cited = [[(c["source"], loc) for loc in (c.get("locators") or [c.get("locator", "")])]
             for c in payload["citations"]]
    facts = q.get("facts", [])
    row = {
        "id": q["id"], "kind": q["kind"], "category": q.get("category", ""), "question": q["question"],
        "refused": bool(payload["refused"]), "seconds": round(seconds, 2),
        "first_token_s": (payload.get("timings") or {}).get("first_token_s"),
        "retrieve_s": (payload.get("timings") or {}).get("retrieve_s"),  # sources (or grade card) can be shown
        "facts_found": sum(fact_found(text, alts) for alts in facts), "facts": len(facts),
        "citation_valid": first_hit_rank_multi(cited, expected) is not None if expected else None,
        "citations": len(cited), "invalid_citations": len(payload["invalid_citations"]),
        "unsupported": payload["unsupported_sentences"], "sentences": _sentence_count(payload["answer"]),
        "answer": payload["answer"],
    }
    if q["kind"] == "grade":
        row["grade_ok"] = grade_correct(payload, text, q)
    row.update(health(payload))
    row["score"] = row_score(row)
    return row


def row_score(row: dict) -> float:
    """The per-category score of one row: fact recall, grade correctness or a correct refusal."""
    if row["kind"] == "refusal":
        return float(row["refused"])
    if row["kind"] == "grade":
        return float(bool(row.get("grade_ok")))
    return row["facts_found"] / row["facts"] if row["facts"] else float(not row["refused"])


def latency_by_kind(rows: list[dict]) -> dict[str, dict]:
    """Per question kind: answer time p50/p95, first token p50, retrieval p50 (when sources, or for a situation
    the code's grade card, can be shown)."""
    out: dict[str, dict] = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        group = [r for r in rows if r["kind"] == kind]
        first = [r["first_token_s"] for r in group if r.get("first_token_s") is not None]
        shown = [r["retrieve_s"] for r in group if r.get("retrieve_s") is not None]
        out[kind] = {"questions": len(group), "p50_s": percentile([r["seconds"] for r in group], 0.5),
                     "p95_s": percentile([r["seconds"] for r in group], 0.95),
                     "first_token_p50_s": percentile(first, 0.5) if first else None,
                     "retrieve_p50_s": percentile(shown, 0.5) if shown else None}
    return out


def category_scores(rows: list[dict]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(r["category"] or r["kind"], []).append(r["score"])
    return {c: sum(v) / len(v) for c, v in sorted(groups.items())}


_GRADES = ("特大型", "大型", "中型", "小型")
_CANNOT = ("无法", "不能", "暂不", "不足以")


def grade_correct(payload: dict, text: str, q: dict) -> bool:
    """A structured assessment is checked field by field; plain text (no assessment) by the first grade it
    names and the expected response level, or, when no grade is expected, by saying it cannot grade yet."""
    expected = q["expected"]
    if payload.get("assessment"):
        return _grade_matches(payload["assessment"], expected)
    if payload["refused"]:
        return False
    positions = [(m.start(), g) for g in _GRADES for m in re.finditer(g, text)
                 if not (g != "特大型" and g.endswith("大型") and text[max(0, m.start() - 1):m.start()] == "特")]
    if expected.get("grade") is None:
        return not positions or any(w in text for w in _CANNOT)
    first = min(positions)[1] if positions else None
    levels = q.get("facts", [[]])[1] if len(q.get("facts", [])) > 1 else [expected.get("response_level", "")]
    return first == expected["grade"] and fact_found(text, levels)


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


SUMMARY_METRICS = ("fact_recall", "answer_correctness", "grade_accuracy", "refusal_accuracy", "false_refusal_rate",
                   "citation_validity", "unsupported_sentence_rate", "latency_p50_s", "latency_p95_s")
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "unsupported_sentence_rate", "latency_p50_s", "latency_p95_s"})


def ratio(ours: float | None, base: float | None) -> str:
    """ours / baseline as text: "1.25×"; "–" when either is missing, "∞" when only the baseline is 0."""
    if ours is None or base is None:
        return "–"
    if base == 0:
        return "1.00×" if ours == 0 else "∞"
    return f"{ours / base:.2f}×"


def ahead(metric: str, ours: float | None, base: float | None) -> str:
    """✓ when ours is better than the baseline on this metric (direction-aware), = when equal, ✗ otherwise."""
    if ours is None or base is None:
        return "–"
    if abs(ours - base) < 1e-9:
        return "="
    better = ours < base if metric in LOWER_IS_BETTER else ours > base
    return "✓" if better else "✗"
