"""Evaluation harness: run question sets from eval/questions/ and collect the results.

Loads the question sets, runs the retrieval suite (hybrid, dense-only and BM25-only retrieval on the same
knowledge base) and the answer suite, and wires in the baseline. Scoring lives in eval/scoring.py, the Markdown
reports and plots in eval/report.py, the command line in eval/__main__.py.

Baseline (issue 6): the naive tutorial pipeline of eval/baselines/naive.py answers the same questions in the
same run, with the same LLM and settings, and its answers go through the same scoring functions
(`score_answer`); the reports show both columns and the ratio, plus PNG plots (latency, per category).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from app.config import PROJECT_ROOT
from eval.health import health_summary
from eval.scoring import (
    Expected,
    answers_summary,
    category_scores,
    first_hit_rank,
    first_hit_rank_multi,
    percentile,
    retrieval_summary,
    score_answer,
    split_keys,
)

EVAL_DIR = PROJECT_ROOT / "eval"
SHARED_PUBLIC = PROJECT_ROOT.parent / "shared" / "corpus-public"


def load_questions(name: str) -> list[dict]:
    path = EVAL_DIR / "questions" / f"{name}.jsonl"
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


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
    from app.interfaces.render import reply_payload

    questions = questions if questions is not None else load_questions("answers")
    rows = []
    for q in questions:
        start = time.perf_counter()
        payload, text = reply_payload(copilot.reply(q["question"]), copilot.model_info)
        rows.append(score_answer(q, payload, text, time.perf_counter() - start))
        _progress("ours", rows, questions)
    results = {"date": str(dt.date.today()), "model": copilot.model_info.name, "rows": rows,
               "summary": answers_summary(rows), "categories": category_scores(rows),
               "health": health_summary(rows), "build": build_info()}
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


def make_baseline(copilot, sources: list[Path]):
    """The naive baseline over the same source files as the evaluated knowledge base, with the same embedding
    model and generation settings; its index is cached under GEOHAZARD_HOME. It gets our loaded LLM (one model
    per process) when it first answers."""
    from eval.baselines import naive

    s = copilot.settings
    baseline = naive.NaiveRAG(s.home / "kb" / "eval-baseline", copilot.embeddings, None,
                              max_tokens=s.max_tokens, temperature=s.temperature, seed=s.seed)
    baseline.build([Path(p) for p in sources], log=lambda m: print(m, file=sys.stderr, flush=True))
    return baseline


def build_info() -> dict:
    """Which llama.cpp build answered: the package version, its CPU features and the machine's (issue 17
    compares builds)."""
    import llama_cpp

    try:
        features = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    except Exception:  # noqa: BLE001 - informative only
        features = ""
    return {"llama_cpp_python": llama_cpp.__version__, "system_info": features,
            "library": str(getattr(llama_cpp, "__file__", ""))}
