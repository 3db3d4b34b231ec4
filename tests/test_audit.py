"""Audit log: append-only (triggers), hash-chained (tampering found), durable (a SIGKILL right after the answer
loses nothing), exportable (JSONL/CSV round trip), and written by Copilot.ask/assess for every answer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import audit
from app.config import PROJECT_ROOT, load_settings
from app.interfaces import cli
from app.pipeline import Copilot
from app.schema import Chunk, Hit
from support.offline import offline_env, offline_prefix

pytestmark = pytest.mark.offline
TESTS = Path(__file__).parent


def _hit(n: int, text: str) -> Hit:
    chunk = Chunk(f"c{n}", "/kb/doc.md", "示例办法", "regulation", f"第{n}条", f"第{n}条", text, 0, len(text))
    return Hit(n, chunk, 1.0 / n)


def _record(i: int, answer: str = "应当在30分钟内报告[1]。", when: datetime | None = None) -> dict:
    hits = [_hit(1, "第一条 群测群防员30分钟内报告。"), _hit(2, "第二条 其他。")]
    return audit.make_record(
        kind="ask", user="值班员甲", question=f"问题{i}：多长时间内报告？", situation={}, hits=hits, cited_ids=["c1"],
        model_name="qwen0.5b", model_sha256="ab" * 32, prompt_version="answer.v5", answer=answer,
        flags={"refused": False, "invalid_citations": [], "unverified_sentences": []}, now=when)


@pytest.fixture
def db(tmp_path):
    conn = audit.connect(tmp_path / "audit.sqlite3")
    yield conn
    conn.close()


def test_records_chain_and_verify(db):
    for i in range(5):
        audit.append(db, _record(i))
    records = audit.read_records(db)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(records, records[1:]))
    assert records[0]["chunks"][0] == {"chunk_id": "c1", "sha256": audit.text_sha256("第一条 群测群防员30分钟内报告。"),
                                       "source": "/kb/doc.md", "locator": "第1条", "cited": True}
    assert datetime.fromisoformat(records[0]["time_utc"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(records[0]["time_local"]) == datetime.fromisoformat(records[0]["time_utc"])
    assert audit.verify_chain(records) == []
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    print(f"records=5 chain_problems=0")


def test_update_and_delete_are_refused(db):
    audit.append(db, _record(1))
    audit.append(db, _record(2))
    refused = 0
    for sql in ("UPDATE records SET answer='无需撤离' WHERE seq=1", "DELETE FROM records WHERE seq=2",
                "DELETE FROM records", "UPDATE records SET hash=prev_hash"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
        refused += 1
    records = audit.read_records(db)
    assert len(records) == 2 and audit.verify_chain(records) == []
    print(f"tamper statements refused={refused}/4, records intact=2")


def test_an_edit_that_bypasses_the_triggers_is_detected(db):
    for i in range(4):
        audit.append(db, _record(i))
    db.execute("DROP TRIGGER records_no_update")
    db.execute("UPDATE records SET answer='无需撤离。' WHERE seq=2")
    problems = audit.verify_chain(audit.read_records(db))
    assert len(problems) == 1 and problems[0].startswith("#2:") and "edited" in problems[0]
    # an attacker who also recomputes the edited record's hash breaks the link of the next record
    row = audit.read_records(db)[1]
    db.execute("UPDATE records SET hash=? WHERE seq=2", (audit.record_hash(row["prev_hash"], row),))
    problems = audit.verify_chain(audit.read_records(db))
    assert len(problems) == 1 and problems[0].startswith("#3:") and "broken link" in problems[0]
    # a record removed from the middle is found too
    db.execute("DROP TRIGGER records_no_delete")
    db.execute("DELETE FROM records WHERE seq=3")
    problems = audit.verify_chain(audit.read_records(db))
    assert any(p.startswith("#4:") and "broken link" in p for p in problems)
    print(f"edited record found, re-hashed record found, removed record found")


def test_export_round_trips_through_jsonl_and_csv_and_filters_by_time(db, tmp_path, capsys):
    old = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    tricky = '答：立即撤离，"不要"返回[1]。\n第二行,含逗号\r\n和\t制表符；emoji 🚨'
    audit.append(db, _record(0, when=old))
    audit.append(db, _record(1, answer=tricky))
    audit.append(db, _record(2))
    records = audit.read_records(db)
    assert audit.from_jsonl(audit.to_jsonl(records)) == records
    assert audit.from_csv(audit.to_csv(records)) == records
    assert audit.verify_chain(audit.from_csv(audit.to_csv(records))) == []
    assert len(audit.read_records(db, since=old + timedelta(seconds=1))) == 2

    # the CLI, on the same store (Settings.audit_db under the isolated GEOHAZARD_HOME)
    home_db = audit.connect(load_settings().audit_db)
    for r in records:
        audit.append(home_db, {k: r[k] for k in audit.FIELDS})
    home_db.close()
    out_csv, out_jsonl = tmp_path / "a.csv", tmp_path / "a.jsonl"
    assert cli.main(["audit", "export", "--format", "csv", "--out", str(out_csv)]) == 0
    assert cli.main(["audit", "export", "--out", str(out_jsonl), "--since", "2026-06-01"]) == 0
    exported = audit.from_csv(out_csv.read_bytes().decode("utf-8"))  # keep \r\n inside fields
    assert [r["answer"] for r in exported] == [r["answer"] for r in records]
    assert len(audit.from_jsonl(out_jsonl.read_text(encoding="utf-8"))) == 2
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 0
    assert "audit chain intact: 3 records" in capsys.readouterr().out
    assert cli.main(["audit", "export", "--since", "yesterday"]) == 2
    print(f"exported csv={len(exported)} jsonl(since)=2, round trips equal")


def test_concurrent_writers_keep_one_linear_chain(tmp_path):
    path = tmp_path / "audit.sqlite3"
    script = textwrap.dedent("""
        import sys
        from datetime import datetime, timezone
        from app import audit
        db = audit.connect(sys.argv[1])
        for i in range(25):
            audit.append(db, audit.make_record(kind="ask", user=sys.argv[2], question=f"q{i}", situation={}, hits=[],
                cited_ids=[], model_name="m", model_sha256="0", prompt_version="p", answer="a", flags={}))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"writer{w}"], cwd=PROJECT_ROOT)
             for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    db = audit.connect(path)
    records = audit.read_records(db)
    db.close()
    assert len(records) == 100 and audit.verify_chain(records) == []
    print(f"writers=4 records=100 chain_problems=0")


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory):
    kb_dir = tmp_path_factory.mktemp("kb")
    copilot = Copilot(load_settings(), kb_dir)
    assert all(r.ok for r in copilot.ingest([TESTS / "fixtures" / "corpus"]))
    texts = {c: chunk.text for c, chunk in copilot.kb.get_chunks(sorted(copilot.kb.index_ids()[1])).items()}
    copilot.kb.close()
    return kb_dir, texts


