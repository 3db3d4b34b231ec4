"""Pure parts behind the web UI: escaping, highlighting, the grade card, the form → report sentence, the login
rule, the conversation store and the duty brief (completeness, DOCX)."""

from __future__ import annotations

import pytest

from app.interfaces import conversations as convs
from app.interfaces.export import brief_versions, save_brief_version
from app.interfaces.html import (answer_markdown, cited_sentences, escape_markdown, grade_card_html,
                                 highlight_spans, sources_html)
from app.interfaces.web import ConfigError, is_loopback, login_for
from app.reason.situation import situation_text
from app.config import load_settings
from app.reason.brief import check_brief, fields_from_assessment, render_brief
from app.reason.grading import situation_from_text
from app.reason.verify import FLAG

CITATION = {"n": 1, "chunk_id": "c1", "source": "/kb/条例.md", "title": "地质灾害防治条例", "locator": "第二十九条",
            "page": "", "text": "接到险情报告后，当地人民政府应当组织受威胁群众转移。<script>alert(1)</script>"}


def test_document_html_is_shown_escaped_never_run():
    html = sources_html([CITATION], "当地人民政府应当组织受威胁群众转移[1]。")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>" in html  # the cited words are highlighted
    md = escape_markdown("[点我](javascript:alert(1)) <img src=x onerror=alert(1)> **粗体**")
    assert "<img" not in md and "](" not in md and "**" not in md


def test_highlight_marks_the_runs_the_answer_repeats():
    passage = "发现险情后，群测群防员应当在30分钟内报告乡镇人民政府。"
    spans = highlight_spans(passage, ["群测群防员应当在30分钟内报告"])
    assert [passage[a:b] for a, b in spans] == ["群测群防员应当在30分钟内报告"]
    assert highlight_spans(passage, ["完全无关的话"]) == []


def test_cited_sentences_are_grouped_by_marker():
    answer = "应立即转移[1]。转移路线不得穿越泥石流沟[2]。两者都要做[1][2]。"
    groups = cited_sentences(answer)
    assert groups[1] == ["应立即转移。", "两者都要做。"]
    assert groups[2] == ["转移路线不得穿越泥石流沟。", "两者都要做。"]


def test_unverified_sentences_are_visibly_marked():
    payload = {"answer": f"应在30分钟内报告[1]。罚款五万元{FLAG}[1]。", "unverified": ["罚款五万元"]}
    md = answer_markdown(payload)
    assert 'class="gh-unverified"' in md and "未核实" in md
    assert "1 句未能在引用资料中核实" in md


def test_grade_card_is_colour_coded_by_response_level():
    assessment = {"response_level": "Ⅲ级", "hazard_grade": {"scale": "险情", "grade": "中型", "level_roman": "Ⅲ",
                                                          "level_name": "较大", "lower_bound": False},
                  "basis": [{"summary": "险情为中型（Ⅲ级，较大）。依据：《地质灾害防治条例》"}],
                  "evacuation": {"scope": "后山坡脚<b>以下</b>住户"}, "missing": ["受威胁人数"]}
    card = grade_card_html(assessment, [CITATION])
    assert "#f9a825" in card and "应急响应：Ⅲ级（黄）" in card
    assert "中型" in card and "受威胁人数" in card and "&lt;b&gt;" in card


def test_form_becomes_a_report_the_figure_parser_reads():
    text = situation_text("滑坡", "某县某镇石门村三组", 180, 45, 3000, 2, 1, None, 500, "约5万立方米", "", "红色",
                          ["后缘裂缝加宽"], "")
    situation = situation_from_text(text)
    assert situation.people_to_move == 180 and situation.households == 45
    assert situation.potential_loss_yuan == 30_000_000 and situation.direct_loss_yuan == 5_000_000
    assert situation.deaths == 2 and situation.missing == 1
    assert "红色预警" in text and "后缘裂缝加宽" in text
    assert situation_text("", "", None, None, None, None, None, None, None, "", "", "", [], "") == ""
    assert "死亡" not in situation_text("滑坡", "某村", 50, 0, 0, 0, 0, 0, 0, "", "", "", [], "")


def test_login_is_required_off_loopback(monkeypatch):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    settings = load_settings()
    assert login_for(settings, "127.0.0.1") is None
    with pytest.raises(ConfigError, match="GEOHAZARD_AUTH_USER"):
        login_for(settings, "0.0.0.0")
    assert login_for(load_settings(auth_user="duty", auth_password="s3cret-duty-2026"), "0.0.0.0") == [
        ("duty", "s3cret-duty-2026")]


