"""Open a knowledge base the way a restarted process does, report what both indexes hold, then finish an ingest.

    python -m support.kb_probe KB_DIR FOLDER      (PYTHONPATH must hold the repo root and tests/)

Prints one JSON object: `pending` (documents a killed writer left pending, read before the KB is opened),
`lexical` and `at_open` (documents left lexically searchable with vectors missing, and the state right after the
open), `reopened` (the state after KnowledgeBase's repair on open and the completion of missing vectors), `results` (statuses of re-running the ingest) and
`completed` (the state after it). A state is {source: {sha256, status, chunk_count, lexical: [ids], dense:
[ids]}} plus the dense ids that belong to no registered document.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from app.config import load_settings
from app.pipeline import Copilot


def pending_before_open(kb_dir: Path) -> list[str]:
    registry = kb_dir / "registry.sqlite3"
    if not registry.exists():
        return []
    db = sqlite3.connect(registry)
    try:
        return [r[0] for r in db.execute("SELECT source FROM docs WHERE status='pending'")]
    except sqlite3.OperationalError:  # killed before the schema was written
        return []
    finally:
        db.close()


def state(kb) -> dict:
    docs = {}
    for source, sha, status, count in kb._db.execute("SELECT source, sha256, status, chunk_count FROM docs"):
        lexical = [r[0] for r in kb._db.execute("SELECT chunk_id FROM chunks WHERE source=? ORDER BY ord", (source,))]
        docs[source] = {"sha256": sha, "status": status, "chunk_count": count, "lexical": lexical, "dense": []}
    stored = kb._vectors.get(include=["metadatas"])
    orphans = []
    for chunk_id, meta in zip(stored["ids"], stored["metadatas"]):
        doc = docs.get((meta or {}).get("source"))
        (doc["dense"] if doc else orphans).append(chunk_id)
    orphans += [r[0] for r in kb._db.execute(
        "SELECT chunk_id FROM chunks WHERE source NOT IN (SELECT source FROM docs)")]
    dense, lexical = kb.index_ids()
    return {"docs": docs, "orphans": orphans, "dense_equals_lexical": dense == lexical, "chunks": len(lexical)}


def main(kb_dir: str, folder: str) -> None:
    kb_dir_path = Path(kb_dir)
    pending = pending_before_open(kb_dir_path)
    copilot = Copilot(load_settings(), kb_dir_path)
    at_open = state(copilot.kb)  # `lexical` documents (killed while embedding) are searchable, vectors follow
    lexical = sorted(s for s, d in at_open["docs"].items() if d["status"] == "lexical")
    copilot.wait_for_vectors()
    reopened = state(copilot.kb)
    results = [{"path": r.path, "status": r.status, "chunks": r.chunks, "message": r.message}
               for r in copilot.ingest([Path(folder)])]
    completed = state(copilot.kb)
    print(json.dumps({"pending": pending, "lexical": lexical, "at_open": at_open, "reopened": reopened, "results": results, "completed": completed},
                     ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
