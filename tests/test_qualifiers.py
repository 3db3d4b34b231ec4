"""Claim verification learns qualifiers: a figure is supported only by a passage of the same year, place and
named document; a year or place the user typed never makes another year's or place's figure an answer."""

from __future__ import annotations

import pytest

from app.config import PROJECT_ROOT
from app.reason.answer import answer_question
from app.reason.citations import REFUSAL
from app.reason.prompts import load_prompt
from app.reason.qualifiers import named_documents, qualifiers
from app.reason.verify import answers_other_scope, verify_claims
from app.schema import Chunk, Hit

STATS = Chunk("s", "/stats.md", "全国地质灾害灾情统计与趋势预测摘录（资料摘要）", "report", "年度/阶段灾情",
              "年度/阶段灾情",
              "| 时段 | 发生数量 | 人员伤亡 |\n| 2017年全年 | 7122起 | 327人死亡 |\n"
              "| 2017年7月 | 4197起（滑坡3309、崩塌611） | 43人死亡 |\n"
              "| 2021年1—9月 | 3816起 | 57人死亡（河南“7·20”未计入） |", 0, 200, meta={"region": "全国"})
NATIONAL = Chunk("n", "/reg.md", "地质灾害防治条例", "regulation", "第四十九条", "第七章 附则 > 第四十九条",
                 "第四十九条 本条例自2004年3月1日起施行。", 0, 30, meta={"region": "全国"})
GRADES = Chunk("g", "/reg.md", "地质灾害防治条例", "regulation", "第四条", "第一章 > 第四条",
               "第四条 特大型：因灾死亡30人以上或者直接经济损失1000万元以上的。", 0, 40, meta={"region": "全国"})
HENAN = "河南省2024年一共发生了多少起地质灾害？"
ZHEJIANG = "《浙江省地质灾害防治条例》自什么时候起施行？"


def test_qualifiers_of_questions_and_documents():
    assert qualifiers(HENAN).years == {"2024"} and qualifiers(HENAN).places == {"河南省"}
    assert named_documents(ZHEJIANG) == {"浙江省地质灾害防治条例"}
    assert named_documents("浙江省地质灾害防治条例自何时施行") == {"浙江省地质灾害防治条例"}


def test_another_years_and_places_figure_is_unsupported_even_with_the_users_year_and_place():
    result = verify_claims("河南省2024年一共发生了4197起地质灾害[1]。", [STATS], user_text=HENAN)
    assert result.unsupported == ["河南省2024年一共发生了4197起地质灾害[1]。"]
    assert result.new_claims == 1 and result.new_supported == 0


def test_the_figure_with_its_own_year_and_place_is_supported():
    result = verify_claims("2017年7月全国共发生地质灾害4197起[1]。", [STATS])
    assert result.unsupported == []


def test_a_date_attributed_to_a_named_regional_document_needs_that_documents_passage():
    result = verify_claims("《浙江省地质灾害防治条例》自2004年3月1日起施行[1]。", [NATIONAL], user_text=ZHEJIANG)
    assert len(result.unsupported) == 1
    result = verify_claims("浙江省地质灾害防治条例自2004年3月1日起施行[1]。", [NATIONAL], user_text=ZHEJIANG)
    assert len(result.unsupported) == 1
    assert verify_claims("《地质灾害防治条例》自2004年3月1日起施行[1]。", [NATIONAL]).unsupported == []


def test_a_national_rule_still_holds_in_a_province():
    result = verify_claims("河南省发生地质灾害，因灾死亡30人以上的为特大型[1]。", [GRADES],
                           user_text="河南省某地滑坡死亡30人是什么等级？")
    assert result.unsupported == []


def test_an_unqualified_figure_from_another_year_and_place_does_not_answer():
    assert answers_other_scope("共发生地质灾害4197起[1]。", [STATS], HENAN) == "2017年、全国"
    assert answers_other_scope("2017年7月全国共发生地质灾害4197起[1]。", [STATS],
                               "2017年7月全国发生了多少起地质灾害？") == ""


@pytest.fixture
def prompt():
    return load_prompt(PROJECT_ROOT / "prompts", "answer")


@pytest.mark.parametrize("reply", ["【回答】\n河南省2024年一共发生了4197起地质灾害[1]。",
                                   "【回答】\n共发生地质灾害4197起[1]。",
                                   "【回答】\n根据统计，2017年7月全国发生地质灾害4197起[1]。"])
def test_the_national_2017_statistic_asked_as_a_province_in_2024_is_refused(prompt, fake_llm, reply):
    answer = answer_question(HENAN, [Hit(1, STATS, 0.1)], fake_llm(reply), prompt, max_tokens=64,
                             temperature=0.0, seed=1)
    assert answer.refused and answer.answer.startswith(REFUSAL), answer.answer
    assert not answer.citations


def test_the_national_date_asked_of_a_provincial_regulation_is_refused(prompt, fake_llm):
    reply = "【回答】\n《浙江省地质灾害防治条例》自2004年3月1日起施行[1]。"
    answer = answer_question(ZHEJIANG, [Hit(1, NATIONAL, 0.1)], fake_llm(reply), prompt, max_tokens=64,
                             temperature=0.0, seed=1)
    assert answer.refused, answer.answer


def test_another_regions_rule_is_named_as_such_in_the_evidence_the_answer_and_the_sources(prompt, fake_llm):
    from dataclasses import replace

    from app.interfaces.render import render_answer
    from app.reason.citations import evidence_block

    other = replace(GRADES, meta={"region": "重庆市", "note": "重庆市的规定，不适用于天津市"},
                    title="重庆市地质灾害防治条例")
    assert "（重庆市的规定，不适用于天津市）" in evidence_block([other], question="天津死亡30人是什么等级")
    llm = fake_llm("【回答】\n因灾死亡30人以上的为特大型[1]。")
    answer = answer_question("天津市规定死亡多少人以上为特大型？", [Hit(1, other, 0.1)], llm, prompt,
                             max_tokens=64, temperature=0.0, seed=1)
    assert answer.refused and "属于重庆市，不是问题所问的天津市" in answer.answer  # another region's figure
    moving = replace(other, text="第三十六条 受威胁群众应当及时转移到安全地带，险情解除前不得擅自返回。")
    llm = fake_llm("【回答】\n受威胁群众应当及时转移到安全地带，险情解除前不得返回[1]。")
    answer = answer_question("天津发生滑坡后群众应当怎样转移？", [Hit(1, moving, 0.1)], llm, prompt,
                             max_tokens=64, temperature=0.0, seed=1)
    assert not answer.refused
    assert answer.answer.endswith("（注：出处1《重庆市地质灾害防治条例》：重庆市的规定，不适用于天津市。）")
    assert "（重庆市的规定，不适用于天津市）" in render_answer(answer)