def test_conversations_persist_and_export(tmp_path):
    db = convs.connect(tmp_path / "c.sqlite3")
    cid = convs.create_conversation(db, "泥石流来了往哪里跑？这是一个很长很长很长很长很长很长很长的问题标题", owner="")
    convs.add_turn(db, cid, "user", "泥石流来了往哪里跑？")
    convs.add_turn(db, cid, "assistant", "向沟谷两侧山坡高处跑[1]。", {"answer": "向沟谷两侧山坡高处跑[1]。",
                                                                 "citations": [CITATION]})
    db.close()
    db = convs.connect(tmp_path / "c.sqlite3")  # a restart
    [listed] = convs.list_conversations(db)
    assert listed.id == cid and listed.title.endswith("…")
    conversation = convs.load_conversation(db, cid)
    assert [t.role for t in conversation.turns] == ["user", "assistant"]
    assert conversation.turns[1].payload["citations"][0]["locator"] == "第二十九条"
    md = convs.conversation_markdown(conversation)
    assert "向沟谷两侧山坡高处跑[1]" in md and "《地质灾害防治条例》 第二十九条" in md
    assert convs.load_conversation(db, cid, owner="someone-else") is None  # users see only their own


def test_brief_names_every_missing_element_and_place_precision():
    check = check_brief("速报", {"time": "2025年2月8日11时50分", "place": "筠连县沐爱镇", "hazard_type": "滑坡"})
    assert "规模" in check.missing and "报告单位和联系人" in check.missing and "发生时间" not in check.missing
    assert check.warnings == ["发生地点未具体到村、组（社区）"]
    assert "新进展" in check_brief("续报", {}).missing and "处置结果" in check_brief("终报", {}).missing
    text = render_brief("速报", {"place": "金坪村"})
    assert "二、发生地点：金坪村" in text and "一、发生时间：【待补充】" in text and "完整性检查" in text
    with pytest.raises(ValueError):
        check_brief("周报", {})


def test_brief_fields_come_only_from_the_assessment():
    assessment = {"hazard_type": "滑坡", "region": "重庆市", "situation": {
        "place": "巫山县某村", "time": "", "volume": "约5万立方米", "signs": ["后缘裂缝加宽"],
        "figure_text": {"people_to_move": "180人", "potential_loss_yuan": "约3000万元"}},
        "basis": [{"summary": "险情为中型。"}], "risk_factors": ["连续降雨"], "evacuation": {"scope": "坡脚住户"}}
    fields = fields_from_assessment(assessment)
    assert fields["place"] == "巫山县某村" and fields["scale"] == "约5万立方米"
    assert fields["casualties"] == "180人" and fields["direct_loss"] == "约3000万元"
    assert "后缘裂缝加宽" in fields["cause_trend"] and "连续降雨" in fields["cause_trend"]
    assert fields["measures"] == "" and fields["time"] == ""  # not stated: left for the officer


def test_each_save_is_a_new_version_with_docx_and_markdown(tmp_path):
    from docx import Document

    fields = {"time": "2025年2月8日11时50分", "place": "金坪村", "hazard_type": "滑坡"}
    md1, docx1 = save_brief_version(tmp_path, "速报", fields, written_at=1_700_000_000)
    md2, docx2 = save_brief_version(tmp_path, "速报", {**fields, "scale": "约10万方"}, written_at=1_700_000_000)
    assert md1 != md2 and md1.exists() and md2.exists() and len(brief_versions(tmp_path)) == 2
    table = {r.cells[0].text: r.cells[1].text for r in Document(str(docx2)).tables[0].rows}
    assert table["规模"] == "约10万方" and table["发生地点"] == "金坪村" and table["下一步工作"] == "【待补充】"


def test_a_saved_turn_survives_a_killed_server(tmp_path):
    """The process appends a turn, then dies by SIGKILL (no clean shutdown); the turn is there after restart."""
    import subprocess
    import sys

    path = tmp_path / "c.sqlite3"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from app.interfaces import conversations as convs\n"
        "db = convs.connect(Path(sys.argv[1]))\n"
        "cid = convs.create_conversation(db, '断电前的问题')\n"
        "for i in range(20):\n"
        "    convs.add_turn(db, cid, 'user', f'第{i}个问题')\n"
        "print(cid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    cid = proc.stdout.strip()
    conversation = convs.load_conversation(convs.connect(path), cid)
    print(f"turns written before SIGKILL: 20, found after restart: {len(conversation.turns)}")
    assert [t.content for t in conversation.turns] == [f"第{i}个问题" for i in range(20)]


def test_grade_card_shows_the_gradings_notes_once_and_the_rule_passage():
    note = "本预案分级标准与全国标准不同：大型险情受威胁需搬迁转移人数下限为300人（全国标准500人）"
    assessment = {"response_level": "Ⅱ级", "hazard_grade": {"scale": "险情", "grade": "大型", "level_roman": "Ⅱ",
                                                          "level_name": "重大", "lower_bound": True,
                                                          "warnings": [note, "缺少潜在经济损失，现按已知指标定级", note]},
                  "basis": [{"summary": "险情至少为大型。依据：《天津市突发地质灾害应急预案》（1.2）", "passage": 2}],
                  "evacuation": {}, "missing": ["潜在经济损失"]}
    card = grade_card_html(assessment, [CITATION])
    assert card.count("全国标准500人") == 1 and "提示" in card
    assert "缺少潜在经济损失，现按" not in card  # missing figures are listed apart
    assert "（1.2） [2]</li>" in card
