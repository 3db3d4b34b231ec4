from pathlib import Path

from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from app.schema import Page, RawDoc

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
MB = 2**20


def _doc(text: str, pages=None, doc_type="report", title="测试文档") -> RawDoc:
    pages = pages or (Page(text),)
    return RawDoc(source="/tmp/x.md", title=title, doc_type=doc_type, pages=tuple(pages))


def test_regulation_is_chunked_one_article_per_chunk_with_chapter_path():
    doc = load_file(FIXTURES / "regulation_sample.md", 50 * MB)
    chunks = chunk_document(doc)
    locators = [c.locator for c in chunks]
    assert locators == [f"第{n}条" for n in "一二三四五六七八"]
    sixth = chunks[5]
    assert sixth.text.startswith("第六条 发生地质灾害险情时")
    assert sixth.text.endswith("安排专人看守危险区出入口。")
    assert sixth.heading_path.endswith("第三章 应急处置 > 第六条")
    assert doc.title == "示例省地质灾害防治办法（测试用虚构文本）"
    assert doc.meta["region"] == "示例省"


def test_article_keeps_its_paragraphs_and_items_together():
    text = "\n".join([
        "第一章 总则", "第一条 目的。", "第二条 适用范围。", "第三章 分级",
        "第四条 地质灾害分为四级：", "(一)特大型：死亡30人以上；", "(二)大型：死亡10人以上30人以下；",
        "", "第二款 另有规定的从其规定。", "第五条 附则。",
    ])
    chunks = chunk_document(_doc(text))
    fourth = next(c for c in chunks if c.locator == "第四条")
    assert "(一)特大型" in fourth.text and "(二)大型" in fourth.text and "另有规定" in fourth.text
    assert fourth.heading_path == "第三章 分级 > 第四条"


def test_long_article_is_split_but_keeps_its_locator_and_spans():
    long_article = "第九条 " + "；".join(f"第{i}项要求的具体内容较长需要完整保留" for i in range(60)) + "。"
    text = "第八条 短条文。\n" + long_article + "\n第十条 另一条。"
    doc = _doc(text)
    chunks = chunk_document(doc, max_chars=300)
    ninth = [c for c in chunks if c.locator == "第九条"]
    assert len(ninth) > 1
    assert all(len(c.text) <= 300 for c in ninth)
    for c in ninth:  # spans point at the real text
        assert text[c.char_start : c.char_end] == c.text
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_plan_sections_follow_numbering_and_bare_headings_are_not_chunks():
    doc = load_file(FIXTURES / "plan_sample.md", 50 * MB)
    chunks = chunk_document(doc)
    assert [c.locator for c in chunks] == ["1.1", "2.1", "2.2"]
    report = chunks[2]
    assert "1小时内" in report.text
    assert report.heading_path.endswith("2 应急响应 > 2.2 信息报告")
    assert all(len(c.text) > 30 for c in chunks)


def test_markdown_headings_give_case_sections():
    doc = load_file(FIXTURES / "case_sample.md", 50 * MB)
    chunks = chunk_document(doc)
    assert [c.locator for c in chunks] == ["一、基本情况", "二、预警与转移", "三、经验"]
    assert doc.doc_type == "case"


def test_pages_are_tracked_across_a_multi_page_document():
    pages = (Page("1 总则\n这是第一页的正文内容，足够长以成为一段。", 1),
             Page("2 响应\n这是第二页的正文内容，讲述应急响应的分级。", 2),
             Page("响应分级的正文延续到第三页，这里还有更多文字。", 3))
    chunks = chunk_document(_doc("", pages=pages))
    assert [(c.locator, c.page_start, c.page_end) for c in chunks] == [("1", 1, 1), ("2", 2, 3)]


def test_unstructured_text_is_packed_into_paragraph_chunks():
    text = "\n\n".join("这是一段没有任何标题结构的报告正文，用来检验兜底切分。" * 5 for _ in range(10))
    chunks = chunk_document(_doc(text), max_chars=400)
    assert len(chunks) > 1
    assert all(len(c.text) <= 400 for c in chunks)
    assert chunks[0].locator == "第1段"
