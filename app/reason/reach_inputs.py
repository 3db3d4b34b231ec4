"""The figures a runout estimate needs, given directly or read from a free-text Chinese report.

    reach_inputs_from_text("山体约50万方，高差约300米，坡高120米，坡度35度，下方800米处的村子")

Pure, regex-based; numbers go through app.reason.numbers (parse_quantity for volumes, parse_cn_number for the rest).
A figure that is not in the text stays None: the estimate then lists it as missing, never guesses it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Mapping

from app.reason.numbers import _CN_CHARS, parse_cn_number, parse_quantity, to_halfwidth

HAZARD_TYPES = ("滑坡", "崩塌", "泥石流", "碎屑流")
PATHS = ("open", "channelized", "obstructed")  # 开阔 | 沟道 | 受阻
MATERIALS = ("rock", "soil", "loess", "fill")  # 岩质 | 土质 | 黄土 | 填土/渣土/弃土
PLACE_REFERENCES = ("toe", "crown")  # the place's distance is measured from the slope toe (坡脚) or the crown (后缘)
_POSITIVE = ("volume_m3", "height_m", "slope_height_m", "channel_length_m")


@dataclass(frozen=True)
class ReachInputs:
    hazard_type: str | None = None  # 滑坡 | 崩塌 | 泥石流 | 碎屑流
    volume_m3: float | None = None  # 崩滑体体积 / 泥石流一次冲出方量
    height_m: float | None = None  # fall height H: crown of the source → toe of the deposit (高差, 落差)
    slope_height_m: float | None = None  # 坡高: height of the slope itself, locates the toe with slope_angle_deg
    slope_angle_deg: float | None = None  # 坡度, degrees
    path: str | None = None  # open | channelized | obstructed
    material: str | None = None  # rock | soil | loess | fill
    channel_length_m: float | None = None  # 沟长 (debris flows: source → channel mouth, along the channel)
    place_distance_m: float | None = None  # horizontal distance of a village/house from place_reference
    place_reference: str = "toe"
    place_name: str | None = None  # e.g. 村子, 学校
    high_position: bool = False  # 高位 (source high above the slope toe, may entrain material)
    from_text: tuple[str, ...] = ()  # names of the fields read from user text
    evidence: Mapping[str, str] = field(default_factory=dict)  # field name → the exact text it was read from

    def __post_init__(self) -> None:
        for name in (*_POSITIVE, "place_distance_m", "slope_angle_deg"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} 必须是有限的数，收到 {value!r}")
            if name in _POSITIVE and value <= 0:
                raise ValueError(f"{name} 必须大于0，收到 {value!r}")
            if name == "place_distance_m" and value < 0:
                raise ValueError(f"place_distance_m 不能为负，收到 {value!r}")
        if self.slope_angle_deg is not None and not 0 < self.slope_angle_deg < 90:
            raise ValueError(f"坡度必须在0到90度之间，收到 {self.slope_angle_deg!r}")
        for name, allowed in (("hazard_type", HAZARD_TYPES), ("path", PATHS), ("material", MATERIALS)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"{name} 只能是 {'、'.join(allowed)}，收到 {value!r}")
        if self.place_reference not in PLACE_REFERENCES:
            raise ValueError(f"place_reference 只能是 toe 或 crown，收到 {self.place_reference!r}")

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["from_text"] = list(self.from_text)
        data["evidence"] = dict(self.evidence)
        return data


# ---------------------------------------------------------------- reading free text

_NUM = rf"(?P<num>[\d{_CN_CHARS}][\d{_CN_CHARS}.,]*)"
_ABOUT = r"(?:约为|大约|约|近|达|为|超过|逾|是|[:：])?\s*"
_LENGTH_UNIT = r"(?:多|余)?\s*(?P<unit>公里|千米|km|米|m)(?![²³23])"
_HEIGHT = re.compile(rf"(?:相对高差|高差|落差|高程差|垂直高度)\s*{_ABOUT}{_NUM}\s*{_LENGTH_UNIT}")
_SLOPE_HEIGHT = re.compile(rf"(?:斜坡高度?|边坡高度?|坡高|坡体高度?)\s*{_ABOUT}{_NUM}\s*{_LENGTH_UNIT}")
_SLOPE_ANGLE = re.compile(rf"(?:坡度|坡角|坡面倾角)\s*{_ABOUT}{_NUM}\s*(?:度|°)")
_CHANNEL = re.compile(rf"(?:主沟长度?|沟道长度?|沟长)\s*{_ABOUT}{_NUM}\s*{_LENGTH_UNIT}")
_PLACE_WORDS = r"村子|村庄|村|组|寨|屯|居民|住户|房屋|民房|学校|小学|集镇|镇|安置点|工厂|厂房|医院|社区"
_PLACE = re.compile(
    rf"(?:距离?)?(?P<ref>坡脚|坡底|沟口|后缘|坡顶|下方|前方|前缘)?[^，。；;,\d{_CN_CHARS}]{{0,6}}?{_ABOUT}{_NUM}\s*"
    rf"{_LENGTH_UNIT}\s*(?:处|外|远|左右)?的?\s*(?:有|是)?\s*(?P<place>[^\s，。；;,]{{0,6}}?(?:{_PLACE_WORDS}))")
_HAZARD = re.compile(r"泥石流|碎屑流|崩塌|危岩|落石|岩崩|山崩|滑坡")
_HAZARD_OF = {"危岩": "崩塌", "落石": "崩塌", "岩崩": "崩塌", "山崩": "崩塌"}
_MATERIAL = [
    ("fill", re.compile(r"填土|渣土|弃土|弃渣|建筑垃圾|人工堆积|堆填|排土场|尾矿")),
    ("loess", re.compile(r"黄土")),
    ("rock", re.compile(r"岩质|基岩|岩体|灰岩|砂岩|花岗岩|板岩|页岩|白云岩|危岩|岩崩")),
    ("soil", re.compile(r"土质|堆积层|堆积体|残坡积|坡积|土体")),
]
_CHANNELIZED = re.compile(r"沟道|沟谷|冲沟|沿沟|主沟|支沟|峡谷")
_OBSTRUCTED = re.compile(r"受阻|阻挡|对岸山体|拐弯|转弯|密林")
_OPEN = re.compile(r"开阔|平坦|无遮挡")
_FROM_CROWN = ("后缘", "坡顶")


def reach_inputs_from_text(text: str) -> ReachInputs:
    """Read the runout figures from a report. Figures absent from the text stay None (listed as missing later)."""
    text = to_halfwidth(text or "")
    values: dict = {}
    evidence: dict[str, str] = {}

    volumes = [q for q in parse_quantity(text) if q.kind == "volume_m3"]
    if volumes:
        chosen = max(volumes, key=lambda q: q.value)  # several volumes: the largest (the whole mass), shown as evidence
        values["volume_m3"], evidence["volume_m3"] = chosen.value, chosen.text
    for name, pattern in (("height_m", _HEIGHT), ("slope_height_m", _SLOPE_HEIGHT), ("channel_length_m", _CHANNEL)):
        m = pattern.search(text)
        length = _length(m)
        if length:
            values[name], evidence[name] = length, m.group(0)
    m = _SLOPE_ANGLE.search(text)
    angle = parse_cn_number(m.group("num")) if m else None
    if angle and 0 < angle < 90:
        values["slope_angle_deg"], evidence["slope_angle_deg"] = angle, m.group(0)
    m = _PLACE.search(text)
    distance = _length(m)
    if distance is not None:
        values["place_distance_m"], evidence["place_distance_m"] = distance, m.group(0).strip()
        values["place_name"] = m.group("place")
        values["place_reference"] = "crown" if (m.group("ref") or "") in _FROM_CROWN else "toe"
    m = _HAZARD.search(text)
    if m:
        values["hazard_type"] = _HAZARD_OF.get(m.group(), m.group())
        evidence["hazard_type"] = m.group()
    for material, pattern in _MATERIAL:
        m = pattern.search(text)
        if m:
            values["material"], evidence["material"] = material, m.group()
            break
    for path, pattern in (("channelized", _CHANNELIZED), ("obstructed", _OBSTRUCTED), ("open", _OPEN)):
        m = pattern.search(text)
        if m:
            values["path"], evidence["path"] = path, m.group()
            break
    if values.get("hazard_type") == "泥石流" and "path" not in values and "channel_length_m" in values:
        values["path"], evidence["path"] = "channelized", evidence["channel_length_m"]
    if "高位" in text:
        values["high_position"], evidence["high_position"] = True, "高位"
    read = tuple(k for k in evidence)
    return ReachInputs(**values, from_text=read, evidence=evidence)


def _length(m: re.Match | None) -> float | None:
    """Metres from a match with `num` and `unit` groups; None if the number does not parse or is not positive."""
    if m is None:
        return None
    value = parse_cn_number(m.group("num").rstrip(".,"))
    if not value or value <= 0:
        return None
    return value * 1000 if m.group("unit") in ("公里", "千米", "km") else value
