"""Prompt-lookup decoding (GEOHAZARD_DRAFT_TOKENS) with the real 0.5B model: greedy output is the same text."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.provision import is_installed, model_file
from app.reason.llm import load_llm

pytestmark = [pytest.mark.slow, pytest.mark.offline]

MESSAGES = [{"role": "system", "content": "只根据证据回答，照抄证据中的原话。"},
            {"role": "user", "content": "证据：[1] 受威胁群众由乡镇组织，沿预先划定的避险路线转移至指定避难场所，"
                                        "转移后实行点名登记，险情解除前不得返回。\n问题：群众转移后要做什么？"}]


def _text(llm) -> str:
    out = llm.create_chat_completion(messages=MESSAGES, max_tokens=48, temperature=0.0, seed=1, stream=False)
    return out["choices"][0]["message"]["content"]


def test_prompt_lookup_decoding_keeps_the_greedy_text():
    settings = load_settings()
    if not is_installed(settings.models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    path = model_file(settings.models_dir, "qwen0.5b")
    plain = _text(load_llm(path, 1024, settings.n_threads, 1))
    drafted = _text(load_llm(path, 1024, settings.n_threads, 1, draft_tokens=10))
    assert plain.strip() and drafted == plain
