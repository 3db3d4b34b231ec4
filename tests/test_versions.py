"""Versions, named documents and regions: registry-computed status, scoped retrieval (real Chroma + e5 + BM25)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import load_settings
from app.index.embed import E5Embeddings
from app.pipeline import Copilot
from app.retrieve.scope import read_scope
from app.retrieve.versions import doc_statuses

pytestmark = pytest.mark.offline
FIXTURES = Path(__file__).parent / "fixtures"
PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "corpus-public"
OLD, NEW, TIANJIN = "shili_tiaoli_2015.md", "shili_tiaoli_2023.md", "tianjin_yuan.md"


def test_status_is_computed_from_the_registry_whatever_the_order():
    metas = {
        "b": {"title": "某法", "family": "某法", "version_date": "2024-06-28", "effective": "2024-11-01",
              "doc_type": "regulation"},
        "a": {"title": "某法", "family": "某法", "version_date": "2007-08-30", "effective": "2007-11-01",
              "doc_type": "regulation"},
        "c": {"title": "某法", "family": "某法", "version_date": "2030-01-01", "effective": "2030-06-01",
              "doc_type": "regulation"},
        "p": {"title": "某县预案", "family": "某县预案", "version_date": "2015-01-01", "doc_type": "plan"},
        "q": {"title": "某县预案（2024）", "family": "某县应急预案2024", "version_date": "2024-03-01",
              "effective": "2024-03-01", "doc_type": "plan", "repeals": ["某县预案"]},
    }
    for order in (list(metas), list(reversed(metas))):
        status = doc_statuses({k: metas[k] for k in order}, today="2026-01-01")
        assert status["b"]["status"] == "现行"
        assert status["a"]["status"] == "已修订" and status["a"]["successor_date"] == "2024-06-28"
        assert status["a"]["status_note"] == "已修订：2024年6月28日修订，现行为《某法》"
        assert status["c"]["status"] == "尚未施行"
        assert status["p"]["status"] == "已废止" and "某县预案（2024）" in status["p"]["status_note"]


def test_scope_reads_named_documents_short_names_versions_and_regions():
    metas = {
        "/n.md": {"title": "地质灾害防治条例", "family": "地质灾害防治条例", "region": "全国"},
        "/cq.md": {"title": "重庆市地质灾害防治条例", "family": "重庆市地质灾害防治条例", "region": "重庆市"},
        "/tj.md": {"title": "天津市突发地质灾害应急预案", "family": "天津市突发地质灾害应急预案", "region": "天津市"},
        "/l07.md": {"title": "中华人民共和国突发事件应对法", "family": "突发事件应对法", "version_date": "2007-08-30"},
        "/l24.md": {"title": "中华人民共和国突发事件应对法", "family": "突发事件应对法", "version_date": "2024-06-28"},
    }
    assert read_scope("《地质灾害防治条例》第十九条讲什么？", metas).sources == ["/n.md"]
    assert read_scope("按《重庆市地质灾害防治条例》要多久报告？", metas).sources == ["/cq.md"]
    assert read_scope("天津预案里群众怎么转移？", metas).sources == ["/tj.md"]
    assert read_scope("2007年版突发事件应对法第二条", metas).sources == ["/l07.md", "/l24.md"]
    scope = read_scope("重庆发生滑坡后多久要报告？", metas)
    assert scope.sources == [] and scope.region == "重庆市"
    assert read_scope("《浙江省地质灾害防治条例》自什么时候起施行？", metas).sources == []


@pytest.fixture(scope="module")
def embeddings():
    return E5Embeddings(num_threads=load_settings().n_threads)


def _copilot(tmp_path, embeddings, names):
    folder = tmp_path / "docs"
    folder.mkdir()
    copilot = Copilot(load_settings(), tmp_path / "kb", embeddings=embeddings)
    for name in names:  # one at a time, in the given order
        shutil.copy(FIXTURES / "versions" / name, folder / name)
        assert copilot.ingest([folder / name])[0].status == "added"
    return copilot


@pytest.mark.parametrize("order", [(OLD, NEW), (NEW, OLD)])
def test_the_current_version_ranks_first_and_the_old_one_shows_its_status(tmp_path, embeddings, order):
    copilot = _copilot(tmp_path, embeddings, order)
    hits, _ = copilot.retrieve("示例省山地灾害防治条例规定发现险情后多长时间内报告？", k=4)
    assert hits[0].chunk.source.endswith(NEW) and hits[0].chunk.locator == "第三条"
    assert hits[0].chunk.meta["status"] == "现行"
    old = [h for h in hits if h.chunk.source.endswith(OLD)]
    assert old and all(h.chunk.meta["status"] == "已修订" for h in old)
    assert old[0].to_json()["meta"]["status_note"] == "已修订：2023年9月27日修订，现行为《示例省山地灾害防治条例》"
    assert old[0].rank > hits[0].rank


def test_a_question_naming_the_old_version_finds_it(tmp_path, embeddings):
    copilot = _copilot(tmp_path, embeddings, (NEW, OLD))
    hits, _ = copilot.retrieve("2015年版示例省山地灾害防治条例规定发现险情后多长时间内报告？", k=4)
    assert hits[0].chunk.source.endswith(OLD) and "2小时" in hits[0].chunk.text
    assert hits[0].chunk.meta["status"] == "已修订"


def test_named_documents_first_and_other_regions_labelled(tmp_path, embeddings, fixture_corpus):
    copilot = _copilot(tmp_path, embeddings, (NEW, TIANJIN))
    copilot.ingest([fixture_corpus])
    hits, _ = copilot.retrieve("天津预案里受威胁群众怎么转移？", k=5)
    assert hits[0].chunk.source.endswith(TIANJIN) and hits[0].chunk.locator == "2.2"
    hits, _ = copilot.retrieve("天津发生滑坡险情后，多长时间内要报告？", k=8)
    assert hits[0].chunk.source.endswith(TIANJIN) and hits[0].chunk.locator == "2.1"
    others = [h for h in hits if h.chunk.meta.get("region") == "示例省"]
    assert others and all(h.chunk.meta["note"].startswith("示例省的规定，不适用于天津市") for h in others)
    assert min(h.rank for h in others) > max(h.rank for h in hits if h.chunk.source.endswith(TIANJIN))


@pytest.mark.slow  # embeds ~300 passages of the two full texts (about 100 s on 2 cores)
@pytest.mark.skipif(not PUBLIC.is_dir(), reason="../shared/corpus-public is not present")
def test_public_2007_and_2024_emergency_response_law(tmp_path, embeddings):
    copilot = Copilot(load_settings(), tmp_path / "kb", embeddings=embeddings)
    for name in ("tufashijian_yingduifa_2024.md", "tufashijian_yingduifa_2007.md"):
        assert copilot.ingest([PUBLIC / name])[0].status == "added"
    for question in ("突发事件应对法规定突发事件分为哪几级？", "《中华人民共和国突发事件应对法》的立法目的是什么？",
                     "突发事件应对法对应急预案的制定有什么规定？"):
        hits, _ = copilot.retrieve(question, k=5)
        assert hits[0].chunk.source.endswith("2024.md"), question
        assert hits[0].chunk.meta["status"] == "现行"
        assert all(h.chunk.meta["status"] == "已修订" for h in hits if h.chunk.source.endswith("2007.md"))
    hits, _ = copilot.retrieve("2007年版突发事件应对法的立法目的是什么？", k=5)
    assert hits[0].chunk.source.endswith("2007.md") and hits[0].chunk.meta["status"] == "已修订"
