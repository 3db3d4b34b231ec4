"""Chinese numbers and quantities in free text: "一千二百" → 1200, "45户约180人" → households 45, people 180.

Pure, regex-based. Every figure keeps its exact text span so a grade can point back to what it was read from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10**4, "亿": 10**8}
_CN_CHARS = "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_TOKEN = re.compile(rf"\d+(?:\.\d+)?|[{_CN_CHARS}]")


_HALFWIDTH = {ord(ch): ord(ch) - 0xFEE0 for ch in "０１２３４５６７８９．" + "".join(map(chr, range(0xFF21, 0xFF3B)))
              + "".join(map(chr, range(0xFF41, 0xFF5B)))} | {0x3000: ord(" ")}


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and ． → ASCII, one character for one (spans stay valid); ，。 stay as they are."""
    return text.translate(_HALFWIDTH)


def parse_cn_number(text: str) -> float | None:
    """Parse Arabic, Chinese or mixed numerals ("3000", "1.2亿", "两百", "一亿二千万", "３０"); None if not a number."""
    s = re.sub(r"[\s,]", "", to_halfwidth(text or ""))
    if not s:
        return None
    value = _parse_big(s)
    return None if value is None else float(value)


def _parse_big(s: str) -> Decimal | None:
    """Split on the last 亿, then on 万; each side is parsed on its own (so 一万亿 and 一亿二千万 both work)."""
    for char, unit in (("亿", _BIG_UNITS["亿"]), ("万", _BIG_UNITS["万"])):
        if char in s:
            head, _, tail = s.rpartition(char)
            left = _parse_big(head)
            if left is None or left == 0:
                return None
            if not tail:
                return left * unit
            if _is_bare_digit(tail):  # colloquial "三万五" = 35000, "一亿二" = 1.2亿
                return left * unit + Decimal(_DIGITS[tail] * unit) / 10
            right = _parse_big(tail.lstrip("零〇"))
            return None if right is None else left * unit + right
    return _parse_section(s)


def _is_bare_digit(s: str) -> bool:
    return len(s) == 1 and s in _DIGITS and s not in "零〇"


def _parse_section(s: str) -> Decimal | None:
    """A number below 万: digits, 十/百/千 and 零; "十五" = 15, "一千二" = 1200, "一百零五" = 105, "三〇〇" = 300."""
    tokens = _TOKEN.findall(s)
    if "".join(tokens) != s:
        return None
    if len(tokens) > 1 and all(t in _DIGITS for t in tokens):  # digit by digit: 三〇〇
        return Decimal("".join(str(_DIGITS[t]) for t in tokens))
    total, number, last_unit, after_zero = Decimal(0), None, None, False
    for tok in tokens:
        if tok in ("零", "〇"):
            if number is not None:
                return None
            after_zero = True
        elif tok in _SMALL_UNITS:
            unit = _SMALL_UNITS[tok]
            if last_unit is not None and unit >= last_unit:
                return None
            if number is None and total:  # "一百百", "千十"
                return None
            total += (Decimal(1) if number is None else number) * unit
            number, last_unit, after_zero = None, unit, False
        else:
            if number is not None:
                return None
            try:
                number = Decimal(_DIGITS[tok]) if tok in _DIGITS else Decimal(tok)
            except InvalidOperation:
                return None
    if number is not None:
        colloquial = last_unit is not None and last_unit > 10 and not after_zero and number < 10 and number % 1 == 0
        total += number * last_unit / 10 if colloquial else number
    return total


# ---------------------------------------------------------------- quantities in free text

KINDS = ("people", "households", "money_yuan", "deaths", "missing", "injured", "volume_m3", "other")


@dataclass(frozen=True)
class Quantity:
    kind: str  # one of KINDS
    value: float  # normalized: money in 元, volume in m³, people/households as counts
    text: str  # the exact source text, e.g. "约3000万元"
    start: int  # span in the input text
    end: int
    approx: bool = False  # 约/近/余/多/以上/左右… present
    role: str | None = None  # people/households: threatened|affected|rescuers; money: potential_loss|direct_loss

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.value, "text": self.text, "span": [self.start, self.end],
                "approx": self.approx, "role": self.role}


