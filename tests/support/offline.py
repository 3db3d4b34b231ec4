"""Run a command with no network at all where the kernel allows it (`unshare -n`), and with the in-process
socket guard (support.netguard) as a second line where it does not."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache


@lru_cache(maxsize=1)
def offline_prefix() -> tuple[str, ...]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return (unshare, "-n")
    return ()


def offline_env(env: dict | None = None) -> dict:
    """Environment for a Python subprocess that refuses non-loopback connections even where `unshare -n` is
    not available (support.netguard, installed at interpreter start-up)."""
    from support.netguard import guarded_env

    return guarded_env(env)


def offline_command(command: list[str]) -> list[str]:
    """`command` under `unshare -n` where the kernel allows it."""
    return list(offline_prefix()) + list(command)
