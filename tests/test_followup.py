"""Follow-ups made standalone and incidents that evolve (issue 14): the pure parts (app/reason/followup.py,
app/reason/incident.py)."""

from __future__ import annotations

from app.reason.followup import Context, checked_rewrite, context_after, resolve
from app.reason.grading import grade_hazard, load_rules
from app.reason.incident import grade_changes, is_case_question, same_event, update
from app.reason.situation import situation_from_text

TIANJIN = Context("天津市的红色预警标准是什么？", ("天津市突发地质灾害应急预案",), "天津", None)


def test_an_ellipsis_swaps_the_term_of_the_same_kind():
    assert resolve("那黄色呢？", TIANJIN).question == "天津市的黄色预警标准是什么？"
    assert resolve("橙色预警的呢", TIANJIN).question == "天津市的橙色预警标准是什么？"
    big = Context("险情中受威胁人数达到多少算特大型？")
    assert resolve("那大型呢？", big).question == "险情中受威胁人数达到多少算大型？"
    assert resolve("重庆呢？", TIANJIN).question == "重庆的红色预警标准是什么？"
    assert resolve("那黄色呢？", TIANJIN).carried == {"kind": "colour", "from": "红色", "to": "黄色"}


def test_a_pronoun_becomes_the_document_the_conversation_is_about():
    context = Context("《四川省地质灾害防治条例》对擅自返回有什么规定？", ("四川省地质灾害防治条例", "某县预案"))
    got = resolve("该条例自什么时候起施行？", context)
    assert got.question == "《四川省地质灾害防治条例》自什么时候起施行？" and got.how == "pronoun"
    assert resolve("这个预案由谁发布？", context).question == "《某县预案》由谁发布？"
    assert resolve("需要报告吗？", context).question == "《四川省地质灾害防治条例》中，需要报告吗？"


def test_a_short_question_pointing_back_carries_the_last_question_one_level_deep():
    context = Context("探矿结束后遗留的钻孔、探井要怎么处理？", ("河南省地质环境保护条例",))
    got = resolve("那费用由谁承担？", context)
    assert got.how == "scoped" and "钻孔、探井" in got.question and got.question.startswith("《河南省地质环境保护条例》中")
    chained = resolve("这些由谁监督？", Context(got.question, context.documents))
    assert chained.question.count("接上一问") == 1 and "那费用由谁承担" in chained.question
    # an ellipsis ending in 呢 and an article of its own are not about the last question's subject
    assert "接上一问" not in resolve("那遇难者的名单呢？", context).question
    assert "接上一问" not in resolve("第二十九条规定了什么？", context).question


def test_a_self_contained_question_inherits_nothing_and_a_first_question_is_untouched():
    for message in ("泥石流来了应该往哪里跑？", "《重庆市地质灾害防治条例》规定的报告时限是多久？",
                    "黑石沟右岸危岩体WY-07巡查发现了什么？"):  # a site of its own, not the last document's
        got = resolve(message, TIANJIN)
        assert got.question == message and got.how == "self-contained"
    assert resolve("那黄色呢？", None).how == "first"


def test_what_code_cannot_resolve_goes_to_the_model_and_its_rewrite_is_checked():
    assert resolve("那上一条呢？", Context("地质灾害分几级？")).needs_model
    kept = checked_rewrite("天津市黄色预警的发布标准是什么？\n多余的一行", "那黄色呢？", TIANJIN)
    assert kept.question == "天津市黄色预警的发布标准是什么？" and kept.how == "model"
    dropped = checked_rewrite("地质灾害的定义是什么？", "那黄色呢？", TIANJIN)  # lost what the user asked
    assert dropped.how == "fallback" and "黄色" in dropped.question and "红色预警" in dropped.question


def test_the_next_context_names_the_documents_asked_about_first():
    nxt = context_after(resolve("《天津市突发地质灾害应急预案》中红色预警标准是什么？", None), ["国家预案", "某县预案", "其他"])
    assert nxt.documents == ("天津市突发地质灾害应急预案", "国家预案", "某县预案") and nxt.region == "天津"


def _update(incident, message, now):
    return update(incident, message, situation_from_text(message), now=now)


def test_an_incident_replaces_adds_and_corrects_and_keeps_the_history():
    incident, first = _update(None, "石门村后山滑坡，威胁32户约120人", now=1.0)
    assert incident.figures == {"people_to_move": 120, "households": 32} and [c.how for c in first] == ["new", "new"]
    incident, raised = _update(incident, "核实后受威胁人数增加到600人", now=2.0)
    assert incident.figures["people_to_move"] == 600 and raised[0].how == "replace"
    assert raised[0].describe() == "受威胁人数由120人增至600人"
    incident, added = _update(incident, "又发现3名遇难者", now=3.0)
    incident, more = _update(incident, "现场又发现2人死亡", now=4.0)
    assert incident.figures["deaths"] == 5 and more[0].how == "add" and "新增2人" in more[0].describe()
    incident, corrected = _update(incident, "受威胁人数为500人", now=5.0)
    assert corrected[0].how == "correct" and "按新报数字更正" in corrected[0].describe()
    assert [c.time for c in incident.changes] == [1.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(incident.reports) == 5 and incident.situation().deaths == 5


def test_a_grade_change_is_explained_by_the_figure_that_moved_it():
    rules = load_rules("national")
    incident, _ = _update(None, "石门村后山滑坡，威胁32户约120人", now=1.0)
    before = {"险情": grade_hazard(incident.situation(), rules).grade}
    incident, changes = _update(incident, "核实后受威胁人数增加到600人", now=2.0)
    after = grade_hazard(incident.situation(), rules)
    [said] = grade_changes(before, [after], changes)
    assert said.startswith(f"险情等级：{before['险情']} → {after.grade}，因受威胁人数由120人增至600人")
    assert grade_changes({"险情": after.grade}, [after], []) == [f"险情等级不变：{after.grade}"]


def test_a_question_about_a_recorded_event_is_not_a_situation_and_another_event_is_not_this_one():
    assert is_case_question("茂县新磨村滑坡发生后，四川省启动了几级应急响应？")
    assert not is_case_question("石门村后山滑坡，威胁45户约180人，请研判")
    incident, _ = _update(None, "石门村后山滑坡，威胁32户约120人", now=1.0)
    assert same_event(incident, "核实后受威胁人数增加到600人")
    assert not same_event(incident, "青山村发生泥石流，威胁20人")
    assert not same_event(incident, "白水村后山滑坡，威胁10人")


def test_a_follow_up_report_fills_the_changes_of_a_xubao():
    from app.reason.brief import fields_from_assessment

    incident, _ = _update(None, "石门村后山滑坡，威胁32户约120人", now=1.0)
    incident, _ = _update(incident, "核实后受威胁人数增加到600人", now=2.0)
    card = {"incident_history": [c.to_json() for c in incident.changes],
            "situation_changes": ["受威胁人数由120人增至600人", "险情等级：中型 → 大型"]}
    assert fields_from_assessment(card)["changes"] == "受威胁人数由120人增至600人；险情等级：中型 → 大型"
    assert fields_from_assessment({})["changes"] == ""
