"""One incident across a conversation (issue 14): figures reported in later messages update, correct or add to
the situation, and the grade is recomputed from the merged figures.

"受威胁人数增加到600人" replaces the figure, "又发现3名遇难者" adds to it, a figure restated without either cue
corrects it (said as such). Every change is kept with its time, and a grade change is explained by the figure that
caused it ("险情等级：中型 → 大型，因受威胁人数由120人增至600人（…）").
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field

from app.reason.numbers import Quantity
from app.reason.situation import FIGURES, Situation, describe

LABELS = {"people_to_move": "受威胁人数", "households": "受威胁户数", "potential_loss_yuan": "潜在经济损失",
          "deaths": "死亡人数", "missing": "失踪人数", "injured": "受伤人数", "direct_loss_yuan": "直接经济损失"}
_KIND = {"people_to_move": "people", "households": "households", "potential_loss_yuan": "money_yuan",
         "deaths": "deaths", "missing": "missing", "injured": "injured", "direct_loss_yuan": "money_yuan"}
_ADD = re.compile(r"(?:又|再|另|新增|新发现|又发现|又有|还有|增加了|多了)[^，。；,;]{0,8}$")
_REPLACE = re.compile(r"(?:增加到|增至|上升到|升至|达到|达|核实后|核实为|更正为|修正为|变为|调整为|实为|减少到|减至|降至|下降到|"
                      r"共计|累计|总计|共)[^，。；,;]{0,6}$")
_CASE_QUESTION = re.compile(r"(?:发生后|发生时|当时|事件中|灾害中)[^。]{0,30}?(?:启动了?|采取了?|发布了?|造成了?|"
                            r"转移了?|几级|多少|哪些|什么)")


@dataclass(frozen=True)
class Change:
    time: float
    figure: str
    old: float | None
    new: float
    how: str  # new | replace | add | correct
    text: str  # where it was read in the message

    def describe(self) -> str:
        label, new = LABELS[self.figure], describe(self.figure, self.new)
        if self.how == "new" or self.old is None:
            return f"新报{label}{new}"
        old = describe(self.figure, self.old)
        if self.how == "add":
            return f"{label}由{old}增至{new}（新增{describe(self.figure, self.new - self.old)}，按“{self.text}”累加）"
        verb = "增至" if self.new > self.old else "减至" if self.new < self.old else "仍为"
        note = "（按新报数字更正）" if self.how == "correct" else ""
        return f"{label}由{old}{verb}{new}{note}"

    def to_json(self) -> dict:
        return {"time": self.time, "figure": self.figure, "label": LABELS[self.figure], "old": self.old,
                "new": self.new, "how": self.how, "text": self.text, "description": self.describe()}

    @classmethod
    def from_json(cls, d: dict) -> Change:
        return cls(d["time"], d["figure"], d["old"], d["new"], d["how"], d["text"])


@dataclass
class Incident:
    """The merged situation: every message about the event, its figures now, and how they got there."""

    reports: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # figure → the text it was last read from
    changes: list[Change] = field(default_factory=list)
    grades: dict[str, str] = field(default_factory=dict)  # scale → grade after the last update ("" = none)

    @property
    def text(self) -> str:
        """All reports in order, as one text (place, hazard type and signs are read from it)."""
        return "\n".join(self.reports)

    def situation(self, region: str | None = None) -> Situation:
        evidence = {name: Quantity(_KIND[name], value, self.sources.get(name, describe(name, value)), 0, 0,
                                   approx="约" in self.sources.get(name, ""))
                    for name, value in self.figures.items()}
        return Situation(region=region, evidence=evidence, **self.figures)

    def to_json(self) -> dict:
        return {"reports": self.reports, "figures": self.figures, "sources": self.sources,
                "changes": [c.to_json() for c in self.changes], "grades": self.grades}

    @classmethod
    def from_json(cls, d: dict | None) -> Incident | None:
        if not d:
            return None
        return cls(list(d["reports"]), dict(d["figures"]), dict(d["sources"]),
                   [Change.from_json(c) for c in d["changes"]], dict(d.get("grades") or {}))


def is_case_question(text: str) -> bool:
    """A question about what happened in a recorded event ("茂县新磨村滑坡发生后，四川省启动了几级应急响应？"),
    not a situation to grade."""
    return bool(_CASE_QUESTION.search(text)) and not re.search(r"请研判|请定级|现在|目前|刚刚|正在", text)


def update(incident: Incident | None, message: str, parsed: Situation, now: float | None = None
           ) -> tuple[Incident, list[Change]]:
    """The incident after `message` (whose figures `parsed` holds): each figure replaces, adds to or corrects
    the one known; returns the incident and this message's changes."""
    now = time.time() if now is None else now
    incident = Incident() if incident is None else copy.deepcopy(incident)
    changes = []
    for name in FIGURES:
        value = getattr(parsed, name)
        if value is None:
            continue
        quantity = parsed.evidence.get(name)
        before = message[:quantity.start] if quantity else ""
        old = incident.figures.get(name)
        if old is None:
            how, new = "new", value
        elif _ADD.search(before):
            how, new = "add", old + value
        elif _REPLACE.search(before):
            how, new = "replace", value
        else:
            how, new = "correct", value
        if old is not None and new == old and how != "add":
            continue
        incident.figures[name] = new
        incident.sources[name] = quantity.text if quantity and how != "add" else describe(name, new)
        changes.append(Change(now, name, old, new, how, quantity.text if quantity else ""))
    incident.reports.append(message)
    incident.changes += changes
    return incident, changes


def grade_changes(before: dict[str, str], grades, changes: list[Change]) -> list[str]:
    """Sentences saying how each scale's grade moved and which changed figure moved it."""
    out = []
    changed = {c.figure: c for c in changes}
    for g in grades:
        old, new = before.get(g.scale), g.grade or ""
        if old is None:
            continue
        if old == new:
            out.append(f"{g.scale}等级不变：{new or '暂无法定级'}")
            continue
        why = [f"{changed[f.criterion].describe()}（{f.rule_text}）" for f in g.deciding if f.criterion in changed]
        out.append(f"{g.scale}等级：{old or '暂无法定级'} → {new or '暂无法定级'}" + (f"，因{'；'.join(why)}" if why else ""))
    return out


_VILLAGE = re.compile(r"[\u4e00-\u9fa5]{1,6}?(?:村|社区|组|镇|乡)")


def same_event(incident: Incident, message: str) -> bool:
    """False when the message reports another event: another kind of hazard, or a village the incident never
    named while it named one."""
    from app.reason.followup import hazard_of

    old_hazard, new_hazard = hazard_of(incident.text), hazard_of(message)
    if old_hazard and new_hazard and old_hazard != new_hazard:
        return False
    old_places = {m.group(0) for m in _VILLAGE.finditer(incident.text)}
    new_places = {m.group(0) for m in _VILLAGE.finditer(message)}
    return not (old_places and new_places and not new_places & old_places)
