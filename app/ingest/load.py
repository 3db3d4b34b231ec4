"""Load one file into a RawDoc: Markdown, text (any Chinese encoding), PDF, DOCX, HTML.

Every failure is an IngestError with a one-line Chinese/English reason.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from pathlib import Path

import yaml

from app.ingest.clean import decode_text, join_pdf_lines, line_width_of, normalize, strip_running_lines
from app.ingest.errors import IngestError
from app.ingest.meta import describe, document_title
from app.ingest.pdf_tables import find_tables, place_tables, ruled_pages
from app.ingest.tables import (caption_from, docx_header, html_rows, markdown_html_tables, markdown_pipe_tables,
                               render_table)
from app.ingest.ocr import OcrOptions, needs_ocr, ocr_pdf_pages, readable_chars
from app.ingest.ocr import available as ocr_available
from app.schema import Page, RawDoc

SUPPORTED = {".md", ".markdown", ".txt", ".text", ".pdf", ".docx", ".html", ".htm"}
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_ARTICLE_LINE = re.compile(r"^\s*第[一二三四五六七八九十百千零〇两]+条", re.MULTILINE)
_DOCX_MAX_UNZIPPED = 200 * 1024 * 1024
_HTML_TEXT = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "div", "table"}
_HTML_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "li", "table"}


def load_file(path: Path, max_bytes: int, *, ocr: OcrOptions | None = None) -> RawDoc:
    """`ocr`: threads and per-page progress for PDF pages without a usable text layer (default: OCR on, 2
    threads); OcrOptions(enabled=False) only names such pages in a warning."""
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
        ".pdf": lambda raw: _load_pdf(raw, ocr or OcrOptions()),
        ".docx": _load_docx,
        ".html": _load_html,
        ".htm": _load_html,
    }.get(suffix, _load_text)
    pages, meta, warnings = loader(data)
    body = "\n".join(p.text for p in pages)
    if not body.strip():
        raise IngestError("文件中没有可提取的文字", "no extractable text")
    title = document_title(str(meta.pop("title", "") or ""), body, path)
    doc_type = str(meta.pop("doc_type", "") or guess_doc_type(title, body))
    meta = describe(title, doc_type, body, meta)
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
    return [Page(normalize(markdown_pipe_tables(markdown_html_tables(text))))], meta, []


def _load_pdf(data: bytes, ocr: OcrOptions) -> tuple[list[Page], dict, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("PDF 已加密，无法读取", "encrypted PDF")
        raw_pages = [(page.extract_text() or "") for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
        active = _pdf_active_content(reader)
        ruled = ruled_pages(reader)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError("PDF 文件损坏或格式无效", f"corrupt or invalid PDF ({type(exc).__name__})") from exc
    except Exception as exc:  # pypdf raises many internal types on hostile files
        raise IngestError("PDF 文件损坏或格式无效", f"corrupt or invalid PDF ({type(exc).__name__})") from exc
    if not raw_pages:
        raise IngestError("PDF 没有页面", "PDF has no pages")
    warnings = []
    scanned = [n for n, t in enumerate(raw_pages, start=1) if needs_ocr(t)]
    ocr_done: set[int] = set()  # pages whose text is now the OCR's
    tried: set[int] = set()  # pages OCR read (possibly finding nothing)
    if scanned and ocr.enabled and ocr_available():
        start = time.perf_counter()
        texts, ocr_warnings = ocr_pdf_pages(data, scanned, ocr)
        warnings += ocr_warnings
        tried = set(texts)
        for number, text in texts.items():
            layer = raw_pages[number - 1]
            if readable_chars(text) <= readable_chars(layer):
                continue  # a page of a few real words ("附则", a page number) where OCR read no more
            raw_pages[number - 1] = text
            ocr_done.add(number)
        listed = _page_list(sorted(ocr_done))
        if ocr_done:
            warnings.append(f"第{listed}页无可用文字层，已 OCR 识别（{time.perf_counter() - start:.0f} 秒），请核对原件 / "
                            f"pages {listed} had no usable text layer and were OCR'd")
    stripped = strip_running_lines([normalize(t) for t in raw_pages])
    tables, table_warnings = find_tables(data, [n for n in ruled if n not in ocr_done])
    warnings += table_warnings
    pages, empty, caption = [], [], ""
    full_width = line_width_of(stripped)
    for number, text in enumerate(stripped, start=1):
        if number in tables:  # ruled tables: their flattened lines become one fact line per row
            text, caption = place_tables(text, tables[number], caption)
        joined = join_pdf_lines(normalize(text), full_width)
        if len(joined.strip()) < 5:
            empty.append(number)
        pages.append(Page(joined, number, ocr=number in ocr_done))
    if len(empty) == len(pages):
        if tried:
            raise IngestError("PDF 没有文字层，OCR 也未识别出文字", "PDF has no text layer and OCR found no text")
        raise IngestError(
            "PDF 没有文字层（可能是扫描件），需要先做 OCR",
            "PDF has no text layer (scanned?); OCR needed",
        )
    if active:
        warnings.append(f"PDF 含有{'、'.join(zh for zh, _ in active)}，已忽略，不会执行 / PDF contains "
                        f"{', '.join(en for _, en in active)}: ignored, never run")
    unread = [n for n in scanned if n not in tried]
    if unread:
        listed = _page_list(unread)
        warnings.append(f"第{listed}页无文字层，需要 OCR / pages {listed} have no text (OCR needed)")
    blank = [n for n in empty if n in tried]
    if blank:
        listed = _page_list(blank)
        warnings.append(f"第{listed}页 OCR 未识别出文字 / pages {listed}: OCR found no text")
    meta = {"title": info_title.strip()} if info_title.strip() else {}
    return pages, meta, warnings


def _page_list(numbers: list[int]) -> str:
    return "、".join(map(str, numbers))


def _pdf_active_content(reader) -> list[tuple[str, str]]:
    """What a PDF would run or open by itself (JavaScript, open/page actions, attachments); we only read text."""
    found = []
    try:
        root = reader.trailer["/Root"].get_object()
        names = root.get("/Names")
        names = names.get_object() if names is not None else {}
        if "/JavaScript" in names or "/JS" in str(root.get("/OpenAction", "")):
            found.append(("JavaScript", "JavaScript"))
        if _is_action(root.get("/OpenAction")) or "/AA" in root:  # a bare destination only sets the first view
            found.append(("自动动作（OpenAction/AA）", "automatic actions (OpenAction/AA)"))
        if "/EmbeddedFiles" in names:
            found.append(("嵌入附件", "embedded files"))
    except Exception:  # a damaged catalog: the text is what we read, this check is only a warning
        pass
    return found


def _is_action(value) -> bool:
    """An /OpenAction that does something (an action dictionary), not an initial-view destination array."""
    value = value.get_object() if hasattr(value, "get_object") else value
    return isinstance(value, dict) and "/S" in value


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
    level, heading, previous = 0, "", ""
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(element, document)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            match = re.match(r"(?:Heading|标题)\s*(\d)", style)
            if match:
                level, heading = int(match.group(1)), text
            lines.append(f"{'#' * int(match.group(1))} {text}" if match else text)
            lines.append("")
            previous = text
        elif tag == "tbl":
            table = Table(element, document)
            rows = [[c.text for c in row.cells] for row in table.rows]
            lines += render_table(rows, caption_from(previous, heading), level, docx_header(table))
            previous = ""
    title = (document.core_properties.title or "").strip()
    return [Page(normalize("\n".join(lines)))], ({"title": title} if title else {}), []


def _load_html(data: bytes) -> tuple[list[Page], dict, list[str]]:
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(decode_text(data), "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    lines: list[str] = []
    # One pass each way, linear in the number of elements: a hostile page of 200,000 nested <div>s used to
    # take hours here (a descendant search per div and an ancestor search per element).
    elements = soup.find_all(True)
    has_block: dict[int, bool] = {}  # a div holding paragraphs, headings, lists or tables is only a container
    for el in reversed(elements):
        has_block[id(el)] = any(c.name in _HTML_BLOCKS or has_block.get(id(c), False)
                                for c in el.children if isinstance(c, Tag))
    taken: set[int] = set()  # elements whose text an enclosing element already gave
    level, heading, previous = 0, "", ""  # for a table's caption: the heading and the line above it
    for el in elements:
        if el.parent is not None and id(el.parent) in taken:
            taken.add(id(el))
            continue
        if el.name not in _HTML_TEXT or (el.name == "div" and has_block[id(el)]):
            continue
        taken.add(id(el))
        if el.name == "table":
            caption = el.find("caption")
            caption = caption.get_text(" ", strip=True) if caption else caption_from(previous, heading)
            rows, header = html_rows(el)
            lines += render_table(rows, caption, level, header)
            previous = ""
            continue
        if el.name == "tr":
            text = "| " + " | ".join(c.get_text(" ", strip=True) for c in el.find_all(["td", "th"])) + " |"
        else:
            text = el.get_text(" ", strip=True)
        if not text:
            continue
        previous = text
        if el.name[0] == "h" and el.name[1:].isdigit():
            level, heading = int(el.name[1:]), text
            text = f"{'#' * level} {text}"
        lines.append(text)
    return [Page(normalize("\n".join(lines)))], ({"title": title} if title else {}), []
