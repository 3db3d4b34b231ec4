"""Reasoning worth showing: the model's steps minus the prompt's own format lines and steps about nothing;
when none is left, the steps are built by code from what actually happened (what was retrieved, read, cited
and verified).

The small models often copy the output format back as "reasoning" ("1. 问题要什么。 2. 哪条证据说了什么，写编号。").
The lines to drop are taken from the loaded Prompt at run time, so a new prompt version brings its own.
"""

from __future__ import annotations

import re
from functools import lru_cache

from app.reason.citations import SENTENCE, bigrams
from app.reason.generation import normalise
from app.reason.prompts import Prompt
from app.reason.verify import FLAG, claims
from app.schema import Hit

TEMPLATE_SIMILARITY = 0.8  # Dice coefficient of character bigrams at which a step is the prompt's own line
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_NAMES_PASSAGE = re.compile(r"\[\d+\]|证据\s*\d")
_SHORT = 36  # characters of a sentence quoted in a built step


@lru_cache(maxsize=16)
def prompt_lines(prompt: Prompt) -> tuple[frozenset[str], ...]:
    """The bigram sets of the prompt's own lines and sentences (list numbers, markers, punctuation aside)."""
    text = _PLACEHOLDER.sub("", f"{prompt.system}\n{prompt.user}")
    units = set(text.splitlines()) | {u for line in text.splitlines() for u in re.split(r"(?<=[。；！？])", line)}
    keys = {normalise(u) for u in units}
    return tuple(frozenset(bigrams(k)) for k in keys if len(k) >= 4)


@lru_cache(maxsize=16)
def format_vocabulary(prompt: Prompt) -> frozenset[str]:
    """Bigrams of the prompt's fixed text: words of the format and the rules, not of any question."""
    return frozenset(bigrams(_PLACEHOLDER.sub("", f"{prompt.system}\n{prompt.user}")))


def is_template(text: str, prompt: Prompt) -> bool:
    """The text is (near-)equal to one of the prompt's own lines: format copied back, not content."""
    own = bigrams(normalise(text))
    if not own:
        return True
    return any(2 * len(own & line) / (len(own) + len(line)) >= TEMPLATE_SIMILARITY for line in prompt_lines(prompt))


def names_subject_or_passage(step: str, subject: str, passages: list[str], prompt: Prompt) -> bool:
    """The step cites a passage, or shares wording (beyond the prompt's own words) with the question or a
    passage the model read."""
    if _NAMES_PASSAGE.search(step):
        return True
    own = bigrams(re.sub(r"\[\d+\]", "", step)) - format_vocabulary(prompt)
    return any(own & bigrams(text) for text in [subject, *passages])


def shown_steps(steps: list[str], prompt: Prompt, subject: str, passages: list[str]) -> list[str]:
    """The model's reasoning steps worth showing: not the prompt's own lines, and about the question or the
    evidence."""
    return [s for s in steps
            if not is_template(s, prompt) and names_subject_or_passage(s, subject, passages, prompt)]


def _source(hit: Hit, n: int, marker: bool = True) -> str:
    """A passage as the steps name it: "[n]《title》 locator", or "资料n《…》" where a bare [n] would read as a
    citation (an assessment's steps are printed inside its text, where every [n] must be a cited source)."""
    locator = f" {hit.chunk.locator}" if hit.chunk.locator else ""
    return f"{f'[{n}]' if marker else f'资料{n}'}《{hit.chunk.title}》{locator}"


def built_answer_steps(hits: list[Hit], read: list[int], answer: str, refused: bool) -> list[str]:
    """What happened, in steps: the passages retrieved and read; for each cited sentence, the passage it cites
    and whether its figures, documents and articles were found there."""
    steps = [f"检索到{len(hits)}段资料，模型阅读了其中{len(read)}段：" + "、".join(_source(hits[n - 1], n) for n in read)
             + "。"]
    if refused:
        return steps
    for match in SENTENCE.finditer(answer):
        sentence = match.group(0).strip()
        cited = [n for n in dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", sentence)) if 1 <= n <= len(hits)]
        if not cited:
            continue
        bare = re.sub(r"\[\d+\]", "", sentence.replace(FLAG, "")).strip()
        quoted = bare if len(bare) <= _SHORT else bare[:_SHORT] + "…"
        if FLAG in sentence:
            status = "其中的数字、文件或条款未能在原文中核实"
        elif any(claims(bare)):
            status = "其中的数字、文件或条款已在原文中核实"
        else:
            status = "没有需要核对的数字、文件或条款"
        steps.append(f"“{quoted}”引用{''.join(f'[{n}]' for n in cited)}：{status}。")
    return steps


def built_assessment_steps(grade_summaries: list[str], hits: list[Hit], read: list[int]) -> list[str]:
    """The assessment's steps: the grade as code computed it from the rule, and the passages the model read."""
    steps = [f"等级由程序按规则计算：{s}" for s in grade_summaries]
    if read:
        steps.append(f"模型阅读了{len(read)}段资料：" + "、".join(_source(hits[n - 1], n, marker=False) for n in read)
                     + "。")
    return steps
