from app.retrieve.gate import evidence_coverage, question_terms
from app.schema import Chunk, Hit


def _hit(text):
    return Hit(1, Chunk("c", "/x", "示例办法", "regulation", "第八条", "第八条", text, 0, len(text)), 0.1)


def test_topic_terms_drop_question_words():
    terms = question_terms("泥石流发生时群众应该往哪里撤离？")
    assert "泥石流" in terms and "撤离" in terms
    assert not {"应该", "哪里", "往"} & set(terms)


def test_coverage_separates_answerable_from_off_topic_questions():
    hits = [_hit("第八条 泥石流发生时，沟道两侧群众撤离应当向两侧高处转移。")]
    assert evidence_coverage("泥石流发生时群众应该往哪里撤离？", hits)[0] >= 0.75
    coverage, missing = evidence_coverage("地震烈度怎么划分？", hits)
    assert coverage == 0.0
    assert "地震" in missing and "烈度" in missing


def test_situations_are_told_from_questions():
    from app.reason.assess import is_situation

    assert is_situation("某村后山滑坡，威胁45户约180人，潜在经济损失约3000万元")
    assert is_situation("凌晨某村发生滑坡，有人员伤亡，死亡人数还在统计，请先给个灾情等级")
    assert not is_situation("险情中受威胁人数达到多少算大型？")
    assert not is_situation("泥石流来了往哪里跑？")
