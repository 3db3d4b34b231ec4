"""Property-based tests (hypothesis): loaders never crash on arbitrary bytes except with IngestError, the
chunker keeps every character it is given inside limits with stable ids, the Chinese number parser round-trips
and never raises."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.ingest.chunk import ARTICLE, _division_or_md_heading, _section_heading, _strip_md, chunk_document
from app.ingest.clean import decode_text, normalize
from app.ingest.errors import IngestError
from app.ingest.load import SUPPORTED, load_file
from app.reason.numbers import parse_cn_number, parse_quantity
from app.schema import Page, RawDoc

MB = 2**20
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TALLY: Counter[str] = Counter()  # what each property test saw; printed after it (pytest -s)


@pytest.fixture(autouse=True)
def tally(request):
    TALLY.clear()
    yield TALLY
    if TALLY:
        print(f"{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(TALLY.items())) + ", crashes=0")


# ------------------------------------------------------------------ loaders: arbitrary bytes

@PROPS
@given(st.binary(max_size=4096))
@example(b"\xef\xbb\xbf\xff")  # BOM then invalid UTF-8
@example(b"\xff\xfe\x00\xd8")  # UTF-16 BOM then a lone surrogate
@example(b"\xfe\xff\xd8\x00")
@example(b"\xff\xfe\x41")  # odd length UTF-16
def test_decode_text_returns_text_or_raises_ingest_error(data):
    TALLY["inputs"] += 1
    try:
        text = decode_text(data)
    except IngestError as exc:
        TALLY["IngestError"] += 1
        assert " / " in str(exc)
    else:
        TALLY["decoded"] += 1
        assert isinstance(text, str)
        text.encode("utf-8")  # no lone surrogates: the text can be stored and shown


def _load_bytes(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"file{suffix}"
        path.write_bytes(data)
        return load_file(path, MB)


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(sorted(SUPPORTED)))
def test_any_bytes_under_any_supported_name_load_or_fail_with_ingest_error(data, suffix):
    TALLY["files"] += 1
    try:
        doc = _load_bytes(data, suffix)
    except IngestError as exc:
        TALLY["IngestError"] += 1
        assert " / " in str(exc) and "\n" not in str(exc)
    else:
        TALLY["loaded"] += 1
        assert doc.pages and any(p.text.strip() for p in doc.pages)
        assert "\x00" not in "".join(p.text for p in doc.pages)


def _mutations(base: bytes):
    """Truncations, byte flips and splices of a real file."""
    return st.one_of(
        st.integers(0, len(base)).map(lambda n: base[:n]),
        st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), min_size=1, max_size=20).map(
            lambda flips: _flip(base, flips)),
        st.tuples(st.integers(0, len(base)), st.binary(max_size=200)).map(lambda t: base[:t[0]] + t[1] + base[t[0]:]),
    )


def _flip(base: bytes, flips) -> bytes:
    data = bytearray(base)
    for pos, value in flips:
        data[pos] = value
    return bytes(data)


def _real_pdf() -> bytes:
    from eval.pdfgen import make_pdf

    with tempfile.TemporaryDirectory() as tmp:
        return make_pdf(Path(tmp) / "x.pdf", [["1 总则", "为了做好地质灾害防治工作，制定本预案。"],
                                              ["2 响应", "发生险情时立即组织群众撤离。"]]).read_bytes()


def _real_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("一、隐患点情况", level=1)
    document.add_paragraph("全县共有地质灾害隐患点12处，威胁人数共计860人。")
    with tempfile.TemporaryDirectory() as tmp:
        document.save(Path(tmp) / "x.docx")
        return (Path(tmp) / "x.docx").read_bytes()


REAL_PDF, REAL_DOCX = _real_pdf(), _real_docx()


@settings(max_examples=80, deadline=None)
@given(_mutations(REAL_PDF))
def test_damaged_pdfs_load_or_fail_with_ingest_error(data):
    _load_or_fail_clearly(data, ".pdf")


@settings(max_examples=60, deadline=None)
@given(_mutations(REAL_DOCX))
def test_damaged_docx_load_or_fail_with_ingest_error(data):
    _load_or_fail_clearly(data, ".docx")


def _load_or_fail_clearly(data: bytes, suffix: str) -> None:
    """A damaged file either loads or fails with a bilingual IngestError; nothing else escapes."""
    TALLY["files"] += 1
    try:
        _load_bytes(data, suffix)
        TALLY["loaded"] += 1
    except IngestError as exc:
        TALLY["IngestError"] += 1
        assert " / " in str(exc)


# ------------------------------------------------------------------ chunker

_CN = "一二三四五六七八九十"
LINES = st.one_of(
    st.sampled_from(["第一章 总则", "第二章 监测与预警", "第一节 一般规定", "## 应急响应", "# 示例预案", "### 3.3.2 人员转移"]),
    st.builds(lambda n: f"第{n}条 乡镇人民政府应当组织群众撤离。", st.sampled_from(["一", "二", "三", "十一", "二十"])),
    st.builds(lambda a, b: f"{a}.{b} 信息报告", st.integers(1, 9), st.integers(1, 9)),
    st.builds(lambda n: f"{n}、基本情况", st.sampled_from(list(_CN))),
    st.builds(lambda n: f"（{n}）转移安置", st.sampled_from(list(_CN))),
    st.just(""),
    st.text(alphabet=st.sampled_from(list("地质灾害滑坡崩塌泥石流群众撤离报告。，；：、 30分钟（）[]1\t")), min_size=1,
            max_size=300),
    st.text(max_size=120),
)


@st.composite
def documents(draw):
    lines = draw(st.lists(LINES, min_size=1, max_size=40))
    text = normalize("\n".join(lines))
    if not text.strip():
        text = "滑坡"
    split = draw(st.booleans())
    if split and len(text) > 10:
        cut = draw(st.integers(1, len(text) - 1))
        pages = (Page(text[:cut], 1), Page(text[cut:], 2))
    else:
        pages = (Page(text),)
    doc_type = draw(st.sampled_from(["report", "regulation", "plan", "case"]))
    return RawDoc(source="/kb/prop.md", title="性质测试", doc_type=doc_type, pages=pages)


def _joined(doc: RawDoc) -> str:
    return "\n".join(p.text for p in doc.pages)


def _is_heading(line: str) -> bool:
    return bool(_section_heading(line) or _division_or_md_heading(line))


@PROPS
@given(documents(), st.sampled_from([60, 200, 900]))
def test_chunks_are_exact_spans_within_limits_with_stable_unique_ids(doc, max_chars):
    text = _joined(doc)
    chunks = chunk_document(doc, max_chars)
    again = chunk_document(doc, max_chars)
    TALLY["documents"] += 1
    TALLY["chunks"] += len(chunks)
    assert [c.chunk_id for c in chunks] == [c.chunk_id for c in again]  # stable
    assert len({c.chunk_id for c in chunks}) == len(chunks)  # unique
    for c in chunks:
        assert c.text and c.text == c.text.strip()
        assert text[c.char_start:c.char_end] == c.text  # the span is exactly the chunk
        assert len(c.text) <= max_chars
        if c.page_start is not None:
            assert c.page_start <= c.page_end


def _short_regulation_preambles(text: str) -> set[int]:
    """Line offsets a regulation may drop by design: at most 20 characters of text between a heading (or the
    start) and the next article — a title line or "目录" — are not made into a chunk of their own."""
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    if sum(1 for _, ln in lines if ARTICLE.match(_strip_md(ln))) < 3:
        return set()
    allowed, run, in_article = set(), [], False

    def close(end: int) -> None:
        if run and end - run[0] <= 20:
            allowed.update(run)
        run.clear()

    for off, line in lines:
        s = _strip_md(line)
        if ARTICLE.match(s):
            close(off)
            in_article = True
        elif _division_or_md_heading(line):
            close(off)
            in_article = False
        elif not in_article and (s or run):
            run.append(off)
    close(len(text))
    return allowed


@PROPS
@given(documents(), st.sampled_from([60, 200, 900]))
@example(RawDoc(source="/kb/prop.md", title="t", doc_type="report",
                pages=(Page("## 1 总则\n第一条 乡镇人民政府应当组织群众撤离。\n第一章", 1),
                       Page(" 总则\n自发布之日起施行。\n第一章 总则", 2))), 60)
def test_no_non_whitespace_character_is_lost(doc, max_chars):
    """Every character of body text is inside some chunk; heading lines live on in heading paths."""
    text = _joined(doc)
    covered = bytearray(len(text))
    for c in chunk_document(doc, max_chars):
        covered[c.char_start:c.char_end] = b"\x01" * (c.char_end - c.char_start)
    allowed = _short_regulation_preambles(text)
    TALLY["documents"] += 1
    TALLY["characters"] += sum(not ch.isspace() for ch in text)
    offset = 0
    for line in text.split("\n"):
        if not _is_heading(line) and offset not in allowed:
            lost = [ch for i, ch in enumerate(line) if not ch.isspace() and not covered[offset + i]]
            assert not lost, (line, lost)
        offset += len(line) + 1


# ------------------------------------------------------------------ Chinese numbers

_DIG = "零一二三四五六七八九"


def _cn_below_10000(n: int, leading: bool) -> str:
    """Standard reading of 0 < n < 10000: 一千零五, 十五 (at the start) / 一十五 (after a higher section)."""
    out, zero = [], False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if unit == 10 and d == 1 and not out and leading:
            out.append("十")
        else:
            out.append(_DIG[d] + name)
    return "".join(out)


def to_chinese(n: int) -> str:
    if n == 0:
        return "零"
    parts, first = [], True
    sections = [(n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")]
    pending_zero = False
    for value, unit in sections:
        if value == 0:
            pending_zero = not first
            continue
        if not first and (pending_zero or value < 1000):
            parts.append("零")
        parts.append(_cn_below_10000(value, leading=first) + unit)
        first, pending_zero = False, False
    return "".join(parts)


@pytest.mark.parametrize(("n", "text"), [(15, "十五"), (105, "一百零五"), (1050, "一千零五十"), (100_010, "十万零一十"),
                                         (120_000_000, "一亿二千万"), (100_000_001, "一亿零一"), (3_000_0000, "三千万")])
def test_reference_formatter(n, text):
    assert to_chinese(n) == text


@PROPS
@given(st.integers(0, 10**12 - 1))
def test_chinese_numerals_round_trip(n):
    TALLY["numbers"] += 1
    assert parse_cn_number(to_chinese(n)) == n


@PROPS
@given(st.integers(0, 10**12 - 1))
def test_arabic_full_width_and_grouped_numbers_round_trip(n):
    TALLY["numbers"] += 1
    assert parse_cn_number(str(n)) == n
    assert parse_cn_number(f"{n:,}") == n
    assert parse_cn_number(str(n).translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})) == n


@PROPS
@given(st.integers(1, 9999), st.integers(0, 9999))
def test_mixed_wan_and_yi_notation_round_trips(high, low):
    TALLY["numbers"] += 1
    assert parse_cn_number(f"{high}万") == high * 10**4
    assert parse_cn_number(f"{high}亿") == high * 10**8
    if low:
        assert parse_cn_number(f"{high}亿{low}万") == high * 10**8 + low * 10**4
    assert parse_cn_number(f"{high}.5万") == high * 10**4 + 5000


NUMBERY = st.text(alphabet=st.sampled_from(list("零〇一二两三四五六七八九十百千万亿0123456789.,，０１２３４５６７８９．约余多人户元死伤失踪方立米 　\n")),
                  max_size=40)


@PROPS
@given(st.one_of(st.text(max_size=200), NUMBERY))
def test_number_parsers_never_raise_and_keep_exact_spans(text):
    TALLY["texts"] += 1
    value = parse_cn_number(text)
    TALLY["quantities"] += len(parse_quantity(text))
    assert value is None or (value == value and value >= 0)  # not NaN, never negative
    for q in parse_quantity(text):
        assert text[q.start:q.end] == q.text
        assert q.value == q.value and q.value >= 0
    assert re.sub(r"\s", "", text) == "" or isinstance(parse_quantity(text), list)
