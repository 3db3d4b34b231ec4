"""Decoding speed-ups with the real 0.5B model: prompt-lookup decoding (GEOHAZARD_DRAFT_TOKENS) keeps the greedy
text; the prompt cache (GEOHAZARD_PROMPT_CACHE_MB) restores the earlier prompt's state when the prompt kind
switches back (answer → assessment → answer). Speed itself is measured by `geohazard bench`, not here."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.provision import is_installed, model_file
from app.reason.llm import load_llm

pytestmark = [pytest.mark.slow, pytest.mark.offline]

EVIDENCE = ("证据：[1] 受威胁群众由乡镇组织，沿预先划定的避险路线转移至指定避难场所，转移后实行点名登记，"
            "险情解除前不得返回。\n")
ANSWER_SYSTEM = "你是地灾应急助手。只根据证据回答，照抄证据中的原话，句末写证据编号。" * 3
ASSESS_SYSTEM = "你是地灾研判助手。等级由程序算出，你只写一句说明。" * 3


def _messages(system: str, question: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": EVIDENCE + "问题：" + question}]


def _text(llm, messages) -> str:
    out = llm.create_chat_completion(messages=messages, max_tokens=40, temperature=0.0, seed=1, stream=False)
    return out["choices"][0]["message"]["content"]


@pytest.fixture(scope="module")
def model_path():
    settings = load_settings()
    if not is_installed(settings.models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    return model_file(settings.models_dir, "qwen0.5b")


def test_prompt_lookup_decoding_keeps_the_greedy_text(model_path):
    messages = _messages(ANSWER_SYSTEM, "群众转移后要做什么？")
    plain = _text(load_llm(model_path, 1024, 2, 1), messages)
    drafted = _text(load_llm(model_path, 1024, 2, 1, draft_tokens=10), messages)
    assert plain.strip() and drafted == plain


def test_prompt_lookup_decoding_takes_a_prompt_longer_than_one_batch(model_path):
    """Real prompts (system text and evidence) run past n_batch = 512 tokens; llama-cpp-python's buffer for the
    draft's logits was sized for one batch and the second batch failed to broadcast."""
    messages = _messages(ANSWER_SYSTEM, "群众转移后要做什么？")
    messages[1]["content"] = EVIDENCE * 12 + messages[1]["content"]
    llm = load_llm(model_path, 2048, 2, 1, draft_tokens=10)
    assert len(llm.tokenize(messages[1]["content"].encode("utf-8"))) > 512
    plain = _text(load_llm(model_path, 2048, 2, 1), messages)
    assert plain.strip() and _text(llm, messages) == plain


def test_the_prompt_cache_brings_back_the_answer_prompt_after_an_assessment(model_path):
    llm = load_llm(model_path, 2048, 2, 1, prompt_cache_mb=256)
    loads = []
    real_load = llm.load_state
    llm.load_state = lambda state: (loads.append(len(state.input_ids)), real_load(state))[1]  # observe only

    first = _text(llm, _messages(ANSWER_SYSTEM, "群众转移后要做什么？"))
    _text(llm, _messages(ASSESS_SYSTEM, "研判：后山滑坡，威胁120人"))
    assert not loads  # nothing cached shares more with these prompts than the model's own state
    again = _text(llm, _messages(ANSWER_SYSTEM, "群众转移后要做什么？"))
    assert loads, "the answer prompt's state was not restored from the cache"
    assert again == first  # the same prompt from the restored state gives the same greedy text
    assert len(llm.cache.cache_state) >= 2
    # the cache holds KV states and one row of logits each, not a batch of logits per state (311 MB for 1.5B)
    assert all(state.scores.shape[0] == 1 for state in llm.cache.cache_state.values())
    assert llm.cache.cache_size <= 256 << 20
