"""How far a landslide, rockfall or debris flow may travel: published empirical relations, computed in code.

    estimate_reach(reach_inputs_from_text("约50万方滑坡，高差约300米，坡高120米，坡度35度，下方800米处的村子"))

The relations are data (reach_data/runout.yaml, each with its citation, sample size, valid range and a note on
what it was checked against); this module only selects and evaluates them. The model never computes these numbers.

Which relation for which input (primary gives the expected reach; the conservative reach is the farthest of the
primary's 95 % confidence-limit reach and every alternate's reach, so one uncertain row never shortens it):

    滑坡, material rock/soil/unknown  → Corominas translational slides, path row if one exists (open/obstructed)
                                        else "all"; rock ≥ 10⁶ m³ adds Scheidegger (slides that become rock avalanches)
    滑坡, material loess/fill         → Corominas earthflows and mudslides (most mobile Corominas group)
    崩塌                              → Corominas rockfalls, path row if one exists; ≥ 10⁵ m³ adds Scheidegger
    碎屑流 (rock avalanche)           → Scheidegger; alternate Corominas rockfalls (it has a confidence limit)
    泥石流                            → Corominas debris flows (channelized row for channelized paths, else "all");
                                        alternate Rickenmann (1999); inundated area after Griswold & Iverson (2008)

A "path row" is used only when it is selectable; the obstructed/unobstructed debris-flow rows are disputed
between transcriptions and never used. All distances are horizontal, from the crown of the source (后缘).
Where the toe is: slope height ÷ tan(slope angle) from the crown; for debris flows the channel length (沟口).
Missing inputs give an estimate with no numbers and a list of what is needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from app.reason.reach_inputs import ReachInputs, reach_inputs_from_text
from app.reason.reach_place import fmt as _fmt, place as _place, toe as _toe

__all__ = ["ReachEstimate", "ReachInputs", "RelationResult", "estimate_reach", "load_relations",
           "reach_inputs_from_text"]

DATA_FILE = Path(__file__).parent / "reach_data" / "runout.yaml"
ROCK_AVALANCHE_MIN_M3 = 1e5  # 崩塌 from this volume on is also treated as a rock avalanche (Scheidegger's range)
LARGE_ROCK_SLIDE_M3 = 1e6
_GROUP_OF_PATH = {"open": "open", "obstructed": "obstructed", "channelized": "channelized"}
_VOLUME_LABEL = {"滑坡": "滑坡体积", "崩塌": "崩塌（危岩）体积", "碎屑流": "崩滑体积", "泥石流": "泥石流一次冲出方量"}
_HEIGHT_LABEL = {"泥石流": "物源区至沟口（堆积区）高差"}
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s+")  # YAML folding puts spaces in Chinese


@dataclass(frozen=True)
class RelationResult:
    relation_id: str
    label: str
    citation: str
    role: str  # primary | alternate | area
    verification: str
    verified: str
    reach_m: float | None = None
    conservative_m: float | None = None  # None when the relation has no confidence limit
    out_of_range: tuple[str, ...] = ()
    cross_section_m2: float | None = None  # inundation_area only
    area_m2: float | None = None


@dataclass(frozen=True)
class ReachEstimate:
    inputs: ReachInputs
    group: str | None = None  # relation group used: translational_slide | earthflow | rockfall | rock_avalanche | debris_flow
    expected_m: float | None = None  # horizontal, from the crown
    conservative_m: float | None = None
    toe_m: float | None = None  # horizontal crown → toe of the slope (or channel mouth)
    toe_basis: str = ""
    expected_beyond_toe_m: float | None = None
    conservative_beyond_toe_m: float | None = None
    area_m2: float | None = None  # planimetric inundated area (flows)
    cross_section_m2: float | None = None
    relations: tuple[RelationResult, ...] = ()
    basis: str = ""  # which relation gave the expected and which the conservative reach
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    place_from_crown_m: float | None = None
    place_inside_expected: bool | None = None
    place_inside_conservative: bool | None = None
    place_note: str = ""

    @property
    def has_numbers(self) -> bool:
        return self.expected_m is not None

    def to_json(self) -> dict:
        return {
            "inputs": self.inputs.to_json(), "group": self.group,
            "expected_m": self.expected_m, "conservative_m": self.conservative_m,
            "toe_m": self.toe_m, "toe_basis": self.toe_basis,
            "expected_beyond_toe_m": self.expected_beyond_toe_m,
            "conservative_beyond_toe_m": self.conservative_beyond_toe_m,
            "area_m2": self.area_m2, "cross_section_m2": self.cross_section_m2,
            "relations": [vars(r) | {"out_of_range": list(r.out_of_range)} for r in self.relations],
            "basis": self.basis, "missing": list(self.missing), "warnings": list(self.warnings),
            "place": {"from_crown_m": self.place_from_crown_m, "inside_expected": self.place_inside_expected,
                      "inside_conservative": self.place_inside_conservative, "note": self.place_note},
        }


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data.get("relations"):
        raise ValueError(f"{path}: 缺少 relations")
    return data


def load_relations(path: Path = DATA_FILE) -> dict:
    """The parsed runout data file: sources, relations (list of dicts) and literature warnings."""
    return _load(str(path))


def estimate_reach(inputs: ReachInputs, relations: dict | None = None) -> ReachEstimate:
    """Expected and conservative reach for `inputs`; with missing inputs, no numbers and the list of what is needed."""
    data = relations if relations is not None else load_relations()
    missing = _missing(inputs)
    if inputs.hazard_type is None:
        return ReachEstimate(inputs, missing=missing, toe_basis=_toe(inputs)[1],
                             warnings=_literature_warnings(data, inputs, None))
    group, chosen, area_id = _select(data, inputs)
    toe_m, toe_basis = _toe(inputs)
    warnings = _literature_warnings(data, inputs, group)
    if missing:
        return ReachEstimate(inputs, group, toe_m=toe_m, toe_basis=toe_basis, missing=missing, warnings=warnings)
    results = [_evaluate(data, rel, role, inputs) for rel, role in chosen]
    if area_id:
        results.append(_evaluate(data, _by_id(data, area_id), "area", inputs))
    primary = results[0]
    candidates = [(r.conservative_m if r.conservative_m is not None else r.reach_m, r) for r in results
                  if r.role != "area" and r.reach_m is not None]
    conservative, cons_rel = max(candidates, key=lambda c: c[0])
    basis = f"预计距离依据{primary.label}；保守距离取自{cons_rel.label}" + (
        "的95%置信限" if cons_rel.conservative_m is not None and conservative == cons_rel.conservative_m else "")
    for r in results:
        warnings += [f"{r.label}：{w}" for w in r.out_of_range]
        if r.verification == "single_transcription":
            warnings.append(f"{r.label}的系数只核对到一个公开转录，未与原文核对")
    area = next((r for r in results if r.role == "area"), None)
    place = _place(inputs, toe_m, primary.reach_m, conservative)
    return ReachEstimate(
        inputs, group, primary.reach_m, conservative, toe_m, toe_basis,
        None if toe_m is None else primary.reach_m - toe_m, None if toe_m is None else conservative - toe_m,
        area.area_m2 if area else None, area.cross_section_m2 if area else None, tuple(results), basis,
        (), tuple(dict.fromkeys(warnings)), *place)


def _missing(inputs: ReachInputs) -> tuple[str, ...]:
    need = []
    if inputs.hazard_type is None:
        need.append("灾害类型（滑坡/崩塌/泥石流）")
    if inputs.volume_m3 is None:
        need.append(_VOLUME_LABEL.get(inputs.hazard_type or "", "崩滑体积"))
    if inputs.height_m is None:
        need.append(_HEIGHT_LABEL.get(inputs.hazard_type or "", "后缘至坡脚高差"))
    return tuple(need)


def _by_id(data: dict, rid: str) -> dict:
    return next(r for r in data["relations"] if r["id"] == rid)


def _row(data: dict, group: str, path: str | None) -> dict:
    """The selectable Corominas row for group and path, else the group's "all" row."""
    rows = [r for r in data["relations"] if r["kind"] == "angle_of_reach" and r["group"] == group
            and r.get("selectable", True)]
    wanted = _GROUP_OF_PATH.get(path or "")
    return next((r for r in rows if r["path"] == wanted), None) or next(r for r in rows if r["path"] == "all")


