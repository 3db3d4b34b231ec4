"""The local LLM: a GGUF model through llama-cpp-python, loaded once per process, streamed.

AMX note: llama.cpp's AMX extra buffer type crashes at the first decode on some AMX CPUs
(`ggml_backend_amx_mul_mat`). We keep the fast native build and turn extra buffer types off at load on
CPUs that report AMX; elsewhere they stay on (they also carry the AVX2/AVX-512 weight repacking).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: str
    sha256: str


def cpu_has_amx(cpuinfo: str | None = None) -> bool:
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    return any(flag in cpuinfo.split() for flag in ("amx_tile", "amx_int8", "amx_bf16"))


def load_llm(path: Path, n_ctx: int, n_threads: int, seed: int, use_extra_bufts: bool | None = None):
    """Load a GGUF chat model; `use_extra_bufts=None` decides from the CPU (off when it has AMX)."""
    import llama_cpp
    from llama_cpp import llama_cpp as low

    if use_extra_bufts is None:
        use_extra_bufts = not cpu_has_amx()
    default_params = low.llama_model_default_params

    def patched_params():
        params = default_params()
        params.use_extra_bufts = use_extra_bufts
        return params

    with _LOAD_LOCK:  # Llama.__init__ reads the default params through the module attribute
        low.llama_model_default_params = patched_params
        try:
            return llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                n_batch=512, seed=seed, verbose=False,
            )
        finally:
            low.llama_model_default_params = default_params


@dataclass
class Generation:
    text: str = ""
    first_token_s: float | None = None
    total_s: float = 0.0
    completion_tokens: int = 0
    prompt_tokens: int = 0


def stream_chat(llm, messages: list[dict], max_tokens: int, temperature: float, seed: int,
                on_token=None) -> Generation:
    """Run one chat completion, calling `on_token(piece)` as text arrives; returns text and timings."""
    gen = Generation()
    start = time.perf_counter()
    pieces: list[str] = []
    for event in llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=temperature, top_p=0.9, repeat_penalty=1.05,
        seed=seed, stream=True,
    ):
        piece = event["choices"][0]["delta"].get("content") or ""
        if not piece:
            continue
        if gen.first_token_s is None:
            gen.first_token_s = time.perf_counter() - start
        gen.completion_tokens += 1
        pieces.append(piece)
        if on_token is not None:
            on_token(piece)
    gen.text = "".join(pieces)
    gen.total_s = time.perf_counter() - start
    return gen
