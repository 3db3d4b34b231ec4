"""Where the toe of a slope (or a gully's mouth) lies, and whether a place the user names lies inside the expected
or the conservative reach (app/reason/reach.py computes the reach; this module only places things along it)."""

from __future__ import annotations

import math

from app.reason.reach_inputs import ReachInputs


def fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:g}"


def toe(inputs: ReachInputs) -> tuple[float | None, str]:
    if inputs.hazard_type == "泥石流" and inputs.channel_length_m:
        return inputs.channel_length_m, (f"以沟长{fmt(inputs.channel_length_m)}米近似物源区至沟口的水平距离"
                                         "（沟长沿沟道量取，略大于水平距离）；“沟口外”距离由此起算")
    if inputs.slope_height_m and inputs.slope_angle_deg:
        toe = inputs.slope_height_m / math.tan(math.radians(inputs.slope_angle_deg))
        return toe, (f"坡脚位置按坡高{fmt(inputs.slope_height_m)}米、坡度{inputs.slope_angle_deg:g}°推算："
                     f"坡面水平长度 = 坡高 ÷ tan(坡度) ≈ {toe:,.0f}米（假定后缘位于坡顶）")
    return None, "未给出坡高和坡度（泥石流为沟长），无法确定坡脚（沟口）位置；距离均从后缘（源区顶部）水平起算"


def place(inputs: ReachInputs, toe_m, expected, conservative) -> tuple:
    """(place distance from the crown, inside expected, inside conservative, Chinese note)."""
    d = inputs.place_distance_m
    if d is None:
        return None, None, None, ""
    name = inputs.place_name or "目标地点"
    toe_name = "沟口" if inputs.hazard_type == "泥石流" else "坡脚"
    if inputs.place_reference == "crown":
        from_crown, where = d, f"距后缘{fmt(d)}米"
    elif toe_m is None:
        return _place_toe_unknown(inputs, name, toe_name, d, expected, conservative)
    else:
        from_crown, where = toe_m + d, f"按距{toe_name}{fmt(d)}米计，即距后缘约{toe_m + d:,.0f}米"
    inside_e, inside_c = from_crown <= expected, from_crown <= conservative
    verdict = ("在预计影响距离之内" if inside_e else
               "在预计影响距离之外，但在保守距离之内" if inside_c else "在保守距离之外")
    note = f"{name}（{where}）{verdict}"
    if not inside_c:
        note += "；经验公式可能低估，不能据此认定安全"
    return from_crown, inside_e, inside_c, note


def _place_toe_unknown(inputs: ReachInputs, name: str, toe: str, d: float, expected: float,
                       conservative: float) -> tuple:
    """A place given from the toe while the toe's position is unknown: it lies at least `d` from the crown, so
    what can be ruled out is said, and the toe distance (or mean slope) that would put it inside; until the toe
    is known the place counts as possibly inside."""
    need = "沟长" if toe == "沟口" else "坡度" if inputs.slope_height_m else "坡高和坡度"
    head = f"{name}距{toe}{fmt(d)}米（{toe}位置未知，距后缘至少{fmt(d)}米）"
    if d >= conservative:
        return None, False, False, f"{head}，在保守距离之外；经验公式可能低估，不能据此认定安全"

    def within(limit: float) -> str:
        gap = limit - d
        clause = f"{toe}距后缘水平不足{gap:,.0f}米"
        # crown → toe horizontally = slope height ÷ tan(mean slope); without the slope height the fall height H
        # (≥ slope height) stands in, and the angle is then a sufficient condition, said as such
        if toe == "坡脚" and (h := inputs.slope_height_m or inputs.height_m):
            basis = "即" if inputs.slope_height_m else f"以高差{fmt(h)}米作坡高计，即"
            clause += f"（{basis}后缘至坡脚平均坡度陡于约{math.degrees(math.atan(h / gap)):.0f}°）"
        return clause

    if d >= expected:
        verdict = f"，在预计影响距离之外；若{within(conservative)}，则在保守距离之内"
    else:
        verdict = f"：若{within(expected)}，则在预计影响距离之内；若{within(conservative)}，则在保守距离之内"
    return None, False if d >= expected else None, None, (
        f"{head}{verdict}。需要：{need}；确定之前按可能在保守距离之内对待")
