"""`geohazard bench`: speed, memory and ingest throughput of the product on this machine (the measuring; the
Markdown report is eval/bench_report.py).

Measures, and writes as Markdown + JSON to eval/results/<date>-bench-<model>.*:
- serving process (a child process that opens the KB, loads the model, answers two questions): model load time
  and peak RSS;
- the LLM path against raw llama-cpp-python on the exact same messages and parameters (overhead ratio), time to
  first token (TTFT) before/after the compact evidence block and with/without the reused system-prompt KV cache,
  decode tokens/s and end-to-end answer time;
- retrieval latency p50/p95 of the real path (KnowledgeBase: Chroma dense + BM25 + RRF) at 1k/10k/100k chunks,
  on synthetic knowledge bases built once and cached under the user cache dir (eval/bench_synthetic.py);
- ingest throughput for text and PDF files, and a 50-page upload until searchable (eval/bench_ingest.py).

Run as `python -m eval bench …` (or `geohazard bench …`, which runs that).

"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import APP_NAME, PROJECT_ROOT, load_settings
from eval.bench_ingest import bench_ingest, bench_upload
from eval.bench_report import bench_report
from eval.bench_synthetic import corpus_vectors, synthetic_kb
from eval.scoring import percentile

RESULTS_DIR = PROJECT_ROOT / "eval" / "results"
QUESTIONS = [
    "接到地质灾害险情报告后，当地政府应当怎样组织群众转移？",
    "险情中受威胁人数达到多少算大型？",
    "泥石流来了应该往哪里跑？",
    "发现滑坡前兆后群测群防员应该做什么？",
    "地质灾害气象风险预警分几个等级？",
    "镇雄凉水村滑坡造成多少人死亡？",
    "重庆对特大型地质灾害的报告时限是多少？",
    "危险区里禁止哪些活动？",
]
WARMUP_QUESTION = "崩塌发生前有哪些前兆？"


# ---- pure helpers --------------------------------------------------------------------------------------------
def overhead_ratio(ours_s: float, raw_s: float) -> float:
    """Extra time of our path relative to raw llama-cpp-python: 0.05 means 5 % slower."""
    return ours_s / raw_s - 1.0 if raw_s > 0 else float("nan")


def decode_rate(tokens: int, first_token_s: float | None, total_s: float) -> float | None:
    """Generated tokens after the first, per second of generation after the first token."""
    if first_token_s is None or tokens < 2 or total_s <= first_token_s:
        return None
    return (tokens - 1) / (total_s - first_token_s)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# ---- machine -------------------------------------------------------------------------------------------------
def machine() -> dict:
    info: dict = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        lines = cpuinfo.splitlines()
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "unknown")
        flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
        info["flags"] = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c", "sse4", "vnni"))
                               or f in ("bmi2",))
    except OSError:
        info["cpu"], info["flags"] = platform.processor() or "unknown", []
    try:
        mem = Path("/proc/meminfo").read_text().split()
        info["memory_gb"] = round(int(mem[mem.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    info["load_avg_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        import llama_cpp

        info["llama_cpp_python"] = llama_cpp.__version__
    except Exception:  # noqa: BLE001 - informative only
        pass
    return info


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def retrieval_latency(settings, kb_dir: Path, queries: list[str], embeddings=None) -> dict:
    """p50/p95 of the product's retrieval (Copilot.retrieve: dense + BM25 + RRF + chunk fetch) on a KB."""
    from app.pipeline import Copilot

    copilot = Copilot(settings, kb_dir, embeddings=embeddings)
    start = time.perf_counter()
    copilot.retrieve("预热 warm-up")  # opens Chroma, builds the BM25 index, loads the embedding model
    first_s = time.perf_counter() - start
    hybrid = [copilot.retrieve(q)[1] for q in queries]
    dense, lexical, embed, index = [], [], [], []
    for q in queries:
        t = time.perf_counter()
        copilot.kb.dense_search(q, settings.dense_k)
        dense.append(time.perf_counter() - t)
        t = time.perf_counter()
        copilot.kb.lexical_search(q, settings.lexical_k)
        lexical.append(time.perf_counter() - t)
        # the two parts of the dense side: the query embedding (independent of the KB size) and the HNSW search
        t = time.perf_counter()
        vector = copilot.embeddings.embed_query(q)
        embed.append(time.perf_counter() - t)
        t = time.perf_counter()
        copilot.kb.dense_search_vector(vector, settings.dense_k)
        index.append(time.perf_counter() - t)
    return {"chunks": copilot.kb.chunk_count(), "queries": len(queries), "first_query_s": round(first_s, 2),
            "p50_ms": 1000 * percentile(hybrid, .5), "p95_ms": 1000 * percentile(hybrid, .95),
            "dense_p50_ms": 1000 * percentile(dense, .5), "lexical_p50_ms": 1000 * percentile(lexical, .5),
            "lexical_p95_ms": 1000 * percentile(lexical, .95),
            "embed_p50_ms": 1000 * percentile(embed, .5), "embed_p95_ms": 1000 * percentile(embed, .95),
            "hnsw_p50_ms": 1000 * percentile(index or [0.0], .5), "hnsw_p95_ms": 1000 * percentile(index or [0.0], .95)}


