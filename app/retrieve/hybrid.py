"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by RRF, with an evidence gate."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.index.store import KnowledgeBase
from app.retrieve.fuse import fuse_rankings
from app.retrieve.scope import annotate, arrange, read_scope
from app.retrieve.versions import doc_statuses
from app.schema import Hit

# ends the title of a passage whose document has no vectors yet (just uploaded): it was found by keywords only
LEXICAL_ONLY = "（向量索引生成中，仅关键词检索）"


@dataclass(frozen=True)
class RetrievalParams:
    top_k: int = 6
    dense_k: int = 20
    lexical_k: int = 20
    rrf_k: int = 60
    mode: str = "hybrid"  # hybrid | dense | lexical (the last two for evaluation)


def retrieve(kb: KnowledgeBase, question: str, params: RetrievalParams) -> list[Hit]:
    """The best `top_k` passages. Documents the question names are searched first, a region it names is
    preferred, superseded versions rank below current ones, and every hit carries its document's metadata and
    version status in `chunk.meta` (app/retrieve/scope.py, versions.py)."""
    metas = kb.doc_metas()
    scope = read_scope(question, metas)
    pool = params.top_k + 10  # room to move superseded and other regions' passages down
    hits = _fused(kb, question, params, pool)
    named = _fused(kb, question, params, pool, scope.sources) if scope.named else []
    statuses = doc_statuses(metas)
    hits = [annotate(h, metas.get(h.chunk.source, {}), statuses.get(h.chunk.source, {}), scope)
            for h in hits + named]
    by_id = {h.chunk.chunk_id: h for h in hits}
    named = [by_id[h.chunk.chunk_id] for h in named]
    return arrange(hits[: len(hits) - len(named)], named, scope, params.top_k)


def _fused(kb: KnowledgeBase, question: str, params: RetrievalParams, limit: int,
           sources: list[str] | None = None) -> list[Hit]:
    """Dense and lexical rankings (of `sources` only, when given) fused by RRF; the best `limit`."""
    dense = kb.dense_search(question, params.dense_k, sources) if params.mode in ("hybrid", "dense") else []
    lexical = kb.lexical_search(question, params.lexical_k, sources) \
        if params.mode in ("hybrid", "lexical") else []
    dense_rank = {cid: i for i, (cid, _) in enumerate(dense, start=1)}
    lexical_rank = {cid: i for i, (cid, _) in enumerate(lexical, start=1)}
    fused = fuse_rankings([[c for c, _ in dense], [c for c, _ in lexical]], k=params.rrf_k)
    fused = fused[:limit]
    chunks = kb.get_chunks([cid for cid, _ in fused])
    waiting = set(kb.lexical_sources()) if params.mode != "lexical" else set()
    chunks = {cid: replace(c, title=c.title + LEXICAL_ONLY) if c.source in waiting else c
              for cid, c in chunks.items()}
    hits = []
    for cid, score in fused:
        if cid in chunks:  # a dense hit whose document is being rewritten is skipped
            hits.append(Hit(len(hits) + 1, chunks[cid], score, dense_rank.get(cid), lexical_rank.get(cid)))
    return hits


def retrieve_many(kb: KnowledgeBase, queries: list[str], params: RetrievalParams, limit: int) -> list[Hit]:
    """Several queries (an assessment asks for the report, its rule, its response level and each advice field),
    each retrieved as above, their rankings fused by RRF; the best `limit` passages, ranked 1..limit."""
    found: dict[str, Hit] = {}
    rankings = []
    for query in queries:
        hits = retrieve(kb, query, params)
        rankings.append([h.chunk.chunk_id for h in hits])
        found.update({h.chunk.chunk_id: h for h in hits})
    fused = fuse_rankings(rankings, k=params.rrf_k)[:limit]
    return [Hit(i, found[cid].chunk, score) for i, (cid, score) in enumerate(fused, start=1)]
