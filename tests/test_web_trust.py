"""Issue 19, trust on a real install: each finding of the probe against `geohazard serve` has a test here
(SECURITY.md lists them). The fast tests call the parts directly; the `slow` ones run `geohazard serve` as its own
process with GEOHAZARD_HOME under /var/tmp (outside /tmp and outside the working directory, as a normal
install under ~/.local/share is) and talk raw HTTP to it, forged headers included.

New modules are imported inside the tests, so on the code before issue 19 each test fails on its own."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import sqlite3
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.config import load_settings

# ---- finding 2: DNS rebinding and cross-site requests (middleware, fast) ---------------------------------------


def _guarded_app(**throttle):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from app.interfaces.guard import Guard, LoginThrottle, allowed_hosts

    async def login(request):
        form = await request.form()
        ok = form.get("password") == "correct-horse-battery"
        return JSONResponse({"ok": ok}, status_code=200 if ok else 400)

    async def config(request):
        return JSONResponse({"conversations": ["隐私"]})

    hosts = allowed_hosts(load_settings(), "127.0.0.1")
    return Starlette(routes=[Route("/login", login, methods=["POST"]), Route("/config", config)],
                     middleware=[Middleware(Guard, hosts=hosts, throttle=LoginThrottle(**throttle))])


def test_guard_refuses_a_rebound_host_and_a_cross_site_origin():
    from starlette.testclient import TestClient

    client = TestClient(_guarded_app(), base_url="http://127.0.0.1:7860")
    assert client.get("/config").status_code == 200
    assert client.get("/config", headers={"Host": "localhost:7860"}).status_code == 200
    assert client.get("/config", headers={"Host": "rebind.example:7860"}).status_code == 403
    assert client.get("/config", headers={"Origin": "http://127.0.0.1:7860"}).status_code == 200
    for origin in ("http://evil.example", "null", "http://127.0.0.1:8000"):  # other site, sandbox, other port
        assert client.get("/config", headers={"Origin": origin}).status_code == 403, origin
    assert client.get("/config", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


# ---- finding 5: bind address, password length, failed-login delay and lockout ----------------------------------


def test_empty_host_binds_loopback_not_gradio_server_name(monkeypatch):
    from app.interfaces.guard import bind_address
    from app.interfaces.web import is_loopback, login_for

    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GEOHAZARD_HOST", "")
    settings = load_settings()
    assert not is_loopback("")
    assert bind_address(settings) == "127.0.0.1"  # what is checked is what is bound
    assert bind_address(settings, "0.0.0.0") == "0.0.0.0"
    assert login_for(settings, bind_address(settings)) is None


def test_short_password_is_refused_at_start_up():
    from app.interfaces.web import ConfigError, login_for

    with pytest.raises(ConfigError, match="至少 12 个字符"):
        login_for(load_settings(auth_user="duty", auth_password="s3cret"), "0.0.0.0")
    with pytest.raises(ConfigError, match="GEOHAZARD_AUTH_PASSWORD"):
        login_for(load_settings(auth_user="duty"), "127.0.0.1")
    assert login_for(load_settings(auth_user="duty", auth_password="correct-horse-battery"), "0.0.0.0")


def test_failed_logins_are_delayed_then_locked_out():
    from starlette.testclient import TestClient

    client = TestClient(_guarded_app(max_failures=3, lockout_s=60, delay_s=0.2), base_url="http://127.0.0.1:7860")
    start = time.monotonic()
    codes = [client.post("/login", data={"username": "duty", "password": f"guess{i}"}).status_code for i in range(3)]
    assert codes == [400, 400, 400] and time.monotonic() - start >= 0.6  # each failure waits
    locked = client.post("/login", data={"username": "duty", "password": "correct-horse-battery"})
    assert locked.status_code == 429 and "登录失败次数过多" in locked.json()["detail"]  # even the right one, now


# ---- finding 3: proxy headers (fast part; the served audit record is checked below) -----------------------------


def test_proxy_headers_are_trusted_only_when_configured(monkeypatch):
    from uvicorn.middleware.proxy_headers import _TrustedHosts

    from app.interfaces.guard import trust_proxies

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    trust_proxies(load_settings())
    import os

    assert "127.0.0.1" not in _TrustedHosts(os.environ["FORWARDED_ALLOW_IPS"])
    trust_proxies(load_settings(trusted_proxies="10.0.0.5, 192.168.8.0/24"))
    trusted = _TrustedHosts(os.environ["FORWARDED_ALLOW_IPS"])
    assert "10.0.0.5" in trusted and "192.168.8.9" in trusted and "127.0.0.1" not in trusted


# ---- finding 4: re-uploading a document is a new version, never a second copy ----------------------------------


@pytest.mark.offline
def test_reupload_replaces_the_document(tmp_path):
    from app.interfaces.web_handlers import Handlers
    from app.pipeline import Copilot

    settings = load_settings(home=tmp_path / "home")
    handlers = Handlers(Copilot(settings, tmp_path / "kb"))
    picked = tmp_path / "browser"
    picked.mkdir()

    def upload(name: str, text: str):
        (picked / name).write_text(text, encoding="utf-8")
        return handlers.ingest_uploads([str(picked / name)], None, progress=lambda *a, **k: None)[0]

    upload("预案.md", "# 示例县应急预案\n\n第一条 险情发生后三十分钟内报告县应急局。\n")
    rows = upload("预案.md", "# 示例县应急预案\n\n第一条 险情发生后十五分钟内报告县应急局和乡镇政府。\n")
    assert rows[0][1] == "已更新", rows
    documents = handlers.copilot.kb.documents()
    assert [d.title for d in documents] == ["示例县应急预案"]  # one document, not 预案.md + 预案-1.md
    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == ["预案.md"]
    hits, _ = handlers.copilot.retrieve("险情发生后多长时间内报告？", k=3)
    assert hits and all("三十分钟" not in h.chunk.text for h in hits)  # the old version is out of retrieval
    # the same document (same title) uploaded under another name replaces the earlier upload too
    rows = upload("预案（修订）.md", "# 示例县应急预案\n\n第一条 险情发生后十分钟内报告。\n")
    assert "替换了同名文档的旧版本" in rows[0][3], rows
    assert [Path(d.source).name for d in handlers.copilot.kb.documents()] == ["预案（修订）.md"]


# ---- finding 6: private files, Gradio's temp dir, download copies ----------------------------------------------


def test_home_becomes_private_and_download_copies_are_fresh(tmp_path):
    from app.interfaces.files import download_copy, prepare_web_temp, secure_home

    home = tmp_path / "home"
    (home / "exports").mkdir(parents=True)
    (home / "audit.sqlite3").write_text("x")
    (home / "exports" / "对话-1.md").write_text("x")
    (home / "exports").chmod(0o755)
    secure_home(home)
    for path in (home, home / "exports"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (home / "audit.sqlite3", home / "exports" / "对话-1.md"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    temp = prepare_web_temp(home / "tmp")
    import os

    assert os.environ["GRADIO_TEMP_DIR"] == str(temp)
    first = Path(download_copy(home / "exports" / "对话-1.md", temp))
    second = Path(download_copy(home / "exports" / "对话-1.md", temp))
    assert first.name == "对话-1.md" and first.parent != second.parent and temp in first.parents
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    old = time.time() - 7200
    os.utime(first.parent, (old, old))
    download_copy(home / "exports" / "对话-1.md", temp)
    assert not first.exists()  # copies older than an hour are cleaned
    prepare_web_temp(home / "tmp")
    assert not second.exists()  # and everything at start


# ---- finding 7: a rewritten and re-chained audit log is found against a hash kept elsewhere ---------------------


def test_rewritten_audit_chain_is_caught_by_the_noted_head(capsys):
    from app import audit
    from app.interfaces.cli import main

    settings = load_settings()
    db = audit.connect(settings.audit_db)
    for i in range(3):
        audit.append(db, audit.make_record(kind="ask", user="duty", question=f"问题{i}", situation={}, hits=[],
                                           cited_ids=[], model_name="m", model_sha256="s", prompt_version="p",
                                           answer=f"回答{i}", flags={}))
    db.close()
    capsys.readouterr()
    assert main(["audit", "head"]) == 0
    noted = capsys.readouterr().out.split()[0]
    assert len(noted) == 64
    # someone with write access drops the triggers, rewrites record 2 and recomputes the chain
    raw = sqlite3.connect(settings.audit_db)
    raw.executescript("DROP TRIGGER records_no_update; DROP TRIGGER records_no_delete;")
    raw.execute("UPDATE records SET answer='无需撤离' WHERE seq=2")
    records = audit.read_records(raw)
    prev = audit.GENESIS
    for r in records:
        digest = audit.record_hash(prev, r)
        raw.execute("UPDATE records SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, r["seq"]))
        prev = digest
    raw.commit()
    raw.close()
    assert main(["audit", "verify"]) == 0  # the chain alone cannot tell
    capsys.readouterr()
    assert main(["audit", "verify", "--expect", noted]) == 1
    assert "不在日志中" in capsys.readouterr().out


# ---- finding 8: escaping, question length, queue per client, paths ---------------------------------------------

LINK_TITLE = "示例预案[点我](http://evil.example/x)![](http://evil.example/p.png)"


def test_document_titles_are_escaped_in_exports_previews_and_bubbles(tmp_path):
    from app.interfaces import conversations as convs
    from app.interfaces.export import save_brief_version
    from app.interfaces.web_briefs import BRIEF_KEYS, preview_brief
    from app.interfaces.web_handlers import assistant_messages

    db = convs.connect(tmp_path / "c.sqlite3")
    cid = convs.create_conversation(db, "问题")
    convs.add_turn(db, cid, "assistant", "回答[1]。", {"answer": "回答[1]。", "citations": [
        {"n": 1, "title": LINK_TITLE, "locator": "第一条", "page": "", "source": "/srv/secret/kb/预案.md"}]})
    md = convs.conversation_markdown(convs.load_conversation(db, cid))
    assert "](http" not in md and "《示例预案" in md
    assert "/srv/secret" not in md and "预案.md" in md

    fields = {"place": LINK_TITLE, "cause_trend": "依据《" + LINK_TITLE + "》"}
    preview = preview_brief("速报", *[fields.get(k, "") for k in BRIEF_KEYS])[0]
    assert "](http" not in preview
    brief_md, _ = save_brief_version(tmp_path / "briefs", "速报", fields)
    assert "](http" not in brief_md.read_text(encoding="utf-8")

    bubbles = assistant_messages({"answer": "答。", "reasoning": ["依据《" + LINK_TITLE + "》"]})
    assert all("](http" not in m["content"] for m in bubbles)


def test_question_length_is_capped(tmp_path):
    import gradio as gr

    from app.interfaces.web_handlers import Handlers
    from app.pipeline import Copilot

    settings = load_settings(home=tmp_path / "home", max_question_chars=100)
    handlers = Handlers(Copilot(settings, tmp_path / "kb"))
    with pytest.raises(gr.Error, match="输入过长"):
        next(handlers.respond("滑" * 101, [], None, None))
    with pytest.raises(gr.Error, match="输入过长"):
        handlers.ask("滑" * 101, None)


def test_one_client_cannot_fill_the_queue():
    from types import SimpleNamespace

    from app.interfaces.guard import limit_queue_per_client

    def request(host):
        return SimpleNamespace(client=SimpleNamespace(host=host))

    waiting = [SimpleNamespace(request=request("10.0.0.7"), username=None) for _ in range(3)]
    queue = SimpleNamespace(event_queue_per_concurrency_id={"chat": SimpleNamespace(queue=waiting)})

    async def push(body, req, username):
        return True, "event-id", "success"

    queue.push = push
    limit_queue_per_client(queue, 3)
    full = asyncio.run(queue.push(None, request("10.0.0.7"), None))
    assert full[0] is False and full[2] == "queue_full"
    assert asyncio.run(queue.push(None, request("10.0.0.8"), None))[0] is True  # another client still gets in


def test_error_messages_carry_no_absolute_paths():
    from app.interfaces.files import redact_paths

    text = redact_paths("OperationalError: unable to open /home/duty/.local/share/geohazard-copilot/kb/x.sqlite3")
    assert "/home/duty" not in text and "x.sqlite3" in text


# ---- served: the same findings against `geohazard serve` with a home outside /tmp --------------------------------


@pytest.fixture(scope="module")
def served():
    from app.provision import is_installed
    from support.webserver import running_server, server_env

    if not is_installed(load_settings().models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    home = Path(tempfile.mkdtemp(prefix="geohazard-trust-", dir="/var/tmp")) / "home"
    assert not str(home).startswith(tempfile.gettempdir()) and not str(home).startswith(str(Path.cwd()))
    home.mkdir()
    kb = home / "kb"
    env = server_env(home)
    env.pop("FORWARDED_ALLOW_IPS", None)
    env.pop("GRADIO_TEMP_DIR", None)
    try:
        with running_server(home, kb, env) as (url, proc):
            yield {"url": url, "home": home, "netloc": urlsplit(url).netloc}
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def _http(served, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    host, port = served["netloc"].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request(method, path, body=body, headers={"Host": served["netloc"], **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data.decode("utf-8", errors="replace")


def _multipart(filename: str | None, content: bytes = b"# note\n") -> tuple[bytes, dict]:
    boundary = "----geohazardtrust"
    named = "" if filename is None else f"; filename=\"{filename}\""
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"{named}\r\n"
            f"Content-Type: text/markdown\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.slow
def test_served_refuses_forged_host_and_cross_site_requests(served):
    join = json.dumps({"data": [None], "fn_index": 0, "session_hash": "abc123"}).encode()
    for method, path, body in (("GET", "/config", None), ("GET", "/", None),
                               ("POST", "/gradio_api/queue/join", join)):
        status, _ = _http(served, method, path, body, {"Host": "rebind.example", "Content-Type": "application/json"})
        assert status == 403, (path, status)
    assert _http(served, "GET", "/config")[0] == 200
    body, headers = _multipart("note.md")
    status, text = _http(served, "POST", "/gradio_api/upload", body, {**headers, "Origin": "http://evil.example"})
    assert status == 403 and "跨站" in text
    status, text = _http(served, "POST", "/gradio_api/upload", body,
                         {**headers, "Origin": f"http://{served['netloc']}"})
    assert status == 200, text
    uploaded = json.loads(text)[0]
    assert Path(uploaded).is_relative_to(served["home"] / "tmp")  # Gradio's temp dir lives in the home


@pytest.mark.slow
def test_served_audit_user_ignores_a_forged_forwarded_for(served):
    status, text = _http(served, "POST", "/gradio_api/call/ask", json.dumps({"data": ["泥石流来了往哪里跑？"]}).encode(),
                         {"Content-Type": "application/json", "X-Forwarded-For": "forged-officer-wang"})
    assert status == 200, text
    event_id = json.loads(text)["event_id"]
    status, stream = _http(served, "GET", f"/gradio_api/call/ask/{event_id}",
                           headers={"X-Forwarded-For": "forged-officer-wang"})
    assert "event: complete" in stream, stream[-500:]
    db = sqlite3.connect(served["home"] / "audit.sqlite3")
    users = [row[0] for row in db.execute("SELECT user FROM records")]
    db.close()
    assert users and users[-1] == "web@127.0.0.1", users


@pytest.mark.slow
def test_served_files_are_private(served):
    home = served["home"]
    _http(served, "GET", "/config")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.rglob("*"):
        if path.is_symlink() or path.name.startswith("serve-"):  # the test's own server log
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path}: {oct(mode)}"
    assert (home / "tmp").is_dir()


@pytest.mark.slow
def test_served_answers_carry_no_paths_and_clear_errors(served):
    status, config = _http(served, "GET", "/config")
    assert status == 200 and str(served["home"]) not in config
    for name in (None, ""):  # a part without a file name, and an empty one
        body, headers = _multipart(name)
        status, text = _http(served, "POST", "/gradio_api/upload", body, headers)
        assert status == 400 and "文件名" in text, (name, status, text)
    status, text = _http(served, "POST", "/gradio_api/call/ask", json.dumps({"data": ["滑" * 5000]}).encode(),
                         {"Content-Type": "application/json"})
    event_id = json.loads(text)["event_id"]
    _, stream = _http(served, "GET", f"/gradio_api/call/ask/{event_id}")
    assert "event: error" in stream and "input too long" in stream, stream[-500:]
