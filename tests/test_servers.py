"""Issue 8: the same app against a real Chroma server (`chroma run`) and a real OpenAI-compatible model server
(`python -m llama_cpp.server`, 0.5B model), both on free loopback ports, started once for this module.

The CLI runs here without `unshare -n` (it must reach the servers on loopback); nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from app.config import PROJECT_ROOT, load_settings
from app.index.embed import E5Embeddings
from app.index.store import KnowledgeBase
from app.pipeline import Copilot
from app.provision import is_installed, model_file
from app.reason.extract import SCHEMA, extract_details
from app.reason.llm import LLMServerError, RemoteLLM, load_llm, stream_chat
from app.reason.prompts import load_prompt

VENV_BIN = Path(sys.executable).parent
GEOHAZARD = [sys.executable, "-m", "app.interfaces.cli"]
CORPUS = Path(__file__).parent / "fixtures" / "corpus"
QUESTION = "示例省规定群测群防员发现异常情况后应当在多长时间内报告？"
REPORT = "2024年7月3日凌晨，示例县青石村三组后山发生滑坡，方量约2万立方米，连续降雨。后缘出现裂缝。"
EXTRACT = load_prompt(PROJECT_ROOT / "prompts", "extract")
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


# ---- server processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.read()


class Server:
    """A child process in its own process group, ready when `ready_url` answers 200."""

    def __init__(self, name: str, cmd: list[str], ready_url: str, log: Path, timeout: float = 120.0):
        self.name, self.ready_url, self.log = name, ready_url, log
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True, env={**os.environ, **NO_PROXY})
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"{name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                http_get(ready_url)
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{name} not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log_file.close()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory, request) -> str:
    chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
    assert chroma, "the chromadb package's `chroma` CLI is missing"
    port, data = free_port(), tmp_path_factory.mktemp("chroma-server")
    server = Server("chroma run", [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                                   "--port", str(port)],
                    f"http://127.0.0.1:{port}/api/v2/heartbeat", data / "chroma.log", timeout=60)
    request.addfinalizer(server.stop)
    return f"http://127.0.0.1:{port}"


def llama_server_cmd(model: Path, port: int, settings) -> list[str]:
    """The flags that make llama_cpp.server load the model exactly as `load_llm` does (through the project's
    wrapper, which applies the same AMX work-around: the plain server crashes at its first decode on AMX CPUs)."""
    return [sys.executable, "-m", "app.interfaces.model_server", "--model", str(model), "--model_alias", "qwen0.5b",
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(settings.n_ctx),
            "--n_batch", "512", "--seed", str(settings.seed), "--n_threads", str(settings.n_threads),
            "--n_threads_batch", str(settings.n_threads), "--logits_all", "False", "--use_mlock", "False",
            "--interrupt_requests", "False", "--verbose", "False"]


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory, request) -> str:
    settings = load_settings()
    if not is_installed(settings.models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    port, data = free_port(), tmp_path_factory.mktemp("llm-server")
    server = Server("llama_cpp.server", llama_server_cmd(model_file(settings.models_dir, "qwen0.5b"), port,
                                                          settings),
                    f"http://127.0.0.1:{port}/v1/models", data / "llama.log", timeout=120)
    request.addfinalizer(server.stop)
    return f"http://127.0.0.1:{port}/v1"


def cli(args: list[str], env: dict | None = None, check_code: int = 0) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GEOHAZARD_MODEL": "qwen0.5b", **NO_PROXY, **(env or {})}
    proc = subprocess.run(GEOHAZARD + args, capture_output=True, text=True, env=full_env, timeout=600, check=False)
    assert proc.returncode == check_code, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def kbs(chroma_url, tmp_path_factory) -> dict[str, Path]:
    """The fixture corpus ingested through the CLI: once embedded, once into the Chroma server."""
    root = tmp_path_factory.mktemp("kbs")
    kbs = {"embedded": root / "embedded", "server": root / "server"}
    for mode, kb in kbs.items():
        env = {"GEOHAZARD_HOME": str(root / "home")}  # module scope: conftest's isolated home is not set yet
        if mode == "server":
            env["GEOHAZARD_CHROMA_URL"] = chroma_url
        out = cli(["ingest", str(CORPUS), "--kb", str(kb), "--json"], env)
        assert [json.loads(line)["status"] for line in out.stdout.splitlines()] == ["added"] * 3
    return kbs


def assert_consistent(kb: KnowledgeBase, n_chunks: int) -> None:
    dense, lexical = kb.index_ids()
    assert dense == lexical
    assert len(dense) == n_chunks == sum(d.chunk_count for d in kb.documents())


# ---- answers: embedded and served give the same result --------------------------------------------
# First in the module: the model server's first request, like the embedded CLI's (no KV prefix reused).

@pytest.mark.slow
def test_ask_gives_the_same_answer_and_citations_embedded_and_served(kbs, chroma_url, llm_url):
    embedded = json.loads(cli(["ask", QUESTION, "--kb", str(kbs["embedded"]), "--json"]).stdout)
    served = json.loads(cli(["ask", QUESTION, "--kb", str(kbs["server"]), "--json"],
                            {"GEOHAZARD_CHROMA_URL": chroma_url, "GEOHAZARD_LLM_URL": llm_url}).stdout)
    assert not embedded["refused"] and "30分钟" in embedded["answer"]
    assert served["answer"] == embedded["answer"]
    assert served["reasoning"] == embedded["reasoning"]
    cited = [(c["n"], c["chunk_id"], c["locator"]) for c in served["citations"]]
    assert cited == [(c["n"], c["chunk_id"], c["locator"]) for c in embedded["citations"]]
    assert "第四条" in [locator for _, _, locator in cited]
    assert [h["chunk_id"] for h in served["hits"]] == [h["chunk_id"] for h in embedded["hits"]]
    assert served["model"] == {"name": "qwen0.5b", "sha256": "remote"}
    assert embedded["model"]["sha256"] == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert served["timings"]["total_s"] >= served["timings"]["first_token_s"] > 0


@pytest.mark.slow
def test_schema_output_through_llama_cpp_server_matches_embedded(llm_url):
    settings = load_settings()
    remote = RemoteLLM(llm_url)
    served = extract_details(remote, EXTRACT, REPORT, seed=settings.seed)
    assert remote.schema_mode == "json_object"  # llama_cpp.server refuses OpenAI's json_schema (as a 500)
    local = load_llm(model_file(settings.models_dir, "qwen0.5b"), settings.n_ctx, settings.n_threads,
                     settings.seed)
    assert served == extract_details(local, EXTRACT, REPORT, seed=settings.seed)
    assert served["place"] and "青石村" in served["place"]
    # streaming keeps llama-cpp-python's chunk shape
    gen = stream_chat(remote, [{"role": "user", "content": "用一句话说明什么是滑坡。"}], 24, 0.0, settings.seed)
    assert gen.text and gen.completion_tokens > 1 and gen.first_token_s is not None


# ---- vector store on the Chroma server ------------------------------------------------------------

def test_retrieval_through_the_chroma_server_matches_embedded(kbs, chroma_url):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    assert not (kbs["server"] / "chroma").exists()  # vectors on the server; registry + BM25 in the KB dir
    assert (kbs["server"] / "registry.sqlite3").is_file()
    embedded = Copilot(load_settings(), kbs["embedded"])
    served = Copilot(load_settings(chroma_url=chroma_url), kbs["server"])
    for question in ("群测群防员发现异常后多长时间内要报告？", "泥石流来了往哪里跑", "青石村转移了多少户多少人"):
        a, _ = embedded.retrieve(question, k=5)
        b, _ = served.retrieve(question, k=5)
        assert [h.chunk.chunk_id for h in b] == [h.chunk.chunk_id for h in a]
        assert [h.dense_rank for h in b] == [h.dense_rank for h in a]
    assert_consistent(served.kb, 14)
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]),
                                 settings=ChromaSettings(anonymized_telemetry=False))
    assert client.get_collection(served.kb.collection_name).count() == 14
    assert served.kb.collection_name.startswith("kb-server-")


def test_two_kbs_keep_apart_on_one_server_and_repair_works_against_it(chroma_url, tmp_path, fixture_corpus):
    settings = load_settings(chroma_url=chroma_url)
    first, second = Copilot(settings, tmp_path / "kb"), Copilot(settings, tmp_path / "other" / "kb")
    first.ingest([fixture_corpus])
    second.ingest([fixture_corpus / "case_sample.md"])
    assert first.kb.collection_name != second.kb.collection_name  # same directory name, other identity
    assert_consistent(first.kb, 14)
    assert_consistent(second.kb, 3)
    # a writer killed between the vector write and the registry commit: the reopened KB drops it everywhere
    source = str((fixture_corpus / "plan_sample.md").resolve())
    first.kb._mark_pending(source)
    first.kb.close()
    reopened = Copilot(settings, tmp_path / "kb").kb
    assert reopened.collection_name == first.kb.collection_name  # identity kept in the registry
    assert source not in [d.source for d in reopened.documents()]
    assert_consistent(reopened, 11)
    assert_consistent(second.kb, 3)


def test_a_kb_built_embedded_then_opened_on_the_server_drops_what_the_server_lacks(
        chroma_url, tmp_path, fixture_corpus, capsys):
    Copilot(load_settings(), tmp_path / "kb").ingest([fixture_corpus / "case_sample.md"])
    kb = KnowledgeBase(tmp_path / "kb", E5Embeddings(), chroma_url=chroma_url)
    assert kb.documents() == []  # no document is left in one index only
    assert_consistent(kb, 0)
    assert "re-ingest" in capsys.readouterr().err


def test_an_unreachable_chroma_server_is_a_clear_error():
    out = cli(["retrieve", "泥石流", "--json"], {"GEOHAZARD_CHROMA_URL": f"http://127.0.0.1:{free_port()}"},
              check_code=2)
    assert "Chroma server" in out.stderr and "Traceback" not in out.stderr


# ---- schema fallback and errors, against a stub OpenAI-compatible server --------------------------

class _Stub(BaseHTTPRequestHandler):
    refuse: tuple[str, ...] = ()  # response_format types answered with 400
    reply = '好的，结果如下：\n```json\n{"hazard_type": "滑坡", "place": "青石村", "time": "", "volume": "", ' \
            '"rainfall": "", "warning_level": "", "signs": ["裂缝"]}\n```'
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model", "owned_by": "x"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        kind = (body.get("response_format") or {}).get("type")
        if kind in self.refuse:
            return self._send(400, {"error": {"message": f"response_format {kind} is not supported"}})
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i, piece in enumerate(("你", "好")):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "stub-model",
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return None
        return self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": "stub-model",
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": self.reply}}]})

    def _send(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def stub_url(request):
    refuse = getattr(request, "param", ())
    handler = type("Stub", (_Stub,), {"refuse": refuse, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("stub_url, mode", [((), "json_schema"), (("json_schema",), "json_object"),
                                            (("json_schema", "json_object"), "none")],
                         indirect=["stub_url"])
def test_json_schema_falls_back_step_by_step_and_is_checked_here(stub_url, mode, caplog):
    url, handler = stub_url
    llm = RemoteLLM(url)
    with caplog.at_level(logging.WARNING, logger="geohazard.llm"):
        details = extract_details(llm, EXTRACT, "青石村后山滑坡，后缘出现裂缝", seed=1)
        extract_details(llm, EXTRACT, "青石村后山滑坡，后缘出现裂缝", seed=1)  # the learnt mode is kept
    assert llm.schema_mode == mode
    assert [r.get("response_format", {}).get("type") for r in handler.requests][-1] == (
        None if mode == "none" else mode)
    sent = handler.requests[-1]
    assert sent["model"] == "stub-model" and sent["temperature"] == 0.0 and sent["repeat_penalty"] == 1.0
    if mode == "json_schema":
        assert sent["response_format"]["json_schema"]["schema"] == SCHEMA
    if mode == "none":  # the fenced JSON is cut out of the prose and checked against the schema
        assert details == {"hazard_type": "滑坡", "place": "青石村", "time": "", "volume": "", "rainfall": "",
                           "warning_level": "", "signs": ["裂缝"]}
        assert "supports no JSON-schema output" in caplog.text
    else:
        assert details["hazard_type"] == "" and "does not match the JSON schema" in caplog.text  # prose reply
    gen = stream_chat(llm, [{"role": "user", "content": "hi"}], 8, 0.0, 1)
    assert gen.text == "你好" and gen.completion_tokens == 2


def test_an_unreachable_llm_server_is_a_clear_error():
    llm = RemoteLLM(f"http://127.0.0.1:{free_port()}/v1", model="m")
    with pytest.raises(LLMServerError, match="LLM server"):
        stream_chat(llm, [{"role": "user", "content": "hi"}], 8, 0.0, 1)
    with pytest.raises(LLMServerError):
        _ = RemoteLLM(f"http://127.0.0.1:{free_port()}/v1").info
