"""Runout estimate (issue 15): each relation pinned to a hand computation, refusal, warnings, parsing, place, SVG."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from app.reason.reach import ReachInputs, estimate_reach, load_relations, reach_inputs_from_text
from app.reason.reach_render import profile_svg, render_reach


def _rel(estimate, relation_id):
    return next(r for r in estimate.relations if r.relation_id == relation_id)


# ---------------------------------------------------------------- relations against hand computations

def test_corominas_translational_slide_all():
    # log(H/L) = -0.159 - 0.068·log(1e6) = -0.159 - 0.408 = -0.567 → H/L = 0.2710 → L = 500 / 0.2710 ≈ 1845 m
    # conservative: -0.567 - 0.435 = -1.002 → H/L = 0.09954 → L ≈ 5023 m
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500))
    assert e.group == "translational_slide"
    assert e.expected_m == pytest.approx(500 / 10 ** -0.567, rel=1e-9)
    assert e.expected_m == pytest.approx(1845, abs=1)
    assert e.conservative_m == pytest.approx(500 / 10 ** -1.002, rel=1e-9)
    assert e.conservative_m == pytest.approx(5023, abs=1)
    assert _rel(e, "corominas_translational_all").role == "primary"


def test_corominas_rockfall_all():
    # log(H/L) = 0.210 - 0.109·4 = -0.226 → L = 200 / 10^-0.226 ≈ 336.5 m; conservative -0.479 → ≈ 602.6 m
    e = estimate_reach(ReachInputs(hazard_type="崩塌", volume_m3=1e4, height_m=200))
    assert e.expected_m == pytest.approx(336.5, abs=0.5)
    assert e.conservative_m == pytest.approx(602.6, abs=0.5)
    assert e.area_m2 is None  # small rockfall: no flow, no inundated area


def test_corominas_earthflow_for_loess_slide():
    # log(H/L) = -0.214 - 0.070·5 = -0.564 → L = 100 / 10^-0.564 ≈ 366.4 m; conservative -1.076 → ≈ 1191 m
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e5, height_m=100, material="loess"))
    assert e.group == "earthflow"
    assert e.expected_m == pytest.approx(366.4, abs=0.5)
    assert e.conservative_m == pytest.approx(1191, abs=1)
    assert any("黄土" in w and "低估" in w for w in e.warnings)


def test_corominas_channelized_debris_flow_rickenmann_and_area():
    # Corominas channelized: -0.077 - 0.109·4 = -0.513 → L = 500 / 10^-0.513 ≈ 1629 m; conservative -0.980 → ≈ 4775 m
    # Rickenmann: 1.9 · 1e4^0.16 · 500^0.83 = 1.9 · 4.365 · 173.8 ≈ 1442 m
    # area: B = 20 · (1e4)^(2/3) = 20 · 464.16 ≈ 9283 m², A = 0.1 · 464.16 ≈ 46.4 m²
    e = estimate_reach(ReachInputs(hazard_type="泥石流", volume_m3=1e4, height_m=500, path="channelized"))
    assert e.expected_m == pytest.approx(1629, abs=1)
    assert _rel(e, "rickenmann_debris_flow").reach_m == pytest.approx(1441.8, abs=0.5)
    # the conservative reach is the farthest candidate: Corominas "all" row's limit, 500 / 10^(-0.012-0.420-0.386) ≈ 3288 m,
    # is shorter than the channelized row's 4775 m
    assert e.conservative_m == pytest.approx(4775, abs=2)
    assert e.area_m2 == pytest.approx(9283, abs=1)
    assert e.cross_section_m2 == pytest.approx(46.4, abs=0.1)


def test_scheidegger_for_rock_avalanche():
    # log(H/L) = 0.62419 - 0.15666·7 = -0.47243 → H/L = 0.3370 → L = 1000 / 0.3370 ≈ 2967 m
    # area (rock avalanche): B = 20 · (1e7)^(2/3) = 20 · 46416 ≈ 928,318 m²
    e = estimate_reach(ReachInputs(hazard_type="碎屑流", volume_m3=1e7, height_m=1000))
    assert e.expected_m == pytest.approx(2967, abs=1)
    assert e.area_m2 == pytest.approx(928_318, rel=1e-4)
    # Scheidegger has no confidence limit: the conservative reach comes from Corominas rockfalls (0.210-0.763-0.253)
    assert e.conservative_m == pytest.approx(1000 / 10 ** (0.210 - 0.109 * 7 - 0.253), rel=1e-9)
    assert "Corominas" in e.basis and "95%置信限" in e.basis
    assert any("Scheidegger" in w and "一个公开转录" in w for w in e.warnings)


def test_conservative_never_shorter_than_expected_and_takes_farthest_alternate():
    for hazard in ("滑坡", "崩塌", "泥石流", "碎屑流"):
        for v in (1e3, 1e5, 1e7):
            e = estimate_reach(ReachInputs(hazard_type=hazard, volume_m3=v, height_m=300, material="rock"))
            farthest = max(r.conservative_m or r.reach_m for r in e.relations if r.role != "area")
            assert e.conservative_m == farthest >= e.expected_m


def test_disputed_debris_flow_rows_are_never_selected():
    e = estimate_reach(ReachInputs(hazard_type="泥石流", volume_m3=1e4, height_m=500, path="obstructed"))
    ids = {r.relation_id for r in e.relations}
    assert "corominas_debris_flow_all" in ids
    assert not ids & {"corominas_debris_flow_row_a", "corominas_debris_flow_row_b"}


def test_single_transcription_row_is_flagged():
    e = estimate_reach(ReachInputs(hazard_type="崩塌", volume_m3=1e3, height_m=100, path="open"))
    assert _rel(e, "corominas_rockfall_unobstructed").role == "primary"
    assert _rel(e, "corominas_rockfall_all").role == "alternate"
    assert any("一个公开转录" in w for w in e.warnings)


def test_data_file_records_source_range_and_verification_for_every_relation():
    data = load_relations()
    for rel in data["relations"]:
        assert rel["source"] in data["sources"], rel["id"]
        assert rel["verification"] in ("two_sources", "single_transcription", "disputed"), rel["id"]
        assert str(rel["verified"]).strip(), rel["id"]
        if rel["verification"] == "disputed":
            assert rel["selectable"] is False
    rickenmann = next(r for r in data["relations"] if r["id"] == "rickenmann_debris_flow")
    assert (rickenmann["volume_min_m3"], rickenmann["volume_max_m3"]) == (700, 1_000_000)
    assert (rickenmann["height_min_m"], rickenmann["height_max_m"]) == (110, 1820)


# ---------------------------------------------------------------- refusal and warnings

def test_missing_inputs_give_no_numbers_and_say_what_is_needed():
    e = estimate_reach(ReachInputs(hazard_type="滑坡"))
    assert e.missing == ("滑坡体积", "后缘至坡脚高差")
    assert e.expected_m is None and e.conservative_m is None and e.relations == ()
    assert "需要：滑坡体积、后缘至坡脚高差" in render_reach(e)
    assert "预计影响距离" not in render_reach(e)


def test_missing_hazard_type_is_not_guessed():
    e = estimate_reach(ReachInputs(volume_m3=1e5, height_m=200))
    assert e.missing[0].startswith("灾害类型") and e.expected_m is None


def test_out_of_range_is_said_never_silent():
    # Rickenmann's data: 700 < V < 1e6 m³ — 5e6 m³ is an extrapolation
    e = estimate_reach(ReachInputs(hazard_type="泥石流", volume_m3=5e6, height_m=800))
    rick = _rel(e, "rickenmann_debris_flow")
    assert rick.out_of_range and "外推" in rick.out_of_range[0]
    assert any(w.startswith("Rickenmann") and "超出" in w for w in e.warnings)
    inside = estimate_reach(ReachInputs(hazard_type="泥石流", volume_m3=5e4, height_m=800))
    assert _rel(inside, "rickenmann_debris_flow").out_of_range == ()


@pytest.mark.parametrize(("inputs", "needle"), [
    (ReachInputs(hazard_type="滑坡", volume_m3=1e5, height_m=50, material="fill"), "渣土"),
    (ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, high_position=True), "高位"),
    (ReachInputs(hazard_type="泥石流", volume_m3=1e4, height_m=300, path="channelized"), "沟道两侧"),
    (ReachInputs(hazard_type="滑坡", volume_m3=5e6, height_m=600, material="rock"), "碎屑流"),
])
def test_underestimation_warnings(inputs, needle):
    assert any(needle in w for w in estimate_reach(inputs).warnings)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        ReachInputs(slope_angle_deg=95)
    with pytest.raises(ValueError):
        ReachInputs(volume_m3=-1)
    with pytest.raises(ValueError):
        ReachInputs(hazard_type="地震")


# ---------------------------------------------------------------- toe and place

def test_toe_from_slope_height_and_angle():
    # toe = 120 / tan(35°) = 120 / 0.7002 ≈ 171.4 m from the crown
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, slope_height_m=120,
                                   slope_angle_deg=35))
    assert e.toe_m == pytest.approx(120 / math.tan(math.radians(35)))
    assert e.toe_m == pytest.approx(171.4, abs=0.1)
    assert e.expected_beyond_toe_m == pytest.approx(e.expected_m - 171.4, abs=0.1)
    assert "坡高120米" in e.toe_basis


def test_toe_unknown_is_said():
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500))
    assert e.toe_m is None and e.expected_beyond_toe_m is None
    assert "无法确定坡脚" in e.toe_basis
    assert "坡脚位置未知" in render_reach(e)


@pytest.mark.parametrize(("distance", "inside_expected", "inside_conservative"), [
    (1000, True, True),  # expected ≈ 1845 m, conservative ≈ 5023 m (see the translational test)
    (3000, False, True),
    (6000, False, False),
])
def test_place_inside_or_outside(distance, inside_expected, inside_conservative):
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, place_distance_m=distance,
                                   place_reference="crown", place_name="村子"))
    assert (e.place_inside_expected, e.place_inside_conservative) == (inside_expected, inside_conservative)
    assert e.place_note.startswith("村子")
    assert ("不能据此认定安全" in e.place_note) == (not inside_conservative)


def test_place_from_toe_needs_the_toe():
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, place_distance_m=800))
    assert e.place_inside_expected is None and "需要：坡高和坡度" in e.place_note
    located = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, place_distance_m=800,
                                         slope_height_m=120, slope_angle_deg=35))
    assert located.place_from_crown_m == pytest.approx(800 + 171.4, abs=0.1)
    assert located.place_inside_expected is True


@pytest.mark.parametrize(("distance", "inside_expected", "inside_conservative"), [
    (800, None, None),  # expected ≈ 1845 m, conservative ≈ 5023 m from the crown
    (3000, False, None),  # at least 3000 m from the crown: beyond the expected reach whatever the toe
    (6000, False, False),
])
def test_place_from_an_unknown_toe_rules_out_what_it_can(distance, inside_expected, inside_conservative):
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, place_distance_m=distance,
                                   place_name="村子"))
    assert (e.place_inside_expected, e.place_inside_conservative) == (inside_expected, inside_conservative)
    assert e.place_from_crown_m is None and "坡脚位置未知" in e.place_note
    if inside_conservative is None:  # the toe distance, and the mean slope, that would put it inside
        gap = e.conservative_m - distance
        assert f"不足{gap:,.0f}米" in e.place_note
        assert f"陡于约{math.degrees(math.atan(500 / gap)):.0f}°" in e.place_note
        assert "按可能在保守距离之内对待" in e.place_note
    else:
        assert "不能据此认定安全" in e.place_note


# ---------------------------------------------------------------- text

def test_reads_a_whole_report():
    text = "某村后山发生滑坡险情，滑坡体方量约50万立方米，高差约300米，坡高120米，坡度35度，下方800米处的村子有45户。"
    i = reach_inputs_from_text(text)
    assert (i.hazard_type, i.volume_m3, i.height_m, i.slope_height_m, i.slope_angle_deg) == \
        ("滑坡", 500_000, 300, 120, 35)
    assert (i.place_distance_m, i.place_name, i.place_reference) == (800, "村子", "toe")
    assert i.evidence["volume_m3"] == "约50万立方米" and i.evidence["height_m"] == "高差约300米"
    assert set(i.from_text) >= {"volume_m3", "height_m", "slope_height_m", "slope_angle_deg", "place_distance_m"}
    e = estimate_reach(i)
    assert e.place_inside_expected is True  # 171 + 800 = 971 m < expected reach


@pytest.mark.parametrize(("text", "field", "value"), [
    ("约50万方", "volume_m3", 500_000),
    ("方量约50万立方米", "volume_m3", 500_000),
    ("高差约300米", "height_m", 300),
    ("落差一千二百米", "height_m", 1200),
    ("坡高120米", "slope_height_m", 120),
    ("坡度35度", "slope_angle_deg", 35),
    ("坡度约35°", "slope_angle_deg", 35),
    ("沟长2公里", "channel_length_m", 2000),
    ("主沟长3.5km", "channel_length_m", 3500),
    ("下方800米处的村子", "place_distance_m", 800),
    ("距后缘1.2公里有学校", "place_distance_m", 1200),
    ("黄土滑坡", "material", "loess"),
    ("填土边坡", "material", "fill"),
    ("渣土受纳场", "material", "fill"),
    ("弃土场", "material", "fill"),
    ("岩质边坡", "material", "rock"),
    ("沿沟道下泄", "path", "channelized"),
    ("危岩崩落", "hazard_type", "崩塌"),
    ("泥石流", "hazard_type", "泥石流"),
    ("高位滑坡", "high_position", True),
    ("高差300多米", "height_m", 300),
    ("山崩", "hazard_type", "崩塌"),
])
def test_text_cases(text, field, value):
    assert getattr(reach_inputs_from_text(text), field) == value


def test_place_measured_from_crown_when_text_says_so():
    assert reach_inputs_from_text("距后缘1.2公里有学校").place_reference == "crown"


def test_figures_absent_from_text_are_not_invented():
    i = reach_inputs_from_text("某地发生滑坡，请研判影响范围")
    assert i.volume_m3 is None and i.height_m is None and i.slope_angle_deg is None
    assert estimate_reach(i).missing == ("滑坡体积", "后缘至坡脚高差")


def test_debris_flow_with_channel_length_uses_channel_mouth():
    i = reach_inputs_from_text("泥石流沟沟长2公里，一次冲出方量约5万立方米，高差600米，沟口外300米有学校")
    assert i.path == "channelized"
    e = estimate_reach(i)
    assert e.toe_m == 2000 and e.place_from_crown_m == 2300
    assert "沟口外" in render_reach(e)


# ---------------------------------------------------------------- output

def test_to_json_is_serialisable():
    e = estimate_reach(reach_inputs_from_text("泥石流，方量约5万立方米，高差600米"))
    data = json.loads(json.dumps(e.to_json(), ensure_ascii=False))
    assert data["expected_m"] == pytest.approx(e.expected_m)
    assert {r["relation_id"] for r in data["relations"]} >= {"corominas_debris_flow_all", "rickenmann_debris_flow"}


def test_render_lists_expected_conservative_basis_and_citation():
    text = render_reach(estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500)))
    assert "预计影响距离：自后缘水平约1,840米" in text  # 1845 rounded to 10 m
    assert "保守距离：自后缘水平约5,020米" in text
    assert "依据：" in text and "doi:10.1139/t96-005" in text
    assert "警告：" in text


def test_svg_is_well_formed_and_escapes_text():
    e = estimate_reach(ReachInputs(hazard_type="滑坡", volume_m3=1e6, height_m=500, slope_height_m=120,
                                   slope_angle_deg=35, place_distance_m=800, place_name="<村&组>"))
    root = ET.fromstring(profile_svg(e))
    assert root.tag.endswith("svg")
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any("<村&组>" in t for t in texts)
    assert any(t.startswith("预计") for t in texts) and any(t.startswith("保守") for t in texts)
    assert any("坡脚" == t for t in texts)


def test_svg_without_numbers_says_what_is_missing():
    root = ET.fromstring(profile_svg(estimate_reach(ReachInputs(hazard_type="崩塌"))))
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any("需要：" in t and "高差" in t for t in texts)
