"""Answer a question from retrieved evidence: prompt → LLM → split reasoning/answer → check citations."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from app.reason.citations import (COMPACT_BUDGETS, REFUSAL, attribute_uncited, bigrams, check_shown_citations,
                                  evidence_block, renumber_markers, renumbered_stream)
from app.reason.injection import withhold
from app.reason.llm import stream_chat
from app.reason.prompts import Prompt
from app.reason.verify import gives_asked_quantity, verify_claims
from app.schema import Citation, Hit

_REASONING = re.compile(r"【\s*推理(?:过程)?\s*】|^\s*推理(?:过程)?[:：]", re.MULTILINE)
_ANSWER = re.compile(r"【\s*(?:回答|答案)\s*】|^\s*(?:回答|答案)[:：]", re.MULTILINE)
_REFUSAL_HINTS = ("未找到依据", "没有找到依据", "无法回答", "证据不足", "未提及", "没有相关", "未载明", "没有提到",
                  "未提供", "没有给出", "未涉及")
_FIRST_SENTENCE = re.compile(r"^[^。！？!?\n]*")


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    hits: list[Hit]
    reasoning: list[str]
    invalid_citations: list[str] = field(default_factory=list)
    attributed_sentences: int = 0
    unverified: list[str] = field(default_factory=list)  # sentences flagged by verify_claims
    prompt_version: str = ""
    timings: dict = field(default_factory=dict)


def split_output(raw: str) -> tuple[list[str], str]:
    """Separate the model's 【推理】 part from its 【回答】 part; without markers it is all answer."""
    answer_mark = _ANSWER.search(raw)
    if not answer_mark:
        body = _REASONING.sub("", raw).strip()
        return [], body
    reasoning_text = _REASONING.sub("", raw[: answer_mark.start()])
    steps = [ln.strip() for ln in reasoning_text.splitlines() if ln.strip()]
    return steps, raw[answer_mark.end():].strip()


def split_streaming(raw: str) -> tuple[str, str | None]:
    """For live display: the reasoning written so far and the answer so far (None until its marker appears).
    Same markers as `split_output`, the one owner of the 【推理】/【回答】 format."""
    answer_mark = _ANSWER.search(raw)
    if not answer_mark:
        return _REASONING.sub("", raw).strip(), None
    return _REASONING.sub("", raw[: answer_mark.start()]).strip(), raw[answer_mark.end():].strip()


def is_echo(answer: str, question: str) -> bool:
    """True when the answer adds (almost) nothing the question did not say: a restated question with markers."""
    own = bigrams(re.sub(r"\[\d+\]", "", answer))
    return len(own - bigrams(question)) < 3


def build_messages(question: str, chunks, prompt: Prompt, budgets: tuple[int, ...] = COMPACT_BUDGETS) -> list[dict]:
    """The exact chat messages sent to the model: the fixed system prompt first (its KV cache is reused
    between questions), then the compact evidence and the question."""
    return prompt.render(question=question, evidence=evidence_block(chunks, question=question, budgets=budgets))


def model_evidence(hits: list[Hit], budgets: tuple[int, ...]) -> list[int]:
    """What the model reads: the hit numbers (1-based, in ranking order) of the first `len(budgets)` hits that
    do not give orders (reason/injection.py). The model sees them numbered [1]..[m] without gaps (a gap left by
    a withheld passage confused the 0.5B model into citing the wrong number); its markers are mapped back to
    hit numbers, so in the answer [n] is hit n."""
    readable = [n for n, chunk in enumerate(withhold([h.chunk for h in hits]), start=1) if chunk.text]
    return readable[: len(budgets)]


def looks_like_refusal(body: str) -> bool:
    """True when the answer's first sentence says the evidence does not answer the question."""
    first = _FIRST_SENTENCE.match(body.strip()).group(0)
    return REFUSAL in first or any(h in first for h in _REFUSAL_HINTS)


def refusal(question: str, hits: list[Hit], why: str, prompt_version: str, timings: dict) -> Answer:
    text = f"{REFUSAL}。{why}"
    return Answer(question, text, True, [], hits, [], prompt_version=prompt_version, timings=timings)


def answer_question(question: str, hits: list[Hit], llm, prompt: Prompt, *, max_tokens: int,
                    temperature: float, seed: int, on_token=None, retrieve_s: float = 0.0,
                    budgets: tuple[int, ...] = COMPACT_BUDGETS) -> Answer:
    """The model reads the top `len(budgets)` hits, each cut to its budget (prefill decides the time to first
    token); every hit stays in the answer's sources. Citations can only point at passages the model read."""
    start = time.perf_counter()
    if not hits:
        return refusal(question, hits, "知识库中没有与问题相关的资料；请导入相关的法规、预案或报告后再问。",
                       prompt.tag, {"retrieve_s": retrieve_s, "first_token_s": None, "total_s": retrieve_s})
    read = model_evidence(hits, budgets)
    shown = [hits[n - 1].chunk for n in read]  # numbered [1]..[m] for the model
    messages = build_messages(question, shown, prompt, budgets)
    gen = stream_chat(llm, messages, max_tokens, temperature, seed, on_token=renumbered_stream(on_token, read))
    reasoning, body = split_output(gen.text)
    reasoning = [renumber_markers(step, read) for step in reasoning]
    check = check_shown_citations(body, read)
    # from here on [n] is hit n; a hit the model did not read keeps its place with its text emptied
    chunks = [h.chunk if n in read else replace(h.chunk, text="") for n, h in enumerate(hits, start=1)]
    refused = looks_like_refusal(body)
    if refused:
        check.used.clear()
        if REFUSAL not in check.text:
            check.text = f"{REFUSAL}。{check.text}"
    elif is_echo(check.text, question):
        refused, check.used = True, []
        check.text = f"{REFUSAL}。模型只复述了问题，没有从资料中给出答案。"
    else:
        check = attribute_uncited(check, [c.text for c in chunks])
    if not refused and not check.used:
        refused = True
        check.text = f"{REFUSAL}。模型给出的内容无法对应到任何检索到的资料，已拦截，不予采用。"
    unverified: list[str] = []
    if not refused:
        verification = verify_claims(check.text, chunks, user_text=question)
        check.text, unverified = verification.text, verification.unsupported
        if verification.new_claims and not verification.new_supported:
            refused, check.used = True, []
            check.text = (f"{REFUSAL}。模型给出的数字、文件或条款在检索到的资料中都无法核实，已拦截，不予采用。"
                          "需要包含该信息的资料。")
        elif not gives_asked_quantity(check.text, question):
            refused, check.used = True, []
            check.text = (f"{REFUSAL}。检索到的资料没有给出问题所问的数值；模型的回答答非所问，已拦截，不予采用。"
                          "需要载明该数值的资料。")
        check.used = sorted(set(map(int, re.findall(r"\[(\d+)\]", check.text)))) if not refused else []
    citations = [Citation(n, chunks[n - 1]) for n in sorted(check.used)]
    timings = {
        "retrieve_s": round(retrieve_s, 4),
        "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
        "total_s": round(retrieve_s + time.perf_counter() - start, 4),
        "completion_tokens": gen.completion_tokens,
    }
    return Answer(question, check.text, refused, citations, hits, reasoning, check.invalid,
                  check.attributed, unverified, prompt.tag, timings)
