"""The web app's API and its behaviour under load and off loopback, over real HTTP against `geohazard serve`
(separate process, real 0.5B model): the named endpoints through gradio_client, 8 simultaneous sessions, and
the login rule."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from app.config import load_settings
from app.provision import is_installed
from support.webserver import GEOHAZARD, ingest_fixture_corpus, peak_rss_mb, running_server, server_env

pytestmark = pytest.mark.slow
QUESTIONS = [
    "示例省规定群测群防员发现异常情况后应当在多长时间内报告？",
    "泥石流发生时群众应当往哪里转移？",
    "受威胁群众撤离后什么时候可以返回？",
    "示例市突发地质灾害应急预案的响应分几级？",
    "险情报告应当包括哪些内容？",
    "石门村滑坡是怎么发现的？",
    "危险区内禁止哪些活动？",
    "地质灾害应急响应由谁启动？",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    if not is_installed(load_settings().models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    home = tmp_path_factory.mktemp("api-home")
    ingest_fixture_corpus(home, server_env(home))
    return home


@pytest.fixture(scope="module")
def server(home):
    with running_server(home, home / "kb", server_env(home)) as (url, proc):
        yield url, proc


def client(url, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


def test_ask_and_assess_are_callable_by_name(server):
    url, _ = server
    answer = client(url).predict(QUESTIONS[0], api_name="/ask")
    assert not answer["refused"] and "30分钟" in answer["answer"]
    assert answer["citations"] and {"n", "title", "locator", "source", "text"} <= answer["citations"][0].keys()
    assert answer["model"]["name"] == "qwen0.5b"
    report = client(url).predict("示例县石门村后山滑坡，威胁180人，潜在经济损失约3000万元", api_name="/assess")
    assert report["assessment"]["hazard_grade"]["grade"] == "中型"
    assert report["assessment"]["response_level"] == "Ⅲ级"


def test_eight_sessions_at_once_all_answered(server):
    """8 clients ask at the same moment; the model is queued, nobody gets an error."""
    url, proc = server
    latencies: list[float] = []
    errors: list[str] = []
    answers: list[dict] = []
    start_gate = threading.Barrier(len(QUESTIONS))

    def session(question: str) -> None:
        c = client(url)
        start_gate.wait()
        t0 = time.perf_counter()
        try:
            answers.append(c.predict(question, api_name="/ask"))
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # counted, then asserted to be none
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=session, args=(q,)) for q in QUESTIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    rss = peak_rss_mb(proc.pid)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else float("nan")
    print(f"sessions={len(QUESTIONS)} answered={len(answers)} errors={len(errors)} "
          f"p50={statistics.median(latencies):.1f}s p95={p95:.1f}s peak_rss={rss:.0f}MB")
    assert not errors, errors
    assert len(answers) == len(QUESTIONS)
    assert all(a["answer"] for a in answers)
    assert rss < 3072, f"serving RSS {rss:.0f} MB"


def _get(url: str, cookie: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_off_loopback_needs_a_login(home):
    refused = subprocess.run(GEOHAZARD + ["serve", "--kb", str(home / "kb"), "--host", "0.0.0.0", "--port", "1"],
                             env=server_env(home), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "GEOHAZARD_AUTH_USER" in refused.stderr

    env = server_env(home, GEOHAZARD_AUTH_USER="duty", GEOHAZARD_AUTH_PASSWORD="正确的值班密码-2026")
    with running_server(home, home / "kb", env, host="0.0.0.0") as (url, _):
        assert _get(url + "/config") == 401
        call = urllib.request.Request(url + "/gradio_api/call/ask", data=json.dumps({"data": ["test"]}).encode(),
                                      headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(call, timeout=30)
        assert denied.value.code in (401, 403)

        def login(password: str):
            form = urllib.parse.urlencode({"username": "duty", "password": password}).encode()
            try:
                return urllib.request.urlopen(urllib.request.Request(url + "/login", data=form), timeout=30)
            except urllib.error.HTTPError as exc:
                return exc

        assert login("错误的值班密码-2026").code in (400, 401)
        ok = login("正确的值班密码-2026")
        assert ok.status == 200
        cookie = "; ".join(h.split(";")[0] for h in ok.headers.get_all("set-cookie"))
        assert _get(url + "/config", cookie) == 200
        answer = client(url, auth=("duty", "正确的值班密码-2026")).predict(QUESTIONS[0], api_name="/ask")
        assert "30分钟" in answer["answer"]
        print("unauthenticated requests refused: 2, wrong password refused: 1, logged-in answer: ok")
