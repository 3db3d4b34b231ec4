"""Issue 18, documents as they arrive: scanned PDFs with a seal (OCR), case compilations in DOCX tables, HTML
tables in Markdown, traditional characters. Real loaders, real OCR (RapidOCR models inside the wheel), real Chroma,
e5 and BM25; no network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import load_settings
from app.ingest import load as load_module
from app.ingest.chunk import OCR_MARK, chunk_document
from app.ingest.load import load_file
from app.ingest.ocr import layout_lines, needs_ocr, remove_seal
from app.ingest.tables import table_facts
from app.ingest.variants import fold
from app.pipeline import Copilot
from eval.pdfgen import make_pdf
from eval.scanpdf import cjk_font_path, make_scanned_pdf

pytestmark = pytest.mark.offline
MB = 2**20
CASES = [
    ("水城鸡场镇滑坡", "2019年7月23日", "强降雨诱发山体滑坡，造成21栋房屋被埋，多人失联。",
     "立即启动Ⅰ级应急响应，调集消防救援力量搜救被埋人员，转移安置受威胁群众并封控滑坡区。"),
    ("兴文县五星镇崩塌", "2020年6月12日", "群测群防员巡查发现危岩体裂缝加宽，并有零星落石。",
     "村委会当晚组织32户110人撤离，设置警戒线，专业队伍次日开展应急调查，无人员伤亡。"),
    ("石门县雷家山滑坡", "2020年7月4日", "持续强降雨后坡体后缘出现拉裂缝，前缘鼓胀。",
     "监测预警系统发出红色预警后，提前转移9户24人，滑坡发生时无人员伤亡。"),
]


@pytest.fixture
def copilot(tmp_path):
    return Copilot(load_settings(), tmp_path / "kb")


# ---- OCR -----------------------------------------------------------------------------------------------------
def test_garbage_text_layers_need_ocr_and_real_text_does_not():
    assert needs_ocr("") and needs_ocr("- 3 -")
    assert needs_ocr("\ue012\ue013\ue014\ue015\ue016\ue017\ue018\ue019")  # private-use glyphs of an unmapped font
    assert needs_ocr("µØÖÊÔÖº¦·ÀÖÎÌõÀý ¹ú¼Ò·¢²¼")  # GBK bytes read as Latin-1
    assert not needs_ocr("第十九条 地质灾害预报由县级以上人民政府自然资源主管部门会同气象主管机构发布。")
    assert not needs_ocr("GB/T 32864-2016 Landslide monitoring and early warning")


def test_seal_ink_is_whitened_and_black_print_kept():
    image = np.full((4, 4, 3), 255, dtype=np.uint8)
    image[0, 0] = (215, 30, 35)  # seal red
    image[1, 1] = (20, 20, 20)  # print
    image[2, 2] = (18, 10, 10)  # print under the seal (ink multiplies: stays dark)
    image[3, 3] = (240, 200, 200)  # the seal's pink edge, smeared by JPEG
    cleaned = remove_seal(image)
    assert cleaned[0, 0].min() >= 215 and cleaned[3, 3].min() >= 240  # as light as paper for the recogniser
    assert cleaned[1, 1].max() <= 30 and cleaned[2, 2].max() <= 30  # print stays dark


def test_ocr_boxes_are_read_in_lines_left_to_right():
    box = lambda x, y, w: [[x, y], [x + w, y], [x + w, y + 20], [x, y + 20]]  # noqa: E731
    result = [(box(300, 52, 100), "红色预警", 0.9), (box(10, 50, 200), "等级", 0.95),
              (box(10, 10, 300), "表1 预警等级", 0.99), (box(10, 90, 200), "噪声", 0.2)]
    assert layout_lines(result) == "表1 预警等级\n等级 红色预警"


def test_pages_with_a_text_layer_are_never_ocrd_and_garbage_pages_are(tmp_path, monkeypatch):
    asked = []

    def fake_ocr(data, numbers, options):
        asked.extend(numbers)
        said = {2: "二、险情处置\n发现险情后，群测群防员立即组织群众撤离。",
                3: "三、转移安置\n撤离后由专人看守危险区出入口，防止群众返回。"}
        return {n: said[n] for n in numbers}, []

    monkeypatch.setattr(load_module, "ocr_pdf_pages", fake_ocr)
    pdf = make_pdf(tmp_path / "mixed.pdf", [
        ["一、总则", "为了做好地质灾害防治工作，保护人民群众生命财产安全，制定本预案。"],
        ["\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007\ue008\ue009"],  # an unmapped font: private-use glyphs
        [],
    ])
    doc = load_file(pdf, 50 * MB)
    assert asked == [2, 3]
    assert [p.ocr for p in doc.pages] == [False, True, True]
    chunks = chunk_document(doc)
    ocr_chunks = [c for c in chunks if c.ocr]
    assert [c.locator for c in ocr_chunks] == ["二、险情处置" + OCR_MARK, "三、转移安置" + OCR_MARK]
    assert [c.page_start for c in ocr_chunks] == [2, 3]
    assert not any(c.ocr for c in chunks if c.page_end == 1)
    assert any("OCR" in w for w in doc.warnings)


@pytest.mark.skipif(cjk_font_path() is None, reason="needs a CJK system font to draw the scanned pages")
def test_scanned_pdf_with_a_seal_is_ocrd_offline_and_retrieved_with_its_page(copilot, tmp_path):
    pages = [
        ["示例县突发地质灾害应急预案", "一、总则", "为了高效有序做好突发地质灾害应急工作，制定本预案。",
         "本预案适用于本县行政区域内突发地质灾害的应急处置。"],
        ["四、应急响应", "发现滑坡前兆时，群测群防员应当立即敲锣示警，",
         "组织受威胁群众沿预定避险路线转移到青龙寺安置点。", "转移后安排专人看守危险区出入口。"],
    ]
    pdf = make_scanned_pdf(tmp_path / "scan.pdf", pages, seal="示例县自然资源局")
    progress = []
    results = copilot.ingest([pdf], on_ocr_page=lambda path, done, total, page, s: progress.append((done, total, page)))
    assert results[0].status == "added", results[0].message
    assert progress == [(1, 2, 1), (2, 2, 2)]
    hits, _ = copilot.retrieve("发现滑坡前兆后群众转移到哪个安置点？", k=3)
    top = hits[0].chunk
    assert "青龙寺安置点" in top.text
    assert top.page_start == 2 and top.ocr and top.locator.endswith(OCR_MARK)
    assert hits[0].to_json()["page"] == "第2页"
    assert "自然资源局" not in " ".join(c.text for c in copilot.kb.chunks_of(top.source))  # the seal is not text


# ---- tables --------------------------------------------------------------------------------------------------
def _case_compilation(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("地质灾害成功避险与应急处置案例汇编", level=1)
    document.add_paragraph("本汇编收录近年来典型地质灾害应急处置案例，供值班人员参考。")
    for name, when, what, measures in CASES:
        table = document.add_table(rows=4, cols=2)
        for row, (label, value) in zip(table.rows, [("案例", name), ("发生时间", when), ("灾情", what),
                                                      ("应对措施", measures)]):
            row.cells[0].text, row.cells[1].text = label, value
    document.save(path)
    return path


def test_docx_case_tables_chunk_per_case_with_the_title_in_every_row(tmp_path):
    doc = load_file(_case_compilation(tmp_path / "cases.docx"), 50 * MB)
    chunks = chunk_document(doc)
    by_case = {c.locator: c for c in chunks if c.locator.startswith("案例：")}
    assert list(by_case) == [f"案例：{name}" for name, *_ in CASES]
    for name, when, what, measures in CASES:
        chunk = by_case[f"案例：{name}"]
        rows = [ln for ln in chunk.text.split("\n") if "｜" in ln]
        assert rows == [f"案例：{name}｜发生时间：{when}", f"案例：{name}｜灾情：{what}",
                        f"案例：{name}｜应对措施：{measures}"]
        assert all(other not in chunk.text for other, *_ in CASES if other != name)


def test_table_shapes_header_rows_and_merged_title_row():
    heading, lines = table_facts([["等级", "颜色", "措施"], ["一级", "红色", ""]], "表2 预警等级")
    assert heading == "" and lines == ["表2 预警等级｜等级：一级｜颜色：红色"]
    heading, lines = table_facts([["等级", "颜色"], ["一级", "红色"]], "表2", header=True)  # <th> or bold row
    assert heading == "" and lines == ["表2｜等级：一级｜颜色：红色"]
    heading, lines = table_facts([["兴文县崩塌", "兴文县崩塌"], ["时间", "2020年"], ["措施", "撤离"]], "")
    assert heading == "兴文县崩塌" and lines == ["兴文县崩塌｜时间：2020年", "兴文县崩塌｜措施：撤离"]


def test_case_table_rows_and_markdown_html_table_rows_are_retrieved(copilot, tmp_path):
    md = tmp_path / "warning.md"
    md.write_text("# 示例县地质灾害气象风险预警响应\n\n## 预警等级与响应措施\n\n表1 预警等级与响应措施\n\n"
                  "<table><tr><th>预警等级</th><th>颜色</th><th>响应措施</th></tr>"
                  "<tr><td>一级</td><td>红色</td><td>立即组织危险区内全部群众转移，乡镇干部包村到户</td></tr>"
                  "<tr><td>三级</td><td>黄色</td><td>加密巡查频次至每日两次，做好转移准备</td></tr></table>\n",
                  encoding="utf-8")
    results = copilot.ingest([_case_compilation(tmp_path / "cases.docx"), md])
    assert [r.status for r in results] == ["added", "added"]
    hits, _ = copilot.retrieve("石门县雷家山滑坡当时采取了哪些应对措施？", k=3)
    assert hits[0].chunk.locator == "案例：石门县雷家山滑坡" and "提前转移9户24人" in hits[0].chunk.text
    hits, _ = copilot.retrieve("黄色预警时要做什么？", k=3)
    assert "表1 预警等级与响应措施｜预警等级：三级｜颜色：黄色｜响应措施：加密巡查频次" in hits[0].chunk.text


# ---- traditional characters ----------------------------------------------------------------------------------
TRADITIONAL = """# 示例縣地質災害防治辦法

