"""The `geohazard bench` report: the results dict of eval/bench.py rendered as Markdown.

Pure text rendering, no measuring: summary against the targets, time to first token before/after the compact
evidence block, our path against raw llama-cpp-python, retrieval latency by knowledge-base size, ingest throughput.
"""

from __future__ import annotations

import statistics

from app.reason.citations import COMPACT_BUDGETS


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(v, spec=".2f", unit=""):
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def _table(columns: list[str], rows) -> list[str]:
    """A Markdown table: the header row, its separator and one line per row of cells."""
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def bench_report(r: dict) -> str:
    m = r["machine"]
    lines = [f"# Benchmark {r['date']} — {r.get('model') or 'no model'}", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb', '?')} GB; CPU flags: "
             f"{' '.join(m.get('flags', []))}; Python {m.get('python')}, llama-cpp-python "
             f"{m.get('llama_cpp_python', '?')}; n_threads={r.get('n_threads')}; load average at start "
             f"{m.get('load_avg_start')} (the cores are shared: expect noise).", "",
             f"Command: `{r.get('command', 'geohazard bench')}`", ""]
    lines += ["## Summary", "", "| metric | value | target |", "|---|---|---|"]
    serving = r.get("serving")
    if serving:
        lines.append(f"| model load (fresh process) | {serving['model_load_s']:.2f} s | – |")
        lines.append(f"| peak RSS of the serving process | {serving['peak_rss_mb']:.0f} MB | ≤ 3072 MB "
                     f"{'✓' if serving['peak_rss_mb'] <= 3072 else '✗'} |")
    llm = r.get("llm")
    if llm:
        rows = llm["rows"]
        ours_ttft = _median([x["ours_first_token_s"] for x in rows])
        overhead = _median([x["overhead"] for x in rows])
        lines += [
            f"| time to first token, our path (median, system prompt cached) | {_fmt(ours_ttft, unit=' s')} | "
            f"≤ 5 s {'✓' if ours_ttft is not None and ours_ttft <= 5 else '✗'} |",
            f"| decode speed, median | {_fmt(_median([x['ours_tokens_per_s'] for x in rows]), '.1f', ' tokens/s')} "
            "| – |",
            f"| end-to-end answer time, median | {_fmt(_median([x['ours_total_s'] for x in rows]), unit=' s')} | – |",
            f"| framework overhead vs raw llama-cpp-python, median | {_fmt(100 * overhead, '+.1f', ' %')} | ≤ 10 % "
            f"{'✓' if overhead is not None and overhead <= 0.10 else '✗'} |",
        ]
    for size, s in sorted((r.get("retrieval") or {}).items(), key=lambda kv: int(kv[0])):
        ok = "✓" if s["p95_ms"] <= 100 else "✗"
        lines.append(f"| retrieval p50 / p95 at {int(size):,} chunks | {s['p50_ms']:.1f} / {s['p95_ms']:.1f} ms | "
                     + (f"p95 ≤ 100 ms {ok} |" if int(size) >= 100000 else "– |"))
    for kind, s in (r.get("ingest") or {}).items():
        lines.append(f"| ingest {kind} | {s['pages_per_s']:.2f} pages/s, {s['chunks_per_s']:.1f} chunks/s | – |")
    up = r.get("upload")
    if up:
        lines += [f"| upload → lexically searchable, {up['pages']}-page text PDF | {up['lexically_searchable_s']:.2f} s | "
                  f"≤ 2 s {'✓' if up['lexically_searchable_s'] <= 2 and up['found_by_keywords'] else '✗'} |",
                  f"| dense indexing in the background vs the embedding model alone | "
                  f"{up['dense_chunks_per_s']:.1f} vs {up['embedding_chunks_per_s']:.1f} chunks/s "
                  f"({up['dense_vs_embedding']:.2f}×) | ≥ 0.8× {'✓' if up['dense_vs_embedding'] >= 0.8 else '✗'} |"]
    if llm:
        lines += _llm_sections(llm)
    if r.get("retrieval"):
        lines += _retrieval_section(r)
    if r.get("ingest"):
        lines += ["", "## Ingest throughput", "",
                  "The first corpus files (sorted) into a fresh knowledge base, as text and as PDFs made from the "
                  "same text (38 characters a line, 32 lines a page, embedded CJK font, eval/pdfgen.py). "
                  "Embedding dominates.", ""]
        lines += _table(["format", "files", "pages", "chunks", "seconds", "pages/s", "chunks/s", "MB"],
                        ([kind, f"{s['files']} ({s['failed']} failed)", s["pages"], s["chunks"], f"{s['seconds']:.1f}",
                          f"{s['pages_per_s']:.2f}", f"{s['chunks_per_s']:.1f}", f"{s['mb']:.2f}"]
                         for kind, s in r["ingest"].items()))
    if up:
        lines += ["", "## Upload until searchable (issue 18)", "",
                  f"A {up['pages']}-page text PDF made from the same corpus files, ingested with background vectors "
                  "as the web upload does: `ingest` returns once the document is parsed, chunked and in the BM25 "
                  "index; then a line of its last page is searched by keywords. The vectors follow in the "
                  "background worker (batches of 32, the write lock per batch); the embedding rate alone is "
                  "`embed_documents` on the same passages in the same batches, after the upload.", ""]
        lines += _table(["chunks", "ingest returned", "found by keywords", "vectors done after", "dense chunks/s",
                         "embedding alone chunks/s", "ratio"],
                        [[up["chunks"], f"{up['ingest_returned_s']:.2f} s",
                          f"{up['lexically_searchable_s']:.2f} s ({'yes' if up['found_by_keywords'] else 'no'})",
                          f"{up['vectors_s']:.1f} s", f"{up['dense_chunks_per_s']:.1f}",
                          f"{up['embedding_chunks_per_s']:.1f}", f"{up['dense_vs_embedding']:.2f}×"]])
    return "\n".join(lines) + "\n"