_NUM = rf"[\d{_CN_CHARS}](?:[\d{_CN_CHARS}]|[.,](?=\d))*"
_UNIT = (r"立方米|立方|方(?![面案向式法位针圆便言])|m³|m3|㎥|人民币|元|户|人(?![民次])|名|"
         r"口(?![井塘窑池洞子径岸])|死|伤|失踪|失联")
_QTY = re.compile(rf"(?<![A-Za-z0-9.])(?P<num>{_NUM})(?P<mid>余|多)?(?P<mult>[万亿])?(?:\s?(?P<unit>{_UNIT}))?")
_APPROX_BEFORE = sorted(("约", "近", "逾", "超过", "将近", "接近", "大约", "约为", "估计"), key=len, reverse=True)
_APPROX_AFTER = re.compile(r"以上|左右|上下|许")
_SENTENCE_END = re.compile(r"[。；;！!？?\n]")

# Context words → (kind, role). For a person count the nearest word before it (within its sentence and after
# the previous figure) decides; an outcome word right after the unit ("2人死亡", "180人紧急转移") wins over it.
_CONTEXT = {
    "死亡": ("deaths", None), "遇难": ("deaths", None), "罹难": ("deaths", None), "身亡": ("deaths", None),
    "丧生": ("deaths", None), "失踪": ("missing", None), "失联": ("missing", None),
    "受伤": ("injured", None), "伤者": ("injured", None), "轻伤": ("injured", None), "重伤": ("injured", None),
    "威胁": ("people", "threatened"), "转移": ("people", "threatened"), "疏散": ("people", "threatened"),
    "撤离": ("people", "threatened"), "搬迁": ("people", "threatened"), "避险": ("people", "threatened"),
    "避让": ("people", "threatened"), "安置": ("people", "threatened"),
    "受灾": ("people", "affected"), "受影响": ("people", "affected"),
    "救援": ("people", "rescuers"), "搜救": ("people", "rescuers"), "抢险": ("people", "rescuers"),
    "出动": ("people", "rescuers"), "投入": ("people", "rescuers"), "派出": ("people", "rescuers"),
}
_CONTEXT_RE = re.compile("|".join(sorted(_CONTEXT, key=len, reverse=True)))
_AFTER_RE = re.compile(r"(?:被|已|需|需要|紧急|安全|全部|提前|已经|受到|受)*(" + _CONTEXT_RE.pattern + ")")
# Money: the nearest of these words before the amount, anywhere in its sentence, decides potential vs direct.
_MONEY_ROLE = re.compile(r"(?P<potential>潜在|可能造成|可能|受威胁|威胁|预计|预估|估计)|(?P<direct>直接|已造成|造成)")
_MONEY_CONTEXT = re.compile(r"损失|经济|财产|资金|投资|价值|造价|补助")
_COUNT_NOUN = re.compile(r"(?P<noun>人数|户数)\s*(?:为|达|达到|约|共|共计|合计|是|[:：])*\s*$")
_NO_CASUALTIES = re.compile(r"(?<!有)(?:无|未造成|没有|未发生|未出现)人员伤亡")
_HOUSEHOLD_GAP = re.compile(r"[、，,\s共计和及]*(?:居民|群众|村民|人口|人员|师生)?[、，,\s共计和及]*")
_WORD_ONE = "统唯同每逐单其之"  # 统一, 唯一, 每一… are words, not quantities
_UNIT_KIND = {
    "人": "people", "名": "people", "口": "people", "人数": "people", "户": "households",
    "元": "money_yuan", "人民币": "money_yuan", "死": "deaths", "伤": "injured", "失踪": "missing", "失联": "missing",
    "立方米": "volume_m3", "立方": "volume_m3", "方": "volume_m3", "m³": "volume_m3", "m3": "volume_m3",
    "㎥": "volume_m3",
}


def parse_quantity(text: str) -> list[Quantity]:
    """Every figure with a unit in `text`, in order, with its kind, normalized value, span and approx flag."""
    original = text or ""
    text = to_halfwidth(original)
    found: list[Quantity] = []
    for m in _QTY.finditer(text):
        q = _read_match(text, m, found[-1] if found else None)
        if q is not None:
            found.append(q)
    for m in _NO_CASUALTIES.finditer(text):
        found += [Quantity("deaths", 0.0, m.group(), m.start(), m.end()),
                  Quantity("injured", 0.0, m.group(), m.start(), m.end())]
    return sorted((replace(q, text=original[q.start:q.end]) for q in found), key=lambda q: q.start)