KILL_SCRIPT = """
import json, os, signal, sys
from app.config import load_settings
from support.stubllm import stub_copilot

copilot = stub_copilot(load_settings(), sys.argv[1])
refused = copilot.ask("地震烈度怎么划分？", user="值班员甲")
answered = copilot.ask("群测群防员发现异常情况后应当在多长时间内报告？", user="值班员甲")
assessed = copilot.assess("某村后山发生滑坡险情，威胁45户约180人，潜在经济损失约3000万元。", user="值班员甲")
print(json.dumps([refused.refused, answered.refused, answered.answer]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # dies right after the answers returned: nothing may be lost
"""


def test_records_survive_sigkill_right_after_the_answer(small_kb, isolated_home):
    kb_dir, texts = small_kb
    env = offline_env({**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{TESTS}"})
    runs = 3
    for _ in range(runs):
        proc = subprocess.run(list(offline_prefix()) + [sys.executable, "-c", KILL_SCRIPT, str(kb_dir)],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        refused, answered_refused, answer = json.loads(proc.stdout)
        assert refused and not answered_refused and "30分钟" in answer
    db = audit.connect(load_settings().audit_db)
    records = audit.read_records(db)
    db.close()
    assert len(records) == 3 * runs
    assert [r["kind"] for r in records] == ["ask", "ask", "assess"] * runs
    assert [r["flags"]["refused"] for r in records] == [True, False, False] * runs
    assert all(r["user"] == "值班员甲" and r["model_sha256"] == "5" * 64 for r in records)
    ask = records[1]
    assert ask["prompt_version"].startswith("answer.v") and "30分钟" in ask["answer"]
    assert any(c["cited"] for c in ask["chunks"])
    for r in records:  # every retrieved chunk is named with the hash of the text the model saw
        assert r["chunks"] and all(c["sha256"] == audit.text_sha256(texts[c["chunk_id"]]) for c in r["chunks"])
    assessed = records[2]
    assert assessed["prompt_version"].startswith("assess.v")
    assert assessed["situation"]["parsed"]["figures"]["people_to_move"] == 180
    assert assessed["situation"]["grades"][0]["grade"] == "中型"
    assert audit.verify_chain(records) == []
    print(f"kill runs={runs} records={len(records)} survived={len(records)} chain_problems=0")


def test_default_user_is_the_os_user(small_kb):
    from support.stubllm import stub_copilot

    kb_dir, _ = small_kb
    copilot = stub_copilot(load_settings(), kb_dir)
    copilot.ask("地震烈度怎么划分？")
    db = audit.connect(load_settings().audit_db)
    [record] = audit.read_records(db)
    db.close()
    assert record["user"] == audit.current_user() != ""


def test_a_failed_audit_write_is_reported_and_does_not_withhold_the_answer(small_kb, monkeypatch, tmp_path, capsys):
    from support.stubllm import stub_copilot

    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("GEOHAZARD_HOME", str(blocker))  # audit.sqlite3 cannot be created under it
    copilot = stub_copilot(load_settings(), small_kb[0])
    answer = copilot.ask("群测群防员发现异常情况后应当在多长时间内报告？")
    assert not answer.refused and "30分钟" in answer.answer
    assert "audit log write failed" in capsys.readouterr().err
