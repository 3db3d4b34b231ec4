"""Chinese numbers and quantities: parse_cn_number, parse_quantity, display helpers."""

from __future__ import annotations

import pytest

from app.reason.numbers import KINDS, format_yuan, parse_cn_number, parse_quantity, to_halfwidth


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一千二百", 1200),
        ("两百", 200),
        ("3000", 3000),
        ("1.2", 1.2),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十万", 200_000),
        ("一亿二千万", 120_000_000),
        ("３０", 30),
        ("１．５", 1.5),
        ("一百零五", 105),
        ("一千零五十", 1050),
        ("一千二", 1200),  # colloquial
        ("三万五", 35_000),  # colloquial
        ("一亿二", 120_000_000),  # colloquial
        ("十万", 100_000),
        ("一万亿", 10**12),
        ("3000万", 30_000_000),
        ("1.2亿", 120_000_000),
        ("0.5亿", 50_000_000),
        ("1亿2000万", 120_000_000),
        ("3,000", 3000),
        ("三〇〇", 300),
        ("千", 1000),
        ("零", 0),
        ("0", 0),
    ],
)
def test_parse_cn_number(text, expected):
    assert parse_cn_number(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "abc", "万", "亿", "两三百", "百百", "十百", "1.2.3"])
def test_parse_cn_number_rejects_non_numbers(text):
    assert parse_cn_number(text) is None


def test_to_halfwidth_keeps_length():
    text = "３０人，１．２亿元"
    assert len(to_halfwidth(text)) == len(text)
    assert to_halfwidth(text) == "30人，1.2亿元"


def _view(text):
    return [(q.kind, q.value, q.approx, q.role) for q in parse_quantity(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # households vs people, the classic "N户M人"
        ("45户约180人", [("households", 45, False, None), ("people", 180, True, None)]),
        ("威胁45户180人", [("households", 45, False, "threatened"), ("people", 180, False, "threatened")]),
        ("受威胁群众12户46人", [("households", 12, False, "threatened"), ("people", 46, False, "threatened")]),
        ("威胁下方45户居民约180人", [("households", 45, False, "threatened"), ("people", 180, True, "threatened")]),
        ("180人受到威胁", [("people", 180, False, "threatened")]),
        ("转移3口人", [("people", 3, False, "threatened")]),
        ("出动救援人员200名", [("people", 200, False, "rescuers")]),
        ("1300余人受灾", [("people", 1300, True, "affected")]),
        ("紧急疏散群众300余人", [("people", 300, True, "threatened")]),
        ("180人紧急转移", [("people", 180, False, "threatened")]),
        ("转移群众千余人", [("people", 1000, True, "threatened")]),
        ("近1000人需撤离", [("people", 1000, True, "threatened")]),
        ("受威胁人数为180", [("people", 180, False, "threatened")]),
        ("户数：45", [("households", 45, False, None)]),
        # deaths / missing / injured decided by context
        ("造成2人死亡", [("deaths", 2, False, None)]),
        ("死亡2人、失踪3人、受伤5人", [("deaths", 2, False, None), ("missing", 3, False, None),
                                       ("injured", 5, False, None)]),
        ("遇难44人", [("deaths", 44, False, None)]),
        ("44人遇难", [("deaths", 44, False, None)]),
        ("因灾死亡三十人", [("deaths", 30, False, None)]),
        ("３０人死亡", [("deaths", 30, False, None)]),
        ("3人失联", [("missing", 3, False, None)]),
        ("致2死3伤", [("deaths", 2, False, None), ("injured", 3, False, None)]),
        ("无人员伤亡", [("deaths", 0, False, None), ("injured", 0, False, None)]),
        ("死亡2人，另有180人", [("deaths", 2, False, None), ("people", 180, False, None)]),
        # money, normalized to 元
        ("潜在经济损失约3000万元", [("money_yuan", 30_000_000, True, "potential_loss")]),
        ("直接经济损失600万元", [("money_yuan", 6_000_000, False, "direct_loss")]),
        ("可能造成经济损失1.2亿", [("money_yuan", 120_000_000, False, "potential_loss")]),
        ("直接经济损失1.5亿元", [("money_yuan", 150_000_000, False, "direct_loss")]),
        ("经济损失约1.45亿元", [("money_yuan", 145_000_000, True, None)]),
        ("经济损失300余万元", [("money_yuan", 3_000_000, True, None)]),
        ("威胁财产3000万人民币", [("money_yuan", 30_000_000, False, "potential_loss")]),
        ("每户补助3000元", [("money_yuan", 3000, False, None)]),
        ("经济损失约二十万元", [("money_yuan", 200_000, True, None)]),
        ("损失一亿二千万元", [("money_yuan", 120_000_000, False, None)]),
        ("约3万", [("other", 30_000, True, None)]),  # no unit, no talk of money
        # volume, normalized to m³
        ("滑坡体积约300万立方米", [("volume_m3", 3_000_000, True, None)]),
        ("方量约2万方", [("volume_m3", 20_000, True, None)]),
        ("崩塌体约5000m³", [("volume_m3", 5000, True, None)]),
        ("约5000 m3", [("volume_m3", 5000, True, None)]),
        ("100立方米左右", [("volume_m3", 100, True, None)]),
        # words and numbers that are not quantities
        ("一户一策，一人一档，九死一生，统一转移", []),
        ("2024年1月22日11时50分", []),
        ("排名第3名", []),
        ("3方面原因", []),
        ("3口井", []),
        ("万人空巷", []),
        ("有无人员伤亡正在核实", []),
    ],
)
def test_parse_quantity(text, expected):
    assert _view(text) == expected