# ---- the LLM path --------------------------------------------------------------------------------------------
class _Captured(Exception):
    pass


@dataclass
class _Recorder:
    """Stands in for the model for one call: records the exact messages and parameters, generates nothing."""

    calls: list

    def create_chat_completion(self, **kwargs):
        self.calls.append(kwargs)
        raise _Captured


def captured_request(copilot, question: str) -> dict | None:
    """The exact create_chat_completion arguments our pipeline sends for `question` (None: refused before the
    model, e.g. by the evidence gate): the same settings and open knowledge base, with a recorder as the model."""
    from app.pipeline import Copilot

    recorder = _Recorder([])
    capturing = Copilot(copilot.settings, copilot.kb_dir, kb=copilot.kb, llm=recorder,
                        model_info=copilot.model_info, embeddings=copilot.embeddings)
    try:
        capturing.ask(question)
    except _Captured:
        pass
    return recorder.calls[0] if recorder.calls else None


def raw_stream(llm, request: dict) -> dict:
    """Run the request through llama_cpp.Llama.create_chat_completion directly; time it like our path."""
    start = time.perf_counter()
    first, tokens, pieces = None, 0, []
    for event in llm.create_chat_completion(**request):
        piece = event["choices"][0]["delta"].get("content") or ""
        if not piece:
            continue
        if first is None:
            first = time.perf_counter() - start
        tokens += 1
        pieces.append(piece)
    total = time.perf_counter() - start
    return {"first_token_s": first, "total_s": total, "tokens": tokens, "text": "".join(pieces)}


def prefill_s(llm, messages: list[dict], request: dict) -> tuple[float, int, int]:
    """Seconds to the first token (prefill + one decode step), prompt tokens and tokens reused from the cache."""
    before = list(llm._input_ids)  # tokens now in the KV cache
    params = {k: v for k, v in request.items() if k not in ("messages", "stream", "max_tokens")}
    start = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=1, stream=False, **params)
    seconds = time.perf_counter() - start
    prompt_tokens = out["usage"]["prompt_tokens"]
    reused = min(common_prefix(before, list(llm._input_ids)), prompt_tokens)
    return seconds, prompt_tokens, reused


