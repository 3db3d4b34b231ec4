"""Shared fixtures. Every on-disk path the app writes points at tmp_path; models stay in the user cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_addoption(parser):
    parser.addoption("--net-guard", choices=("marked", "all", "off"), default="marked",
                     help="refuse socket connections to non-loopback addresses: in tests marked `offline` "
                          "(default), in every test, or never (support/netguard.py)")


@pytest.fixture
def no_network():
    """Connections (and name lookups) to anything but loopback raise support.netguard.NetworkBlocked."""
    from support.netguard import guarded

    with guarded():
        yield


@pytest.fixture(autouse=True)
def _net_guard(request):
    mode = request.config.getoption("--net-guard")
    if mode == "all" or (mode == "marked" and request.node.get_closest_marker("offline")):
        request.getfixturevalue("no_network")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOHAZARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    return tmp_path / "home"


@pytest.fixture
def fixture_corpus(tmp_path) -> Path:
    """A private copy of the fixture corpus, so tests may edit files freely."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    return target


class FakeLLM:
    """Stands in for llama_cpp.Llama in prompt/parse unit tests: canned replies, recorded prompts."""

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.prompts: list[list[dict]] = []

    def create_chat_completion(self, messages, stream=True, **_):
        self.prompts.append(messages)
        reply = self.replies.pop(0)
        for i in range(0, len(reply), 3):
            yield {"choices": [{"delta": {"content": reply[i : i + 3]}}]}


@pytest.fixture
def fake_llm():
    return FakeLLM