def _llm_sections(llm: dict) -> list[str]:
    """Time to first token before/after the compact evidence block, and our path against raw llama-cpp-python."""
    t = llm["ttft"]
    budgets = llm.get("evidence_budgets", COMPACT_BUDGETS)
    lines = ["", "## Time to first token: before / after (raw llama-cpp-python, max_tokens=1)", "",
             "Before = the v5 evidence block (passages cut at 500 characters); after = the compact block "
             "(duplicates pointed at, the model reads the top "
             f"{len(budgets)} passages, each cut to its window most relevant "
             f"to the question, {'/'.join(map(str, budgets))} characters by "
             f"rank; flash attention {'on' if llm.get('flash_attn') else 'off'}). Cold = KV cache cleared before the question; "
             "warm = the previous question's prompt is in the cache, so the fixed system prompt (first in "
             "the prompt) is reused (llama-cpp-python keeps the longest common token prefix).", ""]
    lines += _table(["evidence", "prompt tokens (median)", "TTFT cold (median)", "question 1 (cold)",
                     "questions 2..n (warm, median)", "tokens reused when warm (median)"],
                    ([label, f"{_median(t[variant]['prompt_tokens']):.0f}", f"{_median(t[variant]['cold_s']):.2f} s",
                      f"{t[variant]['sequence_s'][0]:.2f} s", _fmt(_median(t[variant]['sequence_s'][1:]), unit=' s'),
                      _fmt(_median(t[variant]['reused_tokens'][1:]), '.0f')]
                     for variant, label in (("legacy", "before (v5 block)"), ("compact", "after (compact block)"))))
    lines += ["", "## Our path against raw llama-cpp-python (same messages, same parameters, same cache state)",
              "", "Raw = `llama_cpp.Llama.create_chat_completion(**the exact arguments our pipeline sends)`, "
              "streamed; ours = `Copilot.ask` (retrieval, evidence gate, prompt, the same stream, citation "
              "checks and claim verification). Both start from the same saved KV state holding another "
              "question's prompt (so the system prompt is cached, as when serving).", ""]
    lines += _table(["question", "retrieve s", "ours first token s", "raw first token s", "ours total s", "raw total s",
                     "overhead", "tokens ours/raw", "ours tokens/s"],
                    ([x["question"], f"{x['retrieve_s']:.3f}", _fmt(x["ours_first_token_s"]),
                      _fmt(x["raw_first_token_s"]), f"{x['ours_total_s']:.2f}", f"{x['raw_total_s']:.2f}",
                      f"{100 * x['overhead']:+.1f} %", f"{x['ours_tokens']}/{x['raw_tokens']}",
                      _fmt(x["ours_tokens_per_s"], ".1f")] for x in llm["rows"]))
    return lines + _draft_section(llm.get("draft"))


