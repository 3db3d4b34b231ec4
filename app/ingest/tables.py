"""Tables as facts: every row becomes one line that carries its column headers and the table's caption.

Two shapes are told apart:
- a label table (two columns: a short label, its content), as in a case compilation with one table per case:
  its title (the 案例/名称 row, a one-cell title row, or the caption) becomes a heading of its own, so the table is
  one section with the case title as its locator, and every row reads "案例：水城鸡场镇滑坡｜应对措施：…";
- a header table (first row names the columns): every row reads "caption｜列1：值1｜列2：值2".
Used by the DOCX loader, HTML files and HTML tables inside Markdown.
"""

from __future__ import annotations

import re

SEP = "｜"
_TITLE_LABELS = ("案例名称", "案例", "事件名称", "事件", "灾害名称", "灾害点名称", "隐患点名称", "名称", "标题",
                 "项目名称", "项目", "title", "name")
_MAX_LABEL = 12
_CAPTION = re.compile(r"^(?:表\s*[\d一二三四五六七八九十]+|附表)|^.{1,40}$")
_MD_TABLE = re.compile(r"<table\b.*?</table\s*>", re.IGNORECASE | re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_PIPE_DELIMITER = re.compile(r"^\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?$|^\|\s*:?-+:?\s*\|$")
_LEAD, _TAIL = 60, 20  # characters of prose before a table's first row / after its last that go with that row


def clean_rows(rows: list[list[str]]) -> list[list[str]]:
    """Cells stripped and one-lined; a horizontally merged cell (repeated by python-docx) kept once; empty rows
    dropped."""
    out = []
    for row in rows:
        cells: list[str] = []
        for cell in row:
            text = re.sub(r"\s*\n\s*", " ", str(cell)).strip()
            if cells and text == cells[-1]:
                continue
            cells.append(text)
        if any(cells):
            out.append(cells)
    return out


def is_label_table(rows: list[list[str]]) -> bool:
    pairs = [r for r in rows if len([c for c in r if c]) >= 2]
    if len(pairs) < 2 or any(len(r) > 2 for r in rows):
        return False
    return all(0 < len(r[0]) <= _MAX_LABEL and not r[0].endswith(("。", "；")) for r in pairs)


def table_facts(rows: list[list[str]], caption: str = "", header: bool = False) -> tuple[str, list[str]]:
    """(heading for the table's own section or "", one fact line per row). `header`: the first row is marked as
    column headers (<th>, a repeated or bold DOCX row), so even a two-column table is not a label table."""
    rows = clean_rows(rows)
    if not rows:
        return "", []
    caption = caption.strip()
    if not header and is_label_table(rows):
        return _label_facts(rows, caption)
    if len(rows) == 1:
        return "", [SEP.join(([caption] if caption else []) + [c for c in rows[0] if c])]
    header = rows[0]
    lines = []
    for row in rows[1:]:
        cells = []
        for i, value in enumerate(row):
            if not value:
                continue
            name = header[i] if i < len(header) else ""
            cells.append(f"{name}：{value}" if name and name != value else value)
        if cells:
            lines.append(SEP.join(([caption] if caption else []) + cells))
    return "", lines


def _label_facts(rows: list[list[str]], caption: str) -> tuple[str, list[str]]:
    title, title_row = "", None
    for i, row in enumerate(rows):
        if len(row) == 1 and i == 0:  # a merged title row above the label rows
            title, title_row = row[0], i
            break
        label = row[0].rstrip("：:").strip().lower()
        if len(row) == 2 and label in _TITLE_LABELS:
            title, title_row = f"{row[0].rstrip('：:')}：{row[1]}", i
            break
    title = title or caption or f"{rows[0][0].rstrip('：:')}：{rows[0][1] if len(rows[0]) > 1 else ''}"
    lines = []
    for i, row in enumerate(rows):
        if i == title_row:
            continue
        if len(row) == 1:
            lines.append(f"{title}{SEP}{row[0]}")
        elif row[1]:
            lines.append(f"{title}{SEP}{row[0].rstrip('：:')}：{row[1]}")
    return title, lines


def render_table(rows: list[list[str]], caption: str, level: int, header: bool = False) -> list[str]:
    """Text lines for a table inside a document whose last heading had `level` (0: none)."""
    heading, lines = table_facts(rows, caption, header)
    if not lines and not heading:
        return []
    out = [f"{'#' * min(level + 1, 6)} {heading}", ""] if heading else []
    for line in lines:
        out += [line, ""]
    return out


def caption_from(previous: str, heading: str) -> str:
    """The caption of a table: the short line right above it ("表1 …", a label), else the heading above it."""
    prev = previous.strip().lstrip("#").strip()
    if prev and _CAPTION.match(prev) and not prev.endswith(("。", "；", "，", "：", ":")):
        return prev
    return heading


def html_rows(table) -> tuple[list[list[str]], bool]:
    """Rows of a BeautifulSoup <table> (nested tables read as text of their cell), and whether the first row is
    all <th>."""
    rows, header = [], False
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = tr.find_all(["td", "th"], recursive=False)
        if not rows:
            header = bool(cells) and all(c.name == "th" for c in cells)
        rows.append([c.get_text(" ", strip=True) for c in cells])
    return rows, header


def docx_header(table) -> bool:
    """A python-docx table whose first row repeats as a header on each page, or is bold throughout."""
    if not table.rows:
        return False
    tr = table.rows[0]._tr
    if tr.trPr is not None and tr.trPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
                                             "tblHeader") is not None:
        return True
    runs = [r for cell in table.rows[0].cells for p in cell.paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs)


