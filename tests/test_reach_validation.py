"""The runout validation (eval/reach_validation.py) runs on the committed events file and reports every event."""

from __future__ import annotations

import json

from eval.reach_validation import EVENTS, load_events, main, render_markdown, validate


def test_report_has_a_row_per_event_and_lists_incomplete_ones(tmp_path):
    events = load_events(EVENTS)
    assert len(events) >= 10
    assert all(e["sources"] for e in events)  # every event names where its figures come from
    assert main(["--out-dir", str(tmp_path), "--date", "2000-01-01"]) == 0
    md = (tmp_path / "2000-01-01-reach.md").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "2000-01-01-reach.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in data["rows"]] == [e["id"] for e in events]
    for e in events:
        assert e["name"] in md
    incomplete = {e["id"] for e in events if e.get("height_m") is None or e.get("runout_m") is None}
    assert set(data["not_computed"]) == incomplete
    assert "## Coverage per relation group" in md and "## Misses of the conservative reach" in md


def test_a_miss_is_reported_with_a_reason():
    fill = {"id": "x", "name": "synthetic fill flowslide", "hazard_type": "滑坡", "material": "fill",
            "volume_m3": 1e5, "height_m": 50, "runout_m": 5000, "observed_type": "flowslide", "sources": ["test"]}
    result = validate([fill])
    assert result["groups"]["earthflow"]["covered"] == 0
    assert result["misses"][0]["reasons"][0].startswith("saturated construction fill")
    assert "synthetic fill flowslide" in render_markdown(result, "2000-01-01").split("## Misses")[1]


def test_a_fill_fed_debris_flow_is_not_explained_by_the_earthflow_row():
    flow = {"id": "f", "name": "fill-fed debris flow", "hazard_type": "泥石流", "material": "fill",
            "path": "channelized", "volume_m3": 5e4, "height_m": 400, "runout_m": 2000, "sources": ["test"]}
    result = validate([flow])
    assert result["rows"][0]["group"] == "debris_flow"
    reasons = result["beyond_expected"][0]["reasons"]
    assert reasons[0].startswith("the source was saturated artificial fill")
    assert not any("earthflow row" in r for r in reasons)


def test_a_group_with_only_incomplete_events_is_reported_as_not_assessed():
    rock = {"id": "r", "name": "rockfall", "hazard_type": "崩塌", "material": "rock", "volume_m3": 1e6, "height_m": 500,
            "runout_m": 1000, "sources": ["test"]}
    flow = {"id": "d", "name": "debris flow without H", "hazard_type": "泥石流", "material": "soil",
            "path": "channelized", "volume_m3": 1e6, "height_m": None, "runout_m": None, "sources": ["test"]}
    result = validate([rock, flow])
    assert result["groups_without_complete_event"] == ["debris_flow"]
    assert "debris_flow" not in result["groups"]
    md = render_markdown(result, "2000-01-01")
    assert "debris flows (泥石流): not assessed." in md


def test_a_second_run_is_set_against_the_previous_one(tmp_path):
    events = load_events(EVENTS)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events[:-1]) + "\n", encoding="utf-8")
    assert main(["--events", str(fewer), "--out-dir", str(tmp_path), "--date", "2000-01-01"]) == 0
    assert "## Against the previous run" not in (tmp_path / "2000-01-01-reach.md").read_text(encoding="utf-8")
    assert main(["--out-dir", str(tmp_path), "--date", "2000-01-01", "--tag", "more"]) == 0
    md = (tmp_path / "2000-01-01-reach-more.md").read_text(encoding="utf-8")
    section = md.split("## Against the previous run", 1)[1]
    assert "`2000-01-01-reach.json`" in section and f"Added: {events[-1]['name']}." in section
    assert "Dropped: none." in section