def _select(data: dict, inputs: ReachInputs) -> tuple[str, list[tuple[dict, str]], str | None]:
    """(relation group, [(relation, primary|alternate)…], inundated-area relation id or None)."""
    hazard, volume = inputs.hazard_type, inputs.volume_m3 or 0
    scheidegger = _by_id(data, "scheidegger_rock_avalanche")
    if hazard == "泥石流":
        primary = _row(data, "debris_flow", inputs.path)
        chosen = [(primary, "primary"), (_by_id(data, "rickenmann_debris_flow"), "alternate")]
        if primary["path"] != "all":
            chosen.append((_row(data, "debris_flow", None), "alternate"))
        return "debris_flow", chosen, "iverson_debris_flow_area"
    if hazard == "碎屑流":
        return "rock_avalanche", [(scheidegger, "primary"), (_row(data, "rockfall", None), "alternate")], \
            "iverson_rock_avalanche_area"
    if hazard == "崩塌":
        chosen = _with_all(data, "rockfall", inputs.path)
        if volume >= ROCK_AVALANCHE_MIN_M3:
            chosen.append((scheidegger, "alternate"))
            return "rockfall", chosen, "iverson_rock_avalanche_area"
        return "rockfall", chosen, None
    group = "earthflow" if inputs.material in ("loess", "fill") else "translational_slide"
    chosen = _with_all(data, group, inputs.path)
    if group == "translational_slide" and inputs.material == "rock" and volume >= LARGE_ROCK_SLIDE_M3:
        chosen.append((scheidegger, "alternate"))
    return group, chosen, None


