from app.reason.citations import attribute_uncited, check_citations, evidence_block
from app.schema import Chunk


def _chunk(text, locator="第一条", title="某条例"):
    return Chunk("id", "/x.md", title, "regulation", locator, locator, text, 0, len(text))


def test_invented_marker_is_dropped_and_reported():
    check = check_citations("群众应转移到安全地带[1]。应急预案另有规定[9]。", n_evidence=3)
    assert check.text == "群众应转移到安全地带[1]。应急预案另有规定。"
    assert check.used == [1]
    assert check.invalid == ["[9]"]


def test_marker_variants_are_normalised():
    check = check_citations("甲[1,2]。乙【3】。丙［2］。丁[0]。", n_evidence=3)
    assert check.text == "甲[1][2]。乙[3]。丙[2]。丁。"
    assert check.used == [1, 2, 3]
    assert check.invalid == ["[0]"]


def test_brackets_inside_documents_cannot_pass_for_citations():
    block = evidence_block([_chunk("据报道[来源2]共10人遇难[1]。")])
    assert "[来源2]" not in block and "〔来源2〕" in block
    assert block.startswith("[1] 《某条例》 第一条")
    assert block.count("[1]") == 1  # only the evidence label itself


def test_uncited_sentence_is_attributed_only_to_the_passage_that_holds_it():
    evidence = ["接到险情报告的当地人民政府应当及时动员受威胁居民转移到安全地带。", "地质灾害分为四个等级。"]
    check = check_citations("当地人民政府应当及时动员受威胁居民转移到安全地带。这是一句无关的评论话语。", 2)
    check = attribute_uncited(check, evidence)
    assert check.text == "当地人民政府应当及时动员受威胁居民转移到安全地带[1]。这是一句无关的评论话语。"
    assert check.used == [1] and check.attributed == 1


def test_a_documents_own_source_marker_copied_into_the_answer_is_dropped():
    """The evidence shows a document's "[来源3]" as 〔来源3〕; copied back it would point at nothing the reader has."""
    from app.reason.citations import check_citations

    check = check_citations("于2月8日13时30分启动三级应急响应[2]。〔来源3〕〔来源4〕[2]", 3)
    assert "来源" not in check.text and check.used == [2]
    kept = check_citations("依据川府发〔2024〕12号文件执行[1]。", 1)
    assert "〔2024〕" in kept.text
