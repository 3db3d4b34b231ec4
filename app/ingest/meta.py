"""Document metadata read from the document itself: title, issuer, region, dates, what it repeals.

Pure functions over the loaded text. Front matter (Markdown) wins over what is read from the body; a PDF or
DOCX metadata title that is only a file name ("Microsoft Word - 文档1", "scan_0031.pdf") is replaced by the
first title-like line of the body.
"""

from __future__ import annotations

import re
from pathlib import Path

# Province-level divisions: short name → full name (the canonical region key).
_PROVINCES = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市", "河北": "河北省", "山西": "山西省",
    "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省", "江苏": "江苏省", "浙江": "浙江省", "安徽": "安徽省",
    "福建": "福建省", "江西": "江西省", "山东": "山东省", "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省",
    "广东": "广东省", "海南": "海南省", "四川": "四川省", "贵州": "贵州省", "云南": "云南省", "陕西": "陕西省",
    "甘肃": "甘肃省", "青海": "青海省", "台湾": "台湾省", "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区",
    "西藏": "西藏自治区", "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区",
    "澳门": "澳门特别行政区", "示例省": "示例省",  # 示例省: the made-up province of the test fixtures
}
NATIONAL = "全国"
_PROVINCE = re.compile("|".join(sorted(_PROVINCES, key=len, reverse=True)))
_LOCALITY = re.compile(r"([\u4e00-\u9fff]{1,7}?(?:市|自治州|州|地区|盟|县|自治县|区|旗))")
_NATIONAL_ISSUER = re.compile(r"国务院|全国人民代表大会|中共中央|中央军事委员会|中央军委|^(?:自然资源|应急管理|水利)部")
_NATIONAL_TITLE = re.compile(r"^(?:中华人民共和国|国家|全国)")

_JUNK_TITLE = re.compile(
    r"^(?:Microsoft\s+(?:Word|Excel|PowerPoint)\s*-|WPS|untitled|无标题|新建|文档\d*$|document\d*$|"
    r"\S+\.(?:docx?|pdf|wps|txt|rtf)$)", re.IGNORECASE)
_NOT_A_TITLE = re.compile(r"^第[一二三四五六七八九十百零〇\d]+[条章节款]|[。；;，,：:]$")
_SKIP_LINE = re.compile(r"^(?:附件\s*\d*|[-—\s\d]+|.{0,20}〔\d{4}〕\d+号|\d{4}年\d{1,2}月\d{1,2}日|目\s*录|"
                        r"<!--.*-->|[（(][^）)]*[）)])$")

_CN_DIGIT = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
_DATE = re.compile(r"(\d{4}|[〇零一二三四五六七八九]{4})\s*[年\-./]\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*"
                   r"[月\-./]\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*日?")
_EVENTS = (("effective", re.compile(r"^\s*(?:起\s*)?(?:施行|生效|实施)")),
           ("revised", re.compile(r"修订|修正|修改")), ("adopted", re.compile(r"通过")),
           ("promulgated", re.compile(r"公布|发布|印发|颁布")), ("effective", re.compile(r"施行|实施|生效")))
_SELF = r"本[\u4e00-\u9fff]{0,6}?(?:条例|法|办法|规定|预案|细则|决定|意见|通知|规则)"
_EFFECTIVE_FROM = re.compile(_SELF + r"自(?P<date>[^，。；\n]{6,16}?)起(?:施行|实施|生效)")
_ON_PROMULGATION = re.compile(_SELF + r"自(?:公布|发布|印发)之日起(?:施行|实施|生效)")
_REPEALS = re.compile(r"[^。；\n]*同时废止")
_DOC_NAME = re.compile(r"《([^》]{2,60})》")
_FAMILY_NOISE = re.compile(r"[（(][^）)]*[）)]|\d{4}\s*年?\s*(?:版|修订|修正)?|逐条要点|分节要点|相关条款要点|条款要点|要点|"
                           r"摘录|全文|节选|释义|解读|测试用虚构文本|\s")
