"""Make real PDFs with an embedded CJK font, offline: a tiny TrueType font is built with fontTools
(one box glyph per character used), then fpdf2 embeds it (subset + ToUnicode map) page by page."""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen


def build_cjk_font(path: Path, text: str) -> Path:
    chars = sorted({c for c in text if not c.isspace()} | {" "})
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        if name != "uni0020":
            pen.moveTo((100, 0))
            pen.lineTo((100, 700))
            pen.lineTo((900, 700))
            pen.lineTo((900, 0))
            pen.closePath()
        glyphs[name] = pen.glyph()
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (1000, 100) for n in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "TestCJK", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))
    return path


Table = list[list[str]]  # rows of cells, the first row naming the columns


def make_pdf(path: Path, pages: list[list[str | Table]], header: str | None = None, title: str | None = None) -> Path:
    """One list of lines per page, where an item may also be a table (drawn ruled, one line per cell border); an
    optional running header and a page number on every page; `title` sets the PDF's metadata title (word
    processors often leave junk there: "Microsoft Word - 文档1")."""
    from fpdf import FPDF

    cells = [c for p in pages for item in p if not isinstance(item, str) for row in item for c in row]
    all_text = "".join(item for p in pages for item in p if isinstance(item, str)) + "".join(cells) + (
        header or "") + "0123456789-第页共 "
    font = build_cjk_font(path.with_suffix(".ttf"), all_text)
    class Document(FPDF):
        def header(self):
            if header:
                self.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.cell(0, 8, f"- {self.page_no()} -", align="C")

    pdf = Document()
    if title is not None:
        pdf.set_title(title)
    pdf.add_font("TestCJK", fname=str(font))
    pdf.set_font("TestCJK", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            if isinstance(line, str):
                pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
            else:
                _table(pdf, line)
    pdf.output(str(path))
    return path


def _table(pdf, rows: Table) -> None:
    from fpdf.fonts import FontFace

    with pdf.table(headings_style=FontFace(emphasis=""), line_height=7) as table:  # the test font has no bold
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)
