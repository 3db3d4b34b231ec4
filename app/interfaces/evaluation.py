"""Evaluation harness: run question sets from eval/questions/ and score them.

Answers: fact recall, answer correctness, grade accuracy, refusal accuracy, false-refusal rate, citation
validity (a cited passage is one that holds the fact) and the unsupported-sentence rate.

Retrieval: hit@1, hit@5 and MRR, for hybrid, dense-only and BM25-only retrieval on the same knowledge base.
A question counts as hit at rank r when the r-th passage is one of its expected (source, locator) chunks.

Baseline (issue 6): the naive tutorial pipeline of eval/baselines/naive.py answers the same questions in the
same run, with the same LLM and settings, and its answers go through the same scoring functions
(`score_answer`); the reports show both columns and the ratio, plus PNG plots (latency, per category).
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


def run_retrieval_eval(copilot, modes=("hybrid", "dense", "lexical"), k: int = 10, baseline=None) -> dict:
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
    all_modes = list(modes) + (["baseline"] if baseline is not None else [])
    per_mode_ranks: dict[str, list] = {m: [] for m in all_modes}
    latencies: dict[str, list] = {m: [] for m in all_modes}
    for q, expected in usable:
        row = {"id": q["id"], "question": q["question"], "category": q.get("category", "")}
        for mode in modes:
            hits, seconds = copilot.retrieve(q["question"], k=k, mode=mode)
            rank = first_hit_rank([(h.chunk.source, h.chunk.locator) for h in hits], expected)
            per_mode_ranks[mode].append(rank)
            latencies[mode].append(seconds)
            row[mode] = rank
            row[f"{mode}_ms"] = round(seconds * 1000, 2)
        if baseline is not None:
            start = time.perf_counter()
            splits = baseline.retrieve(q["question"], k=k)
            seconds = time.perf_counter() - start
            rank = first_hit_rank_multi([split_keys(d) for d in splits], expected)
            per_mode_ranks["baseline"].append(rank)
            latencies["baseline"].append(seconds)
            row["baseline"], row["baseline_ms"] = rank, round(seconds * 1000, 2)
        results["rows"].append(row)
    if baseline is not None:
        results["baseline"] = _baseline_description(baseline)
    for mode in all_modes:
        summary = retrieval_summary(per_mode_ranks[mode])
        lat = latencies[mode] or [0.0]
        summary["latency_p50_ms"] = 1000 * percentile(lat, 0.5)
        summary["latency_p95_ms"] = 1000 * percentile(lat, 0.95)
        results["modes"][mode] = summary
    return results


def _baseline_description(baseline) -> str:
    module = sys.modules[type(baseline).__module__]
    return getattr(module, "NAME", type(baseline).__name__)


def retrieval_categories(results: dict) -> dict[str, dict[str, float]]:
    """hit@5 per question category, per mode."""
    out: dict[str, dict[str, float]] = {}
    for mode in results["modes"]:
        groups: dict[str, list] = {}
        for row in results["rows"]:
            groups.setdefault(row["category"] or "other", []).append(row[mode])
        out[mode] = {cat: retrieval_summary(ranks)["hit@5"] for cat, ranks in sorted(groups.items())}
    return out


def retrieval_report(results: dict) -> str:
    lines = [f"# Retrieval evaluation {results['date']}", "",
             f"Knowledge base: {results['kb_chunks']} chunks; questions: "
             f"{next(iter(results['modes'].values()))['questions']} (skipped, source not loaded: "
             f"{len(results['skipped'])}).", "",
             "| mode | hit@1 | hit@5 | MRR | p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
    for mode, s in results["modes"].items():
        lines.append(f"| {mode} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr']:.3f} | "
                     f"{s['latency_p50_ms']:.1f} | {s['latency_p95_ms']:.1f} |")
    if "baseline" in results["modes"]:
        ours, base = results["modes"]["hybrid"], results["modes"]["baseline"]
        lines += ["", f"Baseline: {results.get('baseline', 'naive')}; a baseline split counts as a hit when it "
                  "holds at least half (or 100 characters) of an expected chunk. Ratio hybrid / baseline: "
                  + ", ".join(f"{m} {ratio(ours[m], base[m])}" for m in ("hit@1", "hit@5", "mrr")) + "."]
    cats = retrieval_categories(results)
    lines += ["", "hit@5 per category:", "", "| category | " + " | ".join(cats) + " |",
              "|---|" + "---|" * len(cats)]
    for cat in next(iter(cats.values())):
        lines.append(f"| {cat} | " + " | ".join(f"{cats[m][cat]:.3f}" for m in cats) + " |")
    lines += ["", f"![latency]({results['date']}-retrieval-latency.png) "
              f"![categories]({results['date']}-retrieval-categories.png)"]
    lines += ["", "| id | category | question | " + " | ".join(results["modes"]) + " |",
              "|---|---|---|" + "---|" * len(results["modes"])]
    for row in results["rows"]:
        ranks = " | ".join("–" if row[m] is None else str(row[m]) for m in results["modes"])
        lines.append(f"| {row['id']} | {row['category']} | {row['question']} | {ranks} |")
    return "\n".join(lines) + "\n"


def write_results(results: dict, report: str, suite: str, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir) if out_dir else EVAL_DIR / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{results['date']}-{suite}"
    stem.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    stem.with_suffix(".md").write_text(report, encoding="utf-8")
    if suite == "retrieval":
        latencies = {m: [r[f"{m}_ms"] for r in results["rows"] if f"{m}_ms" in r] for m in results["modes"]}
        write_plots(out_dir / f"{stem.name}-latency.png", out_dir / f"{stem.name}-categories.png",
                    latencies, retrieval_categories(results), "retrieval latency (ms)", "hit@5")
    elif suite == "answers":
        columns = {"ours": results["rows"]} | ({"baseline": results["baseline"]["rows"]}
                                               if results.get("baseline") else {})
        write_plots(out_dir / f"{stem.name}-latency.png", out_dir / f"{stem.name}-categories.png",
                    {k: [r["seconds"] for r in rows] for k, rows in columns.items()},
                    {k: category_scores(rows) for k, rows in columns.items()},
                    "answer time per question (s)", "score (facts: recall; grade: accuracy; refusal: accuracy)")
    return stem.with_suffix(".md")


def write_plots(latency_png: Path, categories_png: Path, latencies: dict[str, list[float]],
                categories: dict[str, dict[str, float]], latency_label: str, score_label: str) -> None:
    """Two PNGs: the latency distribution per column and the per-category scores (Agg backend, English labels,
    the bundled DejaVu font: nothing is fetched)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    data = [v or [0.0] for v in latencies.values()]
    ax.boxplot(data, orientation="horizontal", showfliers=True)
    ax.set_yticks(range(1, len(data) + 1), list(latencies))
    for i, values in enumerate(data, start=1):
        ax.plot(values, [i] * len(values), "o", alpha=0.35, markersize=3)
    ax.set_xlabel(latency_label)
    ax.set_title("Latency distribution")
    fig.tight_layout()
    fig.savefig(latency_png, dpi=110)
    plt.close(fig)

    cats = sorted({c for scores in categories.values() for c in scores})
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cats) + 2), 3.8))
    width = 0.8 / max(1, len(categories))
    for i, (label, scores) in enumerate(categories.items()):
        ax.bar([x + i * width for x in range(len(cats))], [scores.get(c, 0.0) for c in cats], width, label=label)
    ax.set_xticks([x + width * (len(categories) - 1) / 2 for x in range(len(cats))], cats, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(score_label, fontsize=8)
    ax.set_title("Scores per category")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(categories_png, dpi=110)
    plt.close(fig)


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
        "facts_found": sum(fact_found(text, alts) for alts in facts), "facts": len(facts),
        "citation_valid": first_hit_rank_multi(cited, expected) is not None if expected else None,
        "citations": len(cited), "invalid_citations": len(payload["invalid_citations"]),
        "unsupported": payload["unsupported_sentences"], "sentences": _sentence_count(payload["answer"]),
        "answer": payload["answer"],
    }
    if q["kind"] == "grade":
        row["grade_ok"] = grade_correct(payload, text, q)
    row["score"] = row_score(row)
    return row