def bench_llm(copilot, questions: list[str], log=print) -> dict:
    from app.reason.citations import evidence_block

    llm = copilot.llm
    prompt = copilot.answer_prompt
    requests = {}
    for q in questions + [WARMUP_QUESTION]:
        request = captured_request(copilot, q)
        if request is None:
            log(f"  (skipped, refused before the model: {q})")
        else:
            requests[q] = request
    measured = [q for q in questions if q in requests]
    legacy = {}
    for q in measured:
        hits, _ = copilot.retrieve(q)
        legacy[q] = prompt.render(question=q, evidence=evidence_block([h.chunk for h in hits]))

    ttft: dict = {}
    # Off for the whole measurement: the prompt cache (GEOHAZARD_PROMPT_CACHE_MB) would restore these very prompts
    # from the runs before, which no new question gets when serving; the system prompt stays cached by save_state.
    cache = llm.cache
    llm.set_cache(None)
    for variant in ("legacy", "compact"):
        msgs = {q: (legacy[q] if variant == "legacy" else requests[q]["messages"]) for q in measured}
        cold = []
        for q in measured:
            llm.reset()
            cold.append(prefill_s(llm, msgs[q], requests[q]))
        llm.reset()
        warm = [prefill_s(llm, msgs[q], requests[q]) for q in measured]  # q1 cold, q2.. reuse the prefix
        ttft[variant] = {"cold_s": [c[0] for c in cold], "sequence_s": [w[0] for w in warm],
                         "prompt_tokens": [c[1] for c in cold], "reused_tokens": [w[2] for w in warm]}
        log(f"  TTFT {variant}: cold median {statistics.median(ttft[variant]['cold_s']):.2f} s, "
            f"warm median {statistics.median(ttft[variant]['sequence_s'][1:] or [0]):.2f} s")

    # Ours against raw llama-cpp-python, same messages and parameters, same cache state (system prompt cached).
    llm.reset()
    if WARMUP_QUESTION in requests:
        prefill_s(llm, requests[WARMUP_QUESTION]["messages"], requests[WARMUP_QUESTION])
    state = llm.save_state()
    rows = []
    for i, q in enumerate(measured):
        def run_ours():
            llm.load_state(state)
            start = time.perf_counter()
            answer = copilot.ask(q)
            return answer, time.perf_counter() - start

        def run_raw():
            llm.load_state(state)
            return raw_stream(llm, requests[q])

        if i % 2:  # alternate the order so that drift in machine load does not favour one side
            answer, ours_total = run_ours()
            raw = run_raw()
        else:
            raw = run_raw()
            answer, ours_total = run_ours()
        t = answer.timings
        rows.append({
            "question": q, "retrieve_s": t["retrieve_s"], "ours_first_token_s": t["first_token_s"],
            "ours_total_s": ours_total, "ours_tokens": t.get("completion_tokens", 0),
            "raw_first_token_s": raw["first_token_s"], "raw_total_s": raw["total_s"], "raw_tokens": raw["tokens"],
            "same_generation": raw["tokens"] == t.get("completion_tokens", 0),
            "ours_tokens_per_s": decode_rate(t.get("completion_tokens", 0),
                                             None if t["first_token_s"] is None else t["first_token_s"] - t["retrieve_s"],
                                             ours_total - t["retrieve_s"]),
            "raw_tokens_per_s": decode_rate(raw["tokens"], raw["first_token_s"], raw["total_s"]),
            "overhead": overhead_ratio(ours_total, raw["total_s"]),
        })
        log(f"  {q[:16]}… ours {ours_total:.2f} s, raw {raw['total_s']:.2f} s, "
            f"overhead {100 * rows[-1]['overhead']:+.1f} %")
    draft = bench_draft(copilot, requests, measured, rows, log)
    llm.set_cache(cache)
    return {"ttft": ttft, "rows": rows, "evidence_budgets": list(copilot.settings.evidence_budgets),
            "flash_attn": copilot.settings.flash_attn, "draft": draft}


DRAFT_TOKENS = 10


def bench_draft(copilot, requests: dict, measured: list[str], rows: list[dict], log=print) -> dict | None:
    """Decode tokens/s of the same requests with prompt-lookup decoding (a second model instance with
    LlamaPromptLookupDecoding) beside the plain rate measured above, and whether the text stayed the same."""
    from app.reason.llm import load_llm

    s = copilot.settings
    if s.llm_url or s.draft_tokens:
        return None  # remote model, or the plain run already used prompt lookup
    llm = load_llm(Path(copilot.model_info.path), s.n_ctx, s.n_threads, s.seed, flash_attn=s.flash_attn,
                   draft_tokens=DRAFT_TOKENS)
    out = []
    for q, row in zip(measured, rows):
        copilot.llm.reset()  # both cold: the plain run must not start from the previous measurement's cache
        plain = raw_stream(copilot.llm, requests[q])
        llm.reset()
        drafted = raw_stream(llm, requests[q])
        out.append({"question": q, "plain_tokens_per_s": decode_rate(plain["tokens"], plain["first_token_s"],
                                                                      plain["total_s"]),
                    "draft_tokens_per_s": decode_rate(drafted["tokens"], drafted["first_token_s"], drafted["total_s"]),
                    "plain_total_s": plain["total_s"], "draft_total_s": drafted["total_s"],
                    "plain_first_token_s": plain["first_token_s"], "draft_first_token_s": drafted["first_token_s"],
                    "same_text": plain["text"] == drafted["text"]})
        log(f"  prompt lookup {q[:16]}…: {out[-1]['plain_tokens_per_s'] or 0:.1f} → "
            f"{out[-1]['draft_tokens_per_s'] or 0:.1f} tokens/s, same text: {out[-1]['same_text']}")
    logits_mb = llm.scores.nbytes / 2**20  # every position's logits, which the draft's check needs
    del llm
    return {"num_pred_tokens": DRAFT_TOKENS, "rows": out, "logits_buffer_mb": logits_mb}


