"""Streamed generation that ends: stop strings, a repetition guard, token budgets by kind of reply.

On 2 CPU cores the 1.5B model sometimes wrote its answer, a new 【推理】 block and the same answer again until
max_tokens (issue 17: 630 tokens, 83 s). Three things end such a reply:

- stop strings sent with the request (llama-cpp-python and OpenAI-compatible servers end the generation there
  and leave the stop string out of the text);
- `StreamGuard`, fed the stream piece by piece: a section heading seen a second time, a sentence repeated in the
  same section, or a run of text repeating itself tells the consumer to stop; it keeps the text before the
  repetition. It also covers servers that ignore `stop` and variants a stop string cannot spell
  ("【 推理 】", a second 【回答】);
- a token budget per kind of reply, far above what a well-formed reply needs.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

# Token budgets by kind of reply. A well-formed answer is 1-3 reasoning lines and 1-3 sentences (the longest
# answer of the answers eval, eval/results/2026-11-29-answers.json, is 85 characters; reasoning lines quoting a
# passage run to ~120 characters each): ~250 tokens at most, so 384 leaves room and halves the worst case of a
# runaway reply (the 640-token loop took 83 s). The assessment writes nine short sections (700, as
# before); the JSON extraction copies seven short spans (200, as before). Constants, not settings: they follow
# from the prompts' formats, not from the deployment. Settings.max_tokens (what app/pipeline.py passes for
# answers) stays a ceiling above ANSWER_TOKENS.
ANSWER_TOKENS = 384
EXPLAIN_TOKENS = 160  # one or two cited sentences (prompts/assess.md v4); the card itself is code
EXTRACT_TOKENS = 200
REWRITE_TOKENS = 60  # one standalone question (followup.py)

# A 【推理】 heading that does not open the reply begins a second block: the answer is over. The first heading
# opens the reply (no newline before it), so this never cuts a well-formed answer. A second 【回答】 cannot be a
# stop string (the first one follows a newline too); StreamGuard catches it.
ANSWER_STOP = ("\n【推理】", "\n【推理过程】")
ANSWER_HEADINGS = (r"推理(?:过程)?", r"回答|答案")  # StreamGuard headings of prompts/answer.md; the answer is last

CUT_NOTICES = {
    "repetition": "（模型开始重复输出，重复部分已截去）",
    "length": "（回答达到长度上限被截断，可能不完整）",
}

# A line opening with a bracketed heading (not a citation marker 【1】): after the final section, a new block.
_BLOCK = re.compile(r"\n[ \t]*【(?![\s\d,，、]*】)[^】\n]{1,12}】")
_TERMINATOR = re.compile(r"[。！？!?；;\n]")
_MARKERS = re.compile(r"\[\d+\]|[\s\-*•·]")
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.．、)）]|[（(]\d{1,2}[)）]|[-*•·])\s*")
MIN_SENTENCE = 6  # characters (markers and spaces aside) a sentence needs to count as repeated
MIN_RUN = 30  # a run of text repeating itself is cut once it covers this many characters
MAX_PERIOD = 100


class StreamGuard:
    """Fed the streamed text piece by piece; `feed` returns True when the consumer should stop, and `kept` is
    the text to use (everything before the repetition). Pure: no I/O, no clock.

    `headings` are patterns of the reply's section headings (【推理】 → "推理(?:过程)?"); `final` is the one of them
    that closes the reply: once its section has text, a new bracketed block (【补充信息】…) ends the reply before
    it (reason "finished": nothing of the reply was lost). A heading of `headings` appearing again ends
    the reply before it. Within a section, a sentence (at least MIN_SENTENCE characters, markers aside)
    written again ends the reply before the repeat; across sections a sentence may repeat (an answer restates
    its reasoning). A run of text repeating itself without punctuation ends it after the first copy.
    """

    def __init__(self, headings: tuple[str, ...] = (), final: str | None = None):
        groups = "|".join(f"({h})" for h in headings)  # one group per heading: match.lastindex names it
        self._heading = re.compile(rf"【\s*(?:{groups})\s*】") if headings else None
        self._final = headings.index(final) + 1 if final is not None else None
        self._final_end: int | None = None  # where the final section's text begins, once its heading was seen
        self.text = ""
        self.reason: str | None = None  # "repetition" (cut) or "finished" (a block after the final section)
        self._cut: int | None = None
        self._headings_seen: set[int] = set()
        self._heading_end = 0  # the text before this offset holds no heading still to look at
        self._sentences: set[str] = set()  # normalised sentences of the current section
        self._scanned = 0  # the text before this offset has been split into sentences

    @property
    def kept(self) -> str:
        return self.text if self._cut is None else self.text[: self._cut].rstrip()

    @property
    def stopped(self) -> bool:
        return self._cut is not None

    def settled(self) -> int:
        """How much of the text a heading still arriving cannot cut: all of it, or up to an unclosed 【 near
        the end (what the stream may show already)."""
        if self.stopped:
            return len(self.kept)
        opened = self.text.rfind("【", max(0, len(self.text) - 14))
        return opened if opened != -1 and "】" not in self.text[opened:] else len(self.text)

    def feed(self, piece: str) -> bool:
        if self.stopped:
            return True
        self.text += piece
        if self._heading is not None:
            for match in self._heading.finditer(self.text, self._heading_end):
                if self._sentences_repeat(match.start()):
                    return True
                if match.lastindex in self._headings_seen:
                    return self._stop(match.start())
                self._headings_seen.add(match.lastindex)
                self._heading_end = self._scanned = match.end()
                self._sentences = set()  # a new section
                if match.lastindex == self._final:
                    self._final_end = match.end()
        if self._final_end is not None:
            for block in _BLOCK.finditer(self.text, self._final_end):
                if self._heading.search(block.group(0)):
                    continue  # a section of the reply, written out of order: its own rule above
                if self.text[self._final_end:block.start()].strip():
                    return self._stop(block.start(), "finished")
        return self._sentences_repeat(len(self.text)) or self._run_repeats()

    def _stop(self, at: int, reason: str = "repetition") -> bool:
        self._cut, self.reason = at, reason
        return True

    def _sentences_repeat(self, limit: int) -> bool:
        """Split the text up to `limit` into sentences; True (and cut) at one its section already holds."""
        while (found := _TERMINATOR.search(self.text, self._scanned, limit)) is not None:
            start, self._scanned = self._scanned, found.end()
            key = normalise(self.text[start:found.start()])
            if len(key) < MIN_SENTENCE:
                continue
            if key in self._sentences:
                return self._stop(start)
            self._sentences.add(key)
        return False

    def _run_repeats(self) -> bool:
        text = self.text
        for period in range(1, min(MAX_PERIOD, len(text) // 2) + 1):
            unit = text[-period:]
            if text[-2 * period: -period] != unit:
                continue
            copies = 2
            while text[-(copies + 1) * period: -copies * period] == unit:
                copies += 1
            if copies * period >= MIN_RUN and copies >= 3:
                return self._stop(len(text) - (copies - 1) * period)
        return False


def normalise(sentence: str) -> str:
    """A sentence without list numbering, citation markers, spaces and punctuation: what repeats."""
    bare = _MARKERS.sub("", _LIST_NUMBER.sub("", sentence))
    return "".join(c for c in bare if c.isalnum())


@dataclass
class Generation:
    text: str = ""
    first_token_s: float | None = None
    total_s: float = 0.0
    completion_tokens: int = 0
    prompt_tokens: int = 0
    finish_reason: str | None = None  # as the model reported it: "stop", "length", None when not told
    cut_off: str | None = None  # None | "repetition" (StreamGuard cut) | "length" (the token budget ran out)


def stream_chat(llm, messages: list[dict], max_tokens: int, temperature: float, seed: int,
                on_token=None, *, stop: tuple[str, ...] | list[str] | None = None,
                guard: StreamGuard | None = None) -> Generation:
    """Run one chat completion, calling `on_token(piece)` as text arrives; returns text and timings.

    With `stop`, the strings are sent with the request. With `guard`, every piece is fed to it; when it says
    stop, no further piece is pulled, the stream is closed (llama-cpp-python generates lazily, so closing ends
    the computation; an HTTP stream closes its connection) and `text` is the guard's kept text.
    """
    gen = Generation()
    start = time.perf_counter()
    pieces: list[str] = []
    sent = 0  # characters of the guarded text passed to on_token
    params = {"stop": list(stop)} if stop else {}
    stream = llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=temperature, top_p=0.9, repeat_penalty=1.05,
        seed=seed, stream=True, **params,
    )
    try:
        for event in stream:
            choice = event["choices"][0]
            gen.finish_reason = choice.get("finish_reason") or gen.finish_reason
            piece = (choice.get("delta") or {}).get("content") or ""
            if not piece:
                continue
            if gen.first_token_s is None:
                gen.first_token_s = time.perf_counter() - start
            gen.completion_tokens += 1
            pieces.append(piece)
            if guard is None:
                if on_token is not None:
                    on_token(piece)
                continue
            done = guard.feed(piece)
            ready = guard.text[:guard.settled()]  # a heading split across pieces is shown once it is known
            if on_token is not None and len(ready) > sent:
                on_token(ready[sent:])
                sent = len(ready)
            if done:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    gen.text = "".join(pieces) if guard is None else guard.kept
    if guard is not None and on_token is not None and len(gen.text) > sent:
        on_token(gen.text[sent:])  # held back at the end and never cut
    if guard is not None and guard.reason == "repetition":
        gen.cut_off = guard.reason
    elif gen.finish_reason == "length" or (gen.finish_reason is None and gen.completion_tokens >= max_tokens):
        gen.cut_off = "length"
    gen.total_s = time.perf_counter() - start
    return gen
