"""Validate the runout estimate (app/reason/reach.py) against published events: does the conservative reach cover
the observed runout?

    python -m eval.reach_validation [--events eval/reach/events.jsonl] [--out-dir eval/results] [--date YYYY-MM-DD]

Writes <out-dir>/<date>-reach.md and .json. Coefficients are NOT tuned to the events; a miss is reported with the
reason the literature gives for it. Events without a verified fall height or runout are listed, not computed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

from app.reason.reach import ReachInputs, estimate_reach
from eval.report import previous_results

EVENTS = Path(__file__).parent / "reach" / "events.jsonl"
OUT_DIR = Path(__file__).parent / "results"
TARGET = 0.80  # share of observed runouts the conservative reach should cover, per relation group
GROUP_LABEL = {"translational_slide": "translational slides (滑坡)", "earthflow": "earthflows/mudslides (黄土、填土滑坡)",
               "rockfall": "rockfalls / rock avalanches (崩塌)", "rock_avalanche": "rock avalanches (碎屑流)",
               "debris_flow": "debris flows (泥石流)"}


def load_events(path: Path = EVENTS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def validate(events: list[dict]) -> dict:
    """One row per event, coverage per relation group, and the misses with their likely reasons."""
    rows = [_row(e) for e in events]
    groups: dict[str, dict] = defaultdict(lambda: {"events": 0, "covered": 0, "expected_covered": 0, "uncertain": 0})
    for r in rows:
        if r["covered"] is None:
            continue
        g = groups[r["group"]]
        g["events"] += 1
        g["covered"] += r["covered"]
        g["expected_covered"] += r["expected_covers"]
        g["uncertain"] += r["uncertain"]
    for g in groups.values():
        g["coverage"] = g["covered"] / g["events"]
        g["meets_target"] = g["coverage"] >= TARGET
    computed = [r for r in rows if r["covered"] is not None]
    return {
        "rows": rows,
        "groups": dict(sorted(groups.items())),
        "overall": {"events": len(computed), "covered": sum(r["covered"] for r in computed),
                    "coverage": (sum(r["covered"] for r in computed) / len(computed)) if computed else None},
        "not_computed": [r["id"] for r in rows if r["covered"] is None],
        # relation groups that have events but not one complete one: the coverage target cannot be assessed there
        "groups_without_complete_event": sorted({r["group"] for r in rows if r["group"] and r["covered"] is None}
                                                - set(groups)),
        "misses": [_miss(r, "conservative_m") for r in computed if not r["covered"]],
        "beyond_expected": [_miss(r, "expected_m") for r in computed if not r["expected_covers"]],
        "target": TARGET,
    }


def _row(e: dict) -> dict:
    inputs = ReachInputs(hazard_type=e["hazard_type"], volume_m3=e.get("volume_m3"), height_m=e.get("height_m"),
                         material=e.get("material"), path=e.get("path"), high_position=bool(e.get("high_position")))
    est = estimate_reach(inputs)
    row = {"id": e["id"], "name": e["name"], "hazard_type": e["hazard_type"], "material": e.get("material"),
           "path": e.get("path"), "volume_m3": e.get("volume_m3"), "height_m": e.get("height_m"),
           "observed_m": e.get("runout_m"), "observed_type": e.get("observed_type", ""),
           "uncertain": bool(e.get("uncertain")), "high_position": bool(e.get("high_position")),
           "note": e.get("note", ""), "group": est.group,
           "primary": next((r.relation_id for r in est.relations if r.role == "primary"), None),
           "expected_m": est.expected_m, "conservative_m": est.conservative_m, "basis": est.basis,
           "covered": None, "expected_covers": None, "missing": list(est.missing)}
    if e.get("runout_m") is None:
        row["missing"].append("observed runout")
    if est.has_numbers and e.get("runout_m") is not None:
        row["covered"] = e["runout_m"] <= est.conservative_m
        row["expected_covers"] = e["runout_m"] <= est.expected_m
        row["observed_hl"] = e["height_m"] / e["runout_m"]
        row["expected_hl"] = e["height_m"] / est.expected_m
        row["conservative_hl"] = e["height_m"] / est.conservative_m
        row["conservative_over_observed"] = est.conservative_m / e["runout_m"]
    return row


def _miss(r: dict, level: str) -> dict:
    """Why the observed runout went beyond the expected or conservative reach (level: expected_m | conservative_m)."""
    reasons = []
    if r["material"] == "fill" and r["group"] == "earthflow":
        reasons.append("saturated construction fill liquefied and flowed (flowslide); no Corominas group holds such "
                       "cases and the earthflow row still expects a far steeper reach angle")
    elif r["material"] == "fill":
        # a debris flow (or other group) fed by fill: the earthflow row was not the relation used
        reasons.append("the source was saturated artificial fill, more mobile than the natural material of the "
                       "regression's cases")
    if r["material"] == "loess":
        reasons.append("fluidised loess flowslide")
    if any(w in r["observed_type"] for w in ("flowslide", "debris avalanche")) and r["material"] != "fill":
        reasons.append("the slide mass became a flow-like debris avalanche (saturated sediments), more mobile than the "
                       "translational slides of the regression")
    if "entrain" in r["observed_type"] or "entrain" in r["note"] or "grew" in r["note"]:
        reasons.append("the moving mass entrained material and grew well beyond the source volume used as input")
    if (r["path"] == "channelized" or "debris flow" in r["observed_type"]) and r["group"] != "debris_flow":
        # the debris-flow relations are fitted on channelled flows: this reason only explains slide/rockfall misses
        reasons.append("the mass was channelled (gullies / creek) and ran on as a flow, which the slide and rockfall "
                       "relations do not describe")
    if r["group"] == "debris_flow" and r["high_position"]:
        reasons.append("high-position (高位) start: the mass fell from high on the slope and turned into a debris flow, "
                       "entraining material on the way; the literature warns that such flows run farther than the "
                       "regressions expect from the source volume")
    if not reasons:
        reasons.append("within the scatter of the regression: about half of the cases lie beyond a mean line by "
                       "construction" if level == "expected_m" else
                       "no special factor recorded: the observed reach angle is simply below the 95 % limit")
    return {"id": r["id"], "name": r["name"], "group": r["group"], "observed_m": r["observed_m"],
            "predicted_m": r[level], "shortfall_m": r["observed_m"] - r[level], "observed_hl": r["observed_hl"],
            "predicted_hl": r["expected_hl" if level == "expected_m" else "conservative_hl"], "reasons": reasons,
            "note": r["note"], "uncertain": r["uncertain"]}


# ---------------------------------------------------------------- report

def _n(x: float | None, unit: str = "") -> str:
    return "—" if x is None else f"{x:,.0f}{unit}"


def render_markdown(result: dict, day: str, previous: tuple[str, dict] | None = None) -> str:
    lines = [f"# Runout estimate validation {day}", "",
             "Published events run through `estimate_reach` (app/reason/reach.py) with the volume, fall height, type, "
             "material and path as a commander could report them before the event. *Covered* = observed runout ≤ "
             f"conservative reach. Target: ≥ {TARGET:.0%} per relation group. Coefficients are the published ones "
             "(app/reason/reach_data/runout.yaml); nothing was tuned to these events. Sources per event: "
             "eval/reach/events.jsonl.", "",
             "| event | input | V (m³) | H (m) | observed L (m) | expected L (m) | conservative L (m) | covered | "
             "conservative ÷ observed | relation |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        kind = "/".join(x for x in (r["hazard_type"], r["material"], r["path"]) if x)
        cov = "—" if r["covered"] is None else ("✓" if r["covered"] else "✗ miss")
        flag = " (uncertain)" if r["uncertain"] else ""
        lines.append(f"| {r['name']}{flag} | {kind} | {_n(r['volume_m3'])} | {_n(r['height_m'])} | "
                     f"{_n(r['observed_m'])} | {_n(r['expected_m'])} | {_n(r['conservative_m'])} | {cov} | "
                     f"{_ratio(r.get('conservative_over_observed'))} | {r['primary'] or '—'} |")
    lines += ["", "## Coverage per relation group", "",
              "| group | events | conservative covers | share | expected covers | meets target |", "|---|---|---|---|---|---|"]
    for key, g in result["groups"].items():
        lines.append(f"| {GROUP_LABEL.get(key, key)} | {g['events']} | {g['covered']} | {g['coverage']:.0%} | "
                     f"{g['expected_covered']} | {'yes' if g['meets_target'] else 'no'} |")
    o = result["overall"]
    lines += ["", f"Overall: {o['covered']} of {o['events']} observed runouts inside the conservative reach"
                  + (f" ({o['coverage']:.0%})." if o["coverage"] is not None else "."),
              "Groups with one to three events say little.", *_gap_lines(result), *_uncertain_lines(result),
              _width_note(result), "",
              "## Misses of the conservative reach", ""]
    lines += [_miss_line(m, "the conservative reach") for m in result["misses"]] or ["None."]
    lines += ["", "## Runouts beyond the expected reach",
              "", "Where the *expected* figure alone would have under-warned; the conservative reach covered these.", ""]
    lines += [_miss_line(m, "the expected reach") for m in result["beyond_expected"]] or ["None."]
    lines += ["", "## Not computed", ""]
    skipped = [r for r in result["rows"] if r["covered"] is None]
    lines += [f"- {r['name']}: missing {', '.join(r['missing'])}. {r['note']}" for r in skipped] or ["None."]
    if previous is not None:
        lines += ["", *against_previous(result, previous)]
    return "\n".join(lines) + "\n"


def against_previous(result: dict, previous: tuple[str, dict]) -> list[str]:
    """Events added or dropped, coverage per group and each event's verdict, beside the previous run's."""
    name, previous = previous
    before = {r["id"]: r for r in previous["rows"]}
    now = {r["id"]: r for r in result["rows"]}
    lines = ["## Against the previous run", "", f"Previous: `{name}`.", "",
             "| group | events before → now | conservative covers before → now |", "|---|---|---|"]
    for key in sorted(set(result["groups"]) | set(previous["groups"])):
        b, n = previous["groups"].get(key, {}), result["groups"].get(key, {})
        lines.append(f"| {GROUP_LABEL.get(key, key)} | {b.get('events', 0)} → {n.get('events', 0)} | "
                     f"{b.get('covered', 0)} → {n.get('covered', 0)} |")
    added = [now[i]["name"] for i in now if i not in before]
    dropped = [before[i]["name"] for i in before if i not in now]
    changed = [f"{now[i]['name']}: {_verdict(before[i])} → {_verdict(now[i])}" for i in now
               if i in before and _verdict(before[i]) != _verdict(now[i])]
    lines += ["", "Added: " + ("; ".join(added) or "none") + ".", "Dropped: " + ("; ".join(dropped) or "none") + ".",
              "Verdict changed: " + ("; ".join(changed) or "none") + "."]
    return lines


def _verdict(r: dict) -> str:
    return "not computed" if r["covered"] is None else "covered" if r["covered"] else "missed"


def _gap_lines(result: dict) -> list[str]:
    """One line per relation group whose events all lack a verified fall height or runout: not assessed, not passed."""
    lines = []
    for key in result.get("groups_without_complete_event", []):
        n = sum(1 for r in result["rows"] if r["group"] == key)
        lines.append(f"**{GROUP_LABEL.get(key, key)}: not assessed.** {n} event(s) recorded, none with a verified fall "
                     f"height and runout (see *Not computed*); the {result['target']:.0%} coverage target is neither met "
                     "nor failed for this group.")
    return lines


def _uncertain_lines(result: dict) -> list[str]:
    """One line per relation group whose computed events all carry uncertain figures: its share rests on them."""
    return [f"**{GROUP_LABEL.get(key, key)}: all {g['events']} computed event(s) have uncertain figures** (ranges "
            "between sources, derived or rounded values; see each event's note); read the share with that in mind."
            for key, g in result["groups"].items() if g.get("uncertain") == g["events"]]


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}×"


def _width_note(result: dict) -> str:
    ratios = sorted(r["conservative_over_observed"] for r in result["rows"] if r.get("conservative_over_observed"))
    if not ratios:
        return ""
    mid = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    return (f"The conservative reach is wide: {ratios[0]:.1f}× to {ratios[-1]:.1f}× the observed runout "
            f"(median {mid:.1f}×). Coverage comes at that price; an evacuation zone drawn from it is large.")


def _miss_line(m: dict, what: str) -> str:
    flag = " (uncertain figures)" if m["uncertain"] else ""
    text = (f"- **{m['name']}**{flag}: observed {m['observed_m']:,.0f} m, {what} {m['predicted_m']:,.0f} m "
            f"(short by {m['shortfall_m']:,.0f} m); observed H/L {m['observed_hl']:.2f} vs predicted "
            f"{m['predicted_hl']:.2f}. Why: {'; '.join(m['reasons'])}.")
    return text + (f" Note: {m['note']}." if m["note"] else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=EVENTS)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--date", default=date.today().isoformat())
    parser.add_argument("--tag", default="", help="a second run on the same day: <date>-reach-<tag>.md")
    args = parser.parse_args(argv)
    result = validate(load_events(args.events))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{args.date}-reach" + (f"-{args.tag}" if args.tag else "")
    md, js = args.out_dir / f"{stem}.md", args.out_dir / f"{stem}.json"
    previous = previous_results(stem[len(args.date) + 1:], args.date, args.out_dir)
    md.write_text(render_markdown(result, args.date, previous), encoding="utf-8")
    js.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8")
    for key, g in result["groups"].items():
        print(f"{key}: {g['covered']}/{g['events']} covered ({g['coverage']:.0%})")
    for key in result["groups_without_complete_event"]:
        print(f"{key}: no complete event, not assessed")
    print(f"wrote {md} and {js}")
    return 0


def _json_default(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    raise TypeError(type(x))


if __name__ == "__main__":
    sys.exit(main())
