"""Answer a question from retrieved evidence: prompt → LLM → split reasoning/answer → check citations."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from app.reason.citations import (COMPACT_BUDGETS, REFUSAL, SENTENCE, attribute_uncited, bigrams,
                                  check_shown_citations, evidence_block, renumber_markers, renumbered_stream)
from app.reason.generation import ANSWER_HEADINGS, ANSWER_STOP, ANSWER_TOKENS, CUT_NOTICES, StreamGuard
from app.reason.injection import withhold
from app.reason.llm import stream_chat
from app.reason.prompts import Prompt
from app.reason.reasoning import built_answer_steps, is_template, shown_steps
from app.reason.qualifiers import describe, qualifiers
from app.reason.verify import answers_other_scope, claims, gives_asked_quantity, verify_claims
from app.retrieve.gate import ASKED_NOUNS as _ASKED_NOUNS, question_terms
from app.schema import Citation, Hit

_REASONING = re.compile(r"【\s*推理(?:过程)?\s*】|^\s*推理(?:过程)?[:：]", re.MULTILINE)
_ANSWER = re.compile(r"【\s*(?:回答|答案)\s*】|^\s*(?:回答|答案)[:：]", re.MULTILINE)
_REFUSAL_HINTS = ("未找到依据", "没有找到依据", "无法回答", "证据不足", "未提及", "没有相关", "未载明", "没有提到",
                  "未提供", "没有给出", "未涉及")
_FIRST_SENTENCE = re.compile(r"^[^。！？!?\n]*")
_BLOCK = re.compile(r"^[ \t]*【(?![\s\d,，、]*】)[^】\n]{1,12}】", re.MULTILINE)  # 【补充信息】 and the like


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
    cut_off: str | None = None  # None | "repetition" | "length": the generation was cut (reason/generation.py)
    reasoning_source: str = "code"  # model: steps the model wrote about this question; code: what happened
    resolved_question: str | None = None  # the standalone question a follow-up was understood as (followup.py)


def split_output(raw: str) -> tuple[list[str], str]:
    """Separate the model's 【推理】 part from its 【回答】 part; without markers it is all answer. Only the first
    answer is kept: a 【推理】 or 【回答】 after it begins a repeat (issue 17: the same answer five times), any
    other bracketed block (【补充信息】) is not the answer."""
    answer_mark = _ANSWER.search(raw)
    if not answer_mark:
        body = _REASONING.sub("", raw).strip()
        return [], body
    reasoning_text = _REASONING.sub("", raw[: answer_mark.start()])
    steps = [ln.strip() for ln in reasoning_text.splitlines() if ln.strip()]
    rest = raw[answer_mark.end():]
    start, end = 0, len(rest)
    marks = [*_REASONING.finditer(rest), *_ANSWER.finditer(rest), *_BLOCK.finditer(rest)]
    for mark in sorted(marks, key=lambda m: m.start()):
        if rest[start:mark.start()].strip():
            end = mark.start()
            break
        start = max(start, mark.end())  # a label right after 【回答】 ("回答：") is not a new block
    return steps, rest[start:end].strip()


def split_streaming(raw: str) -> tuple[str, str | None]:
    """For live display: the reasoning written so far and the answer so far (None until its marker appears).
    The same split as `split_output`, the one owner of the 【推理】/【回答】 format."""
    if not _ANSWER.search(raw):
        return _REASONING.sub("", raw).strip(), None
    steps, answer = split_output(raw)
    return "\n".join(steps), answer


def is_echo(answer: str, question: str, prompt: Prompt | None = None) -> bool:
    """True when the answer adds (almost) nothing the question did not say: a restated question with markers,
    or a phrase naming what was asked without giving it ("蓟州区登记的地质灾害隐患点数量[1][2][3]。": no figure,
    no predicate, no word the question lacks except attributes and the name of the asked thing), or the
    prompt's own example lines copied back."""
    bare = re.sub(r"\[\d+\]", "", answer)
    if prompt is not None:
        bare = "".join(s for s in SENTENCE.findall(bare) if not is_template(s, prompt))
    own = bigrams(bare)
    if len(own - bigrams(question)) < 3 and not fills_the_blank(bare, question):
        return True
    return not _YES_NO.search(question) and not adds_content(bare, question)


_ASKING = re.compile(r"多高|多大|多少|多长|多久|多远|哪|什么|几|谁|何")
_FUNCTION_CHARS = set("的了是在和与及或等为由于对把被将从向也都就")


def fills_the_blank(bare: str, question: str) -> bool:
    """A short answer that puts the asked value where the question's interrogative stood ("风险有多高" → "风险较高",
    "由哪一级人民政府" → "由县级人民政府"): a character the question lacks, not a function word and not part of a
    noun naming the asked thing ("…的数量" does not fill "多少")."""
    if not _ASKING.search(question):
        return False
    naming = "".join(w for w in _ASKED_NOUNS if w in bare)
    new = {ch for ch in bare if "\u4e00" <= ch <= "\u9fff" and ch not in question and ch not in naming}
    return bool(new - _FUNCTION_CHARS)


