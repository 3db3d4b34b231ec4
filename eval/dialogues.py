"""Dialogue evaluation (issue 14): multi-turn conversations from eval/questions/dialogues.jsonl, each last turn
scored like an answer-set question.

Two modes over the same dialogues. With history, every turn goes through one ConversationState, as the product
does (the earlier turns are answered too, their time kept apart), and the last turn is scored. Without history,
only the last message is asked, alone: what the product did before conversations. The last turn is scored by
eval.scoring.score_answer, like the answers set; each row adds the question the pipeline understood
(`resolved_question`), whether it carried the right context (`carried_ok`), how it was resolved and how long that
took. Line schema and categories: eval/questions/dialogues.jsonl, scripts/build_dialogues.py.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from app.reason.conversation import ConversationState
from app.reason.followup import resolve
from app.reason.incident import is_case_question, same_event
from eval.scoring import category_scores, percentile, score_answer

CATEGORIES = ("followup", "incident", "switch", "refusal")
KINDS = ("fact", "grade", "refusal")
MODES = ("history", "alone")  # with history | without history (the last message alone)


def load_dialogues() -> list[dict]:
    from eval.harness import load_questions

    return load_questions("dialogues")


def last_question(dialogue: dict) -> dict:
    """The answers-set question the last turn stands for (what score_answer reads)."""
    last = dialogue["last"]
    return {"id": dialogue["id"], "category": dialogue["category"], "question": dialogue["turns"][-1],
            "kind": last["kind"], "facts": last.get("facts", []), "sources": last.get("sources", []),
            **({"expected": last["expected"]} if "expected" in last else {})}


def carried_ok(dialogue: dict, resolved: str) -> bool | None:
    """True when the resolved last question holds none of `must_not_carry` and all of `expect_resolved_contains`;
    None when the dialogue names neither."""
    banned, wanted = dialogue.get("must_not_carry") or [], dialogue.get("expect_resolved_contains") or []
    if not banned and not wanted:
        return None
    return not any(w in resolved for w in banned) and all(w in resolved for w in wanted)


def resolve_how(message: str, state: ConversationState | None) -> str:
    """How the pipeline will take `message` in this state, by the same code it runs (no model call): an incident
    report or update, or the follow-up resolution (first | self-contained | ellipsis | pronoun | scoped | model).
    "model" becomes "fallback" afterwards when the model's rewrite was not kept (see `_settle_how`)."""
    from app.reason.assess import read_situation

    if not is_case_question(message) and read_situation(message) is not None:
        incident = state.incident if state is not None else None
        return "incident-update" if incident and same_event(incident, message) else "incident"
    return resolve(message, state.context if state is not None else None).how


def _settle_how(how: str, resolved: str) -> str:
    """"model" when the model's rewrite was kept, "fallback" when the follow-up was attached to the previous
    question instead (app.reason.followup.checked_rewrite)."""
    return "fallback" if how == "model" and "（追问：" in resolved else how


def run_dialogue(copilot, dialogue: dict, with_history: bool) -> dict:
    """One scored row: the last turn of `dialogue` answered with its history (all turns, one state) or alone."""
    from app.interfaces.render import reply_payload

    turns = dialogue["turns"] if with_history else dialogue["turns"][-1:]
    state = ConversationState() if with_history else None
    earlier = 0.0
    for message in turns[:-1]:
        start = time.perf_counter()
        copilot.reply(message, conversation=state)
        earlier += time.perf_counter() - start
    how = resolve_how(turns[-1], state)
    start = time.perf_counter()
    result = copilot.reply(turns[-1], conversation=state)
    seconds = time.perf_counter() - start
    payload, text = reply_payload(result, copilot.model_info)
    row = score_answer(last_question(dialogue), payload, text, seconds)
    resolved = payload.get("resolved_question") or turns[-1]
    row.update({
        "turns": len(dialogue["turns"]),
        "resolved_question": resolved,
        "resolve_how": _settle_how(how, resolved),
        "carried_ok": carried_ok(dialogue, resolved),
        "resolve_s": (payload.get("timings") or {}).get("resolve_s"),
        "earlier_s": round(earlier, 2),
        "situation_changes": payload.get("situation_changes") or [],
    })
    return row


def run_dialogues_eval(copilot, dialogues: list[dict] | None = None, with_history: bool = True) -> dict:
    """One mode over all dialogues: {"rows", "summary", "categories"}."""
    dialogues = dialogues if dialogues is not None else load_dialogues()
    label = MODES[0] if with_history else MODES[1]
    rows = []
    for dialogue in dialogues:
        rows.append(run_dialogue(copilot, dialogue, with_history))
        _progress(label, rows, dialogues)
    return {"rows": rows, "summary": dialogues_summary(rows), "categories": category_scores(rows)}


def run_both(copilot, dialogues: list[dict] | None = None) -> dict:
    """Both modes, with history first; the results the report and eval/results/ take."""
    dialogues = dialogues if dialogues is not None else load_dialogues()
    return {"date": str(dt.date.today()), "model": copilot.model_info.name, "dialogues": len(dialogues),
            "modes": {MODES[0]: run_dialogues_eval(copilot, dialogues, with_history=True),
                      MODES[1]: run_dialogues_eval(copilot, dialogues, with_history=False)}}


def dialogues_summary(rows: list[dict]) -> dict:
    """Fact recall (facts found over all facts of fact rows), grade and refusal accuracy, citation validity,
    carried-context rate, false refusals on fact rows, resolution time and last-turn time."""

    def share(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    facts = [r for r in rows if r["kind"] == "fact"]
    answered = [r for r in rows if r["kind"] != "refusal" and not r["refused"]]
    resolve_s = [r["resolve_s"] for r in rows if r.get("resolve_s") is not None]
    seconds = [r["seconds"] for r in rows]
    return {
        "dialogues": len(rows),
        "fact_recall": (sum(r["facts_found"] for r in facts) / sum(r["facts"] for r in facts)
                        if sum(r["facts"] for r in facts) else None),
        "grade_accuracy": share(r.get("grade_ok") for r in rows if r["kind"] == "grade"),
        "refusal_accuracy": share(r["refused"] for r in rows if r["kind"] == "refusal"),
        "citation_validity": share(r["citation_valid"] for r in answered),
        "carried_ok_rate": share(r["carried_ok"] for r in rows),
        "false_refusal_rate": share(r["refused"] for r in facts),
        "resolve_p50_s": percentile(resolve_s, 0.5) if resolve_s else None,
        "resolve_p95_s": percentile(resolve_s, 0.95) if resolve_s else None,
        "last_turn_p50_s": percentile(seconds, 0.5) if seconds else None,
        "earlier_turns_p50_s": percentile([r["earlier_s"] for r in rows], 0.5) if rows else None,
    }


def _progress(label: str, rows: list[dict], dialogues: list[dict]) -> None:
    row = rows[-1]
    print(f"[{label} {len(rows)}/{len(dialogues)}] {row['id']} {row['resolve_how']} refused={row['refused']} "
          f"facts={row['facts_found']}/{row['facts']} carried={row['carried_ok']} {row['seconds']:.1f}s",
          file=sys.stderr, flush=True)
