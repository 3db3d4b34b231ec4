"""Grading read from a regional plan's own text (issue 16, item 4): the parser on both common wordings, and a real
knowledge base (Chroma + e5 + BM25) where a plan differing from the national table in one bound grades the
situations named for its region."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import load_settings
from app.index.embed import E5Embeddings
from app.pipeline import Copilot
from app.reason.assess import grade_situation
from app.reason.plan_rules import plan_rules, read_plan_scales
from app.reason.ruleset import load_rules

PLAN = Path(__file__).parent / "fixtures" / "plans" / "tianjin_fenji_yuan.md"

# The newer wording: 特别重大/重大/较大/一般, both scales in one paragraph, 死亡和失踪 counted together, figures
# before the noun ("造成10人以上、30人以下死亡和失踪"); one bound (较大灾情 直接经济损失 下限 50万元) differs.
NEW_WORDING = """1.4 事件分级
（1）特别重大地质灾害（Ⅰ级）：因山体崩塌、滑坡、泥石流等灾害造成30人以上死亡和失踪，或者直接经济损失1000万元以上的地质灾害灾情；受地质灾害威胁，需搬迁转移人数在1000人以上，或者潜在可能造成的经济损失1亿元以上的地质灾害险情。
（2）重大地质灾害（Ⅱ级）：因灾造成10人以上、30人以下死亡和失踪，或者直接经济损失500万元以上、1000万元以下的地质灾害灾情；受地质灾害威胁，需搬迁转移人数在500人以上、1000人以下，或者潜在经济损失5000万元以上、1亿元以下的地质灾害险情。
（3）较大地质灾害（Ⅲ级）：因灾造成3人以上、10人以下死亡和失踪，或者直接经济损失50万元以上、500万元以下的地质灾害灾情；受地质灾害威胁，需搬迁转移人数在100人以上、500人以下，或者潜在经济损失500万元以上、5000万元以下的地质灾害险情。
（4）一般地质灾害（Ⅳ级）：因灾造成3人以下死亡和失踪，或者直接经济损失50万元以下的地质灾害灾情；受地质灾害威胁，需搬迁转移人数在100人以下，或者潜在经济损失500万元以下的地质灾害险情。"""


def test_the_older_wording_is_read_grade_by_grade_with_its_bounds():
    found, missing_too = read_plan_scales(PLAN.read_text(encoding="utf-8"))
    assert not missing_too
    big = found["险情"]["大型"]["people_to_move"]
    assert (big.min, big.min_inclusive, big.max, big.max_inclusive) == (300, True, 1000, True)
    assert found["险情"]["小型"]["potential_loss_yuan"].max == 5_000_000
    assert found["灾情"]["特大型"]["direct_loss_yuan"].min == 10_000_000
    assert set(found["灾情"]) == set(found["险情"]) == {"特大型", "大型", "中型", "小型"}


def test_the_newer_wording_counts_missing_with_deaths_and_names_the_differing_bound():
    rules = plan_rules(NEW_WORDING, "《某省突发地质灾害应急预案》", "1.4 事件分级", "某省", load_rules())
    assert rules is not None
    disaster = rules.scales["灾情"]
    assert disaster.counts_missing_as_deaths
    mid = next(g for g in disaster.grades if g.grade == "中型").thresholds
    assert (mid["deaths"].min, mid["deaths"].max) == (3, 10)
    assert mid["direct_loss_yuan"].min == 500_000
    assert "中型灾情直接经济损失下限为50万元（全国标准100万元）" in disaster.note
    assert "与全国标准一致" in rules.scales["险情"].note


def test_an_incomplete_table_is_not_used():
    two_grades = "\n".join(NEW_WORDING.splitlines()[:3])
    assert plan_rules(two_grades, "《某预案》", "1.4", "某省", load_rules()) is None
    assert plan_rules("各区应当做好地质灾害防治工作。", "《某预案》", "1", "某省", load_rules()) is None


@pytest.mark.offline
def test_a_regions_plan_grades_its_situations_and_the_national_rule_the_rest(tmp_path, fixture_corpus):
    copilot = Copilot(load_settings(), tmp_path / "kb", embeddings=E5Embeddings(num_threads=2))
    folder = tmp_path / "plans"
    folder.mkdir()
    shutil.copy(PLAN, folder / PLAN.name)
    copilot.ingest([fixture_corpus, folder])
    report = "蓟州区某村后山出现滑坡险情，受威胁需转移400人。"

    plan = copilot.grading_plan("天津市蓟州区")
    assert plan is not None
    _, grades, _ = grade_situation("天津市" + report, set(), plan=plan)
    hazard = grades[0]
    assert hazard.grade == "大型" and hazard.rule_set.startswith("plan:")
    assert "天津市突发地质灾害应急预案" in hazard.citation and "1.2 地质灾害险情和灾情分级" in hazard.citation
    assert any("大型险情受威胁需搬迁转移人数下限为300人（全国标准500人）" in w for w in hazard.warnings)
    assert "地方预案" in hazard.rule_selection

    _, grades, _ = grade_situation(report, set(), plan=copilot.grading_plan(None))
    assert grades[0].grade == "中型" and grades[0].rule_set == "national"
    assert copilot.grading_plan("河北省承德市") is None  # no plan of that region in the knowledge base
