"""Who may talk to `geohazard serve`, through which names, and how often.

- `bind_address`: the one place that decides the address the server binds (never empty: an empty setting is
  127.0.0.1, so Gradio never falls back to $GRADIO_SERVER_NAME behind our back).
- `Guard`: an ASGI middleware on the Gradio app (every HTTP route, the queue and the file routes) that refuses a
  request whose Host header is not an allowed name (DNS rebinding) or whose Origin is another site (cross-site
  requests, including multipart uploads), and slows down and locks out repeated failed logins.
- `trust_proxies`: X-Forwarded-For / -Proto are believed only from GEOHAZARD_TRUSTED_PROXIES (uvicorn's own
  default trusts 127.0.0.1, so anything on the machine could name any user in the audit log).
- `limit_queue_per_client`: one client (login, else socket address) cannot fill the shared queue.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::"})
LOGIN_PATHS = frozenset({"/login", "/login/"})


def bind_address(settings, host: str | None = None) -> str:
    """The address to bind: the --host flag, else GEOHAZARD_HOST, else 127.0.0.1 (never empty)."""
    chosen = (host or settings.host or "").strip()
    if chosen.startswith("[") and chosen.endswith("]"):
        chosen = chosen[1:-1]
    return chosen or "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses only; an empty host is not loopback (see bind_address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _names(text: str) -> set[str]:
    return {h.strip().lower().strip("[]") for h in (text or "").split(",") if h.strip()}


def allowed_hosts(settings, bind: str) -> frozenset[str]:
    """Host names a browser may use: loopback names, the bind address itself (unless a wildcard; then this
    machine's host name), and GEOHAZARD_ALLOWED_HOSTS."""
    names = set(LOOPBACK_NAMES) | _names(settings.allowed_hosts)
    if bind in WILDCARDS:
        names.add(socket.gethostname().lower())
    else:
        names.add(bind.lower())
    return frozenset(names)


def host_of(netloc: str) -> str:
    """'Example.org:7860' → 'example.org'; '[::1]:80' → '::1'; '' when unreadable."""
    try:
        return (urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:
        return ""


def trust_proxies(settings) -> None:
    """Tell uvicorn (which reads FORWARDED_ALLOW_IPS when the server is configured) whom to believe."""
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(sorted(_names(settings.trusted_proxies)))


@dataclass
class LoginThrottle:
    """Failed logins per client address: each failure waits `delay_s`; `max_failures` within `lockout_s` lock
    the address out for `lockout_s`."""
    max_failures: int = 5
    lockout_s: float = 300.0
    delay_s: float = 1.0
    failures: dict[str, list[float]] = field(default_factory=dict)

    def locked_for(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [t for t in self.failures.get(client, []) if now - t < self.lockout_s]
        self.failures[client] = recent
        if len(recent) >= self.max_failures:
            return self.lockout_s - (now - recent[-1])
        return 0.0

    def failed(self, client: str) -> None:
        self.failures.setdefault(client, []).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


async def _refuse(send, status: int, message: str, scope_type: str = "http") -> None:
    if scope_type == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": message, "error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: Host allow-list, same-origin check, login throttle, clear errors for broken uploads."""

    def __init__(self, app, hosts: frozenset[str], extra_origins: frozenset[str] = frozenset(),
                 throttle: LoginThrottle | None = None):
        self.app = app
        self.hosts = hosts
        self.extra_origins = extra_origins
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers") or []:
            headers.setdefault(name.lower(), value)
        host_header = headers.get(b"host", b"").decode("latin-1").strip()
        host = host_of(host_header)
        if host not in self.hosts:
            return await _refuse(send, 403, f"拒绝访问：主机名“{host or '（空）'}”不在允许列表中，如经反向代理访问请设置 "
                                            f"GEOHAZARD_ALLOWED_HOSTS / host not allowed", scope["type"])
        origin = headers.get(b"origin")
        if origin is not None:
            origin_text = origin.decode("latin-1").strip()
            netloc = urlsplit(origin_text).netloc.lower() if origin_text != "null" else ""
            same = netloc and netloc == host_header.lower()
            listed = netloc and host_of(netloc) in self.extra_origins
            if not (same or listed):
                return await _refuse(send, 403, "拒绝跨站请求 / cross-site request refused", scope["type"])
        if headers.get(b"sec-fetch-site", b"").lower() == b"cross-site":
            return await _refuse(send, 403, "拒绝跨站请求 / cross-site request refused", scope["type"])
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in LOGIN_PATHS:
            return await self._login(scope, receive, send)
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path", "").endswith("/upload"):
            return await self._upload(scope, receive, send)
        return await self.app(scope, receive, send)

    async def _login(self, scope, receive, send):
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.locked_for(client)
        if wait > 0:
            return await _refuse(send, 429, f"登录失败次数过多，请 {int(wait) + 1} 秒后再试 / too many failed logins, "
                                            f"try again in {int(wait) + 1} s")

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] in (400, 401, 403):
                    self.throttle.failed(client)
                    await asyncio.sleep(self.throttle.delay_s)
                elif message["status"] < 400:
                    self.throttle.succeeded(client)
            await send(message)

        return await self.app(scope, receive, watch)

    async def _upload(self, scope, receive, send):
        """A multipart part without a file name (or with an empty one) gets a clear 400, never a 500: the body
        is watched as it streams through (nothing is buffered), and the first such part stops the upload."""
        started, tail = False, b""

        async def read():
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                for line in _DISPOSITION.findall(chunk):
                    if not _FILENAME.search(line):
                        raise _NamelessUpload()
                tail = chunk[-1024:]
            return message

        async def watch(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            return await self.app(scope, read, watch)
        except _NamelessUpload:
            if started:
                raise
            return await _refuse(send, 400, "上传失败：每个文件都必须有文件名 / upload refused: every file needs a "
                                            "file name")


class _NamelessUpload(Exception):
    pass


_DISPOSITION = re.compile(rb"(?i)content-disposition:[^\r\n]*\r\n")
_FILENAME = re.compile(rb'(?i);\s*filename\*?=\s*(?:"[^"]+"|[^";\s]+)')


def guard_for(settings, bind: str) -> tuple[type, dict]:
    """(middleware class, its options) for `FastAPI(middleware=[Middleware(cls, **options)])`."""
    return Guard, {"hosts": allowed_hosts(settings, bind), "extra_origins": frozenset(_names(settings.allowed_hosts)),
                   "throttle": LoginThrottle(settings.login_max_failures, settings.login_lockout_s,
                                             settings.login_failure_delay_s)}


def client_key(request, username: str | None) -> str:
    if username:
        return "user:" + username
    client = getattr(request, "client", None)
    return "addr:" + (getattr(client, "host", None) or "unknown")


def limit_queue_per_client(queue, limit: int) -> None:
    """Wrap gradio's Queue.push: a client with `limit` jobs already waiting gets "queue full" (HTTP 503) for the
    next one, so one browser or script cannot take every place in the shared queue."""
    original = queue.push

    async def push(body, request, username):
        who = client_key(request, username)
        waiting = sum(1 for events in queue.event_queue_per_concurrency_id.values() for event in events.queue
                      if client_key(event.request, event.username) == who)
        if waiting >= limit:
            return (False, f"排队的请求过多（每个用户最多 {limit} 个），请等待前面的请求完成 / too many queued requests "
                           f"from this client (limit {limit})", "queue_full")
        return await original(body, request, username)

    queue.push = push
