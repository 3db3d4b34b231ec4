"""Grading engine: boundaries, the "或" rule, missing figures, households, missing persons, region override."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

import app.reason
from app.reason.grading import (
    Grade,
    grade_disaster,
    grade_hazard,
    load_rules,
    rule_sets_in_kb,
    select_rules,
    situation_from_text,
)
from app.reason.ruleset import RULES_DIR, RuleError, parse_rules, rule_set_ids
from app.reason.situation import Situation

WAN = 10_000
YI = 100_000_000
RULE_SETS = ["national", "chongqing"]


@pytest.fixture(params=RULE_SETS)
def rules(request):
    return load_rules(request.param)


# ---------------------------------------------------------------- boundaries, both rule sets

@pytest.mark.parametrize(
    ("people", "grade"),
    [(0, "小型"), (99, "小型"), (100, "中型"), (499, "中型"), (500, "大型"), (999, "大型"), (1000, "特大型"),
     (5000, "特大型")],
)
def test_hazard_people_boundaries(rules, people, grade):
    result = grade_hazard(Situation(people_to_move=people), rules)
    assert result.grade == grade
    assert [f.criterion for f in result.deciding] == ["people_to_move"]


@pytest.mark.parametrize(
    ("loss", "grade"),
    [(0, "小型"), (499 * WAN, "小型"), (500 * WAN, "中型"), (4999 * WAN, "中型"), (5000 * WAN, "大型"),
     (9999 * WAN, "大型"), (1 * YI, "特大型"), (1.5 * YI, "特大型")],
)
def test_hazard_potential_loss_boundaries(rules, loss, grade):
    assert grade_hazard(Situation(potential_loss_yuan=loss), rules).grade == grade


@pytest.mark.parametrize(
    ("deaths", "grade"),
    [(0, "小型"), (2, "小型"), (3, "中型"), (9, "中型"), (10, "大型"), (29, "大型"), (30, "特大型"), (44, "特大型")],
)
def test_disaster_deaths_boundaries(rules, deaths, grade):
    result = grade_disaster(Situation(deaths=deaths), rules)
    assert result.grade == grade
    assert [f.criterion for f in result.deciding] == ["deaths"]


@pytest.mark.parametrize(
    ("loss", "grade"),
    [(0, "小型"), (99 * WAN, "小型"), (100 * WAN, "中型"), (499 * WAN, "中型"), (500 * WAN, "大型"),
     (999 * WAN, "大型"), (1000 * WAN, "特大型"), (1.45 * YI, "特大型")],
)
def test_disaster_direct_loss_boundaries(rules, loss, grade):
    assert grade_disaster(Situation(direct_loss_yuan=loss), rules).grade == grade


@pytest.mark.parametrize(
    ("grade", "roman", "name", "response", "response_cn"),
    [("特大型", "Ⅰ", "特别重大", "Ⅰ级", "一级"), ("大型", "Ⅱ", "重大", "Ⅱ级", "二级"),
     ("中型", "Ⅲ", "较大", "Ⅲ级", "三级"), ("小型", "Ⅳ", "一般", "Ⅳ级", "四级")],
)
def test_level_names(rules, grade, roman, name, response, response_cn):
    deaths = {"特大型": 30, "大型": 10, "中型": 3, "小型": 0}[grade]
    result = grade_disaster(Situation(deaths=deaths), rules)
    assert (result.grade, result.level_roman, result.level_name, result.response_level,
            result.response_level_cn) == (grade, roman, name, response, response_cn)


# ---------------------------------------------------------------- boundary wording

@pytest.mark.parametrize(
    ("deaths", "grade", "texts"),
    [(30, "特大型", ("因灾死亡30人以上", "因灾死亡10人以上30人以下")),
     (10, "大型", ("因灾死亡10人以上30人以下", "因灾死亡3人以上10人以下")),
     (3, "中型", ("因灾死亡3人以上10人以下", "因灾死亡3人以下"))],
)
def test_national_shared_boundary_goes_to_higher_grade(deaths, grade, texts):
    """第四条 says 大型 '10人以上30人以下' and 特大型 '30人以上': 30 is in both; the higher grade wins, and it is noted."""
    (fig,) = grade_disaster(Situation(deaths=deaths), load_rules("national")).figures
    assert fig.grade == grade
    assert fig.rule_text == texts[0]
    assert all(t in fig.rule_note for t in texts) and f"按较高等级取{grade}" in fig.rule_note


@pytest.mark.parametrize("deaths", [2, 5, 29, 31])
def test_national_inner_values_have_no_boundary_note(deaths):
    (fig,) = grade_disaster(Situation(deaths=deaths), load_rules("national")).figures
    assert fig.rule_note == ""


def test_chongqing_wording_has_no_shared_boundary():
    (fig,) = grade_disaster(Situation(deaths=30), load_rules("chongqing")).figures
    assert fig.rule_text == "因灾死亡三十人以上"
    assert fig.rule_note == ""


@pytest.mark.parametrize(
    ("rule_set", "scale", "grade", "key", "expected"),
    [
        ("chongqing", "灾情", "大型", "deaths", dict(min=10, min_inclusive=True, max=30, max_inclusive=False)),
        ("chongqing", "险情", "小型", "people_to_move", dict(min=None, max=100, max_inclusive=False)),
        ("national", "灾情", "大型", "deaths", dict(min=10, min_inclusive=True, max=30, max_inclusive=True)),
        ("national", "灾情", "小型", "direct_loss_yuan", dict(min=None, max=100 * WAN, max_inclusive=True)),
    ],
)
def test_boundaries_follow_the_wording(rule_set, scale, grade, key, expected):
    rule = next(g for g in load_rules(rule_set).scales[scale].grades if g.grade == grade)
    threshold = rule.thresholds[key]
    for attr, value in expected.items():
        assert getattr(threshold, attr) == value
    if not threshold.max_inclusive:
        assert "不满" in threshold.text or "不足" in threshold.text
    else:
        assert "以下" in threshold.text


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize(
    ("scale", "key", "values"),
    [
        ("险情", "people_to_move", [n / 2 for n in range(0, 3000)]),  # halves too: estimated people can be fractional
        ("灾情", "deaths", range(0, 60)),
        ("险情", "potential_loss_yuan", range(0, 2 * YI, 50 * WAN)),
        ("灾情", "direct_loss_yuan", range(0, 2000 * WAN, 5 * WAN)),
    ],
)
def test_rules_leave_no_gaps(rule_set, scale, key, values):
    """Every value falls in at least one grade; under 不满 wording (重庆) in exactly one."""
    grades = load_rules(rule_set).scales[scale].grades
    for v in values:
        hits = [g.grade for g in grades if g.thresholds[key].contains(v)]
        assert hits, (rule_set, key, v)
        if rule_set == "chongqing":
            assert len(hits) == 1, (key, v, hits)


# ---------------------------------------------------------------- "或": the highest grade any figure reaches

@pytest.mark.parametrize(
    ("situation", "grade", "deciding"),
    [
        (Situation(people_to_move=180, potential_loss_yuan=3000 * WAN), "中型", ["people_to_move", "potential_loss_yuan"]),
        (Situation(people_to_move=99, potential_loss_yuan=4800 * WAN), "中型", ["potential_loss_yuan"]),
        (Situation(people_to_move=1200, potential_loss_yuan=100 * WAN), "特大型", ["people_to_move"]),
        (Situation(people_to_move=20, potential_loss_yuan=6000 * WAN), "大型", ["potential_loss_yuan"]),
    ],
)
def test_hazard_either_criterion(situation, grade, deciding):
    result = grade_hazard(situation, load_rules("national"))
    assert result.grade == grade
    assert [f.criterion for f in result.deciding] == deciding
    assert not result.missing and not result.lower_bound


@pytest.mark.parametrize(
    ("situation", "grade", "deciding"),
    [
        (Situation(deaths=2, direct_loss_yuan=600 * WAN), "大型", ["direct_loss_yuan"]),
        (Situation(deaths=12, direct_loss_yuan=50 * WAN), "大型", ["deaths"]),
        (Situation(deaths=5, direct_loss_yuan=300 * WAN), "中型", ["deaths", "direct_loss_yuan"]),
        (Situation(deaths=0, direct_loss_yuan=1.45 * YI), "特大型", ["direct_loss_yuan"]),
    ],
)
def test_disaster_either_criterion(situation, grade, deciding):
    result = grade_disaster(situation, load_rules("national"))
    assert result.grade == grade
    assert [f.criterion for f in result.deciding] == deciding


def test_deciding_figure_carries_rule_text_and_source():
    result = grade_disaster(Situation(deaths=2, direct_loss_yuan=600 * WAN), load_rules("national"))
    (fig,) = result.deciding
    assert fig.rule_text == "直接经济损失500万元以上1000万元以下"
    assert fig.display == "600万元"
    assert result.document == "《地质灾害防治条例》（国务院令第394号，2003）"
    assert result.article == "第四条"
    assert "第四条" in result.summary()


# ---------------------------------------------------------------- scales never mix

def test_hazard_ignores_disaster_figures():
    result = grade_hazard(Situation(deaths=40, direct_loss_yuan=2 * YI), load_rules("national"))
    assert result.grade is None
    assert result.missing == ("受威胁人数或潜在经济损失",)
    assert any("灾情指标" in w for w in result.warnings)


def test_disaster_ignores_hazard_figures():
    result = grade_disaster(Situation(people_to_move=5000, potential_loss_yuan=2 * YI), load_rules("national"))
    assert result.grade is None
    assert result.missing == ("因灾死亡人数或直接经济损失",)
    assert any("险情指标" in w for w in result.warnings)


def test_rule_file_cannot_mix_scales():
    data = yaml.safe_load((RULES_DIR / "national.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(data)
    bad["scales"]["险情"]["criteria"]["deaths"] = {"label": "因灾死亡人数", "unit": "人"}
    with pytest.raises(RuleError, match="险情不能使用指标 deaths"):
        parse_rules(bad)


@pytest.mark.parametrize("bound", ["min", "max"])
def test_rule_file_must_state_inclusiveness(bound):
    data = yaml.safe_load((RULES_DIR / "chongqing.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(data)
    del bad["scales"]["灾情"]["grades"][1]["thresholds"]["deaths"][f"{bound}_inclusive"]
    with pytest.raises(RuleError, match=f"{bound}_inclusive"):
        parse_rules(bad)


# ---------------------------------------------------------------- households are not people

def test_households_only_is_not_graded_on_people():
    result = grade_hazard(Situation(households=45), load_rules("national"))
    assert result.grade is None
    assert result.missing == ("受威胁人数或潜在经济损失",)
    assert any("需要受威胁人数" in w and "45户" in w for w in result.warnings)
    assert result.assumptions == ()


def test_households_only_with_loss_grades_on_loss_and_asks_for_people():
    result = grade_hazard(Situation(households=45, potential_loss_yuan=600 * WAN), load_rules("national"))
    assert result.grade == "中型"
    assert result.missing == ("受威胁人数",)
    assert result.lower_bound
    assert any("45户" in w for w in result.warnings)


@pytest.mark.parametrize(("households", "per", "grade"), [(45, 3, "中型"), (30, 3, "小型"), (200, 3, "大型")])
def test_households_with_explicit_assumption(households, per, grade):
    result = grade_hazard(Situation(households=households), load_rules("national"), persons_per_household=per)
    assert result.grade == grade
    (fig,) = result.figures
    assert fig.value == households * per and fig.approx
    assert "估算" in fig.source_text
    assert len(result.assumptions) == 1 and f"每户{per}人" in result.assumptions[0]


def test_people_count_wins_over_households():
    result = grade_hazard(Situation(people_to_move=80, households=45), load_rules("national"),
                          persons_per_household=3)
    assert result.grade == "小型"
    assert result.assumptions == ()


@pytest.mark.parametrize("per", [0, -1])
def test_households_assumption_must_be_positive(per):
    with pytest.raises(ValueError):
        grade_hazard(Situation(households=45), load_rules("national"), persons_per_household=per)


# ---------------------------------------------------------------- missing figures

@pytest.mark.parametrize(
    ("grader", "needed"),
    [(grade_hazard, ("受威胁人数或潜在经济损失",)), (grade_disaster, ("因灾死亡人数或直接经济损失",))],
)
def test_no_figures_no_grade(grader, needed):
    result = grader(Situation(), load_rules("national"))
    assert (result.grade, result.level_roman, result.response_level) == (None, None, None)
    assert result.missing == needed
    assert "暂无法定级" in result.summary()


@pytest.mark.parametrize(
    ("grader", "situation", "grade", "missing", "lower_bound"),
    [
        (grade_hazard, Situation(people_to_move=180), "中型", ("潜在经济损失",), True),
        (grade_hazard, Situation(potential_loss_yuan=600 * WAN), "中型", ("受威胁人数",), True),
        (grade_hazard, Situation(people_to_move=1500), "特大型", ("潜在经济损失",), False),
        (grade_disaster, Situation(deaths=2), "小型", ("直接经济损失",), True),
        (grade_disaster, Situation(direct_loss_yuan=600 * WAN), "大型", ("因灾死亡人数",), True),
    ],
)
def test_partial_figures_grade_what_is_there(grader, situation, grade, missing, lower_bound):
    result = grader(situation, load_rules("national"))
    assert result.grade == grade
    assert result.missing == missing
    assert result.lower_bound is lower_bound
    assert ("至少为" in result.summary()) is lower_bound


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "180"])
def test_situation_rejects_bad_numbers(bad):
    with pytest.raises(ValueError):
        Situation(people_to_move=bad)


# ---------------------------------------------------------------- missing persons

def test_missing_persons_are_not_deaths_but_are_flagged():
    result = grade_disaster(Situation(deaths=2, missing=25), load_rules("national"))
    assert result.grade == "小型"
    (warning,) = [w for w in result.warnings if "失踪" in w]
    assert "25人失踪" in warning and "未计入" in warning and "第四条" in warning
    assert "大型" in warning  # 2 + 25 = 27 would be 大型


def test_missing_persons_without_deaths_figure():
    result = grade_disaster(Situation(missing=3), load_rules("chongqing"))
    assert result.grade is None
    assert result.missing == ("因灾死亡人数或直接经济损失",)
    assert any("3人失踪" in w for w in result.warnings)


def test_rule_set_may_count_missing_as_deaths():
    data = yaml.safe_load((RULES_DIR / "national.yaml").read_text(encoding="utf-8"))
    data["scales"]["灾情"]["counts_missing_as_deaths"] = True
    local = parse_rules(data)
    result = grade_disaster(Situation(deaths=8, missing=3), local)
    assert result.grade == "大型"
    assert any("失踪人员" in a for a in result.assumptions)


# ---------------------------------------------------------------- region override

@pytest.mark.parametrize(
    ("region", "available", "rule_set"),
    [
        ("重庆市巫山县", {"chongqing"}, "chongqing"),
        ("重庆市云阳县水口镇", {"chongqing", "national"}, "chongqing"),
        ("重庆市巫山县", set(), "national"),
        ("重庆市巫山县", {"national"}, "national"),
        ("四川省宜宾市筠连县", {"chongqing"}, "national"),
        (None, {"chongqing"}, "national"),
        ("", {"chongqing"}, "national"),
    ],
)
def test_select_rules(region, available, rule_set):
    rules = select_rules(region, available)
    assert rules.id == rule_set
    assert rules.selection_note


def test_chongqing_requested_without_its_document_falls_back_and_says_so():
    rules = select_rules("重庆市巫山县", set())
    assert "知识库中没有" in rules.selection_note and "《重庆市地质灾害防治条例》" in rules.selection_note
    result = grade_hazard(Situation(people_to_move=180), rules)
    assert result.rule_set == "national"
    assert result.to_json()["rule_set"]["selection"] == rules.selection_note


def test_result_names_rule_set_and_document():
    result = grade_hazard(Situation(people_to_move=500), select_rules("重庆市巫山县", {"chongqing"}))
    assert (result.grade, result.rule_set) == ("大型", "chongqing")
    assert result.document == "《重庆市地质灾害防治条例》（2020修订）"
    assert result.article == "第五条第三款"
    assert result.deciding[0].rule_text == "受灾害威胁，需搬迁转移人员在五百人以上不满一千人"
    national = grade_hazard(Situation(people_to_move=500), select_rules("四川省", {"chongqing"}))
    assert national.citation == "《国家突发地质灾害应急预案》（险情分级）"
    assert national.wording == "summary"
    assert any("核对" in w for w in national.warnings)


def test_rule_sets_in_kb_from_titles():
    titles = ["《地质灾害防治条例》逐条要点（第一章至第三章）", "《重庆市地质灾害防治条例》（2020修订）逐条要点"]
    assert rule_sets_in_kb(titles) == {"national", "chongqing"}
    assert rule_sets_in_kb(titles[:1]) == {"national"}
    assert rule_sets_in_kb([]) == set()


def test_rules_load_relative_to_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert RULES_DIR == Path(app.reason.__file__).parent / "rules"
    assert set(rule_set_ids()) >= {"national", "chongqing"}
    load_rules.cache_clear()
    assert load_rules("chongqing").name == "重庆市标准"


def test_unknown_rule_set():
    with pytest.raises(RuleError):
        load_rules("atlantis")


# ---------------------------------------------------------------- end to end: text → figures → grade

def test_e2e_hazard_from_text():
    situation = situation_from_text("45户约180人，潜在经济损失约3000万元")
    assert (situation.households, situation.people_to_move, situation.potential_loss_yuan) == (45, 180, 3000 * WAN)
    result = grade_hazard(situation, load_rules("national"))
    assert (result.scale, result.grade, result.level_roman, result.level_name) == ("险情", "中型", "Ⅲ", "较大")
    assert result.response_level == "Ⅲ级"
    assert {f.source_text for f in result.deciding} == {"约180人", "约3000万元"}
    assert any("N户M人" in a for a in result.assumptions)  # the people figure had no 威胁/转移 word


def test_e2e_disaster_from_text():
    result = grade_disaster(situation_from_text("造成2人死亡，直接经济损失600万元"), load_rules("national"))
    assert (result.scale, result.grade, result.level_roman, result.level_name) == ("灾情", "大型", "Ⅱ", "重大")
    assert [f.source_text for f in result.deciding] == ["600万元"]


def test_e2e_chongqing_report():
    text = "重庆市巫山县某滑坡已造成3人死亡、1人失踪，紧急转移群众120户412人，直接经济损失约80万元。"
    situation = situation_from_text(text, region="重庆市巫山县")
    rules = select_rules(situation.region, {"chongqing"})
    disaster = grade_disaster(situation, rules)
    hazard = grade_hazard(situation, rules)
    assert (disaster.grade, disaster.rule_set, disaster.article) == ("中型", "chongqing", "第五条第二款")
    assert any("1人失踪" in w for w in disaster.warnings)
    assert (hazard.grade, hazard.missing) == ("中型", ("潜在经济损失",))


def test_e2e_ambiguous_money_is_not_used():
    situation = situation_from_text("滑坡致44人遇难，经济损失约1.45亿元")
    result = grade_disaster(situation, load_rules("national"))
    assert result.grade == "特大型"
    assert result.missing == ("直接经济损失",)
    assert any("未写明是直接经济损失还是潜在经济损失" in w for w in result.warnings)


def test_e2e_several_figures_take_the_largest_and_say_so():
    situation = situation_from_text("初报2人死亡。续报：死亡人数升至5人。")
    result = grade_disaster(situation, load_rules("national"))
    assert situation.deaths == 5 and result.grade == "中型"
    assert any("取最大值" in w for w in result.warnings)


def test_e2e_approximate_figure_near_boundary_is_flagged():
    result = grade_hazard(situation_from_text("近1000人需转移"), load_rules("national"))
    assert result.grade == "特大型"
    assert any("近1000人" in w and "大型" in w for w in result.warnings)


# ---------------------------------------------------------------- JSON contract

def test_to_json_contract():
    result = grade_disaster(Situation(deaths=2, direct_loss_yuan=600 * WAN), load_rules("national"))
    data = result.to_json()
    assert isinstance(result, Grade)
    assert list(data) == ["scale", "grade", "level_roman", "level_name", "response_level", "response_level_cn",
                          "lower_bound", "deciding", "figures", "rule_set", "source", "missing", "assumptions",
                          "warnings", "summary"]
    assert list(data["figures"][0]) == ["criterion", "label", "value", "display", "source_text", "approx", "grade",
                                        "rule_text", "rule_note", "decisive"]
    assert list(data["source"]) == ["document", "article", "wording", "levels_source"]
    assert data["deciding"] == ["direct_loss_yuan"]
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
