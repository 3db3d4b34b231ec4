"""Document metadata read from the document itself (app/ingest/meta.py), and carried into every chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from app.ingest.meta import (body_title, describe, document_dates, family_key, find_region, is_junk_title,
                             parse_date, repealed_names)
from eval.pdfgen import make_pdf

MB = 2**20
PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "corpus-public"


@pytest.mark.parametrize("title", ["Microsoft Word - 文档1", "文档1", "scan_0031", "plan.pdf", "", "  ",
                                   "Microsoft Word - 预案终稿.docx", "Untitled"])
def test_junk_metadata_titles_are_recognised(title):
    assert is_junk_title(title, Path("/x/plan.pdf"))


@pytest.mark.parametrize("title", ["浙江省地质灾害防治条例", "某县突发地质灾害应急预案（2024年修订）"])
def test_real_titles_are_kept(title):
    assert not is_junk_title(title, Path("/x/plan.pdf"))


def test_body_title_skips_attachment_marks_file_numbers_and_page_numbers():
    body = "附件1\n川府办发〔2024〕12号\n\n四川省突发地质灾害应急预案\n1 总则\n为了……"
    assert body_title(body) == "四川省突发地质灾害应急预案"
    assert body_title("第一条 为了防治地质灾害，制定本条例。") == ""


def test_dates_adoption_revision_and_effect():
    text = ("浙江省地质灾害防治条例\n（2009年9月30日浙江省第十一届人民代表大会常务委员会第十三次会议通过　"
            "2025年3月28日浙江省第十四届人民代表大会常务委员会第十五次会议修订）\n"
            "第一条 ……\n第六十条 本条例自2025年5月1日起施行。2009年发布的《浙江省地质灾害防治办法》同时废止。")
    meta = describe("浙江省地质灾害防治条例", "regulation", text, {})
    assert meta["adopted"] == "2009-09-30"
    assert meta["revised"] == "2025-03-28" == meta["version_date"]
    assert meta["effective"] == "2025-05-01"
    assert meta["region"] == "浙江省"
    assert meta["issuer"] == "浙江省人民代表大会常务委员会"
    assert meta["repeals"] == ["浙江省地质灾害防治办法"]
    assert document_dates("2025年3月28日…通过，自2025年5月1日起施行") == {"adopted": "2025-03-28",
                                                                    "effective": "2025-05-01"}
    assert parse_date("二〇二四年六月二十八日") == "2024-06-28"


def test_front_matter_wins_over_the_body():
    meta = describe("示例条例", "regulation", "2001年1月1日 某省人大常委会第3次会议通过\n第一条 …",
                    {"issuer": "示例省人大常委会", "region": "示例省", "date": "2020-05-01修订"})
    assert meta["issuer"] == "示例省人大常委会" and meta["region"] == "示例省"
    assert meta["revised"] == "2020-05-01" and meta["adopted"] == "2001-01-01"


def test_region_family_and_repeals():
    assert find_region("四川条例") == "四川省" and find_region("广西防汛") == "广西壮族自治区"
    assert describe("中华人民共和国突发事件应对法", "regulation", "2007年8月30日 第十届全国人民代表大会常务委员会"
                    "第二十九次会议通过\n", {})["region"] == "全国"
    assert describe("地质灾害防治条例", "regulation", "2003年11月24日 中华人民共和国国务院令第394号公布\n",
                    {})["region"] == "全国"
    assert family_key("《中华人民共和国突发事件应对法》（2024修订）相关条款要点") == "突发事件应对法"
    assert family_key("中华人民共和国突发事件应对法（2007）") == family_key("中华人民共和国突发事件应对法")
    assert repealed_names("本预案自印发之日起实施。《某县地质灾害应急预案（2015年）》同时废止。") == [
        "某县地质灾害应急预案（2015年）"]


def test_pdf_with_a_file_name_metadata_title_shows_the_documents_own_title(tmp_path):
    pdf = make_pdf(tmp_path / "scan_0031.pdf", [[
        "附件1", "青山县突发地质灾害应急预案", "1 总则", "为了高效有序做好突发地质灾害应急工作，制定本预案。",
        "本预案自2025年4月1日起施行。"]], title="Microsoft Word - 文档1")
    doc = load_file(pdf, 5 * MB)
    assert doc.title == "青山县突发地质灾害应急预案"
    assert doc.doc_type == "plan" and doc.meta["effective"] == "2025-04-01"
    chunks = chunk_document(doc)
    assert {c.title for c in chunks} == {"青山县突发地质灾害应急预案"}
    assert chunks[0].meta["effective"] == "2025-04-01"
    assert "meta" not in chunks[0].metadata()  # Chroma takes flat scalars only


@pytest.mark.skipif(not PUBLIC.is_dir(), reason="../shared/corpus-public is not present")
def test_the_two_versions_of_the_public_law_share_a_family_and_differ_in_date():
    old = load_file(PUBLIC / "tufashijian_yingduifa_2007.md", 5 * MB).meta
    new = load_file(PUBLIC / "tufashijian_yingduifa_2024.md", 5 * MB).meta
    assert old["family"] == new["family"] == "突发事件应对法"
    assert (old["version_date"], new["version_date"]) == ("2007-08-30", "2024-06-28")
    assert new["effective"] == "2024-11-01" and old["region"] == "全国"