def markdown_html_tables(text: str) -> str:
    """Markdown with raw HTML <table> blocks: each block replaced by its fact lines (caption: <caption>, else
    the line above, else the heading above)."""
    if "<table" not in text.lower():
        return text
    from bs4 import BeautifulSoup

    out, pos = [], 0
    for match in _MD_TABLE.finditer(text):
        before = text[:match.start()]
        out.append(text[pos:match.start()])
        pos = match.end()
        level, heading = 0, ""
        for line in before.split("\n"):
            md = _MD_HEADING.match(line.strip())
            if md:
                level, heading = len(md.group(1)), md.group(2).strip()
        previous = next((ln for ln in reversed(before.split("\n")) if ln.strip()), "")
        table = BeautifulSoup(match.group(0), "html.parser").find("table")
        if table is None:
            continue
        caption_tag = table.find("caption")
        caption = caption_tag.get_text(" ", strip=True) if caption_tag else caption_from(previous, heading)
        rows, header = html_rows(table)
        out.append("\n\n" + "\n".join(render_table(rows, caption, level, header)) + "\n")
    out.append(text[pos:])
    return "".join(out)


def row_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """How a section's text [start, end) is chunked around its tables: each row of a header table on its own
    (a row answers a question by itself), the prose around them as before; a short lead (the heading, a caption
    line) goes with the next row and a short tail with the last row. The rows of a label table (one case) stay
    with their section. No header-table rows: the whole section, [(start, end)]."""
    lines, pos = [], start
    for raw in text[start:end].split("\n"):
        lines.append((pos, pos + len(raw), raw.strip()))
        pos += len(raw) + 1
    blocks: list[list[int]] = []  # runs of fact lines (indexes), blank lines between them allowed
    last_text = -1  # index of the last non-blank line
    for i, (_, _, stripped) in enumerate(lines):
        if not stripped:
            continue
        if SEP in stripped and not stripped.startswith("#"):
            if blocks and blocks[-1][-1] == last_text:
                blocks[-1].append(i)
            else:
                blocks.append([i])
        last_text = i
    rows = {i for block in blocks if not _is_label_block([lines[i][2] for i in block]) for i in block}
    if not rows:
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    prose_start: int | None = start
    for i, (line_start, line_end, stripped) in enumerate(lines):
        if i not in rows:
            if prose_start is None and stripped:
                prose_start = line_start
            continue
        lead = text[prose_start:line_start] if prose_start is not None else ""
        if lead.strip() and len(re.sub(r"\s", "", lead)) < _LEAD:
            spans.append((prose_start, line_end))  # the heading or caption line above the row goes with it
        else:
            if lead.strip():
                spans.append((prose_start, line_start))
            spans.append((line_start, line_end))
        prose_start = None
    if prose_start is not None:
        if len(re.sub(r"\s", "", text[prose_start:end])) < _TAIL:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((prose_start, end))
    return spans


def _is_label_block(rows: list[str]) -> bool:
    """Rows of one label table ("案例：X｜发生时间：…", "案例：X｜灾情：…"): two fields each, one title, a
    different label in every row. Header-table rows repeat their column names."""
    fields = [r.split(SEP) for r in rows]
    if len(rows) < 2 or any(len(f) != 2 for f in fields) or len({f[0] for f in fields}) != 1:
        return False
    labels = [f[1].split("：", 1)[0] for f in fields]
    return len(set(labels)) == len(labels)


def markdown_pipe_tables(text: str) -> str:
    """Markdown pipe tables (a header line, a |---| delimiter line, rows) replaced by their fact lines; the
    caption is the short line above, else the heading above. Fenced code is left alone."""
    if "|" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    level, heading, previous, fenced, i = 0, "", "", False, 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and "|" in stripped and i + 1 < len(lines) and _PIPE_DELIMITER.match(lines[i + 1].strip()):
            rows, i = [_pipe_cells(stripped)], i + 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_pipe_cells(lines[i].strip()))
                i += 1
            out += ["", *render_table(rows, caption_from(previous, heading), level, header=True)]
            previous = ""
            continue
        md = _MD_HEADING.match(stripped)
        if md and not fenced:
            level, heading = len(md.group(1)), md.group(2).strip()
        previous = stripped or previous
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _pipe_cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]
