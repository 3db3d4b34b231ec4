"""A conversation through Copilot.reply (issue 14): follow-ups resolved by code without a model call, an incident
regraded as its figures change, a past event asked about as a case. Real knowledge base (fixture corpus, e5 +
BM25); the model is the stub, handed in through the constructor, counting its calls."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.interfaces.render import reply_payload
from app.reason.assess import Assessment
from app.reason.conversation import ConversationState
from support.stubllm import stub_copilot


@pytest.fixture(scope="module")
def copilot(tmp_path_factory):
    from conftest import FIXTURES

    copilot = stub_copilot(load_settings(), tmp_path_factory.mktemp("conv") / "kb")
    assert all(r.ok for r in copilot.ingest([FIXTURES / "corpus"]))
    return copilot


def test_a_follow_up_is_answered_as_the_question_it_stands_for_without_a_model_call(copilot):
    state = ConversationState()
    first = copilot.reply("示例省红色预警发布后群测群防员应当在多长时间内报告？", conversation=state)
    calls = copilot.llm.calls
    second = copilot.reply("那黄色呢？", conversation=state)
    assert second.question == "那黄色呢？"
    assert second.resolved_question == first.question.replace("红色", "黄色")
    assert copilot.llm.calls == calls + 1  # the answer only: code resolved the follow-up
    payload, text = reply_payload(second, copilot.model_info)
    assert payload["resolved_question"] == second.resolved_question and "理解为：" in text
    switched = copilot.reply("泥石流发生时群众应该往哪里撤离？", conversation=state)
    assert switched.resolved_question == switched.question  # a new topic inherits nothing


def test_an_incident_is_regraded_as_later_messages_change_its_figures(copilot):
    state = ConversationState()
    first = copilot.reply("示例县石门村后山发生滑坡，威胁32户约120人", conversation=state)
    assert isinstance(first, Assessment) and first.changes == []
    second = copilot.reply("核实后受威胁人数增加到600人", conversation=state)
    card = second.to_json()
    assert card["hazard_grade"]["grade"] == "大型" and card["situation"]["figures"]["people_to_move"] == 600
    assert card["situation_changes"][0] == "受威胁人数由120人增至600人"
    assert card["situation_changes"][1].startswith("险情等级：中型 → 大型")
    assert [c["time"] > 0 for c in card["incident_history"]] == [True] * 3
    restored = ConversationState.from_json(state.to_json())  # what the web and API store with each turn
    third = copilot.reply("又发现3名遇难者", conversation=restored)
    assert third.to_json()["situation"]["figures"]["deaths"] == 3 and third.situation.people_to_move == 600


def test_a_question_about_a_recorded_event_is_answered_not_graded(copilot):
    result = copilot.reply("青石村滑坡发生后，当地启动了几级应急响应？")
    assert not isinstance(result, Assessment)


def test_the_api_converse_keeps_a_named_conversation(copilot):
    from types import SimpleNamespace

    from app.interfaces.web_handlers import Handlers

    handlers = Handlers(copilot)
    request = SimpleNamespace(username="值班员甲", client=SimpleNamespace(host="127.0.0.1"))
    first = handlers.converse("示例县石门村后山发生滑坡，威胁32户约120人", "api-c1", request)
    second = handlers.converse("核实后受威胁人数增加到600人", "api-c1", request)
    assert first["conversation_id"] == second["conversation_id"] == "api-c1"
    assert second["assessment"]["hazard_grade"]["grade"] == "大型"
    assert second["situation_changes"][0] == "受威胁人数由120人增至600人"
    other = SimpleNamespace(username="值班员乙", client=SimpleNamespace(host="127.0.0.1"))
    stranger = handlers.converse("核实后受威胁人数增加到600人", "api-c1", other)  # not another owner's incident
    assert stranger["conversation_id"] != "api-c1" and stranger["situation_changes"] == []
