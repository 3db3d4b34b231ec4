"""Conversations kept on disk (SQLite, WAL): they survive a page refresh, a restart and a killed process.

A conversation is an ordered list of turns; an assistant turn keeps its structured payload (the `ask`/`assess`
JSON) so the sources panel and the duty brief can be rebuilt from it later.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.interfaces.html import escape_markdown

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id), seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, payload TEXT, created REAL NOT NULL,
    PRIMARY KEY (conversation, seq)
);
"""


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    content: str
    payload: dict | None = None
    created: float = 0.0


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    turns: list[Turn] = field(default_factory=list)


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db


def create_conversation(db: sqlite3.Connection, title: str, owner: str = "", conversation_id: str | None = None) -> str:
    """A new conversation; `conversation_id` names it when it is a plain id (letters, digits, -, _; ≤ 64) not yet
    in use, else a random id is made (an id of another owner's conversation is never reused or revealed)."""
    now = time.time()
    wanted = conversation_id if conversation_id and re.fullmatch(r"[\w-]{1,64}", conversation_id) else None
    for candidate in ([wanted] if wanted else []) + [uuid.uuid4().hex]:
        try:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                       (candidate, _short_title(title), owner, now, now))
            return candidate
        except sqlite3.IntegrityError:
            continue
    raise RuntimeError("could not create a conversation")


def add_turn(db: sqlite3.Connection, conversation_id: str, role: str, content: str,
             payload: dict | None = None) -> None:
    now = time.time()
    with db:  # one transaction: the turn and the conversation's timestamp together
        db.execute("BEGIN IMMEDIATE")
        seq = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM turns WHERE conversation=?",
                         (conversation_id,)).fetchone()[0]
        db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                   (conversation_id, seq, role, content,
                    None if payload is None else json.dumps(payload, ensure_ascii=False), now))
        db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))


def list_conversations(db: sqlite3.Connection, owner: str = "", limit: int = 100) -> list[Conversation]:
    rows = db.execute("SELECT id, title, created, updated FROM conversations WHERE owner=? "
                      "ORDER BY updated DESC LIMIT ?", (owner, limit))
    return [Conversation(*row) for row in rows]


def load_conversation(db: sqlite3.Connection, conversation_id: str, owner: str = "") -> Conversation | None:
    row = db.execute("SELECT id, title, created, updated FROM conversations WHERE id=? AND owner=?",
                     (conversation_id, owner)).fetchone()
    if row is None:
        return None
    turns = [Turn(role, content, json.loads(payload) if payload else None, created)
             for role, content, payload, created in db.execute(
                 "SELECT role, content, payload, created FROM turns WHERE conversation=? ORDER BY seq",
                 (conversation_id,))]
    return Conversation(*row, turns=turns)


def conversation_markdown(conversation: Conversation) -> str:
    """The whole conversation with each answer's sources, for the after-action file. Every text from a user or
    a document is Markdown-escaped (a link or image in a title is shown as text, never made clickable) and a
    source is named by its file name only."""
    lines = [f"# {escape_markdown(conversation.title)}", "", f"导出时间：{_stamp(time.time())}", ""]
    for turn in conversation.turns:
        who = "提问" if turn.role == "user" else "回答"
        lines += [f"## {who}（{_stamp(turn.created)}）", "", escape_markdown(turn.content), ""]
        citations = (turn.payload or {}).get("citations") or []
        if citations:
            lines.append("**出处**")
            lines.append("")
            for c in citations:
                where = escape_markdown(" ".join(x for x in (c.get("locator", ""), c.get("page", "")) if x))
                name = escape_markdown(str(c.get("source", "")).replace("\\", "/").rsplit("/", 1)[-1])
                lines.append(f"- [{c['n']}] 《{escape_markdown(c['title'])}》 {where} — {name}")
            lines.append("")
    return "\n".join(lines)


def _short_title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 30 else text[:29] + "…"


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