_ISSUER_LINE = re.compile(r"^(?:[\u4e00-\u9fff（）()、]{2,30}(?:人民政府|办公厅|办公室|委员会|人大常委会|厅|局|部|指挥部))$")
CHUNK_KEYS = ("issuer", "region", "locality", "adopted", "revised", "promulgated", "effective", "family",
              "version_date", "status")


def find_region(text: str) -> str:
    """The province-level division a text names first (full name), else ""."""
    match = _PROVINCE.search(text or "")
    return _PROVINCES[match.group(0)] if match else ""


def find_regions(text: str) -> list[str]:
    """Every province-level division a text names (full names, first mention order)."""
    return list(dict.fromkeys(_PROVINCES[m.group(0)] for m in _PROVINCE.finditer(text or "")))


def is_junk_title(title: str, path: Path | None = None) -> bool:
    """A metadata title that does not name the document: empty, a file name, a word processor's default."""
    t = (title or "").strip()
    if len(t) < 2 or _JUNK_TITLE.search(t):
        return True
    if path is not None and t.lower() in (path.stem.lower(), path.name.lower()):
        return True
    return not re.search(r"[\u4e00-\u9fff]", t)  # Chinese documents have Chinese titles; "scan_0031" is not one


def body_title(body: str) -> str:
    """The first title-like line of the body (a short heading, not an article, sentence or file number), else ""."""
    for line in body.split("\n")[:30]:
        s = line.strip().lstrip("#").strip().strip("*").strip()
        if not s or _SKIP_LINE.match(s):
            continue
        if len(s) > 60:
            continue
        return "" if _NOT_A_TITLE.search(s) else s
    return ""


def document_title(meta_title: str, body: str, path: Path) -> str:
    """Front matter / metadata title unless it is junk, then the body's title line, then the file name."""
    if meta_title and not is_junk_title(meta_title, path):
        return meta_title.strip()
    return body_title(body) or path.stem


def parse_date(text: str) -> str:
    """"2025年3月28日", "二〇二四年六月二十八日", "2024-06-28" → "2025-03-28"; "" when no full date."""
    match = _DATE.search(text or "")
    if not match:
        return ""
    y, m, d = (_cn_int(g) for g in match.groups())
    if not (1900 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31):
        return ""
    return f"{y:04d}-{m:02d}-{d:02d}"


def _cn_int(token: str) -> int:
    if token.isdigit():
        return int(token)
    if len(token) == 4 and all(c in _CN_DIGIT for c in token):
        return int("".join(str(_CN_DIGIT[c]) for c in token))
    tens, _, ones = token.partition("十")
    if "十" not in token:
        return _CN_DIGIT.get(token, 0)
    return (_CN_DIGIT.get(tens, 1) if tens else 1) * 10 + (_CN_DIGIT.get(ones, 0) if ones else 0)