def _draft_section(draft: dict | None) -> list[str]:
    """Decode speed with and without prompt-lookup decoding, same requests, raw llama-cpp-python, cold cache."""
    if not draft or not draft.get("rows"):
        return []
    rows = draft["rows"]
    lines = ["", "## Decode speed with and without prompt-lookup decoding", "",
             f"The same requests through raw llama-cpp-python, cold cache, once plainly and once with "
             f"`LlamaPromptLookupDecoding(num_pred_tokens={draft['num_pred_tokens']})` (n-grams of the prompt proposed "
             "and checked in one batch; `GEOHAZARD_DRAFT_TOKENS`). Tokens/s = tokens after the first ÷ time after "
             "the first token. With a draft, llama-cpp-python computes and keeps the logits of every prompt "
             "position (`logits_all`), which costs prefill time and a buffer of n_ctx × vocabulary floats"
             + (f" ({draft['logits_buffer_mb']:.0f} MB here)" if draft.get("logits_buffer_mb") else "") + ".", ""]
    lines += _table(["question", "plain tokens/s", "prompt lookup tokens/s", "plain first token s",
                     "prompt lookup first token s", "plain total s", "prompt lookup total s", "same text"],
                    ([x["question"], _fmt(x["plain_tokens_per_s"], ".1f"), _fmt(x["draft_tokens_per_s"], ".1f"),
                      _fmt(x.get("plain_first_token_s")), _fmt(x.get("draft_first_token_s")),
                      f"{x['plain_total_s']:.2f}", f"{x['draft_total_s']:.2f}", "yes" if x["same_text"] else "no"]
                     for x in rows))
    plain = _median([x["plain_tokens_per_s"] for x in rows])
    fast = _median([x["draft_tokens_per_s"] for x in rows])
    if plain and fast:
        lines += ["", f"Median decode speed: {plain:.1f} → {fast:.1f} tokens/s ({fast / plain:.2f}×); "
                      f"same text in {sum(x['same_text'] for x in rows)} of {len(rows)}."]
    return lines


def _retrieval_section(r: dict) -> list[str]:
    lines = ["", "## Retrieval latency by knowledge-base size", "",
             "The product path (`Copilot.retrieve`: e5 query embedding, Chroma dense top-20, BM25 top-20, RRF, "
             "chunk fetch from SQLite) over real KnowledgeBase directories. Synthetic chunks: 2-4 sentences of "
             "real corpus chunks recombined; vector = normalised length-weighted mean of the stored e5 vectors "
             "of the chunks the sentences come from (no new embedding); built once, cached under "
             f"`{r.get('synthetic_cache', 'the user cache dir')}`. Queries: the retrieval question set.", "",
             "Parts: the e5 query embedding (does not depend on the KB size), the HNSW search alone (Chroma "
             "query with that vector) and BM25 alone.", ""]
    lines += _table(["chunks", "queries", "p50 ms", "p95 ms", "embed p50 / p95 ms", "HNSW p50 / p95 ms",
                     "BM25 p50 / p95 ms", "dense (embed + HNSW) p50 ms", "first query s", "build s"],
                    ([f"{s['chunks']:,}", s["queries"], f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}",
                      f"{s.get('embed_p50_ms', 0):.1f} / {s.get('embed_p95_ms', 0):.1f}",
                      f"{s.get('hnsw_p50_ms', 0):.1f} / {s.get('hnsw_p95_ms', 0):.1f}",
                      f"{s['lexical_p50_ms']:.1f} / {s.get('lexical_p95_ms', 0):.1f}",
                      f"{s['dense_p50_ms']:.1f}", f"{s['first_query_s']:.2f}", s.get("build_s", "")]
                     for size, s in sorted(r["retrieval"].items(), key=lambda kv: int(kv[0]))))
    return lines