_YES_NO = re.compile(r"是否|能否|可否|吗|是不是|有没有|要不要|可不可以|需不需要|对不对")


def adds_content(bare: str, question: str) -> bool:
    """The marker-free answer states something beyond the question: a figure, document or article the question
    lacks, or a word that is neither the question's, nor a function word, nor the name of the asked thing, nor
    only an attribute ("登记的")."""
    wanted, have = claims(bare), claims(question)
    if any(part - had for part, had in zip(wanted, have)):
        return True
    for term in question_terms(bare):
        if term in question.lower() or term in _ASKED_NOUNS:
            continue
        ends = [m.end() for m in re.finditer(re.escape(term), bare)]
        if ends and all(bare[e:e + 1] in ("的", "之") for e in ends):
            continue  # an attribute of the restated subject
        return True
    return False


def _echo_reason(answer: str, prompt: Prompt) -> str:
    """Why an echo is refused, naming what the model restated (what the reader still lacks)."""
    first = _FIRST_SENTENCE.match(answer.strip()).group(0)
    if is_template(first, prompt):
        return "模型照抄了提示中的格式示例，没有从资料中给出答案。"
    restated = re.sub(r"\[\d+\]|[。！？!?；\s]+$", "", first)
    if not restated:
        return "模型只复述了问题，没有从资料中给出答案。"
    return f"模型只复述了问题，没有从资料中给出答案：“{restated[:40]}”没有给出内容。需要载明这一信息的资料。"


def scope_notes(citations: list[Citation]) -> str:
    """A line naming every cited passage that is another region's rule or a superseded version (its note from
    app/retrieve/scope.py), so the answer never presents one without saying so; "" when there is none."""
    notes = [f"出处{c.n}《{c.chunk.title}》：{c.chunk.meta['note']}" for c in citations
             if c.chunk.meta.get("note") and c.chunk.meta["note"] != "全国性规定"]
    return f"\n（注：{'；'.join(notes)}。）" if notes else ""


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
    gen = stream_chat(llm, messages, min(max_tokens, ANSWER_TOKENS), temperature, seed,
                      on_token=renumbered_stream(on_token, read), stop=ANSWER_STOP,
                      guard=StreamGuard(ANSWER_HEADINGS, final=ANSWER_HEADINGS[-1]))
    # cut off (repetition, length) before any 【回答】: what there is is reasoning, not an answer
    unanswered = bool(gen.cut_off and _REASONING.search(gen.text) and not _ANSWER.search(gen.text))
    reasoning, body = split_output(gen.text + ("\n【回答】" if unanswered else ""))
    reasoning = shown_steps(reasoning, prompt, question, [c.text for c in shown])
    reasoning = [renumber_markers(step, read) for step in reasoning]
    check = check_shown_citations(body, read)
    # from here on [n] is hit n; a hit the model did not read keeps its place with its text emptied
    chunks = [h.chunk if n in read else replace(h.chunk, text="") for n, h in enumerate(hits, start=1)]
    refused = unanswered or looks_like_refusal(body)
    if unanswered:
        check.used = []
        check.text = (f"{REFUSAL}。模型在写出回答之前" + ("开始重复" if gen.cut_off == "repetition" else "用完了长度上限")
                      + "，没有给出回答。")
    elif refused:
        check.used.clear()
        if REFUSAL not in check.text:
            check.text = f"{REFUSAL}。{check.text}"
    elif is_echo(check.text, question, prompt):
        refused, check.used = True, []
        check.text = f"{REFUSAL}。{_echo_reason(check.text, prompt)}"
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
        elif other := answers_other_scope(check.text, chunks, question):
            refused, check.used = True, []
            asked = describe(qualifiers(question)) or "问题所指文件"
            check.text = (f"{REFUSAL}。检索到的资料中的相关数字属于{other}，不是问题所问的{asked}，不能用来回答。"
                          "需要载明该时间、地区（或该文件）数据的资料。")
        check.used = sorted(set(map(int, re.findall(r"\[(\d+)\]", check.text)))) if not refused else []
    citations = [Citation(n, chunks[n - 1]) for n in sorted(check.used)]
    source = "model" if reasoning else "code"
    if not refused:
        check.text += scope_notes(citations)
    if not reasoning:  # the model's steps were its format copied back, or none: say what actually happened
        reasoning = built_answer_steps(hits, read, check.text, refused)
    if gen.cut_off and not refused:
        check.text = f"{check.text}\n{CUT_NOTICES[gen.cut_off]}"
    timings = {
        "retrieve_s": round(retrieve_s, 4),
        "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
        "total_s": round(retrieve_s + time.perf_counter() - start, 4),
        "completion_tokens": gen.completion_tokens,
    }
    return Answer(question, check.text, refused, citations, hits, reasoning, check.invalid,
                  check.attributed, unverified, prompt.tag, timings, gen.cut_off, reasoning_source=source)