def row_score(row: dict) -> float:
    """The per-category score of one row: fact recall, grade correctness or a correct refusal."""
    if row["kind"] == "refusal":
        return float(row["refused"])
    if row["kind"] == "grade":
        return float(bool(row.get("grade_ok")))
    return row["facts_found"] / row["facts"] if row["facts"] else float(not row["refused"])


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


def baseline_payload(result, question: str) -> tuple[dict, str]:
    """A baseline answer in the `ask` JSON shape, so `score_answer` scores it exactly like ours: refusal by the
    same first-sentence test, unsupported sentences by the same claim verification."""
    from app.reason.answer import looks_like_refusal
    from app.reason.verify import verify_claims
    from app.schema import Chunk

    chunks = [Chunk(d.metadata.get("split_id", str(i)), d.metadata["source"], d.metadata.get("title", ""), "", "",
                    "", d.page_content, int(d.metadata.get("start_index", 0)),
                    int(d.metadata.get("start_index", 0)) + len(d.page_content))
              for i, d in enumerate(result.splits)]
    refused = looks_like_refusal(result.answer) if result.answer.strip() else True
    cited = [] if refused else result.cited
    unsupported = [] if refused else verify_claims(result.answer, chunks, user_text=question).unsupported
    citations = [{"n": n, "source": chunks[n - 1].source, "title": chunks[n - 1].title, "locator": "",
                  "locators": [k for _, k in split_keys(result.splits[n - 1])], "text": chunks[n - 1].text}
                 for n in cited]
    payload = {"question": question, "answer": result.answer, "refused": refused, "citations": citations,
               "invalid_citations": result.invalid_citations, "unsupported_sentences": len(unsupported),
               "unverified": unsupported, "timings": result.timings}
    text = result.answer
    if citations:
        text += "\n\n【出处】\n" + "\n".join(f"[{c['n']}] 《{c['title']}》" for c in citations)
    return payload, text


