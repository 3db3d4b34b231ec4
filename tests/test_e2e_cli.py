"""End to end through the public CLI: real files → real Chroma + e5 + BM25 → real 0.5B GGUF model.

Runs with no network at all (`unshare -n`) where the kernel lets us; the JSON shapes asserted here are the
public contract of issue 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import load_settings
from app.provision import is_installed
from support.offline import offline_env, offline_prefix

pytestmark = [pytest.mark.slow, pytest.mark.offline]
GEOHAZARD = [sys.executable, "-m", "app.interfaces.cli"]
HIT_KEYS = {"rank", "chunk_id", "source", "title", "locator", "text", "score"}
CITATION_KEYS = {"n", "chunk_id", "source", "title", "locator", "text"}
ASK_KEYS = {"question", "answer", "refused", "citations", "hits", "reasoning", "model", "timings"}


OFFLINE = list(offline_prefix())


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    if not is_installed(load_settings().models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    kb = tmp_path_factory.mktemp("kb")
    corpus = Path(__file__).parent / "fixtures" / "corpus"
    run(["ingest", str(corpus), "--kb", str(kb), "--json"])
    return kb


def run(args: list[str], check_code: int = 0, offline: bool = True) -> subprocess.CompletedProcess:
    env = offline_env({**os.environ, "GEOHAZARD_MODEL": "qwen0.5b"})  # the socket guard too, where unshare is missing
    proc = subprocess.run((OFFLINE if offline else []) + GEOHAZARD + args, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == check_code, proc.stderr[-2000:]
    return proc


def ask(kb: Path, question: str) -> dict:
    return json.loads(run(["ask", question, "--kb", str(kb), "--json"]).stdout)


def test_ask_cites_the_article_that_holds_the_answer(kb):
    out = ask(kb, "示例省规定群测群防员发现异常情况后应当在多长时间内报告？")
    assert ASK_KEYS <= out.keys()
    assert not out["refused"]
    assert "30分钟" in out["answer"]
    cited = {c["locator"]: c for c in out["citations"]}
    assert "第四条" in cited, out
    assert "30分钟内" in cited["第四条"]["text"]
    assert all(CITATION_KEYS <= c.keys() for c in out["citations"])
    # every [n] left in the answer resolves to a listed citation, which is one of the retrieved hits
    import re
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])}
    assert markers and markers <= {c["n"] for c in out["citations"]}
    hit_ids = {h["chunk_id"] for h in out["hits"]}
    assert {c["chunk_id"] for c in out["citations"]} <= hit_ids
    assert out["model"]["sha256"] == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert out["timings"]["total_s"] >= out["timings"]["first_token_s"] >= out["timings"]["retrieve_s"] > 0


def test_plain_ask_shows_the_sources_before_the_model_writes(kb):
    """Time to first visible output: the retrieved passages are printed first, then the streamed answer,
    then the checked answer with its sources."""
    out = run(["ask", "泥石流发生时群众应当往哪里转移？", "--kb", str(kb)]).stdout
    assert out.startswith("【检索到的资料】")  # stdout is written in order: nothing of the model comes first
    listing, _, rest = out.partition("\n\n")
    assert "第八条" in listing  # the article on 泥石流 evacuation is listed before generation starts
    assert len(rest.strip()) > 0 and "【出处】" in rest[rest.rindex("【回答】"):]


def test_question_without_evidence_is_refused_and_says_what_is_missing(kb):
    out = ask(kb, "地震烈度怎么划分？")
    assert out["refused"]
    assert out["answer"].startswith("资料中未找到依据")
    assert "地震" in out["answer"]
    assert out["citations"] == []


def test_retrieve_json_contract(kb):
    out = json.loads(run(["retrieve", "泥石流发生时往哪里撤离", "--kb", str(kb), "-k", "2", "--json"]).stdout)
    assert out["question"] == "泥石流发生时往哪里撤离"
    assert len(out["hits"]) == 2
    assert all(HIT_KEYS <= h.keys() for h in out["hits"])
    assert [h["rank"] for h in out["hits"]] == [1, 2]
    assert out["hits"][0]["locator"] == "第八条"


def test_batch_loads_once_and_prints_one_line_per_question(kb, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "泥石流发生时群众应该往哪里撤离？"}\n'
        '{"id": "b", "question": "青石村滑坡前群测群防员发现了什么异常？"}\n', encoding="utf-8")
    lines = run(["retrieve", "--batch", str(batch), "--kb", str(kb)]).stdout.splitlines()
    assert [json.loads(ln)["id"] for ln in lines] == ["a", "b"]
    lines = run(["ask", "--batch", str(batch), "--kb", str(kb)]).stdout.splitlines()
    rows = [json.loads(ln) for ln in lines]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert all(ASK_KEYS <= r.keys() for r in rows)


def test_a_batch_conversation_regrades_an_incident_as_its_figures_change(kb, tmp_path):
    """Issue 14: lines with the same conversation id are turns of one conversation; the second report raises
    the grade and says what changed; another conversation in the same file does not see the first one's figures."""
    batch = tmp_path / "incident.jsonl"
    lines = [{"id": 1, "conversation": "c1", "question": "示例县石门村后山发生滑坡，威胁32户约120人"},
             {"id": 2, "conversation": "c2", "question": "青石村发生滑坡，威胁20人"},
             {"id": 3, "conversation": "c1", "question": "核实后受威胁人数增加到600人"},
             {"id": 4, "conversation": "c1", "question": "又发现3名遇难者"}]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    rows = {r["id"]: r for r in map(json.loads, run(["ask", "--batch", str(batch), "--kb", str(kb)]).stdout.splitlines())}
    assert rows[1]["conversation"] == "c1" and rows[1]["assessment"]["hazard_grade"]["grade"] == "中型"
    assert rows[1]["situation_changes"] == []
    assert rows[2]["assessment"]["hazard_grade"]["grade"] == "小型"  # c2 is its own incident
    raised = rows[3]
    assert raised["assessment"]["hazard_grade"]["grade"] == "大型"
    assert "受威胁人数由120人增至600人" in raised["situation_changes"][0]
    assert any(c.startswith("险情等级：中型 → 大型，因受威胁人数由120人增至600人") for c in raised["situation_changes"])
    assert "【情况变化】" in raised["answer"] and "石门村" in raised["resolved_question"]
    disaster = rows[4]["assessment"]
    assert disaster["disaster_grade"]["grade"] and disaster["situation"]["figures"]["deaths"] == 3
    assert disaster["situation"]["figures"]["people_to_move"] == 600  # kept from the earlier report
    assert [c["figure"] for c in disaster["incident_history"]] == ["people_to_move", "households", "people_to_move",
                                                                  "deaths"]


