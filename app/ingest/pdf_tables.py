"""Ruled tables in text PDFs as row facts.

pypdf reads a PDF's running text; a ruled table comes out of it as flattened lines whose cells have lost their
column headers. Here pdfplumber (on pdfminer.six) finds the ruled tables of the pages that draw lines at all,
and each table's flattened lines in pypdf's page text are replaced by the table's fact lines (tables.py: one
line per row, "caption｜列1：值1｜列2：值2"), so a row answers a question on its own and its text is not
indexed twice. A table that continues on the next page keeps its header row and caption. Tables without
rulings (columns only aligned by spaces) are left as text: on Chinese prose, whose characters sit on a grid,
text-alignment detection finds "tables" everywhere.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from app.ingest.tables import caption_from, clean_rows, render_table

_PATH_OPS = re.compile(rb"[\d.]\s+(?:re|l)\s")  # rectangles and line segments in a content stream
_MIN_PATH_OPS = 4  # fewer cannot draw a grid of two rows and two columns
_TOP, _BOTTOM = 0.2, 0.8  # a table continues on the next page: ends low on one page, starts high on the next
_COVERAGE = 0.6  # share of a table's characters its flattened lines must hold to be taken for it
_BOX_CELL = 300  # two rows or fewer, one cell this long: a ruled box around prose (a framed note), not a table
# a cell's wrapped Chinese line goes on without a space
_WRAP = re.compile(r"(?<=[\u3400-\u9fff，、；：（）《》“”])\n(?=[\u3400-\u9fff，、；：。（）《》“”])")


@dataclass(frozen=True)
class PdfTable:
    page: int  # 1-based
    rows: tuple[tuple[str, ...], ...]  # cleaned cells; the first row names the columns
    top: float  # points from the top of the page
    bottom: float
    height: float  # the page's height
    continued: bool = False  # the rest of a table from the page before (its header row put back on)


def ruled_pages(reader) -> list[int]:
    """1-based numbers of the pages whose content stream draws enough rectangles or lines to hold a table (a
    cheap pypdf look, so pdfplumber's layout analysis runs only where a table can be)."""
    numbers = []
    try:
        pages = list(reader.pages)
    except Exception:  # a damaged page tree: its text is what pypdf could read
        return []
    for number, page in enumerate(pages, start=1):
        try:
            contents = page.get_contents()
            data = contents.get_data() if contents is not None else b""
        except Exception:  # a damaged stream, likewise
            continue
        if len(_PATH_OPS.findall(data, 0, 4_000_000)) >= _MIN_PATH_OPS:
            numbers.append(number)
    return numbers


def find_tables(data: bytes, numbers: list[int]) -> tuple[dict[int, list[PdfTable]], list[str]]:
    """The ruled tables of pages `numbers` (top to bottom): ({page: tables}, warnings). Anything pdfplumber
    cannot read leaves those pages to the text path with a warning."""
    if not numbers:
        return {}, []
    found: dict[int, list[PdfTable]] = {}
    try:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number in numbers:
                page = pdf.pages[number - 1]
                tables = []
                for table in sorted(page.find_tables(), key=lambda t: t.bbox[1]):
                    rows = clean_rows([[_WRAP.sub("", c or "") for c in row] for row in table.extract()])
                    boxed = len(rows) <= 2 and any(len(c) > _BOX_CELL for r in rows for c in r)
                    if len(rows) >= 2 and max(len(r) for r in rows) >= 2 and not boxed:
                        tables.append(PdfTable(number, tuple(map(tuple, rows)), table.bbox[1], table.bbox[3],
                                               float(page.height)))
                page.close()
                if tables:
                    found[number] = tables
    except Exception as exc:  # pdfminer raises many types on odd files; the text layer still reads
        return {}, [f"PDF 表格无法识别，已按普通文字导入 / tables not extracted, read as text ({type(exc).__name__})"]
    return _join_continued(found), []


def _join_continued(found: dict[int, list[PdfTable]]) -> dict[int, list[PdfTable]]:
    """A table starting at the top of a page right after one that ended at the bottom of the page before, with
    as many columns: the same table, so it gets the header row back when the page did not repeat it."""
    out: dict[int, list[PdfTable]] = {}
    for number in sorted(found):
        tables = list(found[number])
        before = out.get(number - 1)
        first = tables[0]
        if before and before[-1].bottom > _BOTTOM * before[-1].height and first.top < _TOP * first.height \
                and len(first.rows[0]) == len(before[-1].rows[0]):
            header = before[-1].rows[0]
            rows = first.rows if first.rows[0] == header else (header,) + first.rows
            tables[0] = PdfTable(first.page, rows, first.top, first.bottom, first.height, continued=True)
        out[number] = tables
    return out


def place_tables(text: str, tables: list[PdfTable], caption: str = "") -> tuple[str, str]:
    """Page text with each table's flattened lines replaced by its fact lines (set off by blank lines, so no
    line join glues them to a paragraph); a table whose lines cannot be told apart goes after the page's text.
    `caption`: the caption of the table the page before ended with (for a continued table). Returns the text
    and the caption of the page's last table."""
    lines = text.split("\n")
    out: list[str] = []
    tail: list[str] = []
    cursor = 0
    for table in tables:
        span = _flattened_span(lines, cursor, table)
        if table.continued:
            this_caption = caption
        elif span is not None:
            previous = next((ln for ln in reversed(lines[cursor:span[0]]) if ln.strip()), "")
            this_caption = caption_from(previous, "")
        else:
            this_caption = ""
        caption = this_caption
        # a case table (two columns: label, content) gets a heading of its own, "## 案例：…"
        facts = render_table([list(r) for r in table.rows], this_caption, 1, header=table.continued)
        if span is None:
            tail += ["", *facts]
            continue
        out += lines[cursor:span[0]] + ["", *facts]
        cursor = span[1]
    out += lines[cursor:] + tail
    return "\n".join(out), caption


def _flattened_span(lines: list[str], start: int, table: PdfTable) -> tuple[int, int] | None:
    """[first, end) of the run of lines from `start` on made only of the table's cell text (every token a piece
    of the cells read in row order) that holds the most of it, if that is most of the table."""
    cells = "".join(re.sub(r"\s+", "", c) for row in table.rows for c in row)
    # the rows below the header (a continued table's header row, put back, is not on its page)
    data = sum(len(re.sub(r"\s+", "", c)) for row in table.rows[1:] for c in row)
    best, best_chars = None, 0
    i = start
    while i < len(lines):
        j, chars = i, 0
        while j < len(lines):
            tokens = lines[j].split()
            if tokens and not all(t in cells for t in tokens):
                break
            chars += sum(len(t) for t in tokens)
            j += 1
        if chars > best_chars:
            best, best_chars = (i, j), chars
        i = max(j, i + 1)
    if best is None or best_chars < _COVERAGE * data:
        return None
    first, end = best
    while first < end and not lines[first].strip():
        first += 1
    while end > first and not lines[end - 1].strip():
        end -= 1
    return first, end