def run_answers_eval(copilot, questions: list[dict] | None = None, baseline=None) -> dict:
    """Answer every question of eval/questions/answers.jsonl and score facts, grades, refusals, citations;
    then, if given, let the baseline answer the same questions (after ours, so neither disturbs the other's
    prompt cache) and score it with the same functions."""
    from app.interfaces.render import ask_payload

    questions = questions if questions is not None else load_questions("answers")
    rows = []
    for q in questions:
        start = time.perf_counter()
        payload, text = ask_payload(copilot, q["question"])
        rows.append(score_answer(q, payload, text, time.perf_counter() - start))
        _progress("ours", rows, questions)
    results = {"date": str(dt.date.today()), "model": copilot.model_info.name, "rows": rows,
               "summary": answers_summary(rows), "categories": category_scores(rows)}
    if baseline is not None:
        if baseline.llm is None:
            baseline.llm = copilot.llm
        base_rows = []
        for q in questions:
            start = time.perf_counter()
            payload, text = baseline_payload(baseline.answer(q["question"]), q["question"])
            base_rows.append(score_answer(q, payload, text, time.perf_counter() - start))
            _progress("baseline", base_rows, questions)
        results["baseline"] = {"name": _baseline_description(baseline), "rows": base_rows,
                               "summary": answers_summary(base_rows), "categories": category_scores(base_rows)}
    return results


def _progress(label: str, rows: list[dict], questions: list[dict]) -> None:
    row = rows[-1]
    print(f"[{label} {len(rows)}/{len(questions)}] {row['id']} refused={row['refused']} facts={row['facts_found']}/"
          f"{row['facts']} {row['seconds']:.1f}s", file=sys.stderr, flush=True)


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


def answers_report(results: dict) -> str:
    s = results["summary"]
    base = results.get("baseline")

    def num(v, key=""):
        if v is None:
            return "n/a"
        return f"{v:.1f} s" if key.startswith("latency") else f"{v:.3f}"

    lines = [f"# Answer evaluation {results['date']} — {results['model']}", "",
             f"Questions: {s['questions']}."]
    if base:
        b = base["summary"]
        lines += ["", f"Baseline: {base['name']}, same questions, same model and generation settings, scored by the "
                  "same functions (`score_answer`). Ratio = ours / baseline; ✓ = ours better (lower is better "
                  "for false refusals, unsupported sentences and latency).", "",
                  "| metric | ours | baseline | ratio | ours ahead |", "|---|---|---|---|---|"]
        for key in SUMMARY_METRICS:
            lines.append(f"| {key} | {num(s[key], key)} | {num(b[key], key)} | {ratio(s[key], b[key])} | "
                         f"{ahead(key, s[key], b[key])} |")
    else:
        lines += ["", "| metric | value |", "|---|---|"]
        for key in SUMMARY_METRICS[:-2]:
            lines.append(f"| {key} | {num(s[key])} |")
        lines.append(f"| latency p50 / p95 | {s['latency_p50_s']:.1f} s / {s['latency_p95_s']:.1f} s |")
    cats = results.get("categories") or category_scores(results["rows"])
    bcats = base["categories"] if base else {}
    lines += ["", "Per category (facts: fact recall; grade: grade accuracy; refusal: refusal accuracy):", "",
              "| category | questions | ours |" + (" baseline |" if base else ""),
              "|---|---|---|" + ("---|" if base else "")]
    counts: dict[str, int] = {}
    for r in results["rows"]:
        counts[r["category"] or r["kind"]] = counts.get(r["category"] or r["kind"], 0) + 1
    for cat, value in cats.items():
        lines.append(f"| {cat} | {counts.get(cat, 0)} | {value:.3f} |"
                     + (f" {bcats.get(cat, 0.0):.3f} |" if base else ""))
    lines += ["", f"![latency]({results['date']}-answers-latency.png) "
              f"![categories]({results['date']}-answers-categories.png)"]
    sections = [("Ours", results["rows"])] + ([("Baseline", base["rows"])] if base else [])
    for title, rows in sections:
        lines += ["", f"## {title}: per question", "",
                  "| id | kind | refused | facts | grade ok | cited right | unsupported | s | answer |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
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


def load_baseline_module():
    """eval/baselines/naive.py from this checkout (eval/ is not part of the installed package)."""
    root = str(PROJECT_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    from eval.baselines import naive

    return naive


def make_baseline(copilot, sources: list[Path]):
    """The naive baseline over the same source files as the evaluated knowledge base, with the same generation
    settings; its index is cached under GEOHAZARD_HOME. It gets our loaded LLM (one model per process) when
    it first answers."""
    from app.index.embed import E5Embeddings

    naive = load_baseline_module()
    s = copilot.settings
    baseline = naive.NaiveRAG(s.home / "kb" / "eval-baseline", E5Embeddings(num_threads=s.n_threads), None,
                              max_tokens=s.max_tokens, temperature=s.temperature, seed=s.seed)
    baseline.build([Path(p) for p in sources], log=lambda m: print(m, file=sys.stderr, flush=True))
    return baseline
