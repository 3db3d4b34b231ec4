"""The LLM: a local GGUF model through llama-cpp-python (loaded once per process), or an OpenAI-compatible
server (`RemoteLLM`: llama_cpp.server, vLLM, ...) behind the same `create_chat_completion` surface. Streamed.

AMX note: llama.cpp's AMX extra buffer type crashes at the first decode on some AMX CPUs
(`ggml_backend_amx_mul_mat`). We keep the fast native build and turn extra buffer types off at load on
CPUs that report AMX; elsewhere they stay on (they also carry the AVX2/AVX-512 weight repacking).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from app.errors import ServiceError
from app.reason.generation import Generation, stream_chat  # noqa: F401  (re-exported: callers import them here)

_LOAD_LOCK = threading.Lock()
log = logging.getLogger("geohazard.llm")
REMOTE_SHA256 = "remote"  # ModelInfo.sha256 of a model served by someone else: we cannot hash its weights


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


def load_llm(path: Path, n_ctx: int, n_threads: int, seed: int, use_extra_bufts: bool | None = None,
             flash_attn: bool = False, draft_tokens: int = 0, prompt_cache_mb: int = 0):
    """Load a GGUF chat model; `use_extra_bufts=None` decides from the CPU (off when it has AMX). `draft_tokens` > 0
    turns on prompt-lookup decoding (llama-cpp-python's LlamaPromptLookupDecoding: answers copy the evidence, so
    n-grams of the prompt are proposed and verified in one batch; greedy output is unchanged). `prompt_cache_mb` > 0
    keeps the states of earlier prompts in RAM (LlamaRAMCache): the answer, assessment and rewrite prompts each
    start from their own cached system-prompt prefix instead of the last prompt's, whichever ran last."""
    import llama_cpp
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
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
            llm = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                n_batch=512, seed=seed, flash_attn=flash_attn, verbose=False,
                # the draft's guesses are checked against every position's logits; llama-cpp-python then keeps
                # logits for all tokens but sizes its buffer by `logits_all` alone (a prompt longer than a batch
                # crashed): n_ctx × vocabulary floats, 2.5 GB for Qwen2.5 at 4096 tokens (the bench reports it)
                logits_all=bool(draft_tokens),
                draft_model=LlamaPromptLookupDecoding(num_pred_tokens=draft_tokens) if draft_tokens else None,
            )
        finally:
            low.llama_model_default_params = default_params
    if prompt_cache_mb:
        llm.set_cache(compact_prompt_cache(prompt_cache_mb << 20))
    return llm


def compact_prompt_cache(capacity_bytes: int):
    """llama-cpp-python's LlamaRAMCache, bounded by what it really holds. A saved state carries the logits of a
    whole batch (n_batch × vocabulary floats: 311 MB for Qwen2.5 at n_batch 512) that the stock cache neither
    counts against its capacity nor needs (a restored prompt is re-evaluated from its last token): here only the
    last row is kept (numpy broadcasts it back on load) and the capacity counts KV state and logits alike."""
    from llama_cpp import LlamaRAMCache

    class CompactRAMCache(LlamaRAMCache):
        @property
        def cache_size(self):
            return sum(v.llama_state_size + v.scores.nbytes for v in self.cache_state.values())

        def __setitem__(self, key, value):
            value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return CompactRAMCache(capacity_bytes=capacity_bytes)


# ---- OpenAI-compatible server ------------------------------------------------------------------------

class LLMServerError(ServiceError):
    """The LLM endpoint is unreachable, or answered with an error we cannot work around."""


# llama-cpp-python's own defaults for what `Llama.create_chat_completion` is not given. Sent explicitly,
# because llama_cpp.server's defaults differ (temperature 0.8, repeat_penalty 1.1).
_LLAMA_DEFAULTS = {"temperature": 0.2, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0,
                   "presence_penalty": 0.0, "frequency_penalty": 0.0}
_STANDARD = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "max_tokens", "stop")
_EXTRA = ("top_k", "min_p", "repeat_penalty")  # llama.cpp (and vLLM for top_k/min_p); not OpenAI's API
# How a JSON schema is asked for, best first: OpenAI/vLLM style, llama_cpp.server style, not at all.
SCHEMA_MODES = ("json_schema", "json_object", "none")


