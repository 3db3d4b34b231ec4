"""Which version of a document is in force, computed at query time from the registry (ingest order never matters).

Documents whose metadata share a `family` (app/ingest/meta.py: the name without years, 《》, 要点 …) are versions
of one document. Of those already in force (施行 date not in the future), the one with the latest version date
is current (现行); older ones are 已修订 with their successor and its date; a newer one not yet in force is
尚未施行. A document another one names in its "…同时废止" clause is 已废止. Digests share their original's
family and version date, so a digest of the current text is current too.
"""

from __future__ import annotations

import datetime as dt

from app.ingest.meta import family_key

CURRENT, REVISED, REPEALED, PENDING = "现行", "已修订", "已废止", "尚未施行"
SUPERSEDED = frozenset({REVISED, REPEALED})


def cn_date(iso: str) -> str:
    """"2024-06-28" → "2024年6月28日"."""
    try:
        d = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{d.year}年{d.month}月{d.day}日"


def doc_statuses(metas: dict[str, dict], today: str | None = None) -> dict[str, dict]:
    """source → {"status", "status_note", and for superseded ones "successor", "successor_date"}; documents
    about which the knowledge base says nothing (no dates, no family, no front matter status) are left out."""
    today = today or dt.date.today().isoformat()
    out: dict[str, dict] = {}
    families: dict[str, list[str]] = {}
    for source, meta in metas.items():
        if meta.get("family"):
            families.setdefault(meta["family"], []).append(source)
        given = str(meta.get("status") or "")
        if given:
            out[source] = {"status": given}
        elif meta.get("version_date") and meta.get("doc_type") in ("regulation", "plan", "standard"):
            if str(meta.get("effective") or "") <= today:
                out[source] = {"status": CURRENT}
    for members in families.values():
        dated = [s for s in members if metas[s].get("version_date")]
        if len(dated) < 2:
            continue
        in_force = [s for s in dated if str(metas[s].get("effective") or "") <= today]
        if not in_force:
            continue
        newest = max(metas[s]["version_date"] for s in in_force)
        successor = min((s for s in in_force if metas[s]["version_date"] == newest),
                        key=lambda s: len(metas[s].get("title", "")))  # the full text rather than a digest
        for s in dated:
            date = metas[s]["version_date"]
            if date < newest:
                out[s] = _superseded(REVISED, metas[successor], newest)
            elif s not in in_force:
                out[s] = {"status": PENDING, "status_note": f"{PENDING}：自{cn_date(metas[s]['effective'])}起施行"}
            else:
                out[s] = {"status": CURRENT}
    _repeals(metas, families, out)
    for info in out.values():
        info.setdefault("status_note", info["status"])
    return out


def _superseded(status: str, successor: dict, date: str) -> dict:
    title = successor.get("title", "")
    verb = "修订" if status == REVISED else "废止"
    return {"status": status, "successor": title, "successor_date": date,
            "status_note": f"{status}：{cn_date(date)}{verb}，现行为《{title.strip('《》')}》"
                           if status == REVISED else f"{status}：被《{title.strip('《》')}》（{cn_date(date)}）废止"}


def _repeals(metas: dict[str, dict], families: dict[str, list[str]], out: dict[str, dict]) -> None:
    for source, meta in metas.items():
        repeals = meta.get("repeals") or []
        if isinstance(repeals, str):
            repeals = [repeals]
        when = str(meta.get("effective") or meta.get("version_date") or "")
        for name in repeals:
            for old in families.get(family_key(str(name)), []):
                if old == source or metas[old].get("family") == meta.get("family"):
                    continue
                if when and str(metas[old].get("version_date") or "") <= when:
                    out[old] = _superseded(REPEALED, meta, when)
