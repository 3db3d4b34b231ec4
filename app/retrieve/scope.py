"""What a question is about: a named document, one version of it, or a region; and how that reorders hits.

- 《…》 names, a document's name written plainly ("突发事件应对法第二条") and short names ("四川条例", "天津预案",
  "重庆地灾条例") select documents of the knowledge base; their passages are searched first.
- A year naming a version ("2007年版突发事件应对法") selects that version even when it is superseded.
- A region named without a document prefers that region's documents, then national ones; any other region's
  passage is labelled with whose rule it is.
- A superseded passage (已修订/已废止) ranks below current ones unless the question names its version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from app.ingest.meta import NATIONAL, chunk_meta, family_key, find_region
from app.retrieve.versions import SUPERSEDED
from app.schema import Hit

_QUOTED = re.compile(r"《([^》]{2,60})》")
_TYPES = ("条例", "预案", "办法", "规定", "细则", "法")
_SHORT = re.compile(r"(?P<region>北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
                    r"广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|示例省)[省市]?(?:的)?"
                    r"(?P<middle>[\u4e00-\u9fff]{0,10}?)(?P<type>条例|预案|办法|规定|细则)")
_VERSION_YEAR = re.compile(r"(\d{4})\s*年?\s*(?:版|修订|修正|颁布|通过|的(?=《|[\u4e00-\u9fff]{2,20}(?:法|条例)))")


@dataclass
class Scope:
    sources: list[str] = field(default_factory=list)  # documents the question names, preferred version first
    region: str = ""  # region key the question names (no document named)
    version_year: str = ""  # a year naming one version

    @property
    def named(self) -> bool:
        return bool(self.sources)


def read_scope(question: str, metas: dict[str, dict]) -> Scope:
    """The documents (sources), version year and region a question names, matched against the registry."""
    families = {m.get("family") or family_key(m.get("title", "")): None for m in metas.values()}
    wanted: list[str] = []
    for name in _QUOTED.findall(question):
        wanted += _matching_families(family_key(name), families)
    plain = _QUOTED.sub("", question).replace("中华人民共和国", "")
    found = [f for f in families if f and len(f) >= 4 and f in plain and not _other_region_before(plain, f)]
    wanted += [f for f in found if not any(f != g and f in g for g in found)]
    chosen = [s for s, m in metas.items() if (m.get("family") or family_key(m.get("title", ""))) in wanted]
    if not chosen:
        chosen = _short_names(question, metas)
    year = _VERSION_YEAR.search(question)
    scope = Scope(version_year=year.group(1) if year and chosen else "")
    if chosen:
        by_year = [s for s in chosen if str(metas[s].get("version_date", ""))[:4] == scope.version_year]
        scope.sources = by_year + [s for s in chosen if s not in by_year]
    else:
        scope.region = find_region(question)
    return scope


def _other_region_before(text: str, family: str) -> bool:
    """"浙江省地质灾害防治条例" does not name the national "地质灾害防治条例"."""
    pos = text.find(family)
    return not find_region(family[:4]) and bool(find_region(text[max(0, pos - 6):pos]))


def _matching_families(key: str, families) -> list[str]:
    """Families a 《name》 denotes: the same name, or a longer one whose extra words name no region
    (《地质灾害防治条例》 is not 《重庆市地质灾害防治条例》)."""
    if key in families:
        return [key]
    return [f for f in families if f and key in f and not find_region(f.replace(key, ""))]


def _short_names(question: str, metas: dict[str, dict]) -> list[str]:
    """ "四川条例", "天津市预案", "重庆地灾条例": documents of that region whose title has that type word, best
    match of the words in between first."""
    chosen: list[str] = []
    for match in _SHORT.finditer(question):
        region = find_region(match.group("region"))
        kind, middle = match.group("type"), match.group("middle")
        candidates = [s for s, m in metas.items() if m.get("region") == region and kind in m.get("title", "")]
        if not candidates:
            continue
        overlap = {s: sum(1 for ch in set(middle) if ch in metas[s].get("title", "")) for s in candidates}
        best = max(overlap.values())
        chosen += [s for s in candidates if overlap[s] == best and s not in chosen]
    return chosen


def annotate(hit: Hit, doc_meta: dict, status: dict, scope: Scope) -> Hit:
    """The hit with its document's metadata, version status and, when it is not the region asked about, a
    label saying whose rule it is."""
    meta = {**chunk_meta(hit.chunk.title, doc_meta), **hit.chunk.meta, **status}
    if status.get("status"):
        meta["status"] = status["status"]
    notes = [status["status_note"]] if status.get("status") in SUPERSEDED or status.get("status_note", "") \
        .startswith("尚未") else []
    region = meta.get("region", "")
    if scope.region and region and region not in (scope.region, NATIONAL):
        notes.append(f"{region}的规定，不适用于{scope.region}")
    elif scope.region and region == NATIONAL:
        notes.append("全国性规定")
    if notes:
        meta["note"] = "；".join(notes)
    return replace(hit, chunk=replace(hit.chunk, meta=meta))


def arrange(hits: list[Hit], named: list[Hit], scope: Scope, top_k: int) -> list[Hit]:
    """Final ranking: the named documents' passages first (the named version before others), then the rest;
    without a named document the region's passages, then national and unplaced ones, then other regions';
    a superseded passage below every current one unless its version was asked for. Ranks renumbered."""
    seen: set[str] = set()
    ordered: list[Hit] = []
    for hit in named[: max(1, top_k - 2)] + hits:
        if hit.chunk.chunk_id not in seen:
            seen.add(hit.chunk.chunk_id)
            ordered.append(hit)
    named_ids = {h.chunk.chunk_id for h in named}
    asked_year = scope.version_year

    def key(item: tuple[int, Hit]) -> tuple:
        i, hit = item
        meta = hit.chunk.meta
        asked_version = bool(asked_year) and str(meta.get("version_date", ""))[:4] == asked_year
        superseded = meta.get("status") in SUPERSEDED and not asked_version
        if scope.named:
            tier = 0 if hit.chunk.chunk_id in named_ids else 1
        else:
            region = meta.get("region", "")
            tier = 0 if scope.region and region == scope.region else (
                2 if scope.region and region and region != NATIONAL else 1)
        return (not asked_version if asked_year else False, tier, superseded, i)

    ordered = _after_current([h for _, h in sorted(enumerate(ordered), key=key)], asked_year)[:top_k]
    return [replace(h, rank=r) for r, h in enumerate(ordered, start=1)]


def _after_current(hits: list[Hit], asked_year: str) -> list[Hit]:
    """A superseded passage moves up to right after the current version's passage of the same article (the
    reader sees what changed); without one it stays where the ranking put it."""
    def article(h: Hit) -> tuple[str, str]:
        return h.chunk.meta.get("family", ""), h.chunk.locator

    old = [h for h in hits if h.chunk.meta.get("status") in SUPERSEDED and not asked_year]
    rest = [h for h in hits if h not in old]
    for h in old:
        at = next((i for i, c in enumerate(rest) if article(c) == article(h) and c.chunk.source != h.chunk.source
                   and c.chunk.meta.get("status") not in SUPERSEDED), None)
        if at is None:
            rest.append(h)
        else:
            rest.insert(at + 1, h)
    return rest
