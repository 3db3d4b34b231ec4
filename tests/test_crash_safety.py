"""Crash safety of ingest: `geohazard ingest FOLDER --kb KB` is SIGKILLed at random moments, over and over, while
files are added and changed. After every kill the reopened knowledge base must be consistent (dense and lexical
indexes hold the same chunks, no document is half there: each is some complete version of its file), and
re-running the ingest must finish it with exactly the documents and chunks an uninterrupted run produces.

Runs: GEOHAZARD_KILL_RUNS (default 16); seed: GEOHAZARD_KILL_SEED (default 7).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, load_settings
from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from app.pipeline_ingest import fingerprint
from support.offline import offline_env, offline_prefix

pytestmark = [pytest.mark.slow, pytest.mark.offline]
TESTS = Path(__file__).parent
CLI = [sys.executable, "-m", "app.interfaces.cli"]
RUNS = int(os.environ.get("GEOHAZARD_KILL_RUNS", "16"))
SEED = int(os.environ.get("GEOHAZARD_KILL_SEED", "7"))
EDITS = ["补充说明：汛期每日巡查不少于两次，发现异常立即报告。", "补充说明：转移后由专人看守危险区出入口，防止群众擅自返回。",
         "补充说明：夜间强降雨时，应当提前组织老人、儿童等重点人群转移。"]


def _env() -> dict:
    return offline_env({**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{TESTS}"})


def expected_state(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """What a complete ingest of `folder` holds: source → (sha256, chunk ids), computed without any index."""
    settings = load_settings()
    out = {}
    for path in sorted(folder.iterdir()):
        doc = load_file(path, int(settings.max_file_mb * 2**20))
        out[doc.source] = (fingerprint(doc.sha256), [c.chunk_id for c in chunk_document(doc, settings.chunk_max_chars)])
    return out


def probe(kb: Path, folder: Path) -> dict:
    proc = subprocess.run(list(offline_prefix()) + [sys.executable, "-m", "support.kb_probe", str(kb), str(folder)],
                          capture_output=True, text=True, env=_env(), cwd=PROJECT_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def check_consistent(state: dict, versions: dict[str, set[tuple[str, tuple[str, ...]]]]) -> None:
    """Both indexes agree and every document is one complete version of its file."""
    assert state["dense_equals_lexical"], "dense and lexical indexes differ"
    assert state["orphans"] == [], f"chunks of no document: {state['orphans']}"
    for source, doc in state["docs"].items():
        assert doc["status"] == "ready", f"{source} left {doc['status']}"
        assert sorted(doc["dense"]) == sorted(doc["lexical"]), f"{source}: indexes hold different chunks"
        assert doc["chunk_count"] == len(doc["lexical"]), f"{source}: chunk_count {doc['chunk_count']}"
        assert (doc["sha256"], tuple(doc["lexical"])) in versions[source], f"{source}: a half document"


def check_lexical(state: dict, versions: dict[str, set[tuple[str, tuple[str, ...]]]]) -> None:
    """Right after an open: a document killed while its vectors were written is wholly in the lexical index
    (one complete version), with only some of its own vectors; every other document is consistent."""
    assert state["orphans"] == [], f"chunks of no document: {state['orphans']}"
    for source, doc in state["docs"].items():
        assert doc["status"] in ("ready", "lexical"), f"{source} left {doc['status']}"
        assert set(doc["dense"]) <= set(doc["lexical"]), f"{source}: vectors of chunks it does not have"
        assert (doc["sha256"], tuple(doc["lexical"])) in versions[source], f"{source}: a half document"
        if doc["status"] == "ready":
            assert sorted(doc["dense"]) == sorted(doc["lexical"]), f"{source}: indexes hold different chunks"


def check_complete(state: dict, expected: dict[str, tuple[str, list[str]]]) -> None:
    check_consistent(state, {s: {(sha, tuple(ids))} for s, (sha, ids) in expected.items()})
    assert set(state["docs"]) == set(expected)
    assert state["chunks"] == sum(len(ids) for _, ids in expected.values())


def test_ingest_killed_at_random_points_reopens_consistent_and_completes(tmp_path):
    rng = random.Random(SEED)
    folder = tmp_path / "docs"
    folder.mkdir()
    for path in sorted((TESTS / "fixtures" / "corpus").iterdir()) + [PROJECT_ROOT / "corpus" / "cards" /
                                                                      "ground_collapse.md"]:
        shutil.copy(path, folder / path.name)
    files = sorted(folder.iterdir())

    # an uninterrupted run: how long it takes, and what it holds
    start = time.perf_counter()
    subprocess.run(list(offline_prefix()) + CLI + ["ingest", str(folder), "--kb", str(tmp_path / "ref"), "--json"],
                   check=True, capture_output=True, env=_env(), cwd=PROJECT_ROOT, timeout=600)
    full_s = time.perf_counter() - start
    expected = expected_state(folder)
    start = time.perf_counter()
    reference = probe(tmp_path / "ref", folder)  # finds nothing to do: process start, model and index loading
    idle_s = time.perf_counter() - start
    check_complete(reference["reopened"], expected)
    assert {r["status"] for r in reference["results"]} == {"unchanged"}
    print(f"uninterrupted ingest: {len(expected)} files, {reference['reopened']['chunks']} chunks, {full_s:.1f}s "
          f"(idle run {idle_s:.1f}s)")

    kb = tmp_path / "kb"
    versions: dict[str, set] = {s: {(sha, tuple(ids))} for s, (sha, ids) in expected.items()}
    kills = finished = mid_document = consistent = completed = lexical_at_open = 0
    changed = files
    for run in range(RUNS):
        if run:  # change one or two files, so the killed run has replacements to make
            changed = rng.sample(files, rng.choice([1, 2]))
            for path in changed:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(f"\n\n{rng.choice(EDITS)}（第{run}次修订）\n")
            expected = expected_state(folder)
            for source, (sha, ids) in expected.items():
                versions[source].add((sha, tuple(ids)))
        work_s = idle_s + (full_s - idle_s) * len(changed) / len(files)
        delay = rng.uniform(0.2, 0.9) * work_s
        proc = subprocess.Popen(list(offline_prefix()) + CLI + ["ingest", str(folder), "--kb", str(kb), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(), cwd=PROJECT_ROOT)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        was_killed = proc.returncode == -signal.SIGKILL
        kills += was_killed
        finished += not was_killed
        done = len(out.splitlines())

        state = probe(kb, folder)
        mid_document += bool(state["pending"] or state["lexical"])
        lexical_at_open += bool(state["lexical"])
        check_lexical(state["at_open"], versions)
        check_consistent(state["reopened"], versions)
        consistent += 1
        check_complete(state["completed"], expected)
        completed += 1
        print(f"  run {run:2d}: {'killed' if was_killed else 'finished'} after {delay:4.1f}s "
              f"({done}/{len(files)} files reported), pending at restart {len(state['pending'])}, "
              f"repaired→{state['reopened']['chunks']} chunks, re-run→{state['completed']['chunks']} chunks")

    print(f"runs={RUNS} kills={kills} finished_before_kill={finished} mid_document={mid_document} "
          f"lexical_at_open={lexical_at_open} "
          f"consistent={consistent} completed={completed}")
    assert consistent == completed == RUNS
    assert kills >= RUNS // 2, "most runs must actually be killed"
    assert mid_document >= 1, "at least one kill must land inside a document's write"
