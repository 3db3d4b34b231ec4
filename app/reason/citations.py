"""Citation markers: build the numbered evidence block, parse `[n]` in answers, drop markers that point
at nothing, and attribute uncited sentences to the evidence that plainly contains them.

Brackets inside documents ("[1]", "[来源2]") are rewritten to 〔…〕 in the evidence the model sees, so a
marker copied from a document can never pass for a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.reason.injection import mask_passage
from app.config import Settings
from app.schema import Chunk

# [1] [1,2] [1、2] 【1】 ［1］ — what models actually emit; normalised to [1][2].
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_DOC_BRACKET = re.compile(r"\[([^\[\]\n]{0,12})\]")
# A document's own source marker as the evidence showed it ("[来源3]" → 〔来源3〕), copied into an answer: it points
# at the document's reference list, not at evidence, so it is dropped (〔2024〕 in a file number is kept).
_COPIED_DOC_MARKER = re.compile(r"〔(?:来源|资料|参考|注)?\s*\d{1,2}〕")
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?(?:\s*\[\d+\])*")
REFUSAL = "资料中未找到依据"


@dataclass
class CitationCheck:
    text: str
    used: list[int] = field(default_factory=list)  # evidence numbers cited, in first-use order
    invalid: list[str] = field(default_factory=list)  # markers removed because they point at nothing
    attributed: int = 0  # sentences given a marker by overlap with the evidence


# Compact evidence (issue 6): prompt prefill dominates the time to first token on 2 cores (~100 prompt
# tokens/s for the 1.5B model), so each passage is cut to the window most relevant to the question, with a
# smaller budget further down the ranking. The default (Settings.evidence_budgets: 3 passages of 320/180/100)
# keeps 68 of the 72 expected facts of the answers question set inside the evidence at a median 423 prompt
# tokens; 5 passages of 400/320/260/220/200 kept 69/72 at 916 tokens, 300/180/100 67/72 at 415.
COMPACT_BUDGETS: tuple[int, ...] = Settings.model_fields["evidence_budgets"].default
DUPLICATE_SHARE = 0.8  # a passage whose bigrams are this much inside an earlier one is not repeated
_UNIT = re.compile(r"[^。；！？!?\n]+[。；！？!?]?\n?|\n")


def evidence_block(chunks: list[Chunk], max_chars: int = 500, question: str | None = None,
                   budgets: tuple[int, ...] = COMPACT_BUDGETS) -> str:
    """Numbered evidence for the prompt: [n] 《title》 locator, then the passage.

    Without `question` each passage is cut at `max_chars` (the original block). With it the block is compact:
    a passage that repeats an earlier one (a digest of the same article) is replaced by a pointer to it, and
    each passage keeps only its window most relevant to the question: the i-th passage shown gets `budgets[i]`
    characters at most (the last budget for any further one).
    Numbering follows the order of `chunks` (app/reason/answer.py maps the model's numbers back to hit numbers).
    """
    parts: list[str] = []
    kept: list[tuple[int, set[str]]] = []
    terms = _question_terms(question) if question else []
    for n, chunk in enumerate(chunks, start=1):
        if not chunk.text:  # withheld (reason/injection.py): left out, its number stays unused
            continue
        body = mask_passage(_DOC_BRACKET.sub(r"〔\1〕", chunk.text))  # a passage that gives orders is withheld
        if question is None:
            if len(body) > max_chars:
                body = body[:max_chars] + "……"
        else:
            own = bigrams(chunk.text)
            same = next((k for k, grams in kept
                         if own and len(own & grams) / len(own) >= DUPLICATE_SHARE), None)
            if same is not None:
                parts.append(f"[{n}] 《{chunk.title}》 {chunk.locator}{_note(chunk)}\n（内容同[{same}]）")
                continue
            kept.append((n, own))
            first, _, rest = body.partition("\n")
            if first.startswith("#") and chunk.locator and chunk.locator in first and rest.strip():
                body = rest.strip()  # the markdown heading repeats the locator shown above
            body = relevant_window(body, question, budgets[min(len(kept), len(budgets)) - 1], terms)
        parts.append(f"[{n}] 《{chunk.title}》 {chunk.locator}{_note(chunk)}\n{body}")
    return "\n\n".join(parts)


def _note(chunk: Chunk) -> str:
    """Whose rule a passage is, or that its version is superseded (app/retrieve/scope.py), for the model to say."""
    note = chunk.meta.get("note", "")
    return f"（{note}）" if note else ""


def relevant_window(text: str, question: str, budget: int, terms: list[str] | None = None) -> str:
    """The contiguous run of sentences (at most `budget` characters) sharing most with the question;
    "……" marks what was left out. A text within budget is returned whole."""
    if len(text) <= budget:
        return text
    units = [u for u in _UNIT.findall(text) if u]
    terms = _question_terms(question) if terms is None else terms
    q_grams = bigrams(question)
    scores = [2 * sum(1 for t in terms if t in u.lower()) + len(bigrams(u) & q_grams) for u in units]
    best, best_score = (0, 0), -1.0
    for i in range(len(units)):
        length, score = 0, 0.0
        for j in range(i, len(units)):
            length += len(units[j])
            if length > budget and j > i:
                break
            score += scores[j]
            if score > best_score:
                best, best_score = (i, j), score
    i, j = best
    window = "".join(units[i:j + 1]).strip()
    cut = len(window) > budget
    window = window[:budget]
    head = "……" if "".join(units[:i]).strip() else ""
    tail = "……" if cut or "".join(units[j + 1:]).strip() else ""
    return f"{head}{window}{tail}"


def _question_terms(question: str) -> list[str]:
    from app.retrieve.gate import question_terms

    return question_terms(question)


def renumber_markers(text: str, numbers: list[int]) -> str:
    """Markers [k] of a text numbered over `numbers` (the k-th shown passage is `numbers[k-1]`) rewritten to
    those numbers; a marker outside 1..len(numbers) is left as written."""
    def swap(match: re.Match) -> str:
        k = int(match.group(1))
        return f"[{numbers[k - 1]}]" if 1 <= k <= len(numbers) else match.group(0)

    return re.sub(r"\[(\d{1,3})\]", swap, text)


def renumbered_stream(on_token, read: list[int]):
    """`on_token` with the model's [k] shown as hit numbers; a marker split across tokens is held back until
    its closing bracket arrives."""
    if on_token is None or read == list(range(1, len(read) + 1)):
        return on_token
    pending = ""

    def feed(piece: str) -> None:
        nonlocal pending
        pending += piece
        cut = pending.rfind("[")
        if cut != -1 and "]" not in pending[cut:] and len(pending) - cut < 8:
            ready, pending = pending[:cut], pending[cut:]
        else:
            ready, pending = pending, ""
        if ready:
            on_token(renumber_markers(ready, read))

    return feed


def check_shown_citations(text: str, shown: list[int]) -> CitationCheck:
    """Check a text written over passages shown as [1]..[m] (the k-th is hit `shown[k-1]`): a marker beyond [m]
    is invalid and reported as written; the kept markers and `used` come back as hit numbers."""
    check = check_citations(text, len(shown))
    check.text = renumber_markers(check.text, shown)
    check.used = [shown[k - 1] for k in check.used]
    return check


def check_citations(answer: str, n_evidence: int, withheld: set[int] | frozenset[int] = frozenset()
                    ) -> CitationCheck:
    """Keep markers 1..n_evidence (except withheld passages), remove and report the rest."""
    check = CitationCheck(text="")

    def replace(match: re.Match) -> str:
        kept = []
        for raw in re.split(r"\s*[,，、]\s*", match.group(1)):
            n = int(raw)
            if 1 <= n <= n_evidence and n not in withheld:
                kept.append(f"[{n}]")
                if n not in check.used:
                    check.used.append(n)
            else:
                check.invalid.append(f"[{n}]")
        return "".join(kept)

    check.text = re.sub(r"[ \t]+(?=\[\d)", "", _MARKER.sub(replace, _COPIED_DOC_MARKER.sub("", answer))).strip()
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
