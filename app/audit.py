"""Audit log: every answer and assessment, append-only, in SQLite (Settings.audit_db), hash-chained.

One row per answer (refusals included): when (UTC and local), who, what was asked (and the situation inputs),
which passages were retrieved (chunk id + SHA-256 of the text the model saw), which model (name + SHA-256) and
prompt version answered, the answer text (for an assessment, its structured card as JSON) and its flags.
Triggers refuse UPDATE and DELETE; each row also stores hash = sha256(previous row's hash + its own canonical
content), so an edit made by going around the triggers (or a row removed from the middle) is found by
`verify_chain`. WAL + synchronous=FULL: a row is on disk when `append` returns, even if the process is
killed right after.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

GENESIS = "0" * 64
FIELDS = ("time_utc", "time_local", "user", "kind", "question", "situation", "chunks", "model_name",
          "model_sha256", "prompt_version", "answer", "flags")
JSON_FIELDS = ("situation", "chunks", "flags")
COLUMNS = ("seq",) + FIELDS + ("prev_hash", "hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc TEXT NOT NULL, time_local TEXT NOT NULL, user TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ask', 'assess')),
    question TEXT NOT NULL, situation TEXT NOT NULL, chunks TEXT NOT NULL,
    model_name TEXT NOT NULL, model_sha256 TEXT NOT NULL, prompt_version TEXT NOT NULL,
    answer TEXT NOT NULL, flags TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, '审计日志只能追加 / audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, '审计日志只能追加 / audit log is append-only'); END;
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the audit store; autocommit mode, each append is its own transaction."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    # Switching a new file to WAL and creating the schema can report "database is locked" at once (SQLite's
    # busy timeout does not cover it) when several writers open the store together: retry briefly.
    for attempt in range(50):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
    return db


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        return "unknown"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_record(*, kind: str, user: str | None, question: str, situation: dict, hits, cited_ids,
                model_name: str, model_sha256: str, prompt_version: str, answer: str, flags: dict,
                now: datetime | None = None) -> dict:
    """The content of one audit row (without seq and hashes). `hits` are schema.Hit objects."""
    now = now or datetime.now(timezone.utc)
    cited = set(cited_ids)
    return {
        "time_utc": now.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "time_local": now.astimezone().isoformat(timespec="microseconds"),
        "user": user or current_user(),
        "kind": kind,
        "question": question,
        "situation": situation,
        "chunks": [{"chunk_id": h.chunk.chunk_id, "sha256": text_sha256(h.chunk.text), "source": h.chunk.source,
                    "locator": h.chunk.locator, "cited": h.chunk.chunk_id in cited} for h in hits],
        "model_name": model_name,
        "model_sha256": model_sha256,
        "prompt_version": prompt_version,
        "answer": answer,
        "flags": flags,
    }


def answer_record(answer, user: str | None, model: tuple[str, str]) -> dict:
    """The audit record of a reason.answer.Answer (refusals included)."""
    return make_record(
        kind="ask", user=user, question=answer.question, situation={}, hits=answer.hits,
        cited_ids=[c.chunk.chunk_id for c in answer.citations], model_name=model[0], model_sha256=model[1],
        prompt_version=answer.prompt_version, answer=answer.answer,
        flags={"refused": answer.refused, "invalid_citations": list(answer.invalid_citations),
               "unverified_sentences": list(answer.unverified),
               "attributed_sentences": answer.attributed_sentences, "cut_off": answer.cut_off})


def assessment_record(assessment, user: str | None, model: tuple[str, str], prompt_version: str,
                      inputs: dict) -> dict:
    """The audit record of a reason.assess.Assessment: the figures read, the grades computed, and as the answer
    the structured card itself (grades, basis, requirements, evacuation advice, missing information, reasoning),
    so that rewording a screen never changes what is audited."""
    grades = [{"scale": g.scale, "grade": g.grade, "level_roman": g.level_roman,
               "response_level": g.response_level, "rule": g.citation, "missing": list(g.missing)}
              for g in assessment.grades]
    situation = _plain({"inputs": inputs, "parsed": assessment.situation_json(), "grades": grades})
    return make_record(
        kind="assess", user=user, question=assessment.text, situation=situation, hits=assessment.hits,
        cited_ids=[c.chunk.chunk_id for c in assessment.citations], model_name=model[0], model_sha256=model[1],
        prompt_version=prompt_version,
        answer=json.dumps(_plain(assessment.to_json()), ensure_ascii=False, sort_keys=True),
        flags={"refused": False, "graded": any(g["grade"] for g in grades),
               "invalid_citations": list(assessment.invalid_citations),
               "unverified_sentences": list(assessment.unverified)})


def _plain(value):
    """Plain JSON types only, so the hash of a record is the same before and after a round trip."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def record_hash(prev_hash: str, record: dict) -> str:
    """sha256(previous hash + canonical JSON of this record's content fields)."""
    content = json.dumps({k: record[k] for k in FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def append(db: sqlite3.Connection, record: dict) -> dict:
    """Append one record (chained to the last one) and return it with seq, prev_hash and hash."""
    db.execute("BEGIN IMMEDIATE")  # one writer at a time across threads and processes: the chain stays linear
    try:
        row = db.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        digest = record_hash(prev, record)
        values = [json.dumps(record[k], ensure_ascii=False) if k in JSON_FIELDS else record[k] for k in FIELDS]
        cur = db.execute(f"INSERT INTO records ({', '.join(FIELDS)}, prev_hash, hash) VALUES "
                         f"({', '.join('?' * (len(FIELDS) + 2))})", [*values, prev, digest])
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return {"seq": cur.lastrowid, **{k: record[k] for k in FIELDS}, "prev_hash": prev, "hash": digest}


def read_records(db: sqlite3.Connection, since: datetime | None = None) -> list[dict]:
    """All records in order (JSON fields decoded); `since` keeps those at or after that moment."""
    rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM records ORDER BY seq").fetchall()
    records = [_decode(dict(zip(COLUMNS, row))) for row in rows]
    if since is not None:
        since = since if since.tzinfo else since.astimezone()  # a naive time is local time
        records = [r for r in records if datetime.fromisoformat(r["time_utc"]) >= since]
    return records


def verify_chain(records: list[dict]) -> list[str]:
    """Problems found in a complete, ordered list of records; [] when every hash and link checks out."""
    problems, prev = [], GENESIS
    for r in records:
        if r["prev_hash"] != prev:
            problems.append(f"#{r['seq']}: 链接断开（前一条被删除或替换） / broken link (a record before it was "
                            "removed or replaced)")
        if record_hash(r["prev_hash"], r) != r["hash"]:
            problems.append(f"#{r['seq']}: 内容与哈希不符（记录被改动） / content does not match its hash "
                            "(record was edited)")
        prev = r["hash"]
    return problems


def to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def from_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def to_csv(records: list[dict]) -> str:
    """One row per record; the JSON fields (situation, chunks, flags) are JSON text in their cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: json.dumps(r[k], ensure_ascii=False) if k in JSON_FIELDS else r[k] for k in COLUMNS})
    return out.getvalue()


def from_csv(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [_decode({**row, "seq": int(row["seq"])}) for row in rows]


def _decode(row: dict) -> dict:
    return {k: json.loads(v) if k in JSON_FIELDS else v for k, v in row.items()}


def record_safely(path: Path, make_record) -> None:
    """Append `make_record()` to the audit log at `path`. A failure is reported on stderr but never withholds
    the answer it would have recorded."""
    import sys

    try:
        record = make_record()
        db = connect(path)
        try:
            append(db, record)
        finally:
            db.close()
    except Exception as exc:  # noqa: BLE001 - any failure: the answer still goes out
        print(f"警告：审计日志写入失败 / warning: audit log write failed: {exc}", file=sys.stderr)