def document_dates(text: str) -> dict[str, str]:
    """Adoption, revision, promulgation and effective dates named in a document's head (or front matter date
    field) and its 施行 clause. The latest date wins where several name one event (several revisions)."""
    found: dict[str, str] = {}
    matches = list(_DATE.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        after = text[match.end():min(end, match.end() + 60)]
        after = re.split(r"[。；\n]", after, maxsplit=1)[0]
        event = next((name for name, pattern in _EVENTS if pattern.search(after)), None)
        date = parse_date(match.group(0))
        if event and date and (event not in found or date > found[event]):
            found[event] = date
    return found


def _head(body: str, limit: int = 600) -> str:
    return body[:limit].split("<!-- INFO END -->")[0]


def read_dates(body: str, front_date: str = "") -> dict[str, str]:
    dates = document_dates(_head(body))
    for match in _EFFECTIVE_FROM.finditer(body):
        date = parse_date(match.group("date"))
        if date:
            dates.setdefault("effective", date)
    if "effective" not in dates and _ON_PROMULGATION.search(body):
        dates["effective"] = dates.get("promulgated") or dates.get("adopted") or dates.get("revised", "")
    if front_date:  # front matter wins
        dates.update({k: v for k, v in document_dates(str(front_date)).items() if v})
        if not any(document_dates(str(front_date)).values()) and parse_date(str(front_date)):
            dates.setdefault("promulgated", parse_date(str(front_date)))
    return {k: v for k, v in dates.items() if v}


def repealed_names(body: str) -> list[str]:
    """Documents this one repeals: the 《…》 names in a sentence ending "同时废止"."""
    names: list[str] = []
    for sentence in _REPEALS.findall(body):
        names += [n for n in _DOC_NAME.findall(sentence) if n not in names]
    return names


def family_key(title: str) -> str:
    """What the versions of one document share: the name without 《》, 中华人民共和国, years, (2020修订), 要点 …"""
    t = (title or "").strip()
    named = re.match(r"^《([^》]+)》", t)
    if named:
        t = named.group(1)
    t = t.removeprefix("中华人民共和国")
    return _FAMILY_NOISE.sub("", t)


def read_issuer(body: str) -> str:
    head = _head(body)
    adopted = re.search(r"\d{1,2}\s*日\s*(?:第[^届]{1,4}届)?\s*([\u4e00-\u9fff]{2,30}?)(?:第[^次]{1,6}次[^\n]{0,10}?)?会议",
                        head)
    if adopted:
        return re.sub(r"第[一二三四五六七八九十\d]+届", "", adopted.group(1))
    order = re.search(r"((?:中华人民共和国)?国务院|[\u4e00-\u9fff]{2,12}人民政府)令", head)
    if order:
        return order.group(1).removeprefix("中华人民共和国")
    for line in head.split("\n")[:15]:
        if _ISSUER_LINE.match(line.strip()):
            return line.strip()
    return ""


def region_of(title: str, issuer: str, front_region: str = "") -> tuple[str, str]:
    """(region key, locality): 全国 for national documents, else the province named first by the front matter,
    the title or the issuer, with the city/county the title names after it."""
    if front_region and NATIONAL in front_region[:4]:
        return NATIONAL, ""
    if _NATIONAL_TITLE.match(family_key(title)) or _NATIONAL_TITLE.match(title.lstrip("《")):
        return NATIONAL, ""
    for text in (front_region[:8], title, issuer):
        province = _PROVINCE.search(text or "")
        if province:
            rest = text[province.end():].lstrip("省市").removeprefix("自治区").removeprefix("壮族自治区")
            local = _LOCALITY.match(rest)
            return _PROVINCES[province.group(0)], local.group(1) if local and len(local.group(1)) <= 6 else ""
    if _NATIONAL_ISSUER.search(issuer or ""):
        return NATIONAL, ""
    return "", ""


def describe(title: str, doc_type: str, body: str, front: dict) -> dict:
    """The document's metadata: front matter as given, plus what the body says where the front matter is silent:
    issuer, region, locality, dates (ISO), repeals, family (the name its versions share), version_date."""
    meta = dict(front)
    issuer = str(front.get("issuer") or "").split("（")[0].split("；")[0].strip() or read_issuer(body)
    region, locality = region_of(title, issuer, str(front.get("region") or ""))
    dates = read_dates(body, str(front.get("date") or ""))
    meta.update({k: v for k, v in dates.items() if not front.get(k)})
    meta.setdefault("issuer", issuer)
    meta["region"] = str(front.get("region") or "") if front.get("region") and not region else region
    meta["locality"] = locality
    repeals = repealed_names(body)
    if repeals:
        meta.setdefault("repeals", repeals)
    meta["family"] = family_key(title)
    meta["version_date"] = max((dates.get(k, "") for k in ("revised", "adopted", "promulgated")), default="") \
        or dates.get("effective", "")
    meta["doc_type"] = doc_type
    return meta


def chunk_meta(title: str, meta: dict) -> dict:
    """The part of a document's metadata every chunk carries (scalars only; shown as `hits[].meta`)."""
    out = {"title": title, "doc_type": str(meta.get("doc_type", ""))}
    out.update({k: str(meta[k]) for k in CHUNK_KEYS if meta.get(k) not in (None, "")})
    return out
