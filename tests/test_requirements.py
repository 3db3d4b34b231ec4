"""响应要求 by code from the section for the computed level (issue 20): a test per level Ⅰ–Ⅳ on a plan fixture;
a case report, another level's section and another province's plan never supply the requirement."""

from __future__ import annotations

import pytest

from app.reason.requirements import level_requirements, levels_named, rule_passage
from app.schema import Chunk

PLAN = "示例市突发地质灾害应急预案"
SECTIONS = {
    "Ⅰ": ("4.1 Ⅰ级（特别重大）应急响应", "发生特大型地质灾害时，市指挥部报请省指挥部启动Ⅰ级响应，市长赶赴现场指挥。"),
    "Ⅱ": ("4.2 Ⅱ级（重大）应急响应", "发生大型地质灾害时，市指挥部启动Ⅱ级响应，分管副市长组织会商并派出工作组。"),
    "Ⅲ": ("4.3 Ⅲ级（较大）应急响应", "发生中型地质灾害时，县级指挥部启动Ⅲ级响应，县长组织转移受威胁群众。"),
    "Ⅳ": ("4.4 Ⅳ级（一般）应急响应", "发生小型地质灾害时，乡镇人民政府启动Ⅳ级响应，组织群测群防员加密巡查。"),
}


def _chunks() -> list[Chunk]:
    case = Chunk("case", "/case.md", "茂县新磨村滑坡灾情报告", "case", "二、应急处置", "二、应急处置",
                 "灾害发生后，四川省立即启动Ⅰ级应急响应，组织救援力量赶赴现场。", 0, 30)
    other = Chunk("other", "/sc.md", "四川省地质灾害应急预案", "plan", "5.2 Ⅱ级应急响应", "5.2 Ⅱ级应急响应",
                  "四川省指挥部启动Ⅱ级响应，组织省级专家赶赴现场。", 0, 25)
    plan = [Chunk(f"p{lv}", "/plan.md", PLAN, "plan", head, f"4 应急响应 > {head}", text, 0, len(text))
            for lv, (head, text) in SECTIONS.items()]
    return [case, other, *plan]


@pytest.mark.parametrize("level", ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"])
def test_the_requirement_comes_from_the_section_of_the_computed_level(level):
    chunks = _chunks()
    got = level_requirements(chunks, level, region="天津市")
    n = 3 + "ⅠⅡⅢⅣ".index(level)  # the plan's section for this level is chunk n
    assert got == [SECTIONS[level][1].rstrip("。") + f"[{n}]"]


def test_the_regions_own_plan_comes_first_and_a_case_never_counts():
    chunks = _chunks()
    assert level_requirements(chunks, "Ⅱ", region="四川省")[0].endswith("[2]")
    assert not any(r.endswith("[1]") for lv in "ⅠⅡⅢⅣ" for r in level_requirements(chunks, lv, region="四川省"))


def test_levels_are_told_apart():
    assert levels_named("特别重大地质灾害") == {"Ⅰ"} and levels_named("重大地质灾害") == {"Ⅱ"}
    assert levels_named("启动Ⅲ级响应") == {"Ⅲ"} and levels_named("III级") == {"Ⅲ"} and levels_named("特大型、大型") == {"Ⅰ", "Ⅱ"}


def test_a_grading_criterion_is_not_a_requirement():
    criterion = Chunk("crit", "/reg.md", "重庆市地质灾害防治条例", "regulation", "第五条", "第五条",
                      "（三）中型：需搬迁转移人员一百人以上不满五百人，或可能造成经济损失五百万元以上不满五千万元。", 0, 40)
    assert level_requirements([criterion], "Ⅲ", region="重庆市") == []


def test_an_event_quoted_inside_a_card_is_not_a_requirement():
    text = ("2017年四川茂县“6·24”滑坡发生后，当地即按“特大型地质灾害险情和灾情Ⅰ级应急响应”启动（据事件时间线整理页）。"
            "发生特大型地质灾害时，由省级指挥部启动Ⅰ级应急响应并组织会商。")
    card = Chunk("card", "/card.md", "地质灾害应急响应分级与牵头主体（知识卡）", "card", "二、响应级别",
                 "二、响应级别", text, 0, len(text))
    assert level_requirements([card], "Ⅰ") == ["发生特大型地质灾害时，由省级指挥部启动Ⅰ级应急响应并组织会商[1]"]


def test_one_evacuation_sentence_fills_one_field_only():
    from app.reason.evacuation import extract_sentence

    text = "转移后应在危险区边界安排专人看守劝阻，险情解除前不得返回。沿预先划定的避险路线向两侧高处转移。"
    chunk = Chunk("e", "/e.md", "避险转移实务", "card", "三", "三", text, 0, len(text))
    taken: set[str] = set()
    first = extract_sentence("return_rule", [chunk], "滑坡", taken)
    second = extract_sentence("scope", [chunk], "滑坡", taken)
    assert first and first != second and first.rstrip("[1]") not in second


def test_the_grade_cites_the_passage_that_states_its_deciding_threshold():
    from app.reason.grading import grade_hazard, load_rules, situation_from_text

    grade = grade_hazard(situation_from_text("某镇滑坡隐患，需转移群众约260人。"), load_rules())
    assert grade.grade == "中型"

    def chunk(cid, title, doc_type, text):
        return Chunk(cid, f"/{cid}.md", title, doc_type, "四、险情分级标准", "四、险情分级标准", text, 0, len(text))

    chunks = [chunk("case", "某县滑坡灾情报告", "case", "经核实为中型险情，受威胁100人以上、不足500人，已转移。"),
              chunk("big", "险情与灾情分级（知识卡）", "card", "大型｜受威胁需搬迁转移500人及以上、不足1000人"),
              chunk("mid", "险情与灾情分级（知识卡）", "card", "中型｜受威胁需搬迁转移100人及以上、不足500人")]
    assert rule_passage(chunks, grade) == 3
    assert rule_passage(chunks[:2], grade) is None  # a case report never supports the rule