class RemoteLLM:
    """`create_chat_completion` over HTTP to `<base_url>/chat/completions`, in llama-cpp-python's shapes.

    Streaming yields `{"choices": [{"delta": {"content": ...}}], ...}` dicts; without streaming the reply is
    `{"choices": [{"message": {"content": ...}}], ...}`. A `response_format={"type": "json_object",
    "schema": S}` is sent as OpenAI's `json_schema`; a server that rejects that gets llama_cpp.server's
    `json_object` + `schema`; one that rejects both gets no response_format, and the reply's JSON is then
    cut out of the text and checked against S here (a warning says so). The working mode is remembered.
    """

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = 600.0):
        from openai import OpenAI

        self.base_url = base_url.rstrip("/")
        self._model = model or None
        self._client = OpenAI(base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout,
                              max_retries=0)
        self.schema_mode: str = SCHEMA_MODES[0]
        self.send_extra = True  # top_k/min_p/repeat_penalty; dropped (with a warning) if the server refuses them

    # ---- model identity --------------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The requested model name: GEOHAZARD_LLM_MODEL, else the first model the server lists."""
        if self._model is None:
            try:
                listed = [m.id for m in self._client.models.list().data]
            except Exception as exc:
                raise self._error(exc) from exc
            if not listed:
                raise LLMServerError(f"模型服务没有列出任何模型 / {self.base_url}/models lists no model; "
                                     "set GEOHAZARD_LLM_MODEL")
            self._model = listed[0]
        return self._model

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(self.model, self.base_url, REMOTE_SHA256)

    # ---- llama-cpp-python surface ----------------------------------------------------------------
    def create_chat_completion(self, messages: list[dict], stream: bool = False, response_format=None,
                               **params):
        schema = _wanted_schema(response_format)
        if response_format is not None and schema is None and response_format.get("type") != "text":
            schema = {}  # plain json_object: any JSON object
        request = {"model": self.model, "messages": messages, "stream": stream}
        for name in _STANDARD + _EXTRA:
            value = params.pop(name, _LLAMA_DEFAULTS.get(name))
            if value is not None:
                request[name] = value
        if params:
            log.warning("remote LLM: ignoring parameters the HTTP API has no place for: %s", sorted(params))
        if stream:
            return self._stream(request, schema)
        return self._complete(request, schema)

    def _stream(self, request: dict, schema: dict | None):
        events = self._send(request, schema)
        try:
            for event in events:
                data = event.model_dump(exclude_none=True)
                choices = data.get("choices") or []
                if not choices:  # e.g. a usage-only chunk
                    continue
                choices[0].setdefault("delta", {})
                yield data
        except Exception as exc:
            raise self._error(exc) from exc
        finally:  # also when the consumer stops early (StreamGuard): the server sees the connection close
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def _complete(self, request: dict, schema: dict | None) -> dict:
        data = self._send(request, schema).model_dump(exclude_none=True)
        if schema is None:
            return data
        message = data["choices"][0].setdefault("message", {})
        content = message.get("content") or ""
        parsed = parse_json_reply(content, tolerant=self.schema_mode == "none")
        problems = ["not a JSON object"] if parsed is None else schema_problems(parsed, schema)
        if problems:
            log.warning("remote LLM: reply does not match the JSON schema (%s); mode %s: %.200s",
                        "; ".join(problems), self.schema_mode, content)
        elif self.schema_mode == "none":
            message["content"] = json.dumps(parsed, ensure_ascii=False)
        return data

    def _send(self, request: dict, schema: dict | None):
        """POST the request; step down the schema modes (and drop extras) when the server rejects them."""
        while True:
            body = dict(request)
            extra = {k: body.pop(k) for k in _EXTRA if k in body}
            mode = self.schema_mode if schema is not None else None
            if mode == "json_schema":
                body["response_format"] = {
                    "type": "json_schema", "json_schema": {"name": "reply", "schema": schema or {"type": "object"}}}
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
            try:
                return self._client.chat.completions.create(**body,
                                                            extra_body=extra if self.send_extra else None)
            except Exception as exc:
                if mode in ("json_schema", "json_object") and _is_rejection(exc, "response_format"):
                    self.schema_mode = SCHEMA_MODES[SCHEMA_MODES.index(mode) + 1]
                    if self.schema_mode == "none":
                        log.warning("remote LLM %s supports no JSON-schema output; asking without it and "
                                    "checking the reply's JSON here", self.base_url)
                    continue
                if self.send_extra and _is_rejection(exc) and any(k in _error_text(exc) for k in _EXTRA):
                    self.send_extra = False
                    log.warning("remote LLM %s refuses %s; sampling may differ from the embedded model",
                                self.base_url, "/".join(_EXTRA))
                    continue
                raise self._error(exc) from exc

    def _error(self, exc: Exception) -> LLMServerError:
        if isinstance(exc, LLMServerError):
            return exc
        return LLMServerError(f"模型服务出错 / LLM server {self.base_url}: {_error_text(exc)[:500]}")


def _wanted_schema(response_format) -> dict | None:
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":  # already OpenAI-style
        return (response_format.get("json_schema") or {}).get("schema") or {}
    return response_format.get("schema")


def _error_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    return f"{exc} {json.dumps(body, ensure_ascii=False) if body else ''}".strip()


def _is_rejection(exc: Exception, topic: str | None = None) -> bool:
    """An HTTP error refusing the request as such (not the server being down); llama_cpp.server reports
    request validation errors as 500, so a 5xx counts when it names the refused field."""
    status = getattr(exc, "status_code", None)
    if status is None:
        return False
    text = _error_text(exc)
    if status in (400, 404, 415, 422, 501):
        return topic is None or topic in text or "json_schema" in text
    return status >= 500 and (topic or "validation") in text


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_reply(text: str, tolerant: bool = False) -> dict | None:
    """The JSON object in a reply; `tolerant` also finds it inside a ``` fence or surrounding prose."""
    candidates = [text]
    if tolerant:
        candidates += _FENCE.findall(text)
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(value, dict):
            return value
    return None


_TYPES = {"object": dict, "array": list, "string": str, "number": (int, float), "integer": int,
          "boolean": bool}


def schema_problems(value, schema: dict, where: str = "$") -> list[str]:
    """A small JSON-schema check (type, required, properties, items): enough for our extraction schemas."""
    expected = schema.get("type")
    if expected in _TYPES and not isinstance(value, _TYPES[expected]):
        return [f"{where} is not {expected}"]
    problems: list[str] = []
    if isinstance(value, dict):
        problems += [f"{where}.{key} missing" for key in schema.get("required", []) if key not in value]
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                problems += schema_problems(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{i}]")
    return problems