def _with_all(data: dict, group: str, path: str | None) -> list[tuple[dict, str]]:
    primary = _row(data, group, path)
    chosen = [(primary, "primary")]
    if primary["path"] != "all":
        chosen.append((_row(data, group, None), "alternate"))
    return chosen


def _evaluate(data: dict, rel: dict, role: str, inputs: ReachInputs) -> RelationResult:
    v, h = inputs.volume_m3, inputs.height_m
    base = dict(relation_id=rel["id"], label=rel["label"], citation=data["sources"][rel["source"]].strip(),
                role=role, verification=rel["verification"], verified=str(rel.get("verified", "")).strip(),
                out_of_range=_out_of_range(rel, v, h))
    if rel["kind"] == "angle_of_reach":
        log_hl = rel["A"] + rel["B"] * math.log10(v)
        cons = None if rel.get("CL") is None else h / 10 ** (log_hl - rel["CL"])
        return RelationResult(**base, reach_m=h / 10 ** log_hl, conservative_m=cons)
    if rel["kind"] == "travel_distance":
        return RelationResult(**base, reach_m=rel["c"] * v ** rel["a"] * h ** rel["b"])
    if rel["kind"] == "inundation_area":
        return RelationResult(**base, cross_section_m2=rel["a1"] * v ** (2 / 3), area_m2=rel["a2"] * v ** (2 / 3))
    raise ValueError(f"未知的关系类型 {rel['kind']}（{rel['id']}）")


def _out_of_range(rel: dict, v: float, h: float) -> tuple[str, ...]:
    """Chinese notes for every bound of the relation's data that the inputs fall outside (extrapolation)."""
    notes = []
    for value, key, label, unit in ((v, "volume", "体积", "立方米"), (h, "height", "高差", "米")):
        lo, hi = rel.get(f"{key}_min_m3" if key == "volume" else f"{key}_min_m"), \
            rel.get(f"{key}_max_m3" if key == "volume" else f"{key}_max_m")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"{_fmt(lo) if lo is not None else '—'}～{_fmt(hi) if hi is not None else '—'}{unit}"
            notes.append(f"{label}{_fmt(value)}{unit}超出该公式的数据范围（{span}），结果为外推，可信度低")
    return tuple(notes)


def _literature_warnings(data: dict, inputs: ReachInputs, group: str | None) -> list[str]:
    facts = {"material": inputs.material, "path": inputs.path, "group": group, "high_position": inputs.high_position}
    out = []
    for w in data.get("warnings", []):
        cond = dict(w.get("when") or {})
        min_v = cond.pop("min_volume_m3", None)
        if min_v is not None and (inputs.volume_m3 is None or inputs.volume_m3 < min_v):
            continue
        if all(facts.get(k) == v if isinstance(v, bool) else facts.get(k) in v for k, v in cond.items()):
            out.append(_CJK_GAP.sub("", " ".join(w["text"].split())))
    return out
