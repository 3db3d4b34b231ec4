"""Two llama.cpp builds side by side on the same answers eval (issue 17): quality must not depend on the build by
more than noise, and a loop or template leak on either is a defect.

    python -m eval.builds eval/results/2026-11-29-answers.json eval/results/2026-11-29-answers-avx2.json
        → eval/results/<date>-builds.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.scoring import SUMMARY_METRICS

HEALTH = ("answers_with_loop_or_marker", "template_reasoning_steps", "empty_answers", "cut_off",
          "completion_tokens_median", "completion_tokens_total")


def builds_report(a: dict, b: dict, names: tuple[str, str]) -> str:
    lines = [f"# Two llama.cpp builds, one answers eval ({a['date']}, {a['model']})", "",
             f"- {names[0]}: {a.get('build', {}).get('system_info', '')[:200]}",
             f"- {names[1]}: {b.get('build', {}).get('system_info', '')[:200]}", "",
             f"| metric | {names[0]} | {names[1]} | difference |", "|---|---|---|---|"]
    for key in SUMMARY_METRICS:
        x, y = a["summary"].get(key), b["summary"].get(key)
        diff = "–" if x is None or y is None else f"{y - x:+.3f}"
        lines.append(f"| {key} | {_fmt(x)} | {_fmt(y)} | {diff} |")
    for key in HEALTH:
        x, y = (a.get("health") or {}).get(key), (b.get("health") or {}).get(key)
        lines.append(f"| {key} | {_fmt(x)} | {_fmt(y)} | {'–' if x is None or y is None else f'{y - x:+g}'} |")
    rows_b = {r["id"]: r for r in b["rows"]}
    changed = [(r, rows_b[r["id"]]) for r in a["rows"] if r["id"] in rows_b
               and (r["score"] != rows_b[r["id"]]["score"] or r["refused"] != rows_b[r["id"]]["refused"])]
    same_text = sum(r["answer"] == rows_b.get(r["id"], {}).get("answer") for r in a["rows"])
    lines += ["", f"Identical answer text on {same_text} of {len(a['rows'])} questions "
              "(greedy decoding differs between builds: floating-point order of the kernels).", "",
              f"Questions whose score or refusal differs: {len(changed)}", ""]
    if changed:
        lines += ["| id | kind | " + " | ".join(f"{n} score / refused" for n in names) + " |", "|---|---|---|---|"]
        for r, s in changed:
            lines.append(f"| {r['id']} | {r['kind']} | {r['score']:.2f} / {r['refused']} | {s['score']:.2f} / {s['refused']} |")
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def main(argv: list[str]) -> int:
    first, second = (Path(p) for p in argv[:2])
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    names = (a.get("tag") or "native", b.get("tag") or second.stem.split("-")[-1])
    report = builds_report(a, b, names)
    out = first.parent / f"{a['date']}-builds.md"
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"写入 / written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
