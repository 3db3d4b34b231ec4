"""Start `geohazard serve` as its own process (as a user would) on a free loopback port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GEOHAZARD = [sys.executable, "-m", "app.interfaces.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def ingest_fixture_corpus(home: Path, env: dict) -> Path:
    kb = home / "kb"
    subprocess.run(GEOHAZARD + ["ingest", str(ROOT / "tests" / "fixtures" / "corpus"), "--kb", str(kb)], env=env,
                   check=True, capture_output=True, timeout=600)
    return kb


def server_env(home: Path, **extra: str) -> dict:
    return {**os.environ, "GEOHAZARD_HOME": str(home), "GEOHAZARD_MODEL": "qwen0.5b", "ANONYMIZED_TELEMETRY": "False",
            "HF_HUB_OFFLINE": "1", **extra}


@contextmanager
def running_server(home: Path, kb: Path, env: dict, host: str = "127.0.0.1"):
    """Yields (base_url, process); the URL always uses loopback, whatever address the server binds."""
    port = free_port()
    log = (home / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(GEOHAZARD + ["serve", "--kb", str(kb), "--port", str(port), "--host", host], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
