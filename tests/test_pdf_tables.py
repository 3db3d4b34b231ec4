"""Issue 18, tables in text PDFs: ruled tables read by pdfplumber become one fact chunk per row (caption and
column headers in every row, page kept), their flattened lines leave pypdf's running text, and a row is what
retrieval finds (real loaders, real Chroma, e5 and BM25; no network)."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.ingest import pdf_tables
from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from app.ingest.tables import SEP, row_spans
from app.pipeline import Copilot
from eval.pdfgen import make_pdf

pytestmark = pytest.mark.offline
MB = 2**20
CAPTION = "表1 重点地质灾害隐患点一览表"
HEADER = ["隐患点名称", "位置", "威胁人数", "责任人"]
ROWS = [["青石村后山滑坡", "青石镇青石村3组", "96", "王建国"],
        ["龙潭沟泥石流", "龙潭乡龙潭村", "210", "李春梅"],
        ["白岩崩塌", "白岩镇白岩村5组", "35", "张德富"],
        ["大湾滑坡", "大湾乡新华村2组", "142", "刘志强"],
        ["黑石沟泥石流", "石门镇黑石村", "58", "陈光明"]]
BEFORE = ["一、隐患点基本情况",
          "全县共排查出地质灾害隐患点5处，汛期实行专人监测、逐点落实责任人，发现险情立即报告并组织群众转移。"]
AFTER = ["二、监测措施", "每处隐患点明确一名群测群防员，汛期每日巡查不少于两次，暴雨期间加密巡查。"]


def _fact(row: list[str]) -> str:
    return SEP.join([CAPTION] + [f"{h}：{v}" for h, v in zip(HEADER, row)])


def _plan_pdf(tmp_path, name="plan.pdf"):
    pages = [["示例县2024年汛期地质灾害防治方案", "总则：本方案依据有关规定编制，适用于本县汛期地质灾害防治工作。"],
             BEFORE + [CAPTION, [HEADER] + ROWS] + AFTER]
    return make_pdf(tmp_path / name, pages)


def test_each_row_of_a_ruled_pdf_table_is_a_chunk_with_its_headers_caption_and_page(tmp_path):
    doc = load_file(_plan_pdf(tmp_path), 50 * MB)
    assert doc.warnings == ()
    chunks = chunk_document(doc)
    rows = [c for c in chunks if SEP in c.text]
    assert [c.text for c in rows] == [_fact(r) for r in ROWS]
    assert all(c.page_start == c.page_end == 2 and c.locator == "一、隐患点基本情况" for c in rows)
    body = "\n".join(c.text for c in chunks)
    for row in ROWS:  # the flattened table lines are gone: every cell value only in its row's chunk
        assert body.count(row[0]) == 1 and body.count(row[3]) == 1
    assert "隐患点名称 位置" not in body
    prose = [c for c in chunks if SEP not in c.text]
    assert any("汛期实行专人监测" in c.text for c in prose) and any("暴雨期间加密巡查" in c.text for c in prose)


def test_a_pdf_without_tables_is_read_as_before(tmp_path, monkeypatch):
    from app.ingest import load as load_module

    pages = [["一、总则", "为了高效有序做好突发地质灾害应急工作，制定本预案。", "二、应急响应",
              "发现滑坡前兆时，群测群防员应当立即敲锣示警，组织群众沿避险路线转移。"]]
    pdf = make_pdf(tmp_path / "plain.pdf", pages)
    asked: list[list[int]] = []
    real = load_module.find_tables
    monkeypatch.setattr(load_module, "find_tables", lambda data, numbers: asked.append(numbers) or real(data, numbers))
    doc = load_file(pdf, 50 * MB)
    assert asked == [[]]  # no page draws lines: pdfplumber is not even opened
    monkeypatch.setattr(load_module, "find_tables", lambda data, numbers: ({}, []))  # the text path alone
    assert load_file(pdf, 50 * MB) == doc
    assert [c.locator for c in chunk_document(doc)] == ["一、总则", "二、应急响应"]


def test_a_table_that_goes_on_to_the_next_page_keeps_its_header_and_caption(tmp_path):
    rows = [[f"第{i}号滑坡", f"某镇某村{i}组", str(10 + i), "汛期每日巡查两次，雨后加密观测裂缝变化，发现异常立即组织坡下群众撤离"]
            for i in range(1, 31)]
    pdf = make_pdf(tmp_path / "long.pdf", [["三、防范措施", "表2 隐患点防范措施", [["隐患点名称", "位置", "威胁人数", "防范措施"]] + rows]])
    chunks = [c for c in chunk_document(load_file(pdf, 50 * MB)) if SEP in c.text]
    assert len(chunks) == 30 and chunks[0].page_start == 1 and chunks[-1].page_start > 1  # header repeated
    assert chunks[-1].text == ("表2 隐患点防范措施｜隐患点名称：第30号滑坡｜位置：某镇某村30组｜威胁人数：40｜"
                               "防范措施：汛期每日巡查两次，雨后加密观测裂缝变化，发现异常立即组织坡下群众撤离")


def test_a_continued_table_without_its_header_gets_it_back():
    head, first, rest = ("名称", "人数"), ("甲", "3"), ("乙", "5")
    tables = {1: [pdf_tables.PdfTable(1, (head, first), 500, 780, 842)],
              2: [pdf_tables.PdfTable(2, (rest,), 40, 80, 842)]}
    joined = pdf_tables._join_continued(tables)
    assert joined[2][0].rows == (head, rest) and joined[2][0].continued
    text, caption = pdf_tables.place_tables("乙 5\n正文", joined[2], "表1 名单")
    assert text.split("\n") == ["", "表1 名单｜名称：乙｜人数：5", "", "正文"] and caption == "表1 名单"


def test_a_pdf_pdfplumber_cannot_read_still_ingests_by_its_text_with_a_warning(tmp_path, monkeypatch):
    import pdfplumber

    def broken(*args, **kwargs):
        raise ValueError("damaged cross-reference table")

    monkeypatch.setattr(pdfplumber, "open", broken)
    doc = load_file(_plan_pdf(tmp_path), 50 * MB)
    assert any("表格无法识别" in w for w in doc.warnings)
    text = "\n".join(p.text for p in doc.pages)
    assert "青石村后山滑坡" in text and "暴雨期间加密巡查" in text  # nothing lost: the flattened lines stay


def test_row_spans_split_header_rows_and_keep_a_label_table_together():
    text = ("## 一、情况\n\n表1 隐患点\n\n表1 隐患点｜名称：甲｜人数：3\n\n表1 隐患点｜名称：乙｜人数：5\n\n"
            "以上隐患点均已落实监测责任人，汛期每日巡查，发现险情立即报告乡镇人民政府并组织转移。")
    spans = [text[s:e].strip() for s, e in row_spans(text, 0, len(text))]
    assert spans == ["## 一、情况\n\n表1 隐患点\n\n表1 隐患点｜名称：甲｜人数：3", "表1 隐患点｜名称：乙｜人数：5",
                     "以上隐患点均已落实监测责任人，汛期每日巡查，发现险情立即报告乡镇人民政府并组织转移。"]
    case = "## 案例：甲滑坡\n\n案例：甲滑坡｜发生时间：2020年\n\n案例：甲滑坡｜应对措施：撤离"
    assert row_spans(case, 0, len(case)) == [(0, len(case))]


def test_a_question_on_one_row_value_retrieves_that_row_first(tmp_path):
    copilot = Copilot(load_settings(), tmp_path / "kb")
    results = copilot.ingest([_plan_pdf(tmp_path)])
    assert results[0].status == "added", results[0].message
    hits, _ = copilot.retrieve("龙潭沟泥石流隐患点的责任人是谁？威胁多少人？", k=5)
    top = hits[0].chunk
    assert top.text == _fact(ROWS[1]) and top.page_start == 2
    assert hits[0].to_json()["page"] == "第2页"
    hits, _ = copilot.retrieve("张德富负责的是哪个隐患点？", k=5)
    assert hits[0].chunk.text == _fact(ROWS[2])


def test_a_ruled_frame_around_prose_is_not_a_table(tmp_path):
    prose = "发现滑坡前兆时，群测群防员应当立即敲锣示警，组织受威胁群众沿预定避险路线转移到安置点，并安排专人看守危险区出入口。" * 6
    pdf = make_pdf(tmp_path / "framed.pdf", [["一、注意事项", [["特别提示", "说明"], ["转移", prose]]]])
    text = "\n".join(p.text for p in load_file(pdf, 50 * MB).pages)
    assert SEP not in text and "特别提示" in text
