"""Pictures for files a person takes away: the runout profile as PNG for the DOCX brief (the web card shows the
SVG of app/reason/reach_render.py). Drawn with Pillow from the estimate's JSON; labels are numbers and Latin
letters only, so no CJK font is needed; the Chinese legend goes into the document beside the picture."""

from __future__ import annotations

import io

W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 360, 50, 30, 30, 70
BROWN, ORANGE, RED, BLUE, GREY = (91, 70, 54), (224, 138, 0), (192, 57, 43), (36, 113, 163), (102, 102, 102)
LEGEND = "图例：棕线为坡面和地面（纵向放大），橙色为预计影响距离，红色为保守距离，蓝色方块为所报村庄；距离自后缘水平量取（米）。"


def profile_png(impact: dict) -> bytes | None:
    """The side view of an `impact_range` JSON object (crown, toe, expected and conservative reach, the place);
    None when the estimate has no numbers."""
    from PIL import Image, ImageDraw

    expected, conservative = impact.get("expected_m"), impact.get("conservative_m")
    height = (impact.get("inputs") or {}).get("height_m")
    if not expected or not conservative or not height:
        return None
    toe = impact.get("toe_m")
    place = (impact.get("place") or {}).get("from_crown_m")
    span = max(v for v in (expected, conservative, toe, place) if v) * 1.08
    sx, sy = (W - LEFT - RIGHT) / span, (H - TOP - BOTTOM) / height
    base = H - BOTTOM

    def at(x: float, z: float) -> tuple[float, float]:
        return LEFT + x * sx, base - z * sy

    slope_height = (impact.get("inputs") or {}).get("slope_height_m")
    toe_z = max(height - slope_height, 0.0) if slope_height and toe else 0.0
    profile = [(0.0, height), (toe, toe_z), (max(expected, toe), 0.0), (span, 0.0)] if toe else \
        [(0.0, height), (0.0, 0.0), (span, 0.0)]
    image = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(image)
    draw.line([at(x, z) for x, z in profile], fill=BROWN, width=3)
    draw.text((at(0, height)[0] + 6, at(0, height)[1] - 14), f"crown  H = {height:,.0f} m", fill=BROWN)
    if toe:
        draw.text((at(toe, toe_z)[0] + 6, at(toe, toe_z)[1] - 14), f"toe {toe:,.0f} m", fill=BROWN)
    for x, colour, label, dy in ((expected, ORANGE, "expected", 0), (conservative, RED, "conservative", 18)):
        draw.line([at(0, height), at(x, 0)], fill=colour, width=1)
        draw.line([at(x, 0)[0], base - 10, at(x, 0)[0], base + 10], fill=colour, width=4)
        draw.text((at(x, 0)[0] - 40, base + 16 + dy), f"{label} {round(x, -1):,.0f} m", fill=colour)
    if place:
        x = at(place, 0)[0]
        draw.rectangle([x - 7, base - 16, x + 7, base - 2], fill=BLUE)
        draw.text((x - 30, base - 32), f"place {round(place, -1):,.0f} m", fill=BLUE)
    draw.text((W - RIGHT - 260, 8), "distance from the crown, horizontal (m)", fill=GREY)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
