"""The dialogue evaluation (issue 14): its question file is well formed and points at real chunks, and the harness
and report run both modes on two dialogues (fixture corpus, stub model: cheap)."""

from __future__ import annotations

import json
from collections import Counter
import pytest

from app.config import load_settings
from eval.dialogues import CATEGORIES, KINDS, MODES, carried_ok, load_dialogues, run_both
from support.corpus_refs import locators, resolve

GRADES = {"特大型": "Ⅰ级", "大型": "Ⅱ级", "中型": "Ⅲ级", "小型": "Ⅳ级"}


def test_every_dialogue_line_is_valid():
    dialogues = load_dialogues()
    assert len(dialogues) >= 30
    assert len({d["id"] for d in dialogues}) == len(dialogues)
    counts = Counter(d["category"] for d in dialogues)
    assert set(counts) == set(CATEGORIES) and min(counts.values()) >= 6, counts
    expected_kind = {"followup": "fact", "switch": "fact", "incident": "grade", "refusal": "refusal"}
    for d in dialogues:
        assert set(d) <= {"id", "category", "turns", "last", "must_not_carry", "expect_resolved_contains"}, d["id"]
        assert 2 <= len(d["turns"]) <= 3 and all(isinstance(t, str) and t.strip() for t in d["turns"]), d["id"]
        last = d["last"]
        assert last["kind"] in KINDS and last["kind"] == expected_kind[d["category"]], d["id"]
        if last["kind"] == "refusal":
            assert not last.get("facts") and not last.get("sources"), d["id"]
            continue
        assert last["facts"] and all(isinstance(alts, list) and alts for alts in last["facts"]), d["id"]
        assert last["sources"] and all(set(s) == {"source", "locator"} for s in last["sources"]), d["id"]
        if last["kind"] == "grade":
            e = last["expected"]
            assert e["scale"] in ("险情", "灾情"), d["id"]
            assert GRADES[e["grade"]] == e["level"] == e["response_level"], d["id"]
        if d["category"] == "switch":
            assert d.get("must_not_carry"), d["id"]
            assert not any(w in d["turns"][-1] for w in d["must_not_carry"]), d["id"]  # the question stands alone
        else:
            assert "must_not_carry" not in d, d["id"]


def test_every_source_of_the_dialogue_set_exists():
    checked = 0
    for d in load_dialogues():
        for s in d["last"].get("sources", []):
            path = resolve(s["source"])
            if path is None:
                continue
            assert path.is_file(), (d["id"], s)
            assert s["locator"] in locators(path), (d["id"], s)
            checked += 1
    assert checked > 0


def test_carried_ok():
    d = {"must_not_carry": ["重庆"], "expect_resolved_contains": ["黄色"]}
    assert carried_ok(d, "黄色预警表示什么？") is True
    assert carried_ok(d, "重庆黄色预警表示什么？") is False
    assert carried_ok(d, "红色预警表示什么？") is False
    assert carried_ok({}, "任何问题") is None


TWO = [
    {"id": "t001", "category": "followup",
     "turns": ["示例省红色预警发布后群测群防员应当在多长时间内报告？", "那黄色呢？"],
     "last": {"kind": "fact", "facts": [["30分钟"]],
              "sources": [{"source": "corpus/regulation_sample.md", "locator": "第四条"}]},
     "expect_resolved_contains": ["黄色", "群测群防员"]},
    {"id": "t002", "category": "incident", "turns": ["示例县石门村后山发生滑坡，威胁32户约120人",
                                                     "核实后受威胁人数增加到600人"],
     "last": {"kind": "grade", "facts": [["大型"], ["Ⅱ级", "二级"]], "sources": [],
              "expected": {"scale": "险情", "grade": "大型", "level": "Ⅱ级", "response_level": "Ⅱ级"}}},
]


@pytest.fixture(scope="module")
def copilot(tmp_path_factory):
    from conftest import FIXTURES
    from support.stubllm import stub_copilot

    copilot = stub_copilot(load_settings(), tmp_path_factory.mktemp("dlg") / "kb")
    assert all(r.ok for r in copilot.ingest([FIXTURES / "corpus"]))
    return copilot


def test_harness_and_report_on_two_dialogues(copilot, tmp_path):
    from eval.dialogues_report import dialogues_report, write_dialogue_results

    results = run_both(copilot, TWO)
    hist, alone = (results["modes"][m] for m in MODES)
    h = {r["id"]: r for r in hist["rows"]}
    a = {r["id"]: r for r in alone["rows"]}
    # with history: the ellipsis swapped the colour by code, the incident was updated and regraded
    assert h["t001"]["resolve_how"] == "ellipsis" and h["t001"]["carried_ok"] is True
    assert h["t001"]["resolved_question"] == TWO[0]["turns"][0].replace("红色", "黄色")
    assert h["t001"]["earlier_s"] > 0 and h["t001"]["resolve_s"] is not None
    assert h["t002"]["resolve_how"] == "incident-update" and h["t002"]["grade_ok"] is True
    assert h["t002"]["situation_changes"] and h["t002"]["carried_ok"] is None
    # without history: the last message alone
    assert a["t001"]["resolve_how"] == "first" and a["t001"]["resolved_question"] == "那黄色呢？"
    assert a["t001"]["carried_ok"] is False and a["t001"]["earlier_s"] == 0
    assert a["t002"]["resolve_how"] == "incident" and a["t002"]["situation_changes"] == []  # a new incident
    s = hist["summary"]
    assert s["dialogues"] == 2 and s["grade_accuracy"] == 1.0 and s["carried_ok_rate"] == 1.0
    assert alone["summary"]["carried_ok_rate"] == 0.0
    assert set(hist["categories"]) == {"followup", "incident"}

    report = dialogues_report(results)
    assert "| metric | with history | without history |" in report and "## Per dialogue" in report
    assert "| followup | 1 |" in report and "Against the previous run" not in report
    path = write_dialogue_results(results, report, tmp_path)
    assert path.name.endswith("-dialogues.md") and path.with_suffix(".json").is_file()
    assert (tmp_path / f"{results['date']}-dialogues-latency.png").is_file()
    again = dialogues_report(results, (path.with_suffix(".json").name,
                                       json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))))
    assert "## Against the previous run" in again and "Dialogues whose outcome changed: 0." in again


def test_cli_accepts_the_dialogues_suite():
    from eval.__main__ import parser

    args = parser().parse_args(["eval", "dialogues", "--limit", "2", "--no-write"])
    assert args.suite == "dialogues" and args.limit == 2