第一條 為了防治地質災害，保護人民生命和財產安全，制定本辦法。

第二條 本辦法適用於本縣行政區域內地質災害的防治。

第三條 發現滑坡、崩塌、泥石流等地質災害險情的單位和個人，應當立即向當地人民政府或者自然資源主管部門報告。

第四條 群測群防員發現險情後，應當在30分鐘內報告鄉鎮人民政府，並立即組織受威脅群眾撤離。
"""


def test_traditional_document_answers_a_simplified_question_and_shows_its_own_text(copilot, tmp_path):
    plan = tmp_path / "traditional.md"
    plan.write_text(TRADITIONAL, encoding="utf-8")
    simplified = tmp_path / "simplified.md"
    simplified.write_text("# 示例市地质灾害应急避险指南\n\n## 一、泥石流避险\n\n"
                          "遇到泥石流时，应当向沟谷两侧山坡上跑，不要顺着沟谷方向往上游或者下游跑。\n", encoding="utf-8")
    assert [r.status for r in copilot.ingest([plan, simplified])] == ["added", "added"]
    chunks = {c.locator: c for c in chunk_document(load_file(plan, 50 * MB))}
    assert {"第三條", "第四條"} <= set(chunks)  # articles found in traditional writing
    for mode in ("hybrid", "lexical", "dense"):
        hits, _ = copilot.retrieve("群测群防员发现险情后多长时间内要报告？", k=3, mode=mode)
        assert hits[0].chunk.locator == "第四條", mode
        assert "30分鐘內" in hits[0].chunk.text  # shown as written
    from app.retrieve.gate import evidence_coverage

    coverage, missing = evidence_coverage("群测群防员发现险情后多长时间内要报告？", hits[:1])
    assert coverage >= 0.5, missing
    hits, _ = copilot.retrieve("遇到泥石流時應該往哪裡跑？", k=3, mode="lexical")  # and the other way round
    assert "沟谷两侧" in hits[0].chunk.text


def test_fold_keeps_simplified_text_unchanged():
    text = "地质灾害防治条例第十九条：地质灾害预报由县级以上人民政府发布，显著、干燥。"
    assert fold(text) == text
    assert fold("地質災害應急預案") == "地质灾害应急预案"


@pytest.mark.slow
def test_traditional_document_answers_a_simplified_question_with_a_citation_real_model(tmp_path):
    from app.provision import is_installed

    settings = load_settings(model="qwen0.5b")
    if not is_installed(settings.models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    plan = tmp_path / "traditional.md"
    plan.write_text(TRADITIONAL, encoding="utf-8")
    copilot = Copilot(settings, tmp_path / "kb")
    assert copilot.ingest([plan])[0].status == "added"
    # phrased so that the 0.5B model answers it from the simplified version of the same text (measured)
    answer = copilot.ask("群测群防员发现险情后应当在多长时间内报告乡镇人民政府？")
    assert not answer.refused, answer.answer
    assert "30" in answer.answer
    assert "第四條" in {c.chunk.locator for c in answer.citations}


def test_html_file_table_rows_carry_caption_and_headers(tmp_path):
    page = tmp_path / "plan.html"
    page.write_text("<html><body><h2>三、应急响应分级</h2><table><caption>表3 响应等级</caption>"
                    "<tr><th>响应等级</th><th>启动条件</th></tr><tr><td>Ⅰ级</td><td>特大型地质灾害险情或灾情</td></tr>"
                    "</table></body></html>", encoding="utf-8")
    chunks = chunk_document(load_file(page, 50 * MB))
    assert "表3 响应等级｜响应等级：Ⅰ级｜启动条件：特大型地质灾害险情或灾情" in chunks[0].text
    assert chunks[0].locator == "三、应急响应分级"


def test_ocr_can_be_switched_off_and_then_names_the_pages(tmp_path, monkeypatch):
    from app.ingest.ocr import OcrOptions

    monkeypatch.setattr(load_module, "ocr_pdf_pages", lambda *a: pytest.fail("OCR must not run"))
    pdf = make_pdf(tmp_path / "scan.pdf", [["一、总则", "为了做好地质灾害防治工作，制定本预案。"], []])
    doc = load_file(pdf, 50 * MB, ocr=OcrOptions(enabled=False))
    assert any("第2页" in w and "需要 OCR" in w for w in doc.warnings)
