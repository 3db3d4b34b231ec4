"""Load one file into a RawDoc: Markdown, text (any Chinese encoding), PDF, DOCX, HTML.

Every failure is an IngestError with a one-line Chinese/English reason.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import yaml

from app.ingest.clean import decode_text, join_pdf_lines, line_width_of, normalize, strip_running_lines
from app.ingest.errors import IngestError
from app.schema import Page, RawDoc

SUPPORTED = {".md", ".markdown", ".txt", ".text", ".pdf", ".docx", ".html", ".htm"}
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_ARTICLE_LINE = re.compile(r"^\s*第[一二三四五六七八九十百千零〇两]+条", re.MULTILINE)
_DOCX_MAX_UNZIPPED = 200 * 1024 * 1024


def load_file(path: Path, max_bytes: int) -> RawDoc:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(f"不支持的文件类型 {suffix or '(无扩展名)'}", f"unsupported file type {suffix!r}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError("无法读取文件", f"cannot read file: {exc.strerror}") from exc
    if size == 0:
        raise IngestError("空文件", "empty file")
    if size > max_bytes:
        raise IngestError(
            f"文件过大（{size / 2**20:.0f} MB，上限 {max_bytes / 2**20:.0f} MB）",
            f"file too large ({size / 2**20:.0f} MB > {max_bytes / 2**20:.0f} MB limit)",
        )
    data = path.read_bytes()
    loader = {
        ".pdf": _load_pdf,
        ".docx": _load_docx,
        ".html": _load_html,
        ".htm": _load_html,
    }.get(suffix, _load_text)
    pages, meta, warnings = loader(data)
    body = "\n".join(p.text for p in pages)
    if not body.strip():
        raise IngestError("文件中没有可提取的文字", "no extractable text")
    title = str(meta.pop("title", "") or _guess_title(body, path))
    doc_type = str(meta.pop("doc_type", "") or guess_doc_type(title, body))
    return RawDoc(
        source=str(path.resolve()),
        title=title,
        doc_type=doc_type,
        pages=tuple(pages),
        meta=meta,
        sha256=hashlib.sha256(data).hexdigest(),
        warnings=tuple(warnings),
    )


def guess_doc_type(title: str, body: str) -> str:
    if len(_ARTICLE_LINE.findall(body)) >= 3:
        return "regulation"
    if "预案" in title:
        return "plan"
    if re.search(r"规范|标准|规程|指南|GB|DZ/T", title):
        return "standard"
    if re.search(r"案例|事故|\d{1,2}·\d{1,2}", title):
        return "case"
    return "report"


def _guess_title(body: str, path: Path) -> str:
    for line in body.split("\n")[:30]:
        s = line.strip().lstrip("#").strip()
        if s and len(s) <= 60:
            return s
    return path.stem


def _load_text(data: bytes) -> tuple[list[Page], dict, list[str]]:
    text = normalize(decode_text(data))
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            parsed = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            parsed = None
        if isinstance(parsed, dict):
            meta = {str(k): v for k, v in parsed.items()}
            text = text[match.end():]
    return [Page(text)], meta, []


def _load_pdf(data: bytes) -> tuple[list[Page], dict, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("PDF 已加密，无法读取", "encrypted PDF")
        raw_pages = [(page.extract_text() or "") for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError("PDF 文件损坏或格式无效", f"corrupt or invalid PDF ({type(exc).__name__})") from exc
    except Exception as exc:  # pypdf raises many internal types on hostile files
        raise IngestError("PDF 文件损坏或格式无效", f"corrupt or invalid PDF ({type(exc).__name__})") from exc
    if not raw_pages:
        raise IngestError("PDF 没有页面", "PDF has no pages")
    stripped = strip_running_lines([normalize(t) for t in raw_pages])
    pages, empty = [], []
    full_width = line_width_of(stripped)
    for number, text in enumerate(stripped, start=1):
        joined = join_pdf_lines(text, full_width)
        if len(joined.strip()) < 5:
            empty.append(number)
        pages.append(Page(joined, number))
    if len(empty) == len(pages):
        raise IngestError(
            "PDF 没有文字层（可能是扫描件），需要先做 OCR",
            "PDF has no text layer (scanned?); OCR needed",
        )
    warnings = []
    if empty:
        listed = "、".join(map(str, empty))
        warnings.append(f"第{listed}页无文字层，需要 OCR / pages {listed} have no text (OCR needed)")
    meta = {"title": info_title.strip()} if info_title.strip() else {}
    return pages, meta, warnings


def _load_docx(data: bytes) -> tuple[list[Page], dict, list[str]]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > _DOCX_MAX_UNZIPPED:
                raise IngestError("DOCX 解压后过大（疑似压缩炸弹）", "DOCX expands too much (zip bomb?)")
        document = docx.Document(io.BytesIO(data))
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError("DOCX 文件损坏或格式无效", f"corrupt or invalid DOCX ({type(exc).__name__})") from exc
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(element, document)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = re.match(r"(?:Heading|标题)\s*(\d)", style)
            lines.append(f"{'#' * int(level.group(1))} {text}" if level else text)
            lines.append("")
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells = [c.text.strip().replace("\n", " ") for c in row.cells]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    title = (document.core_properties.title or "").strip()
    return [Page(normalize("\n".join(lines)))], ({"title": title} if title else {}), []


def _load_html(data: bytes) -> tuple[list[Page], dict, list[str]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    lines: list[str] = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "div"]):
        if el.name == "div" and el.find(["p", "div", "h1", "h2", "h3", "h4", "li", "table"]):
            continue
        if el.find_parent(["p", "li", "tr", "pre"]):
            continue
        if el.name == "tr":
            text = "| " + " | ".join(c.get_text(" ", strip=True) for c in el.find_all(["td", "th"])) + " |"
        else:
            text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            text = f"{'#' * int(el.name[1:])} {text}"
        lines.append(text)
    return [Page(normalize("\n".join(lines)))], ({"title": title} if title else {}), []
