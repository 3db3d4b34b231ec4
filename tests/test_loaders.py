"""Loaders on real files made in the test: PDF (embedded CJK font), DOCX, HTML, GB18030/UTF-16 text, bad input."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.ingest.chunk import chunk_document
from app.ingest.errors import IngestError
from app.ingest.load import load_file
from eval.pdfgen import make_pdf

MB = 2**20
LONG = "为了做好地质灾害防治工作，保护人民群众生命财产安全，制定本预案。这一句话很长，需要在页面上自动换行，换行之后应当重新拼接成完整的一句话。"


def test_multi_page_pdf_keeps_page_numbers_and_drops_running_header_and_page_numbers(tmp_path):
    pdf = make_pdf(tmp_path / "plan.pdf", [
        ["示例市突发地质灾害应急预案", "1 总则", LONG],
        ["2 应急响应", "发生特大型地质灾害时，启动Ⅰ级响应，由省人民政府统一指挥。"],
        ["3 信息报告", "接到大型以上地质灾害报告后，应当在1小时内报告市人民政府。"],
    ], header="示例市自然资源局文件")
    doc = load_file(pdf, 50 * MB)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    full = "\n".join(p.text for p in doc.pages)
    assert "示例市自然资源局文件" not in full and "- 2 -" not in full
    assert LONG in full  # the line the PDF broke is whole again
    chunks = chunk_document(doc)
    by_locator = {c.locator: c for c in chunks}
    assert by_locator["2"].page_start == by_locator["2"].page_end == 2
    assert by_locator["3"].page_start == 3 and "1小时内" in by_locator["3"].text


def test_pdf_page_without_text_is_named_as_needing_ocr(tmp_path):
    pdf = make_pdf(tmp_path / "scan.pdf", [["1 总则", LONG], [], ["2 附则", "本预案自发布之日起施行，由市自然资源局负责解释。"]])
    doc = load_file(pdf, 50 * MB)
    assert any("第2页" in w and "OCR" in w for w in doc.warnings)


def test_pdf_with_no_text_at_all_needs_ocr(tmp_path):
    pdf = make_pdf(tmp_path / "image_only.pdf", [[], []])
    with pytest.raises(IngestError, match="OCR"):
        load_file(pdf, 50 * MB)


def test_encrypted_pdf_is_refused(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", [["1 总则", LONG]])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="加密"):
        load_file(locked, 50 * MB)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n1 0 obj << /Type /Catalog", b"%PDF-", b"not a pdf at all" * 10])
def test_corrupt_pdf_is_refused_with_a_reason(tmp_path, data):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(data)
    with pytest.raises(IngestError, match="PDF"):
        load_file(bad, 50 * MB)


def test_truncated_real_pdf_is_refused_or_loaded_never_crashes(tmp_path):
    pdf = make_pdf(tmp_path / "whole.pdf", [["1 总则", LONG], ["2 附则", LONG]])
    data = pdf.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    try:
        doc = load_file(cut, 50 * MB)
    except IngestError as exc:
        assert "PDF" in str(exc)
    else:
        assert doc.pages


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-8-sig", "utf-8"])
def test_chinese_text_in_any_common_encoding_loads_without_mojibake(tmp_path, encoding):
    text = "第一条 为了防治地质灾害，制定本办法。\n第二条 滑坡、崩塌、泥石流属于地质灾害。\n第三条 本办法自公布之日起施行。"
    path = tmp_path / f"law-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_file(path, 50 * MB)
    assert doc.pages[0].text.strip() == text
    assert doc.doc_type == "regulation"
    assert [c.locator for c in chunk_document(doc)] == ["第一条", "第二条", "第三条"]


def test_docx_keeps_headings_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.core_properties.title = "示例县地质灾害防治方案"
    document.add_heading("一、隐患点情况", level=1)
    document.add_paragraph("全县共有地质灾害隐患点12处，其中滑坡9处、崩塌3处，威胁人数共计860人。")
    table = document.add_table(rows=2, cols=3)
    for i, cell in enumerate(["隐患点", "类型", "威胁人数"]):
        table.rows[0].cells[i].text = cell
    for i, cell in enumerate(["青石村后山", "滑坡", "96"]):
        table.rows[1].cells[i].text = cell
    document.add_heading("二、监测措施", level=1)
    document.add_paragraph("每处隐患点明确一名群测群防员，汛期每日巡查不少于两次。")
    path = tmp_path / "plan.docx"
    document.save(path)
    doc = load_file(path, 50 * MB)
    assert doc.title == "示例县地质灾害防治方案"
    chunks = chunk_document(doc)
    assert [c.locator for c in chunks] == ["一、隐患点情况", "二、监测措施"]
    assert "一、隐患点情况｜隐患点：青石村后山｜类型：滑坡｜威胁人数：96" in chunks[0].text  # a row carries its headers


def test_html_drops_scripts_and_keeps_headings(tmp_path):
    html = """<html><head><title>示例省地质灾害应急预案</title><script>alert('x')</script></head>
    <body><h2>1.1 编制目的</h2><p>为了高效有序地做好地质灾害应急工作，最大程度减少人员伤亡，制定本预案。</p>
    <script>document.write('坏内容')</script><h2>1.2 适用范围</h2><p>本预案适用于本省行政区域内突发地质灾害的应对工作。</p>
    <table><tr><td>等级</td><td>人数</td></tr></table></body></html>"""
    path = tmp_path / "plan.html"
    path.write_bytes(html.encode("gb18030"))
    doc = load_file(path, 50 * MB)
    body = doc.pages[0].text
    assert doc.title == "示例省地质灾害应急预案"
    assert "alert" not in body and "坏内容" not in body
    assert [c.locator for c in chunk_document(doc)] == ["1.1", "1.2"]


def test_empty_junk_unsupported_and_oversized_files_get_one_line_reasons(tmp_path):
    cases = {
        "empty.md": (b"", "空文件"),
        "junk.txt": (bytes(range(256)) * 50, "二进制"),
        "nul.md": (b"\x00\x01\x02" * 100, "二进制"),
        "sheet.xlsx": (b"PK\x03\x04", "不支持"),
        "big.txt": ("第一条 内容。".encode() * 200_000, "过大"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(IngestError, match=reason) as info:
            load_file(path, 1 * MB)
        assert "\n" not in str(info.value) and " / " in str(info.value)  # one line, Chinese / English


def test_docx_that_expands_too_much_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\x00" * (210 * MB))
    path = tmp_path / "bomb.docx"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 2 * MB
    with pytest.raises(IngestError, match="压缩炸弹"):
        load_file(path, 50 * MB)


def test_markdown_pipe_table_rows_carry_caption_and_headers_and_are_chunks_of_their_own(tmp_path):
    md = tmp_path / "card.md"
    md.write_text("# 预警响应（知识卡）\n\n## 一、预警等级与响应措施\n\n表1 预警等级与响应措施\n\n"
                  "| 预警等级 | 颜色 | 响应措施 |\n|:---|:---:|---|\n| 一级 | 红色 | 立即组织危险区内群众全部转移 |\n"
                  "| 三级 | 黄色 | 加密巡查，做好转移准备 |\n\n表中措施为最低要求，各地可结合实际加严，但不得降低。\n\n"
                  "## 二、示例\n\n```\n| 不是 | 表格 |\n|---|---|\n| 代码 | 原样 |\n```\n", encoding="utf-8")
    chunks = chunk_document(load_file(md, 50 * MB))
    rows = [c.text for c in chunks if "｜" in c.text]
    assert rows[0].endswith("表1 预警等级与响应措施｜预警等级：一级｜颜色：红色｜响应措施：立即组织危险区内群众全部转移")
    assert rows[1] == "表1 预警等级与响应措施｜预警等级：三级｜颜色：黄色｜响应措施：加密巡查，做好转移准备"
    assert {c.locator for c in chunks if "｜" in c.text} == {"一、预警等级与响应措施"}
    assert any(c.text == "表中措施为最低要求，各地可结合实际加严，但不得降低。" for c in chunks)
    assert "| 代码 | 原样 |" in chunks[-1].text  # a table inside fenced code is left as it is
