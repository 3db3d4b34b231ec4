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


def test_a_described_hazard_asking_how_far_it_reaches_is_assessed():
    """The reach estimate answers it (code decides the distance); the documents cannot."""
    from app.reason.assess import asks_reach, is_situation

    assert is_situation("某村后山滑坡体方量约30万方，后缘至坡脚高差约150米，坡脚下方600米处有一所小学，会不会被波及？")
    assert is_situation("沟口下方1公里处有村庄，上游泥石流物源约5万方，沟道高差约400米，村庄在影响范围内吗？")
    assert asks_reach("危岩体约2万立方米，坡高80米，崩塌下来会冲到多远？")
    assert not asks_reach("泥石流一般能冲多远？")  # no figures of its own: a question for the documents
    assert not asks_reach("体积100万立方米的滑坡属于什么规模？")  # figures, but no reach asked
    # a named past event goes to the documents first (the router checks is_case_question before the situation)
    from app.reason.incident import is_case_question
    assert is_case_question("茂县新磨村滑坡方量约800万立方米，当时的转移范围是怎么划定的？")


def test_the_asked_thing_is_the_noun_before_the_interrogative():
    from app.retrieve.gate import asked_focus

    assert "起草人" in asked_focus("《地质灾害防治条例》的起草人是谁？")
    assert "名单" in asked_focus("那遇难者的名单呢？") and "姓名" in asked_focus("那遇难者的名单呢？")
    assert "路线" in asked_focus("临灾避险的撤离路线呢？")
    assert asked_focus("天津市的预警标准是什么？") == ["预警"]  # "标准" is stated without the word
    assert asked_focus("镇雄滑坡造成多少人遇难？") == []  # no noun before an interrogative at the end


def test_a_question_whose_asked_thing_no_passage_mentions_is_refused_though_its_other_terms_are_there():
    from app.retrieve.gate import missing_focus

    law = _hit("《地质灾害防治条例》经2003年11月19日国务院第29次常务会议通过，自2004年3月1日起施行。")
    question = "《地质灾害防治条例》的起草人是谁？"
    assert evidence_coverage(question, [law])[0] >= 0.5  # the share-of-terms gate alone lets it through
    assert missing_focus(question, [law]) == "起草人"
    assert missing_focus("《地质灾害防治条例》的施行日期是什么？", [law]) == ""  # 日期: an attribute, stated as a date
    case = _hit("滑坡造成44人遇难，直接经济损失约2000万元。")
    assert missing_focus("那遇难者的名单呢？", [case]) == "名单"
    listed = _hit("遇难人员姓名：张某、李某。")
    assert missing_focus("那遇难者的名单呢？", [listed]) == ""


def test_a_question_about_the_future_is_refused_unless_the_evidence_speaks_of_it():
    from app.retrieve.gate import missing_focus

    law = _hit("《重庆市地质灾害防治条例》2020年7月修订，自2020年8月1日起施行。")
    assert missing_focus("该条例下一次修订会在哪一年？", [law]) == "下一次修订"
    assert missing_focus("该条例是哪一年修订的？", [law]) == ""
    rain = _hit("降雨期间加强巡查，发现裂缝扩大立即撤离。")
    assert missing_focus("下次降雨时要注意什么？", [rain]) == ""  # asks what to do, not what will happen


def test_which_few_words_are_question_words_not_topics():
    hits = [_hit("群测群防员的日常工作可以概括为“巡、测、记、报、护”。巡：在降雨期间巡查隐患点。")]
    coverage, missing = evidence_coverage("群测群防员的日常工作可以概括为哪几个字？", hits)
    assert coverage >= 0.5 and not {"哪几", "几个", "哪几个"} & set(missing)
