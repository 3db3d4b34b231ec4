"""Citation markers: build the numbered evidence block, parse `[n]` in answers, drop markers that point
at nothing, and attribute uncited sentences to the evidence that plainly contains them.

Brackets inside documents ("[1]", "[来源2]") are rewritten to 〔…〕 in the evidence the model sees, so a
marker copied from a document can never pass for a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.schema import Chunk

# [1] [1,2] [1、2] 【1】 ［1］ — what models actually emit; normalised to [1][2].
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_DOC_BRACKET = re.compile(r"\[([^\[\]\n]{0,12})\]")
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?(?:\s*\[\d+\])*")
REFUSAL = "资料中未找到依据"


@dataclass
class CitationCheck:
    text: str
    used: list[int] = field(default_factory=list)  # evidence numbers cited, in first-use order
    invalid: list[str] = field(default_factory=list)  # markers removed because they point at nothing
    attributed: int = 0  # sentences given a marker by overlap with the evidence


def evidence_block(chunks: list[Chunk], max_chars: int = 500) -> str:
    """Numbered evidence for the prompt: [n] 《title》 locator, then the passage (trimmed)."""
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        body = _DOC_BRACKET.sub(r"〔\1〕", chunk.text)
        if len(body) > max_chars:
            body = body[:max_chars] + "……"
        parts.append(f"[{n}] 《{chunk.title}》 {chunk.locator}\n{body}")
    return "\n\n".join(parts)


def check_citations(answer: str, n_evidence: int) -> CitationCheck:
    """Keep markers 1..n_evidence, remove and report the rest."""
    check = CitationCheck(text="")

    def replace(match: re.Match) -> str:
        kept = []
        for raw in re.split(r"\s*[,，、]\s*", match.group(1)):
            n = int(raw)
            if 1 <= n <= n_evidence:
                kept.append(f"[{n}]")
                if n not in check.used:
                    check.used.append(n)
            else:
                check.invalid.append(f"[{n}]")
        return "".join(kept)

    check.text = re.sub(r"[ \t]+(?=\[\d)", "", _MARKER.sub(replace, answer)).strip()
    return check


def attribute_uncited(check: CitationCheck, evidence: list[str], threshold: float = 0.6) -> CitationCheck:
    """Give an uncited factual sentence the marker of the one passage holding most of its wording."""
    if not evidence:
        return check
    grams = [bigrams(e) for e in evidence]
    out, last = [], 0
    for match in SENTENCE.finditer(check.text):
        sentence = match.group(0)
        out.append(check.text[last:match.start()])
        last = match.end()
        own = bigrams(sentence)
        if "[" in sentence or len(own) < 6 or REFUSAL in sentence:
            out.append(sentence)
            continue
        scores = [len(own & g) / len(own) for g in grams]
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] >= threshold:
            n = best + 1
            stripped = sentence.rstrip()
            cut = len(stripped) - 1 if stripped[-1] in "。！？!?" else len(stripped)
            out.append(f"{stripped[:cut]}[{n}]{sentence[cut:]}")
            check.attributed += 1
            if n not in check.used:
                check.used.append(n)
        else:
            out.append(sentence)
    out.append(check.text[last:])
    check.text = "".join(out)
    return check


def bigrams(text: str) -> set[str]:
    """Character bigrams of the letters and digits: a cheap, order-aware measure of shared wording."""
    chars = [c for c in text if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}
