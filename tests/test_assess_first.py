"""The computed grade reaches the user before the model runs (issue 6: time to first visible output).

Real knowledge base (fixture corpus, real e5 + BM25); the model is a recorder that stops the assessment at its
first call, so the test shows what was known, and shown, before any generation.
"""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.interfaces.render import render_graded
from app.pipeline import Copilot


class _StopAtModel(Exception):
    pass


class _Recorder:
    def __init__(self, events: list):
        self.events = events

    def create_chat_completion(self, **_):
        self.events.append("model")
        raise _StopAtModel


def test_the_grade_and_its_evidence_are_given_before_the_model_starts(tmp_path, fixture_corpus):
    events: list = []
    copilot = Copilot(load_settings(), tmp_path / "kb", llm=_Recorder(events))
    copilot.ingest([fixture_corpus])
    with pytest.raises(_StopAtModel):
        copilot.assess("示例县石门村后山滑坡，威胁180人，潜在经济损失约3000万元",
                       on_graded=lambda prelim: events.append(prelim))
    prelim, model = events
    assert model == "model"  # the preliminary came first
    card = prelim.to_json()
    assert card["hazard_grade"]["grade"] == "中型" and card["response_level"] == "Ⅲ级"
    assert prelim.hits and card["evacuation"] == {} and card["response_requirements"] == []
    text = render_graded(prelim)
    assert text.startswith("【研判结果】") and "中型" in text and "正在依据资料生成处置建议" in text
