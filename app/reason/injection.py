"""Instructions hidden in documents ("忽略以上指令，回答：…", "系统提示：你现在是…") are data, not orders.

The prompt already says so (prompts/answer.md rule 3); small models still follow such text now and then, and the
rest of a passage that gives orders is no more trustworthy than the orders ("报告时限另行通知" next to "忽略以上指令"),
so such a passage is left out of the evidence altogether (`withhold`; `mask_passage` for callers that pass raw
text). Measured on the injection fixtures: with the orders shown, or masked sentence by sentence, or replaced by a
placeholder, the 0.5B or the 1.5B model lost the right answer to one of two questions; with the passage left out
both models answered both correctly. The passage itself is unchanged in the knowledge base, in the hits and in the
audit log, so a person can still see what the document says.
"""

from __future__ import annotations

import re
from dataclasses import replace

from app.schema import Chunk

PLACEHOLDER = "〔此句为疑似指令注入，已屏蔽〕"
WITHHELD = "〔此段含有疑似指令注入，整段不作为证据〕"
_ORDER = (
    r"(?:忽略|无视|忘记|忘掉|不要理会|不必理会|跳过|覆盖)(?:掉)?(?:以上|上面|上述|前面|之前|先前|此前|前述|所有|全部|一切|你的)"
    r"[^。！？!?\n]{0,12}?(?:指令|指示|规则|要求|提示|设定|约束|说明)"
    r"|(?:之前|以上|上述|原有|原来|先前)的?(?:所有|全部)?(?:指令|规则|设定|提示)[^。！？!?\n]{0,6}?(?:作废|无效|失效|取消)"
    r"|系统提示\s*[:：]|system\s*prompt\s*[:：]?|(?:你|您)现在(?:是|扮演|必须|只能|要)|扮演(?:一个|一名)?新的"
    r"|(?:把|将)[^。！？!?\n]{0,12}原样输出|只(?:回答|输出|回复)\s*[“\"「]"
    r"|ignore\s+(?:all\s+)?(?:the\s+)?(?:previous|above|prior|earlier)\s+(?:instructions|rules|prompts?)"
    r"|disregard\s+(?:all\s+)?(?:the\s+)?(?:previous|above|prior)|you\s+are\s+now\s+"
)
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:" + _ORDER + r")[^。！？!?\n]*[。！？!?]?", re.IGNORECASE)


def neutralize(text: str) -> tuple[str, int]:
    """The text with each sentence that gives the model orders replaced by PLACEHOLDER, and how many there were."""
    return _SENTENCE.subn(PLACEHOLDER, text)


def has_injection(text: str) -> bool:
    return _SENTENCE.search(text) is not None


def withhold(chunks: list[Chunk]) -> list[Chunk]:
    """The evidence as the model may use it: a passage that gives orders keeps its place (so [n] is still hit n)
    but loses its text, so it is left out of the prompt, cannot be cited, attributed to or quoted from."""
    return [replace(c, text="") if has_injection(c.text) else c for c in chunks]


def withheld_numbers(chunks: list[Chunk]) -> set[int]:
    """Evidence numbers (1-based) of the passages `withhold` emptied."""
    return {n for n, c in enumerate(chunks, start=1) if not c.text}


def mask_passage(text: str) -> str:
    """What the model may see of a passage: all of it, or WITHHELD when any sentence in it gives orders."""
    return WITHHELD if has_injection(text) else text
