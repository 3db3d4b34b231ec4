from app.reason.verify import FLAG, claims, verify_claims
from app.schema import Chunk

ARTICLE_4 = Chunk("a", "/law.md", "地质灾害防治条例", "regulation", "第四条", "第二章 > 第四条",
                  "第四条 特大型：因灾死亡30人以上或者直接经济损失1000万元以上的。", 0, 40)


def test_claims_find_numbers_in_any_notation_documents_and_articles():
    values, docs, articles = claims("依据《中华人民共和国突发事件应对法》第九条，三十人、1.2亿元、45户须转移[2]。")
    assert values == {30.0, 1.2e8, 45.0}
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
