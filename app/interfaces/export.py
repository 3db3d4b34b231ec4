"""Files a person takes away: duty briefs as DOCX and Markdown, one timestamped version per save."""

from __future__ import annotations

import re
import time
from pathlib import Path

from app.interfaces.figures import LEGEND
from app.interfaces.html import escape_markdown
from app.reason.brief import KINDS, check_brief, render_brief, shown_elements


def brief_docx(kind: str, fields: dict[str, str], path: Path, written_at: float, figure: bytes | None = None) -> Path:
    """A one-page brief: title, time sent, a two-column table of the required elements (and the filled optional
    ones), the runout profile `figure` (PNG) with its legend, the gap list."""
    import io

    from docx import Document
    from docx.shared import Cm, Pt

    doc = Document()
    doc.core_properties.title = KINDS[kind]
    doc.core_properties.subject = kind
    doc.add_heading(KINDS[kind], level=1)
    doc.add_paragraph("报送时间：" + time.strftime("%Y年%m月%d日%H时%M分", time.localtime(written_at)))
    rows = shown_elements(kind, fields)
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (key, label, _) in zip(table.rows, rows):
        row.cells[0].text = label
        row.cells[1].text = (fields.get(key) or "").strip() or "【待补充】"
    if figure:
        doc.add_paragraph("影响范围剖面示意（程序按经验公式计算，不替代现场调查）")
        doc.add_picture(io.BytesIO(figure), width=Cm(16))
        doc.add_paragraph(LEGEND).runs[0].font.size = Pt(9)
    check = check_brief(kind, fields)
    if check.missing or check.warnings:
        note = doc.add_paragraph()
        run = note.add_run("完整性检查：" + "；".join(
            ([f"缺少{'、'.join(check.missing)}"] if check.missing else []) + check.warnings))
        run.font.size = Pt(10)
        run.bold = True
    doc.save(path)
    return path


def save_brief_version(briefs_dir: Path, kind: str, fields: dict[str, str],
                       written_at: float | None = None, figure: bytes | None = None) -> tuple[Path, Path]:
    """Write `<kind>-<timestamp>.md` and `.docx` (with the runout `figure` when given); earlier versions are
    kept, never overwritten."""
    written_at = written_at or time.time()
    briefs_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(written_at))
    base = briefs_dir / f"{_safe(kind)}-{stamp}"
    n = 1
    while base.with_suffix(".md").exists():
        n += 1
        base = briefs_dir / f"{_safe(kind)}-{stamp}-{n}"
    md = base.with_suffix(".md")
    md.write_text(render_brief(kind, {k: escape_markdown(v or "") for k, v in fields.items()}, written_at),
                  encoding="utf-8")  # Markdown export: field text (document titles included) shown, never linked
    return md, brief_docx(kind, fields, base.with_suffix(".docx"), written_at, figure)


def brief_versions(briefs_dir: Path) -> list[Path]:
    """Saved versions, newest first."""
    if not briefs_dir.is_dir():
        return []
    return sorted(briefs_dir.glob("*.md"), key=lambda p: p.stat().st_mtime, reverse=True)


def _safe(name: str) -> str:
    return re.sub(r"[^\w\u4e00-\u9fff-]", "_", name)