def serving_probe(model: str | None, kb: str | None) -> dict:
    """Run in a child process: open the KB, load the model, answer two questions; report load time and RSS."""
    from app.pipeline import Copilot

    settings = load_settings(model=model)
    copilot = Copilot(settings, Path(kb) if kb else None)
    copilot.retrieve("预热 warm-up")
    start = time.perf_counter()
    copilot.llm
    load_s = time.perf_counter() - start
    for q in QUESTIONS[:2]:
        copilot.ask(q)
    return {"model_load_s": load_s, "peak_rss_mb": peak_rss_mb(), "model": copilot.model_info.name}


# ---- command -------------------------------------------------------------------------------------------------
def run_bench(args) -> int:
    from eval.harness import load_questions
    from app.pipeline import Copilot

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    settings = load_settings(model=args.model)
    sizes = [int(x) for x in str(args.sizes).split(",") if x.strip()] if args.sizes else []
    results: dict = {"date": str(dt.date.today()), "machine": machine(), "n_threads": settings.n_threads,
                     "model": None if args.skip_llm else settings.model,
                     "command": "geohazard bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "geohazard bench"}
    copilot = Copilot(settings, args.kb)
    copilot.kb  # first use ingests the bundled corpus
    if not args.skip_llm:
        log("服务进程 / serving process (child): model load and peak RSS …")
        probe = subprocess.run([sys.executable, "-m", "eval.bench", "--serving-probe",
                                settings.model, str(args.kb or "")], capture_output=True, text=True,
                               env={**os.environ, "GEOHAZARD_MODEL": settings.model}, check=False, cwd=PROJECT_ROOT)
        if probe.returncode == 0:
            results["serving"] = json.loads(probe.stdout.strip().splitlines()[-1])
        else:
            log(probe.stderr[-2000:])
        log("LLM 路径 / LLM path …")
        start = time.perf_counter()
        copilot.llm
        results["model_load_in_bench_s"] = time.perf_counter() - start
        results["llm"] = bench_llm(copilot, QUESTIONS[: args.runs], log)
    if sizes:
        cache_dir = Path(__import__("platformdirs").user_cache_dir(APP_NAME)) / "bench"
        results["synthetic_cache"] = str(cache_dir)
        sources = corpus_vectors(copilot.kb)
        queries = [q["question"] for q in load_questions("retrieval")]
        results["retrieval"] = {}
        for size in sizes:
            log(f"检索延迟 / retrieval latency at {size} chunks …")
            directory, meta = synthetic_kb(size, sources, cache_dir, settings, copilot.embeddings, log)
            stats = retrieval_latency(settings, directory, queries, copilot.embeddings)
            stats["build_s"] = meta["build_s"]
            results["retrieval"][str(size)] = stats
            log(f"  p50 {stats['p50_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms")
    if not args.skip_ingest:
        from app.ingest.load import SUPPORTED

        files = sorted(p for p in settings.corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)
        log("导入吞吐 / ingest throughput …")
        results["ingest"] = bench_ingest(settings, files[: args.ingest_files], log)
        log("上传可检索 / upload until searchable (50-page PDF, background vectors) …")
        results["upload"] = bench_upload(settings, files[: args.ingest_files], log)
    results["peak_rss_bench_mb"] = peak_rss_mb()
    report = bench_report(results)
    print(report)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stem = f"{results['date']}-bench-{results['model'] or 'nollm'}"  # "qwen1.5b" has a dot: no with_suffix
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str),
                                                  encoding="utf-8")
        (RESULTS_DIR / f"{stem}.md").write_text(report, encoding="utf-8")
        log(f"写入 / written: {RESULTS_DIR / stem}.md")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--serving-probe":
        model_name = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
        kb_arg = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
        print(json.dumps(serving_probe(model_name, kb_arg)))