def test_ingest_reports_each_file_and_exits_1_when_one_fails(tmp_path):
    good = tmp_path / "ok.txt"
    good.write_text("第一条 测试条文一。\n第二条 测试条文二。\n第三条 测试条文三。", encoding="gb18030")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    proc = run(["ingest", str(good), str(bad), "--kb", str(tmp_path / "kb"), "--json"], check_code=1)
    rows = {Path(json.loads(ln)["path"]).name: json.loads(ln) for ln in proc.stdout.splitlines()}
    assert rows["ok.txt"]["status"] == "added" and rows["ok.txt"]["chunks"] == 3
    assert rows["bad.pdf"]["status"] == "failed" and "PDF" in rows["bad.pdf"]["message"]


def test_a_scanned_pdf_is_ocrd_with_no_network_and_retrieved_with_its_page(tmp_path):
    """Issue 18: an image-only PDF (two rasterised pages with a red seal) ingested by the CLI under `unshare -n`:
    the OCR models come from the installed wheel, the passage comes back with its page and the OCR mark."""
    from eval.scanpdf import cjk_font_path, make_scanned_pdf

    if cjk_font_path() is None:
        pytest.skip("needs a CJK system font to draw the scanned pages")
    pages = [["示例县突发地质灾害应急预案", "一、总则", "为了高效有序做好突发地质灾害应急工作，制定本预案。"],
             ["四、应急响应", "发现滑坡前兆时，群测群防员应当立即敲锣示警，",
              "组织受威胁群众沿预定避险路线转移到青龙寺安置点。"]]
    pdf = make_scanned_pdf(tmp_path / "scan.pdf", pages, seal="示例县自然资源局")
    kb = tmp_path / "kb"
    added = json.loads(run(["ingest", str(pdf), "--kb", str(kb), "--json"]).stdout.splitlines()[0])
    assert added["status"] == "added", added
    out = json.loads(run(["retrieve", "发现滑坡前兆后群众转移到哪个安置点？", "--kb", str(kb), "-k", "1",
                          "--json"]).stdout)
    top = out["hits"][0]
    assert "青龙寺安置点" in top["text"] and top["page"] == "第2页" and "OCR" in top["locator"]
