"""Show a ReachEstimate: short Chinese text lines for a commander, and an inline SVG profile for the web UI.

Both are pure functions of the estimate; every piece of text that goes into the SVG is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.reason.reach import ReachEstimate

_PATH_CN = {"open": "开阔", "channelized": "沟道", "obstructed": "受阻"}
_MATERIAL_CN = {"rock": "岩质", "soil": "土质", "loess": "黄土", "fill": "填土/渣土"}


def _m(x: float) -> str:
    """Metres to the nearest 10 m: empirical relations do not support more."""
    return f"{round(x, -1):,.0f}米"


def render_reach(estimate: ReachEstimate) -> str:
    """The estimate as short Chinese lines: expected, conservative, toe, area, place, basis, warnings."""
    e, i = estimate, estimate.inputs
    toe_word = "沟口" if i.hazard_type == "泥石流" else "坡脚"
    lines = ["【影响范围估算】经验公式初判，供撤离范围参考，不替代现场调查"]
    facts = [i.hazard_type or "灾害类型未知"]
    if i.volume_m3 is not None:
        facts.append(f"体积约{i.volume_m3:,.0f}立方米")
    if i.height_m is not None:
        facts.append(f"高差{i.height_m:g}米")
    if i.material:
        facts.append(_MATERIAL_CN[i.material])
    if i.path:
        facts.append(f"{_PATH_CN[i.path]}路径")
    lines.append("输入：" + "，".join(facts))
    if e.missing:
        lines.append("无法估算。需要：" + "、".join(e.missing))
    else:
        lines.append(f"预计影响距离：自后缘水平约{_m(e.expected_m)}" + _beyond(e.expected_beyond_toe_m, toe_word))
        lines.append(f"保守距离：自后缘水平约{_m(e.conservative_m)}"
                     + _beyond(e.conservative_beyond_toe_m, toe_word) + "（撤离范围至少按此划定，并留安全余量）")
        if e.area_m2 is not None:
            lines.append(f"可能淹没（堆积）面积：约{e.area_m2:,.0f}平方米（约{e.area_m2 / 10_000:,.1f}公顷），"
                         f"沟谷过流断面约{e.cross_section_m2:,.0f}平方米")
    lines.append(e.toe_basis)
    if e.place_note:
        lines.append(f"地点：{e.place_note}")
    if e.basis:
        lines.append(f"依据：{e.basis}")
        cited = dict.fromkeys(r.citation for r in e.relations)
        lines += [f"  · {c}" for c in cited]
    lines += [f"警告：{w}" for w in e.warnings]
    return "\n".join(lines)


def evacuation_scope(estimate: ReachEstimate) -> str:
    """The evacuation scope the numbers call for, in one sentence (code decides it; "" without numbers)."""
    e = estimate
    if not e.has_numbers:
        return ""
    toe_word = "沟口" if e.inputs.hazard_type == "泥石流" else "坡脚"
    where = _beyond(e.conservative_beyond_toe_m, toe_word).strip("（）")
    text = (f"按经验公式估算（程序计算，见影响范围估算），保守影响距离为自后缘水平约{_m(e.conservative_m)}"
            + (f"（{where.lstrip('，即')}）" if where else "")
            + "，该范围及其两侧的人员应全部转移，并留安全余量")
    if e.place_note:
        text += f"；{e.place_note}"
    return text


def _beyond(beyond: float | None, toe_word: str) -> str:
    if beyond is None:
        return f"（{toe_word}位置未知）"
    if beyond <= 0:
        return f"（未越过{toe_word}）"
    return f"，即{toe_word}外约{_m(beyond)}"


# ---------------------------------------------------------------- SVG profile

W, H_PX, LEFT, RIGHT, TOP, BOTTOM = 640, 280, 40, 24, 30, 60


def profile_svg(estimate: ReachEstimate) -> str:
    """A side view: slope, toe, expected and conservative reach, the place; Chinese labels. Standalone SVG string."""
    e, i = estimate, estimate.inputs
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H_PX}" viewBox="0 0 {W} {H_PX}" '
             'font-family="sans-serif" font-size="12" role="img">',
             f"<title>{escape('影响范围剖面示意（' + (i.hazard_type or '未知类型') + '）')}</title>",
             f'<rect x="0" y="0" width="{W}" height="{H_PX}" fill="#ffffff"/>']
    if not e.has_numbers:
        text = "无法估算，需要：" + "、".join(e.missing) if e.missing else "无法估算"
        parts.append(f'<text x="{W / 2}" y="{H_PX / 2}" text-anchor="middle" fill="#a00">{escape(text)}</text>')
        return "\n".join(parts + ["</svg>"])
    height = i.height_m
    span = max(v for v in (e.conservative_m, e.toe_m, e.place_from_crown_m, e.expected_m) if v is not None) * 1.08
    sx = (W - LEFT - RIGHT) / span
    sy = (H_PX - TOP - BOTTOM) / height
    ground_y = H_PX - BOTTOM

    def px(x: float) -> float:
        return round(LEFT + x * sx, 1)

    def py(z: float) -> float:
        return round(ground_y - z * sy, 1)

    toe = e.toe_m
    drop = i.slope_height_m if i.slope_height_m and i.hazard_type != "泥石流" else height
    toe_z = max(height - drop, 0.0)  # the crown is on top of the slope; below the toe the terrain is not known
    if toe is not None:
        profile = [(0.0, height), (toe, toe_z), (max(e.expected_m, toe), 0.0), (span, 0.0)]
    else:  # toe unknown: draw only the fall height at the crown and a flat base
        profile = [(0.0, height), (0.0, 0.0), (span, 0.0)]
    ground = "M" + " L".join(f"{px(x)},{py(z)}" for x, z in profile)
    parts.append(f'<path d="{ground}" fill="none" stroke="#5b4636" stroke-width="2"/>')
    parts.append(f'<circle cx="{px(0)}" cy="{py(height)}" r="4" fill="#5b4636"/>')
    parts.append(_label(px(0) + 6, py(height) - 6, f"后缘（高差{height:g}米）", "start"))
    if toe is not None:
        word = "沟口" if i.hazard_type == "泥石流" else "坡脚"
        parts.append(f'<circle cx="{px(toe)}" cy="{py(toe_z)}" r="3" fill="#5b4636"/>')
        parts.append(_label(px(toe) - 6, py(toe_z) + 4, word, "end"))
    for x, colour, text, dy in ((e.expected_m, "#e08a00", f"预计 {_m(e.expected_m)}", 0),
                                (e.conservative_m, "#c0392b", f"保守 {_m(e.conservative_m)}", 16)):
        parts.append(f'<line x1="{px(0)}" y1="{py(height)}" x2="{px(x)}" y2="{py(0)}" stroke="{colour}" '
                     'stroke-dasharray="5,4" stroke-width="1.5"/>')
        parts.append(f'<line x1="{px(x)}" y1="{py(0) - 8}" x2="{px(x)}" y2="{py(0) + 8}" stroke="{colour}" '
                     'stroke-width="3"/>')
        parts.append(_label(px(x), py(0) + 30 + dy, text, "middle", colour))
    if e.place_from_crown_m is not None:
        x, y = px(e.place_from_crown_m), py(_ground_z(profile, e.place_from_crown_m))
        parts.append(f'<path d="M{x - 7},{y} L{x - 7},{y - 10} L{x},{y - 17} L{x + 7},{y - 10} '
                     f'L{x + 7},{y} Z" fill="#2471a3"/>')
        parts.append(_label(x, y - 22, f"{i.place_name or '目标地点'} {_m(e.place_from_crown_m)}", "middle",
                            "#2471a3"))
    parts.append(_label(W - RIGHT, 16, "距离自后缘水平量取；纵向比例放大，仅示意", "end", "#666"))
    return "\n".join(parts + ["</svg>"])


def _ground_z(profile: list[tuple[float, float]], x: float) -> float:
    """Height of the drawn profile at horizontal distance x (piecewise linear)."""
    for (x0, z0), (x1, z1) in zip(profile, profile[1:]):
        if x0 <= x <= x1 and x1 > x0:
            return z0 + (z1 - z0) * (x - x0) / (x1 - x0)
    return profile[-1][1]


def _label(x: float, y: float, text: str, anchor: str, colour: str = "#333") -> str:
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}" fill="{colour}">{escape(text)}</text>'
