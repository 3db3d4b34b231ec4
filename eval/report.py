"""Evaluation reports: the results of eval/harness.py as Markdown, JSON and PNG plots.

The retrieval report (per mode, per category, per question) and the answer report (ours against the baseline,
per category, per question); `write_results` writes them with their results and plots to eval/results/.
Each report also sets its numbers against the previous report of the same suite (`previous_results`), so a
re-run shows whether the committed numbers were reproduced and which questions changed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from app.config import PROJECT_ROOT
from eval.scoring import (
    SUMMARY_METRICS,
    ahead,
    category_scores,
    latency_by_kind,
    ratio,
    retrieval_categories,
    row_score,
)

RESULTS_DIR = PROJECT_ROOT / "eval" / "results"


def previous_results(suite: str, date: str, out_dir: Path | None = None) -> tuple[str, dict] | None:
    """The newest earlier report of `suite` in eval/results (the same date counts: a re-run overwrites it),
    as (file name, results). A tagged suite ("answers-avx") without an earlier run of its own is compared with
    the newest run of the plain suite under any tag ("answers", "answers-rerun"): the run before it."""
    out_dir = Path(out_dir) if out_dir else RESULTS_DIR
    candidates = sorted(p for p in out_dir.glob(f"????-??-??-{suite}.json") if p.name[:10] <= date)
    if not candidates and "-" in suite:
        plain = suite.split("-")[0]
        runs = [(p, json.loads(p.read_text(encoding="utf-8"))) for p in
                [*out_dir.glob(f"????-??-??-{plain}.json"), *out_dir.glob(f"????-??-??-{plain}-*.json")]
                if p.name[:10] <= date]
        runs.sort(key=lambda run: (run[0].name[:10], run[1].get("finished_at") or run[0].stat().st_mtime))
        return (runs[-1][0].name, runs[-1][1]) if runs else None
    if not candidates:
        return None
    return candidates[-1].name, json.loads(candidates[-1].read_text(encoding="utf-8"))


def _delta(now: float | None, before: float | None, fmt: str) -> str:
    if now is None or before is None:
        return "–"
    return f"{now - before:+{fmt}}" if abs(now - before) > 1e-9 else "0"


def against_previous(suite: str, results: dict, previous: tuple[str, dict] | None) -> list[str]:
    """Report lines: the summary against the previous run and the questions whose outcome changed."""
    if not previous:
        return []
    name, before = previous
    lines = ["", f"## Against the previous run ({name})", ""]
    if suite == "retrieval":
        lines += ["| mode | hit@1 | hit@5 | MRR | Δ hit@1 | Δ hit@5 | Δ MRR |", "|---|---|---|---|---|---|---|"]
        for mode, s in results["modes"].items():
            b = before.get("modes", {}).get(mode, {})
            lines.append(f"| {mode} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr']:.3f} | "
                         + " | ".join(_delta(s[m], b.get(m), ".3f") for m in ("hit@1", "hit@5", "mrr")) + " |")
        old = {r["id"]: r for r in before.get("rows", [])}
        changed = [f"{r['id']} ({m}: {old[r['id']].get(m)} → {r[m]})" for r in results["rows"] if r["id"] in old
                   for m in results["modes"] if m in old[r["id"]] and old[r["id"]][m] != r[m]]
    else:
        s, b = results["summary"], before.get("summary", {})
        if b.get("questions") != s["questions"]:
            lines += [f"(The previous run answered {b.get('questions')} questions, this one {s['questions']}.)", ""]
        lines += ["| metric | previous | now | Δ |", "|---|---|---|---|"]
        for key in SUMMARY_METRICS:
            fmt = ".1f" if key.startswith("latency") else ".3f"
            prev = "n/a" if b.get(key) is None else f"{b[key]:{fmt}}"
            now = "n/a" if s.get(key) is None else f"{s[key]:{fmt}}"
            lines.append(f"| {key} | {prev} | {now} | {_delta(s.get(key), b.get(key), fmt)} |")
        old = {r["id"]: r.get("score", row_score(r)) for r in before.get("rows", [])}  # older reports: no score
        changed = [f"{r['id']} ({old[r['id']]:.2f} → {r['score']:.2f})" for r in results["rows"]
                   if r["id"] in old and abs(old[r["id"]] - r["score"]) > 1e-9]
    lines += ["", f"Questions whose outcome changed: {len(changed)}" + (": " + ", ".join(changed) if changed else ".")]
    return lines


def retrieval_report(results: dict, previous: tuple[str, dict] | None = None) -> str:
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
    firsts = retrieval_categories(results, "hit@1")  # a named document must be found at rank 1 (issue 16)
    lines += ["", "hit@1 per category:", "", "| category | " + " | ".join(firsts) + " |", "|---|" + "---|" * len(firsts)]
    for cat in next(iter(firsts.values())):
        lines.append(f"| {cat} | " + " | ".join(f"{firsts[m][cat]:.3f}" for m in firsts) + " |")
    stem = f"{results['date']}-{results.get('name', 'retrieval')}"  # a tagged run has its own plots
    lines += ["", f"![latency]({stem}-latency.png) ![categories]({stem}-categories.png)"]
    lines += against_previous("retrieval", results, previous)
    lines += ["", "| id | category | question | " + " | ".join(results["modes"]) + " |",
              "|---|---|---|" + "---|" * len(results["modes"])]
    for row in results["rows"]:
        ranks = " | ".join("–" if row[m] is None else str(row[m]) for m in results["modes"])
        lines.append(f"| {row['id']} | {row['category']} | {row['question']} | {ranks} |")
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s" if value >= 1 else f"{1000 * value:.0f} ms"


def answers_report(results: dict, previous: tuple[str, dict] | None = None) -> str:
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
    columns = [("ours", results["rows"])] + ([("baseline", base["rows"])] if base else [])
    lines += ["", "Time by question kind (grade questions run the whole assessment: the code's grade card and the "
              "sources are shown after retrieval, then the model writes the explanation and advice):", "",
              "| kind | column | questions | answer p50 | answer p95 | first token p50 | sources shown p50 |",
              "|---|---|---|---|---|---|---|"]
    for name, rows in columns:
        for kind, t in latency_by_kind(rows).items():
            lines.append(f"| {kind} | {name} | {t['questions']} | {_seconds(t['p50_s'])} | {_seconds(t['p95_s'])} | "
                         f"{_seconds(t['first_token_p50_s'])} | {_seconds(t['retrieve_p50_s'])} |")
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
    if results.get("health"):
        h = results["health"]
        lines += ["", "Generation health (issue 17; any loop, marker leak or template step is a defect):", "",
                  "| answers with a loop or a format marker | template reasoning steps shown | empty answers | cut off "
                  "| completion tokens median / total |", "|---|---|---|---|---|",
                  f"| {h['answers_with_loop_or_marker']} | {h['template_reasoning_steps']} | {h['empty_answers']} | "
                  f"{h['cut_off']} | {h['completion_tokens_median']} / {h['completion_tokens_total']} |"]
        if results.get("build"):
            lines += ["", f"llama.cpp build: {results['build'].get('system_info', '')[:300]}"]
    stem = f"{results['date']}-{results.get('name', 'answers')}"  # a tagged run has its own plots
    lines += ["", f"![latency]({stem}-latency.png) ![categories]({stem}-categories.png)"]
    lines += against_previous("answers", results, previous)
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


def save_json(results: dict, suite: str, out_dir: Path | None = None) -> Path:
    """The results alone, written as soon as a suite has run (an hour of answers is never lost to a report)."""
    out_dir = Path(out_dir) if out_dir else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{results['date']}-{suite}.json"
    results.setdefault("finished_at", time.time())  # orders runs of one day (tagged runs are compared by it)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_results(results: dict, report: str, suite: str, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir) if out_dir else RESULTS_DIR
    stem = save_json(results, suite, out_dir).with_suffix("")
    stem.with_suffix(".md").write_text(report, encoding="utf-8")
    kind = suite.split("-")[0]  # "answers-avx": a tagged run of the answers suite
    if kind == "retrieval":
        latencies = {m: [r[f"{m}_ms"] for r in results["rows"] if f"{m}_ms" in r] for m in results["modes"]}
        write_plots(out_dir / f"{stem.name}-latency.png", out_dir / f"{stem.name}-categories.png",
                    latencies, retrieval_categories(results), "retrieval latency (ms)", "hit@5")
    elif kind == "answers":
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
