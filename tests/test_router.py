"""One router (issue 13): the CLI (`ask`, `chat`), the web chat and the API `ask` hand every message to
Copilot.reply and nothing else. Real knowledge base (fixture corpus, e5 + BM25); the model is the stub, handed in
through the constructor."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from app.config import load_settings
from app.interfaces import cli
from app.pipeline import Copilot
from support.stubllm import STUB_INFO, StubLLM

SITUATION = "示例县石门村后山滑坡，威胁180人，潜在经济损失约3000万元"
QUESTION = "群测群防员发现异常情况后应当在多长时间内报告？"
REACH = "某村后山滑坡体方量约30万方，后缘至坡脚高差约150米，坡脚下方600米处有一所小学，会不会被波及？"


class CountingCopilot(Copilot):
    """The real Copilot, counting what reaches its router and its two branches."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, str]] = []

    def reply(self, message, *args, **kwargs):
        self.calls.append(("reply", message))
        return super().reply(message, *args, **kwargs)

    def assess(self, text, *args, **kwargs):
        self.calls.append(("assess", text))
        return super().assess(text, *args, **kwargs)

    def answer(self, question, *args, **kwargs):
        self.calls.append(("answer", question))
        return super().answer(question, *args, **kwargs)


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    from conftest import FIXTURES

    directory = tmp_path_factory.mktemp("router") / "kb"
    copilot = Copilot(load_settings(), directory)
    assert all(r.ok for r in copilot.ingest([FIXTURES / "corpus"]))
    copilot.kb.close()
    return directory


@pytest.fixture
def copilot(kb_dir):
    return CountingCopilot(load_settings(), kb_dir, llm=StubLLM(), model_info=STUB_INFO)


def _expect_one_route(copilot: CountingCopilot, message: str, branch: str) -> None:
    assert copilot.calls == [("reply", message), (branch, message)], copilot.calls
    copilot.calls.clear()


def test_cli_ask_and_chat_go_through_reply_once(copilot, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_copilot", lambda args: copilot)
    for message, branch in ((SITUATION, "assess"), (QUESTION, "answer")):
        assert cli.main(["ask", message, "--json"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert ("assessment" in payload) == (branch == "assess")
        _expect_one_route(copilot, message, branch)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SITUATION}\n{QUESTION}\nexit\n"))
    assert cli.main(["chat"]) == 0
    assert copilot.calls == [("reply", SITUATION), ("assess", SITUATION), ("reply", QUESTION), ("answer", QUESTION)]


def test_web_chat_and_api_go_through_reply_once(copilot):
    from app.interfaces.web_handlers import Handlers

    handlers = Handlers(copilot)
    request = SimpleNamespace(username="值班员甲", client=SimpleNamespace(host="127.0.0.1"))
    for message, branch in ((SITUATION, "assess"), (QUESTION, "answer"), (REACH, "assess")):
        *_, last = handlers.respond(message, [], None, request)
        chat = last[0]
        assert chat[-1]["role"] == "assistant" and "出错了" not in chat[-1]["content"]
        _expect_one_route(copilot, message, branch)

        payload = handlers.ask(message, request)
        assert ("assessment" in payload) == (branch == "assess") and payload["citations"]
        _expect_one_route(copilot, message, branch)


def test_a_reach_question_in_the_chat_gets_the_computed_reach(copilot, monkeypatch, capsys):
    """"会不会被波及" with the slide's own figures is answered by the reach estimate, not refused for want of
    documents about 某村's school."""
    message = REACH
    monkeypatch.setattr(cli, "_copilot", lambda args: copilot)
    assert cli.main(["ask", message, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    _expect_one_route(copilot, message, "assess")
    impact = payload["assessment"]["impact_range"]
    assert impact["expected_m"] < 600 < impact["conservative_m"]  # beyond the expected reach whatever the toe
    assert impact["place"]["inside_expected"] is False and impact["place"]["inside_conservative"] is None
    assert "按可能在保守距离之内对待" in impact["text"]
