"""The figures a grade is computed from, given directly or read from a free-text report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Mapping

from app.reason.numbers import Quantity, format_count, format_yuan, parse_quantity

FIGURES = ("people_to_move", "households", "potential_loss_yuan", "deaths", "missing", "injured", "direct_loss_yuan")


@dataclass(frozen=True)
class Note:
    text: str
    fields: tuple[str, ...]  # the Situation figures it concerns; a grade shows it when it uses one of them
    assumption: bool = False  # True: a stated assumption; False: a warning


@dataclass(frozen=True)
class Situation:
    region: str | None = None  # e.g. "重庆市巫山县"
    people_to_move: float | None = None  # 受威胁、需搬迁转移的人数（险情）
    households: float | None = None  # 受威胁户数（险情；不能代替人数）
    potential_loss_yuan: float | None = None  # 潜在（可能造成的）经济损失，元（险情）
    deaths: float | None = None  # 因灾死亡人数（灾情）
    missing: float | None = None  # 失踪人数（灾情；不计入死亡，单独提示）
    injured: float | None = None
    direct_loss_yuan: float | None = None  # 直接经济损失，元（灾情）
    evidence: Mapping[str, Quantity] = field(default_factory=dict)  # figure name → where it was read
    notes: tuple[Note, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in FIGURES and value is not None and (not isinstance(value, (int, float))
                                                             or math.isnan(value) or value < 0 or math.isinf(value)):
                raise ValueError(f"{f.name} 必须是非负数，收到 {value!r}")

    def source_text(self, name: str) -> str:
        q = self.evidence.get(name)
        return q.text if q else ""

    def is_approx(self, name: str) -> bool:
        q = self.evidence.get(name)
        return bool(q and q.approx)


_ROLE_OF = {  # Situation figure → (Quantity kind, accepted roles)
    "people_to_move": ("people", ("threatened",)),
    "households": ("households", ("threatened", None)),
    "potential_loss_yuan": ("money_yuan", ("potential_loss",)),
    "deaths": ("deaths", (None,)),
    "missing": ("missing", (None,)),
    "injured": ("injured", (None,)),
    "direct_loss_yuan": ("money_yuan", ("direct_loss",)),
}
_LABEL = {"people_to_move": "受威胁人数", "households": "受威胁户数", "potential_loss_yuan": "潜在经济损失",
          "deaths": "死亡人数", "missing": "失踪人数", "injured": "受伤人数", "direct_loss_yuan": "直接经济损失"}


def situation_from_text(text: str, region: str | None = None) -> Situation:
    """Read the grading figures from a report. Ambiguous figures are left out and named in a note, never guessed."""
    quantities = parse_quantity(text)
    values: dict[str, float] = {}
    evidence: dict[str, Quantity] = {}
    notes: list[Note] = []
    for name, (kind, roles) in _ROLE_OF.items():
        found = [q for q in quantities if q.kind == kind and q.role in roles]
        if name == "people_to_move" and not found:
            found = _people_after_households(quantities)
            if found:
                notes.append(Note(f"“{found[0].text}”未写明是受威胁（需搬迁转移）人数，按“N户M人”的报告惯例视为受威胁人数",
                                  ("people_to_move",), assumption=True))
        if not found:
            continue
        chosen = max(found, key=lambda q: q.value)
        values[name], evidence[name] = chosen.value, chosen
        if len({q.value for q in found}) > 1:
            listed = "、".join(q.text for q in found)
            notes.append(Note(f"文中有多个{_LABEL[name]}（{listed}），取最大值“{chosen.text}”，请核实", (name,)))
    notes += _unused(quantities, evidence)
    return Situation(region=region, evidence=evidence, notes=tuple(notes), **values)


def _people_after_households(quantities: list[Quantity]) -> list[Quantity]:
    """People counts written right after a household count ("45户约180人") with no other context word."""
    pairs = zip(quantities, quantities[1:])
    return [p for h, p in pairs
            if h.kind == "households" and p.kind == "people" and p.role is None and p.start - h.end <= 2]


def _unused(quantities: list[Quantity], evidence: dict[str, Quantity]) -> list[Note]:
    used = {id(q) for q in evidence.values()}
    notes = []
    for q in quantities:
        if id(q) in used:
            continue
        if q.kind == "money_yuan" and q.role is None:
            notes.append(Note(f"“{q.text}”未写明是直接经济损失还是潜在经济损失，未用于定级",
                              ("direct_loss_yuan", "potential_loss_yuan")))
        elif q.kind == "people" and q.role is None:
            notes.append(Note(f"“{q.text}”未写明是受威胁（需搬迁转移）人数，未用于定级", ("people_to_move",)))
    return notes


def describe(name: str, value: float) -> str:
    """Display a figure: money as 万元/亿元, counts with their unit."""
    if name.endswith("_yuan"):
        return format_yuan(value)
    return f"{format_count(value)}{'户' if name == 'households' else '人'}"


def situation_text(hazard_type: str, place: str, people, households, potential_loss_wan, deaths, missing, injured,
                   direct_loss_wan, volume: str, rainfall: str, warning: str, signs: list[str], free_text: str) -> str:
    """The assessment form as one report sentence, in the wording `situation_from_text` reads (code grades
    from it, so a form and a typed report are graded alike)."""
    def num(value) -> str | None:  # empty and 0 both mean "nothing to report" (0 deaths is not a 灾情 figure)
        return None if value in (None, "") or float(value) <= 0 else f"{float(value):g}"

    parts = [f"{place or ''}发生{hazard_type}" if hazard_type else (place or "")]
    threat = [f"{num(people)}人" if num(people) else "", f"{num(households)}户" if num(households) else ""]
    if any(threat):
        parts.append("威胁" + "、".join(t for t in threat if t))
    if num(potential_loss_wan):
        parts.append(f"潜在经济损失约{num(potential_loss_wan)}万元")
    casualties = [f"{num(deaths)}人死亡" if num(deaths) else "", f"{num(missing)}人失踪" if num(missing) else "",
                  f"{num(injured)}人受伤" if num(injured) else ""]
    if any(casualties):
        parts.append("造成" + "、".join(c for c in casualties if c))
    if num(direct_loss_wan):
        parts.append(f"直接经济损失{num(direct_loss_wan)}万元")
    if volume:
        parts.append(f"方量约{volume}")
    if rainfall:
        parts.append(rainfall)
    if warning:
        parts.append(f"当地发布地质灾害{warning}预警")
    if signs:
        parts.append("出现" + "、".join(signs))
    text = "，".join(p for p in parts if p)
    text = (text + "。") if text else ""
    return (text + (free_text or "").strip()).strip()


_PATH_WORDS = {"开阔坡面": "运动路径开阔", "沟道": "沿沟道运动", "受阻": "运动路径受阻"}
_MATERIAL_WORDS = {"岩质": "岩质", "土质": "土质", "黄土": "黄土", "填土/渣土": "填土"}


def terrain_text(height_m, slope_height_m, slope_angle_deg, path: str, material: str, place_distance_m) -> str:
    """The form's runout inputs as one sentence, in the wording `reach_inputs_from_text` reads."""
    def num(value) -> str | None:
        return None if value in (None, "") or float(value) <= 0 else f"{float(value):g}"

    parts = [f"高差约{num(height_m)}米" if num(height_m) else "",
             f"坡高{num(slope_height_m)}米" if num(slope_height_m) else "",
             f"坡度{num(slope_angle_deg)}度" if num(slope_angle_deg) else "",
             _PATH_WORDS.get(path or "", ""), _MATERIAL_WORDS.get(material or "", ""),
             f"距坡脚{num(place_distance_m)}米处有村庄" if num(place_distance_m) else ""]
    text = "，".join(p for p in parts if p)
    return text + "。" if text else ""
