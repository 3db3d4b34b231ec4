"""Text normalisation: bytes → str, and PDF page clean-up (line joins, running headers, page numbers)."""

from __future__ import annotations

import re
from collections import Counter

from charset_normalizer import from_bytes

from app.ingest.errors import IngestError

_SENTENCE_END = "。！？；：:;!?」』”）)】>|"
# A line that starts a structural unit must never be glued to the previous line.
STRUCTURE_START = re.compile(
    r"^\s*(#{1,6}\s|第[一二三四五六七八九十百千零〇两兩\d]+[编章节条款編節條]|[一二三四五六七八九十]+、|"
    r"（[一二三四五六七八九十]+）|\(\s*[一二三四五六七八九十\d]+\s*\)|\d+(\.\d+)*[\s、．.]|[-*•·]\s|\|)"
)
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–]\s*\d+\s*[-—–]|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|"
    r"page\s*\d+(?:\s*of\s*\d+)?|\d{1,4})\s*$",
    re.IGNORECASE,
)


def decode_text(data: bytes) -> str:
    """Decode document bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK, else detection.

    Refuses binary content rather than returning mojibake.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 BOM; a later line in another encoding is handled below like any mixed file
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _checked(data.decode("utf-16"))
        except UnicodeDecodeError as exc:
            raise IngestError("UTF-16 文本已损坏（长度或代理对不完整）", f"broken UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:4096]:
        raise IngestError("文件含有二进制内容，不是文本", "binary content, not a text file")
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed_lines(data)
    if mixed is not None:
        return _checked(mixed)
    try:
        return _checked(data.decode("gb18030"))
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError("无法识别文本编码", "unknown text encoding")
    return _checked(str(best))


def _decode_mixed_lines(data: bytes) -> str | None:
    """A file pasted together from UTF-8 and GBK/GB18030 parts: decode line by line, or None if it is not one.

    Used only when some line is clearly UTF-8 (two or more non-ASCII characters) and another is valid only as
    GB18030; a whole file in one encoding never gets here (it decodes at once above).
    """
    lines = data.split(b"\n")
    decoded, utf8_lines, gb_lines = [], 0, 0
    for line in lines:
        try:
            text = line.decode("utf-8")
            utf8_lines += sum(1 for ch in text if ord(ch) > 127) >= 2
        except UnicodeDecodeError:
            try:
                text = line.decode("gb18030")
            except UnicodeDecodeError:
                return None
            gb_lines += 1
        decoded.append(text)
    return "\n".join(decoded) if utf8_lines and gb_lines else None


def _checked(text: str) -> str:
    sample = text[:20000]
    if not sample.strip():
        return text
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    replacement = sample.count("\ufffd")
    if (control + replacement) / len(sample) > 0.02:
        raise IngestError("文件含有二进制内容，不是文本", "binary content, not a text file")
    return text


def normalize(text: str) -> str:
    """Unify line endings and spaces; keep every character of content."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ").replace("\xa0", " ")
    text = text.replace("\x00", "")
    text = re.sub(r"[ \t\f\v]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text)


def line_width_of(texts: list[str]) -> float:
    """The width of a full line of text in these pages (90th percentile of non-empty line widths)."""
    widths = sorted(_width(ln.strip()) for t in texts for ln in t.split("\n") if ln.strip())
    return widths[round(0.9 * (len(widths) - 1))] if widths else 0.0


def join_pdf_lines(text: str, full: float | None = None) -> str:
    """Re-join lines that a PDF broke mid-sentence.

    A line is continued only when it ran to (nearly) the full width of the page's text block and did not end
    a sentence, and the next line does not start a structural unit (第X条, 3.3.2, 一、, headings, tables).
    A short line ended where its author ended it: a heading, the last line of a paragraph.
    """
    lines = [ln.strip() for ln in text.split("\n")]
    if full is None:
        full = line_width_of([text])
    out: list[str] = []
    prev_full = False
    for line in lines:
        if not line:
            if out and out[-1] != "":
                out.append("")
            prev_full = False
            continue
        if (out and out[-1] and prev_full and not out[-1].endswith(tuple(_SENTENCE_END))
                and not STRUCTURE_START.match(line)):
            sep = " " if _is_ascii_word_end(out[-1]) and line[:1].isascii() and line[:1].isalnum() else ""
            out[-1] = out[-1] + sep + line
        else:
            out.append(line)
        prev_full = _width(line) >= 0.85 * full
    return "\n".join(out).strip()


def _width(line: str) -> float:
    """Display width: CJK characters count 1, ASCII 0.5."""
    return sum(0.5 if ch.isascii() else 1.0 for ch in line)


def _is_ascii_word_end(s: str) -> bool:
    return bool(s) and s[-1].isascii() and s[-1].isalnum()


def strip_running_lines(pages: list[str]) -> list[str]:
    """Drop page-number lines and headers/footers that repeat on at least half of the pages."""
    if not pages:
        return pages
    edge_counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln.strip() for ln in page.split("\n") if ln.strip()]
        edges = set(lines[:2] + lines[-2:])
        edge_counts.update(_digitless(ln) for ln in edges)
    threshold = max(2, (len(pages) + 1) // 2)
    running = {k for k, n in edge_counts.items() if n >= threshold and len(k) <= 60}
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        keep = []
        for i, ln in enumerate(lines):
            s = ln.strip()
            at_edge = i < 2 or i >= len(lines) - 2
            if at_edge and (_PAGE_NUMBER.match(s) or (s and _digitless(s) in running)):
                continue
            keep.append(ln)
        cleaned.append("\n".join(keep))
    return cleaned


def _digitless(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())
