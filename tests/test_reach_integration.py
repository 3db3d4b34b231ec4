"""The runout estimate inside the product (issue 15): the assessment's `impact_range` and code-computed
evacuation scope, evacuation advice matched to the hazard type, `geohazard reach`, the DOCX brief's profile."""

from __future__ import annotations

import json

from app.config import PROJECT_ROOT, load_settings
from app.interfaces import cli
from app.interfaces.export import save_brief_version
from app.interfaces.figures import profile_png
from app.reason.assess import explain, impact_range
from app.reason.evacuation import about_other_hazard, extract_sentence
from app.reason.brief import check_brief, fields_from_assessment, render_brief
from app.reason.prompts import load_prompt
from app.reason.reach import ReachInputs, estimate_reach
from app.schema import Chunk, Hit

DEBRIS_RULE = "泥石流沟道两侧的群众撤离时，应向沟道两侧山坡高处跑，不要顺沟方向往上游或下游跑。"
SLIDE_RULE = "滑坡发生时，应向滑坡体两侧撤离，不要沿滑动方向跑，撤离路线应避开危险区。"
REPORT = "某村后山滑坡，方量约50万立方米，高差约300米，坡高120米，坡度35度，距坡脚800米处有村庄，威胁45户约180人。"


def _chunk(n: int, text: str, doc_type: str = "plan") -> Chunk:
    return Chunk(f"c{n}", "/guide.md", "避险指南", doc_type, f"{n}", "", text, 0, len(text))


def test_a_debris_flow_rule_is_no_route_for_a_landslide():
    assert about_other_hazard(DEBRIS_RULE, "滑坡") and not about_other_hazard(DEBRIS_RULE, "泥石流")
    assert not about_other_hazard("滑坡、崩塌、泥石流等地质灾害发生后，立即组织转移。", "滑坡")
    assert not about_other_hazard("危岩落石区禁止停留。", "崩塌")
    chunks = [_chunk(1, DEBRIS_RULE), _chunk(2, SLIDE_RULE)]
    assert extract_sentence("routes", chunks, "滑坡", set()).endswith("[2]")
    assert extract_sentence("routes", [_chunk(1, DEBRIS_RULE)], "滑坡", set()) == ""
    assert extract_sentence("routes", [_chunk(1, DEBRIS_RULE)], "泥石流", set()).endswith("[1]")


def test_the_model_cannot_give_a_landslide_a_debris_flow_route(fake_llm):
    hits = [Hit(1, _chunk(1, DEBRIS_RULE), 1.0), Hit(2, _chunk(2, SLIDE_RULE), 0.5)]
    llm = fake_llm("【转移路线和去处】\n- 应向沟道两侧山坡高处跑，不要顺沟方向往上游或下游跑[1]。\n")
    out, used, *_ = explain(llm, load_prompt(PROJECT_ROOT / "prompts", "assess"), "某村后山滑坡。", [], hits,
                            max_tokens=200, seed=1, hazard_type="滑坡", scope="程序算出的转移范围")
    routes = out["evacuation"]["routes"]
    assert "沟" not in routes and "两侧撤离" in routes and routes.endswith("[2]")
    assert out["evacuation"]["scope"].startswith("程序算出的转移范围")
    assert not any("转移范围的划定" in m for m in out["missing_information"])
    assert used == [2]


def test_the_assessment_carries_the_impact_range_and_the_scope_it_calls_for(tmp_path, fixture_corpus):
    from support.stubllm import stub_copilot

    copilot = stub_copilot(load_settings(), tmp_path / "kb")
    copilot.ingest([fixture_corpus])
    card = copilot.assess(REPORT).to_json()
    expected = estimate_reach(ReachInputs("滑坡", 5e5, 300, 120, 35, place_distance_m=800))
    impact = card["impact_range"]
    assert impact["expected_m"] == expected.expected_m and impact["conservative_m"] == expected.conservative_m
    assert "保守距离" in impact["text"] and impact["place"]["inside_expected"] is True
    assert card["evacuation"]["scope"].startswith("按经验公式估算（程序计算")
    assert f"{round(expected.conservative_m, -1):,.0f}米" in card["evacuation"]["scope"]

    graded_only = copilot.assess("某村后山滑坡，威胁45户约180人。").to_json()  # no volume, no height
    assert graded_only["impact_range"]["expected_m"] is None
    assert "影响范围估算需要：滑坡体积、后缘至坡脚高差" in graded_only["missing"]
    assert copilot.assess("某镇发生地面塌陷，威胁30人。").to_json()["impact_range"] is None


def test_geohazard_reach_prints_the_estimate(capsys, tmp_path):
    svg = tmp_path / "profile.svg"
    assert cli.main(["reach", "--type", "崩塌", "--volume", "1000000", "--height", "500", "--json",
                     "--svg", str(svg)]) == 0
    out = json.loads(capsys.readouterr().out)
    want = estimate_reach(ReachInputs("崩塌", 1e6, 500))
    assert out["expected_m"] == want.expected_m and out["conservative_m"] == want.conservative_m
    assert svg.read_text(encoding="utf-8").startswith("<svg")
    assert cli.main(["reach", "约50万方滑坡，高差约300米", "--material", "loess"]) == 0
    assert "黄土" in capsys.readouterr().out
    assert cli.main(["reach", "--type", "滑坡", "--volume", "100000"]) == 1  # no height: nothing guessed
    assert "需要：后缘至坡脚高差" in capsys.readouterr().out


def test_the_brief_carries_the_estimate_and_the_docx_its_profile(tmp_path):
    from docx import Document

    impact = {**estimate_reach(impact_range(REPORT).inputs).to_json(), "text": ""}
    impact["text"] = "【影响范围估算】…\n预计影响距离：自后缘水平约1,060米\n保守距离：自后缘水平约2,880米"
    fields = fields_from_assessment({"impact_range": impact, "situation": {}})
    assert fields["impact_range"] == "预计影响距离：自后缘水平约1,060米；保守距离：自后缘水平约2,880米"
    assert "影响范围估算" not in check_brief("速报", {}).missing  # optional: never demanded
    assert "影响范围估算" not in render_brief("速报", {})
    png = profile_png(impact)
    assert png.startswith(b"\x89PNG")
    md, docx = save_brief_version(tmp_path, "速报", fields, figure=png)
    assert "影响范围估算：预计影响距离" in md.read_text(encoding="utf-8")
    doc = Document(str(docx))
    table = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert table["影响范围估算"].startswith("预计影响距离") and len(doc.inline_shapes) == 1
    assert profile_png({**impact, "expected_m": None}) is None