def test_parse_quantity_spans_point_at_source_text():
    text = "某滑坡威胁45户约180人，潜在经济损失约3000万元；已造成２人死亡。"
    quantities = parse_quantity(text)
    assert [q.text for q in quantities] == ["45户", "约180人", "约3000万元", "２人"]
    for q in quantities:
        assert text[q.start:q.end] == q.text
        assert q.kind in KINDS


def test_parse_quantity_mixed_report():
    text = "造成2人死亡、3人失踪，紧急转移群众45户180人，直接经济损失约600万元，滑坡体积约30万立方米"
    assert _view(text) == [
        ("deaths", 2, False, None),
        ("missing", 3, False, None),
        ("households", 45, False, "threatened"),
        ("people", 180, False, "threatened"),
        ("money_yuan", 6_000_000, True, "direct_loss"),
        ("volume_m3", 300_000, True, None),
    ]


@pytest.mark.parametrize("marker", ["约", "近", "逾", "超过", "将近", "接近", "大约"])
def test_approx_before(marker):
    (q,) = parse_quantity(f"转移{marker}180人")
    assert q.approx and q.text == f"{marker}180人"


@pytest.mark.parametrize("marker", ["余", "多"])
def test_approx_inside(marker):
    (q,) = parse_quantity(f"转移180{marker}人")
    assert q.approx and q.value == 180


@pytest.mark.parametrize("marker", ["以上", "左右", "上下"])
def test_approx_after(marker):
    (q,) = parse_quantity(f"转移180人{marker}")
    assert q.approx and q.text == f"180人{marker}"


def test_nearby_is_not_approx():
    (q,) = parse_quantity("附近180人")
    assert not q.approx


def test_quantity_to_json():
    (q,) = parse_quantity("潜在经济损失约3000万元")
    assert q.to_json() == {"kind": "money_yuan", "value": 30_000_000.0, "text": "约3000万元", "span": [6, 13],
                           "approx": True, "role": "potential_loss"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(800, "800元"), (10_000, "1万元"), (6_000_000, "600万元"), (30_000_000, "3000万元"),
     (100_000_000, "1亿元"), (145_000_000, "1.45亿元"), (49_990_000, "4999万元")],
)
def test_format_yuan(value, text):
    assert format_yuan(value) == text
