"""Chunk a RawDoc along its own structure.

- regulations: one chunk per 条 (long ones split at 款/项 with the article id kept), under the 章/节 path;
- plans, standards, cards, cases, reports: one chunk per numbered or headed section, with its heading path;
- text without structure: paragraphs packed up to `max_chars`.
Every chunk keeps its character span in the document and, for PDFs, its page range.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from app.ingest.meta import chunk_meta
from app.ingest.tables import SEP as TABLE_SEP
from app.ingest.tables import row_spans
from app.schema import Chunk, RawDoc

_NUM = "一二三四五六七八九十百千零〇两兩"
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_DIVISION = re.compile(rf"^第([{_NUM}\d]+)([编章节編節])(?:\s+|$)(.{{0,40}})$")
ARTICLE = re.compile(rf"^第[{_NUM}]+[条條]")  # traditional 條/節/編 too
_NOT_UNIT = r"(?![户人万亿元米年月日时分秒个处起名次座间条吨方度%％])"
_DOTTED = re.compile(rf"^(\d{{1,2}}(?:\.\d{{1,2}}){{1,4}})\.?[\s、]+{_NOT_UNIT}([^\d\s].{{0,40}})$")
_SINGLE = re.compile(rf"^(\d{{1,2}})[\s、]+{_NOT_UNIT}([^\d\s].{{0,28}})$")
_CN_ITEM = re.compile(rf"^([{_NUM}]+)、\s*(.{{1,40}})$")
_CN_PAREN = re.compile(rf"^[（(]([{_NUM}]+)[）)]\s*(.{{1,30}})$")
_SENTENCE_PUNCT = re.compile(r"[。；;！？!?]\s*$|[，,。]")
_MIN_BODY = 20
OCR_MARK = "（OCR）"  # ends the locator of a chunk read by OCR, so every source list shows it
_DIVISION_RANK = {"编": 1, "編": 1, "章": 2, "节": 3, "節": 3}


@dataclass
class _Line:
    text: str
    start: int
    end: int


@dataclass
class _Heading:
    rank: int
    text: str
    locator: str
    number: str = ""  # dotted section number (3.3.2), for sibling detection


def chunk_document(doc: RawDoc, max_chars: int = 900) -> list[Chunk]:
    text, page_starts = join_pages(doc)
    ocr_pages = {p.number for p in doc.pages if p.ocr}
    lines = _split_lines(text)
    is_regulation = sum(1 for ln in lines if ARTICLE.match(_strip_md(ln.text))) >= 3
    units = chunk_regulation_units(lines) if is_regulation else chunk_section_units(lines)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_chars,
        chunk_overlap=min(80, max_chars // 8),
        separators=["\n\n", "\n", "。", "；", "，", ""],
        keep_separator="end",
        add_start_index=True,
    )
    chunks: list[Chunk] = []
    meta = chunk_meta(doc.title, {"doc_type": doc.doc_type, **doc.meta})
    for ordinal, (path, locator, unit_start, unit_end) in enumerate(units):
        pieces = []  # (start, text): a header table's rows each alone, the prose around them split as before
        for start, end in row_spans(text, unit_start, unit_end):
            body = text[start:end]
            pieces += [(start, body)] if len(body) <= max_chars else [
                (start + offset, piece) for offset, piece in _with_offsets(
                    body, splitter.split_text(body), splitter._chunk_overlap)]
        for piece_no, (piece_start, piece) in enumerate(pieces):
            if not piece.strip():
                continue
            lead = len(piece) - len(piece.lstrip())
            p_start = piece_start + lead
            p_text = piece.strip()
            p_end = p_start + len(p_text)
            loc = locator or _fallback_locator(doc, page_starts, p_start, len(chunks) + 1)
            first, last = _page_at(page_starts, p_start), _page_at(page_starts, max(p_start, p_end - 1))
            ocr = bool(ocr_pages) and any(n in ocr_pages for n in range(first or 0, (last or 0) + 1))
            if ocr:
                loc += OCR_MARK
            chunks.append(
                Chunk(
                    chunk_id=_chunk_id(doc.source, loc, f"{ordinal}.{piece_no}", p_text),
                    source=doc.source,
                    title=doc.title,
                    doc_type="regulation" if is_regulation and doc.doc_type == "report" else doc.doc_type,
                    locator=loc,
                    heading_path=" > ".join(path),
                    text=p_text,
                    char_start=p_start,
                    char_end=p_end,
                    page_start=first,
                    page_end=last,
                    ocr=ocr,
                    meta=meta,
                )
            )
    return chunks


def chunk_regulation_units(lines: list[_Line]) -> list[tuple[list[str], str, int, int]]:
    """Units of a regulation: (heading path, locator, start, end), one per article."""
    units: list[tuple[list[str], str, int, int]] = []
    stack: list[_Heading] = []
    current: tuple[list[str], str, int] | None = None
    preamble_start: int | None = None

    def close(end: int) -> None:
        nonlocal current, preamble_start
        if current is not None:
            units.append((current[0], current[1], current[2], end))
            current = None
        if preamble_start is not None:
            if end - preamble_start > _MIN_BODY:
                units.append(([h.text for h in stack] or ["前言"], stack[-1].locator if stack else "前言",
                              preamble_start, end))
            preamble_start = None

    for ln in lines:
        s = _strip_md(ln.text)
        article = ARTICLE.match(s)
        heading = None if article else _division_or_md_heading(ln.text)
        if article:
            close(ln.start)
            locator = article.group(0)
            current = ([h.text for h in stack] + [locator], locator, ln.start)
        elif heading:
            close(ln.start)
            _push(stack, heading)
        elif current is None and preamble_start is None and s:
            preamble_start = ln.start
    close(lines[-1].end if lines else 0)
    return units


def chunk_section_units(lines: list[_Line]) -> list[tuple[list[str], str, int, int]]:
    """Units of a plan, standard, card or report: one per headed section with a body."""
    units: list[tuple[list[str], str, int, int]] = []
    stack: list[_Heading] = []
    start = 0
    body_chars = 0  # body since the last heading: a section needs some before the next heading closes it
    unit_body = 0  # body since `start`: whatever is left at the end must not be dropped
    for ln in lines:
        heading = _section_heading(ln.text)
        if heading is None:
            body_chars += len(ln.text.strip())
            unit_body += len(ln.text.strip())
            continue
        if body_chars >= _MIN_BODY:
            units.append(_unit(stack, start, ln.start))
            start, unit_body = ln.start, 0
        _push(stack, heading)
        body_chars = 0
    end = lines[-1].end if lines else 0
    if unit_body > 0 or not units:
        units.append(_unit(stack, start, end))
    return units


def _unit(stack: list[_Heading], start: int, end: int) -> tuple[list[str], str, int, int]:
    return [h.text for h in stack], (stack[-1].locator if stack else ""), start, end


def _push(stack: list[_Heading], heading: _Heading) -> None:
    def outranks(top: _Heading) -> bool:
        if top.rank >= heading.rank:
            return True
        return bool(heading.number and top.number and not heading.number.startswith(top.number + "."))

    while stack and outranks(stack[-1]):
        stack.pop()
    stack.append(heading)


def _division_or_md_heading(raw: str) -> _Heading | None:
    md = _MD_HEADING.match(raw.strip())
    if md:
        return _Heading(len(md.group(1)), md.group(2).strip(), _short(md.group(2)))
    div = _DIVISION.match(raw.strip())
    if div:
        return _Heading(_DIVISION_RANK[div.group(2)], raw.strip(), raw.strip()[:20])
    return None


def _section_heading(raw: str) -> _Heading | None:
    s = raw.strip()
    md = _MD_HEADING.match(s)
    if md:
        text = md.group(2).strip()
        dotted = _DOTTED.match(text)
        number = dotted.group(1) if dotted else ""
        return _Heading(len(md.group(1)), text, number or _short(text), number)
    div = _DIVISION.match(s)
    if div:
        return _Heading(_DIVISION_RANK[div.group(2)], s, s[:20])
    if TABLE_SEP in s:  # a table row as a fact line ("一、隐患点情况｜隐患点：…") is body, never a heading
        return None
    dotted = _DOTTED.match(s)
    if dotted and not _SENTENCE_PUNCT.search(dotted.group(2)):
        return _Heading(10 + dotted.group(1).count("."), s, dotted.group(1), dotted.group(1))
    single = _SINGLE.match(s)
    if single and not _SENTENCE_PUNCT.search(single.group(2)):
        return _Heading(10, s, single.group(1), single.group(1))
    cn = _CN_ITEM.match(s)
    if cn and not _SENTENCE_PUNCT.search(cn.group(2)):
        return _Heading(10, s, _short(s))
    paren = _CN_PAREN.match(s)
    if paren and not _SENTENCE_PUNCT.search(paren.group(2)):
        return _Heading(11, s, _short(s))
    return None


def _short(text: str, limit: int = 30) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _strip_md(raw: str) -> str:
    md = _MD_HEADING.match(raw.strip())
    text = md.group(2) if md else raw.strip()
    return text.lstrip("*").strip()


def join_pages(doc: RawDoc) -> tuple[str, list[tuple[int, int | None]]]:
    """The document's text as chunk offsets count it (pages joined by a line break), and where each page
    starts: [(offset, page number)]."""
    parts, starts, offset = [], [], 0
    for page in doc.pages:
        starts.append((offset, page.number))
        parts.append(page.text)
        offset += len(page.text) + 1
    return "\n".join(parts), starts


def _split_lines(text: str) -> list[_Line]:
    lines, offset = [], 0
    for raw in text.split("\n"):
        lines.append(_Line(raw, offset, offset + len(raw)))
        offset += len(raw) + 1
    return lines


def _page_at(page_starts: list[tuple[int, int | None]], pos: int) -> int | None:
    idx = bisect.bisect_right([s for s, _ in page_starts], pos) - 1
    return page_starts[max(idx, 0)][1]


def _fallback_locator(doc: RawDoc, page_starts, pos: int, n: int) -> str:
    page = _page_at(page_starts, pos)
    return f"第{page}页" if page is not None else f"第{n}段"


def _with_offsets(body: str, pieces: list[str], overlap: int) -> list[tuple[int, str]]:
    """Where each split piece starts in `body`. A piece either starts after the previous one ends or overlaps
    its last `overlap` characters and goes on past its end; searching only there keeps a repeated phrase (or a
    piece that also occurs inside the overlap) from being placed at an earlier copy, as langchain's
    `start_index` does."""
    out: list[tuple[int, str]] = []
    prev_start, prev_end = -1, 0
    for piece in pieces:
        low = max(prev_start + 1, prev_end - overlap, prev_end - len(piece) + 1, 0)
        start = body.find(piece, low)
        if start < 0:  # cannot happen for pieces cut from `body`; never lose the text if it does
            start = max(body.find(piece), 0)
        out.append((start, piece))
        prev_start, prev_end = start, start + len(piece)
    return out


def _chunk_id(source: str, locator: str, ordinal: str, text: str) -> str:
    digest = hashlib.sha256(f"{source}\x00{locator}\x00{ordinal}\x00{text}".encode()).hexdigest()
    return digest[:20]