def _read_match(text: str, m: re.Match, previous: Quantity | None) -> Quantity | None:
    num, mid, mult, unit = m.group("num"), m.group("mid"), m.group("mult"), m.group("unit")
    if text[max(0, m.start() - 1):m.start()] == "第" or _is_word_not_number(text, m):
        return None
    value = _BIG_UNITS[num] if num in _BIG_UNITS and mid else parse_cn_number(num)  # "万余人"
    if value is None:
        return None
    if mult:
        value *= _BIG_UNITS[mult]
    end = m.end("unit") if unit else max(m.end(g) for g in ("num", "mid", "mult") if m.group(g))
    unit = unit or _implied_unit(text, m.start())
    scaled = bool(mult) or num[-1] in _BIG_UNITS
    kind = _UNIT_KIND.get(unit) if unit else ("money_or_other" if scaled else None)
    if kind is None:
        return None
    if unit == "方" and not (scaled or any(ch.isdigit() for ch in num)):  # "三方" is not a volume
        return None
    approx, start = _approx_before(text, m.start())
    after = _APPROX_AFTER.match(text, end)
    if after:
        end, approx = after.end(), True
    approx = approx or bool(mid)
    sentence = _SENTENCE_END.split(text[:start])[-1]
    if kind in ("money_yuan", "money_or_other"):
        kind, role = _money(kind, sentence)
    elif kind in ("people", "households"):
        since_previous = _SENTENCE_END.split(text[previous.end if previous else 0:start])[-1]
        kind, role = _people(kind, since_previous, text[m.end():m.end() + 8], previous)
    else:
        role = None
    return Quantity(kind, float(value), text[start:end], start, end, approx, role)


def _is_word_not_number(text: str, m: re.Match) -> bool:
    """Chinese-numeral idioms: 一户一策, 一人一档, 九死一生, 统一, 唯一."""
    num = m.group("num")
    if any(ch.isdigit() for ch in num):
        return False
    after = text[m.end():m.end() + 1]
    before = text[max(0, m.start() - 1):m.start()]
    return (after != "" and after in _DIGITS) or (num == "一" and before != "" and before in _WORD_ONE)


def _implied_unit(text: str, start: int) -> str | None:
    """"受威胁人数为180" has no unit after the number; the noun before it supplies one."""
    c = _COUNT_NOUN.search(text, max(0, start - 12), start)
    if c:
        return "人数" if c.group("noun") == "人数" else "户"
    return None


def _approx_before(text: str, start: int) -> tuple[bool, int]:
    for marker in _APPROX_BEFORE:
        if text.endswith(marker, 0, start):
            if marker == "近" and text[max(0, start - 2):start - 1] in ("附", "最", "靠"):
                continue
            return True, start - len(marker)
    return False, start


def _money(kind: str, sentence: str) -> tuple[str, str | None]:
    if kind == "money_or_other" and not _MONEY_CONTEXT.search(sentence):
        return "other", None  # a bare "3万" outside any talk of money
    words = list(_MONEY_ROLE.finditer(sentence))
    if not words:
        return "money_yuan", None
    return "money_yuan", "potential_loss" if words[-1].group("potential") else "direct_loss"


def _people(kind: str, before: str, after: str, previous: Quantity | None) -> tuple[str, str | None]:
    outcome = _AFTER_RE.match(after)
    if outcome and kind == "people":
        return _CONTEXT[outcome.group(1)]
    words = list(_CONTEXT_RE.finditer(before))
    if words:
        ctx_kind, role = _CONTEXT[words[-1].group()]
        if kind == "households":
            return kind, role if ctx_kind == "people" else None
        return ctx_kind, role
    # "威胁45户180人": a person count right after a household count shares its context
    if kind == "people" and previous is not None and previous.kind == "households" and _HOUSEHOLD_GAP.fullmatch(before):
        return kind, previous.role
    return kind, None


def format_count(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def format_yuan(value: float) -> str:
    """3e7 → "3000万元", 1.45e8 → "1.45亿元", 800 → "800元"."""
    if value >= 10**8:
        return f"{format_count(value / 10**8)}亿元"
    if value >= 10**4:
        return f"{format_count(value / 10**4)}万元"
    return f"{format_count(value)}元"
