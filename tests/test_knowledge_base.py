"""Integration: real loaders, real chunker, real Chroma, real e5 embeddings, real jieba/BM25."""

from pathlib import Path

import pytest

from app import pipeline_ingest
from app.config import load_settings
from app.index.embed import E5Embeddings
from app.pipeline import Copilot

pytestmark = pytest.mark.offline  # in-process real Chroma + e5: no socket may leave the machine


@pytest.fixture
def copilot(tmp_path):
    return Copilot(load_settings(), tmp_path / "kb")


def test_ingest_then_hybrid_retrieval_finds_the_answering_article(copilot, fixture_corpus):
    results = copilot.ingest([fixture_corpus])
    assert [r.status for r in results] == ["added"] * 3
    hits, _ = copilot.retrieve("群测群防员发现异常后多长时间内要报告？", k=3)
    assert hits[0].chunk.locator == "第四条"
    assert "30分钟内" in hits[0].chunk.text
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None
    hits, _ = copilot.retrieve("泥石流来了往哪里跑", k=3)
    assert hits[0].chunk.locator == "第八条"


def assert_consistent(kb, n_chunks):
    dense, lexical = kb.index_ids()
    assert dense == lexical
    assert len(dense) == n_chunks == sum(d.chunk_count for d in kb.documents())


def test_dense_and_lexical_indexes_hold_the_same_chunks(copilot, fixture_corpus):
    copilot.ingest([fixture_corpus])
    assert_consistent(copilot.kb, 14)


def test_reingest_unchanged_is_a_no_op_and_a_changed_file_replaces_its_chunks(copilot, fixture_corpus):
    copilot.ingest([fixture_corpus])
    version = copilot.kb.version()
    assert [r.status for r in copilot.ingest([fixture_corpus])] == ["unchanged"] * 3
    assert copilot.kb.version() == version
    case = fixture_corpus / "case_sample.md"
    case.write_text(case.read_text(encoding="utf-8").replace("27户96人", "31户110人"), encoding="utf-8")
    [result] = copilot.ingest([case])
    assert result.status == "updated"
    texts = " ".join(c.text for c in copilot.kb.chunks_of(str(case.resolve())))
    assert "31户110人" in texts and "27户96人" not in texts
    hits, _ = copilot.retrieve("青石村转移了多少户多少人", k=2)
    assert "31户110人" in hits[0].chunk.text
    assert_consistent(copilot.kb, 14)


class CountingE5(E5Embeddings):
    """The real e5 model, counting the passages it embeds."""

    def __init__(self):
        super().__init__(num_threads=2)
        self.embedded = 0

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return super().embed_documents(texts)


def test_a_reingest_embeds_only_changed_passages_and_a_parser_upgrade_rereads_everything(tmp_path, fixture_corpus,
                                                                                         monkeypatch):
    e5 = CountingE5()
    copilot = Copilot(load_settings(), tmp_path / "kb", embeddings=e5)
    copilot.ingest([fixture_corpus])
    assert e5.embedded == 14
    case = fixture_corpus / "case_sample.md"
    case.write_text(case.read_text(encoding="utf-8").replace("27户96人", "31户110人"), encoding="utf-8")
    assert [r.status for r in copilot.ingest([case])] == ["updated"]
    changed = [c for c in copilot.kb.chunks_of(str(case.resolve())) if "31户110人" in c.text]
    assert e5.embedded == 14 + len(changed) and 0 < len(changed) < 5
    assert_consistent(copilot.kb, 14)

    monkeypatch.setattr(pipeline_ingest, "PARSE_VERSION", pipeline_ingest.PARSE_VERSION + 1)
    assert [r.status for r in copilot.ingest([fixture_corpus])] == ["updated"] * 3  # re-read by the new parser
    assert e5.embedded == 14 + len(changed)  # same passages: no vector recomputed
    assert_consistent(copilot.kb, 14)
    hits, _ = copilot.retrieve("青石村转移了多少户多少人", k=2)
    assert "31户110人" in hits[0].chunk.text


def test_remove_takes_a_document_out_of_both_indexes(copilot, fixture_corpus):
    copilot.ingest([fixture_corpus])
    source = str((fixture_corpus / "regulation_sample.md").resolve())
    assert copilot.kb.remove(source)
    assert all(d.source != source for d in copilot.kb.documents())
    assert_consistent(copilot.kb, 6)
    hits, _ = copilot.retrieve("群测群防员", k=5)
    assert all(h.chunk.source != source for h in hits)


def test_a_half_written_document_is_removed_when_the_kb_reopens(copilot, fixture_corpus, tmp_path):
    copilot.ingest([fixture_corpus])
    kb = copilot.kb
    source = str((fixture_corpus / "plan_sample.md").resolve())
    kb._mark_pending(source)  # what a writer killed between the two transactions leaves behind
    kb.close()
    reopened = Copilot(load_settings(), tmp_path / "kb").kb
    assert source not in [d.source for d in reopened.documents()]
    assert_consistent(reopened, 11)


def test_bad_files_fail_alone_with_a_reason_and_leave_the_kb_consistent(fixture_corpus, tmp_path):
    from eval.pdfgen import make_pdf

    copilot = Copilot(load_settings(max_file_mb=1), tmp_path / "kb")
    bad = {
        "empty.txt": b"",
        "junk.txt": bytes(range(256)) * 40,
        "data.xlsx": b"PK\x03\x04",
        "broken.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog",
        "huge.md": "第一条 内容。".encode() * 200_000,
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    scanned = make_pdf(tmp_path / "scanned.pdf", [[], []])
    paths = [tmp_path / n for n in bad] + [scanned, fixture_corpus / "case_sample.md"]
    results = {Path(r.path).name: r for r in copilot.ingest(paths)}
    reasons = {"empty.txt": "空文件", "junk.txt": "二进制", "data.xlsx": "不支持", "broken.pdf": "PDF",
               "huge.md": "过大", "scanned.pdf": "OCR"}
    for name, reason in reasons.items():
        assert results[name].status == "failed" and reason in results[name].message, results[name]
    assert results["case_sample.md"].status == "added"
    assert [d.title for d in copilot.kb.documents()] == ["示例县青石村滑坡成功避险案例（测试用虚构文本）"]
    assert_consistent(copilot.kb, 3)
