"""The dialogue evaluation as Markdown (eval/results/<date>-dialogues.md, beside its JSON and two plots): the two
modes side by side (with history | without history), per category, how follow-ups were resolved, the numbers
against the previous run, and one line per dialogue."""

from __future__ import annotations

from pathlib import Path

from eval.dialogues import CATEGORIES, MODES
from eval.report import _delta, _seconds, write_plots, write_results

METRICS = ("fact_recall", "grade_accuracy", "refusal_accuracy", "citation_validity", "carried_ok_rate",
           "false_refusal_rate", "resolve_p50_s", "resolve_p95_s", "last_turn_p50_s", "earlier_turns_p50_s")
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "resolve_p50_s", "resolve_p95_s", "last_turn_p50_s",
                             "earlier_turns_p50_s"})
TITLES = {"history": "with history", "alone": "without history"}
_HOW_ORDER = ("first", "self-contained", "ellipsis", "pronoun", "scoped", "model", "fallback", "incident",
              "incident-update")


def _num(value: float | None, key: str) -> str:
    if value is None:
        return "n/a"
    return _seconds(value) if key.endswith("_s") else f"{value:.3f}"


def _better(key: str, ours: float | None, other: float | None) -> str:
    if ours is None or other is None:
        return "–"
    if abs(ours - other) < 1e-9:
        return "="
    return "✓" if (ours < other if key in LOWER_IS_BETTER else ours > other) else "✗"


def _cell(text: str, limit: int = 90) -> str:
    return text.replace("\n", " ").replace("|", "\\|")[:limit]


def dialogues_report(results: dict, previous: tuple[str, dict] | None = None) -> str:
    modes = results["modes"]
    hist, alone = modes[MODES[0]], modes[MODES[1]]
    rows = hist["rows"]
    counts = {c: sum(r["category"] == c for r in rows) for c in CATEGORIES}
    lines = [f"# Dialogue evaluation {results['date']} — {results['model']}", "",
             f"Dialogues: {results['dialogues']} (" + ", ".join(f"{c} {n}" for c, n in counts.items()) + "). "
             "With history: every turn through one conversation state, as the product runs (earlier turns answered "
             "too, their time kept apart), the last turn scored. Without history: the last message alone, what the "
             "product did before conversations. The last turn is scored like the answers set (`score_answer`); "
             "carried_ok: the resolved question holds none of `must_not_carry` and all of "
             "`expect_resolved_contains`. ✓ = with history better.", "",
             "| metric | with history | without history | Δ | history ahead |", "|---|---|---|---|---|"]
    for key in METRICS:
        a, b = hist["summary"].get(key), alone["summary"].get(key)
        fmt = ".2f" if key.endswith("_s") else ".3f"
        lines.append(f"| {key} | {_num(a, key)} | {_num(b, key)} | {_delta(a, b, fmt)} | {_better(key, a, b)} |")
    lines += ["", "Per category (followup, switch: fact recall; incident: grade accuracy; refusal: refusal "
              "accuracy; the mean row score):", "",
              "| category | dialogues | with history | without history | carried_ok (history) |",
              "|---|---|---|---|---|"]
    for cat in CATEGORIES:
        group = [r["carried_ok"] for r in rows if r["category"] == cat and r["carried_ok"] is not None]
        carried = f"{sum(group)}/{len(group)}" if group else "–"
        a, b = hist["categories"].get(cat), alone["categories"].get(cat)
        lines.append(f"| {cat} | {counts[cat]} | {_num(a, '')} | {_num(b, '')} | {carried} |")
    lines += ["", "How the last turn was understood (with history; `model` = rewritten by the model under "
              "prompts/rewrite.md, `fallback` = its rewrite was rejected and the follow-up attached to the previous "
              "question):", "", "| how | dialogues |", "|---|---|"]
    hows = [r["resolve_how"] for r in rows]
    for how in sorted(set(hows), key=lambda h: _HOW_ORDER.index(h) if h in _HOW_ORDER else 99):
        lines.append(f"| {how} | {hows.count(how)} |")
    lines += ["", f"![latency]({results['date']}-dialogues-latency.png) "
              f"![categories]({results['date']}-dialogues-categories.png)"]
    lines += against_previous(results, previous)
    other = {r["id"]: r for r in alone["rows"]}
    lines += ["", "## Per dialogue", "",
              "| id | category | turns | understood as (with history) | how | carried | score history | score alone | "
              "last turn s | earlier s | answer (with history) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o = other.get(r["id"], {})
        carried = "–" if r["carried_ok"] is None else r["carried_ok"]
        lines.append(f"| {r['id']} | {r['category']} | {r['turns']} | {_cell(r['resolved_question'])} | "
                     f"{r['resolve_how']} | {carried} | {r['score']:.2f} | "
                     f"{o.get('score', float('nan')):.2f} | {r['seconds']} | {r['earlier_s']} | "
                     f"{_cell(r['answer'], 140)} |")
    return "\n".join(lines) + "\n"


def against_previous(results: dict, previous: tuple[str, dict] | None) -> list[str]:
    """The summary of each mode against the previous dialogues run, and the dialogues whose score changed."""
    if not previous:
        return []
    name, before = previous
    lines = ["", f"## Against the previous run ({name})", ""]
    if before.get("dialogues") != results["dialogues"]:
        lines += [f"(The previous run had {before.get('dialogues')} dialogues, this one {results['dialogues']}.)", ""]
    lines += ["| metric | mode | previous | now | Δ |", "|---|---|---|---|---|"]
    changed = []
    for mode in MODES:
        now = results["modes"][mode]
        old = before.get("modes", {}).get(mode, {})
        for key in METRICS:
            a, b = now["summary"].get(key), old.get("summary", {}).get(key)
            fmt = ".2f" if key.endswith("_s") else ".3f"
            lines.append(f"| {key} | {TITLES[mode]} | {_num(b, key)} | {_num(a, key)} | {_delta(a, b, fmt)} |")
        scores = {r["id"]: r["score"] for r in old.get("rows", [])}
        changed += [f"{r['id']} {mode} ({scores[r['id']]:.2f} → {r['score']:.2f})" for r in now["rows"]
                    if r["id"] in scores and abs(scores[r["id"]] - r["score"]) > 1e-9]
    lines += ["", f"Dialogues whose outcome changed: {len(changed)}" + (": " + ", ".join(changed) if changed else ".")]
    return lines


def write_dialogue_results(results: dict, report: str, out_dir: Path | None = None) -> Path:
    """JSON and Markdown (eval.report.write_results), then the two plots: last-turn time per mode, score per
    category per mode."""
    path = write_results(results, report, "dialogues", out_dir)
    stem = path.with_suffix("")
    modes = {TITLES[m]: results["modes"][m] for m in MODES}
    write_plots(stem.parent / f"{stem.name}-latency.png", stem.parent / f"{stem.name}-categories.png",
                {k: [r["seconds"] for r in v["rows"]] for k, v in modes.items()},
                {k: v["categories"] for k, v in modes.items()},
                "last-turn time per dialogue (s)", "score (fact recall; grade / refusal accuracy)")
    return path
