import pytest

from app.reason.verify import FLAG, claims, gives_asked_quantity, verify_claims
from app.schema import Chunk

ARTICLE_4 = Chunk("a", "/law.md", "地质灾害防治条例", "regulation", "第四条", "第二章 > 第四条",
                  "第四条 特大型：因灾死亡30人以上或者直接经济损失1000万元以上的。", 0, 40)


def test_claims_find_numbers_in_any_notation_documents_and_articles():
    values, docs, articles = claims("依据《中华人民共和国突发事件应对法》第九条，三十人、1.2亿元、45户须转移[2]。")
    assert values == {(30.0, "person"), (1.2e8, "yuan"), (45.0, "household")}
    assert docs == {"突发事件应对法"}
    assert articles == {"第九条"}


def test_supported_sentences_pass_and_fabrications_are_flagged():
    answer = ("因灾死亡三十人以上或者直接经济损失1000万元以上为特大型[1]。依据《地质灾害防治条例》第四条[1]。"
              "大型为死亡50人以上[1]。依据《突发事件应对法》第九条[1]。应当立即组织转移[1]。")
    result = verify_claims(answer, [ARTICLE_4])
    assert result.checked == 4
    assert result.unsupported == ["大型为死亡50人以上[1]。", "依据《突发事件应对法》第九条[1]。"]
    assert result.text.count(FLAG) == 2
    assert "应当立即组织转移[1]。" in result.text and result.text.endswith("应当立即组织转移[1]。")


def test_figures_from_the_users_own_input_are_not_flagged():
    result = verify_claims("该险情威胁180人[1]。", [ARTICLE_4], user_text="后山滑坡，威胁45户约180人")
    assert result.unsupported == []


def test_uncited_sentence_with_a_figure_is_flagged():
    result = verify_claims("死亡人数为44人。", [ARTICLE_4])
    assert result.unsupported == ["死亡人数为44人。"]


def test_a_right_fact_with_the_wrong_marker_is_recited_to_the_passage_that_holds_it():
    other = Chunk("b", "/case.md", "茂县滑坡案例", "case", "二、避险", "二、避险",
                  "新磨村滑坡发生前，景区内142名游客已全部撤出，无人员伤亡。", 0, 30)
    result = verify_claims("景区内142名游客均已撤出[1]。", [ARTICLE_4, other])
    assert result.text == "景区内142名游客均已撤出[2]。"
    assert result.recited == 1 and result.unsupported == []
    assert result.claims == result.supported_claims == 1


def test_claim_counts_show_when_nothing_at_all_is_supported():
    result = verify_claims("预计2027年降雨量400毫米[1]。", [ARTICLE_4])
    assert result.claims == 2 and result.supported_claims == 0


def test_list_item_numbers_are_not_figures_to_verify():
    """Found by the injection tests: "1. 向高处转移[1]。" was withheld because "1" is not in the passage."""
    answer = "撤离要点：\n1. 避免顺沟道方向奔跑[1]。\n2、向沟道两侧的高处转移[1]。\n（3）30分钟内报告[1]。\n1.5亿元损失[1]。"
    article_8 = Chunk("b", "/law.md", "办法", "regulation", "第八条", "第八条",
                      "第八条 泥石流沟道两侧的群众撤离时，应当向沟道两侧的高处转移，严禁顺沟道方向奔跑。30分钟内报告。", 0, 50)
    result = verify_claims(answer, [article_8])
    assert result.unsupported == ["1.5亿元损失[1]。"]  # a decimal at the start is still a figure


def test_a_number_is_compared_with_what_it_counts():
    """Found by the end-to-end test: "1小时内报告[3]" passed because passage 3 says "每一处隐患点…一名"."""
    article_3 = Chunk("c", "/law.md", "办法", "regulation", "第三条", "第三条",
                      "第三条 乡镇人民政府应当为每一处地质灾害隐患点明确一名群测群防员，负责日常巡查。", 0, 40)
    result = verify_claims("群测群防员发现异常后应当在1小时内报告[1]。", [article_3])
    assert result.unsupported == ["群测群防员发现异常后应当在1小时内报告[1]。"]
    assert verify_claims("每个隐患点明确1名群测群防员[1]。", [article_3]).unsupported == []


def test_units_with_gaps_and_unitless_numbers():
    values, _, _ = claims("转移180余人，约3个小时后滑坡，方量约5万立方米，雨量达120毫米，编号42。")
    assert values == {(180.0, "person"), (3.0, "hour"), (5e4, "m3"), (120.0, "mm"), (42.0, "")}
    passage = Chunk("d", "/case.md", "案例", "case", "一", "一", "共撤离180名群众，3小时后坡体滑动。", 0, 20)
    assert verify_claims("撤离了180人[1]。3小时后滑坡[1]。", [passage]).unsupported == []
    assert verify_claims("3天后滑坡[1]。", [passage]).unsupported == ["3天后滑坡[1]。"]


def test_figures_the_user_gave_do_not_count_as_support_for_what_the_answer_adds():
    """Found by the answer eval: "河南省2024年…预算是10亿元[1]" passed as partly supported because 2024 is in the
    question; the only figure the answer adds is in no passage."""
    passage = Chunk("e", "/plan.md", "河南省地质灾害防治规划", "plan", "三", "三", "2024年全省开展汛前排查。", 0, 20)
    result = verify_claims("河南省2024年安排的专项资金预算是10亿元[1]。", [passage],
                           user_text="河南省2024年安排的地质灾害防治专项资金预算是多少亿元？")
    assert result.supported_claims == 1 and result.new_claims == 1 and result.new_supported == 0
    assert verify_claims("2024年全省开展汛前排查[1]。", [passage], user_text="2024年做了什么？").new_claims == 0


@pytest.mark.parametrize("question, answer, ok", [
    ("舟曲“8·8”泥石流造成的直接经济损失是多少亿元？", "造成1156人遇难、588人失踪[3]。", False),
    ("舟曲“8·8”泥石流造成的直接经济损失是多少亿元？", "直接经济损失约4亿元[1]。", True),
    ("红色预警对应的24小时雨量阈值是多少毫米？", "阈值是地方性的，不能照搬[1]。", False),
    ("红色预警对应的24小时雨量阈值是多少毫米？", "24小时雨量达到100毫米以上[1]。", True),
    ("红色预警对应的24小时雨量阈值是多少毫米？", "按24小时雨量确定[1]。", False),  # only the question's own figure
    ("这次滑坡转移了多少人？", "共转移一百二十人[2]。", True),
    ("险情报告应当包括哪些内容？", "包括时间、地点[1]。", True),  # no quantity asked
    ("响应分几级？", "分为四级[1]。", True),  # levels are not a measured quantity: never refused on this ground
])
def test_an_answer_must_give_the_kind_of_quantity_asked_for(question, answer, ok):
    assert gives_asked_quantity(answer, question) is ok


def test_roman_levels_are_the_same_claim_as_chinese_or_arabic_ones():
    """Found by the answer eval (g006): "三级标准" was flagged though the computed grade said "Ⅲ级"."""
    assert claims("启动Ⅲ级响应，发布IV级预警，II级以上。")[0] == {(3.0, "level"), (4.0, "level"), (2.0, "level")}
    result = verify_claims("按三级标准，为中型。", [], user_text="险情为中型（Ⅲ级，较大），对应Ⅲ级应急响应。")
    assert result.unsupported == []
    assert verify_claims("按二级标准处置。", [], user_text="对应Ⅲ级应急响应。").unsupported == ["按二级标准处置。"]
