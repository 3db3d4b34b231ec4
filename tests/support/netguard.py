"""No network in tests: socket connections to anything but this machine's loopback raise NetworkBlocked.

In-process: the `no_network` fixture (or the `offline` marker, or `pytest --net-guard=all`) installs the guard
for a test. Subprocesses: `unshare -n` (support.offline) gives them no network at all; where the kernel does not
allow that, `guarded_env()` makes Python install this guard at start-up (through support/netguard_site).

The guard decides before the real call is made, so a refused address never sees a packet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from contextlib import contextmanager
from pathlib import Path

SITE_DIR = Path(__file__).parent / "netguard_site"
_REAL = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex, "sendto": socket.socket.sendto,
         "getaddrinfo": socket.getaddrinfo}
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkBlocked(OSError):
    pass


def is_local(host) -> bool:
    """Loopback addresses and names only (127.0.0.0/8, ::1, ::ffff:127.x, localhost)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).split("%", 1)[0]
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def allowed(family, address) -> bool:
    if family == getattr(socket, "AF_UNIX", None) or not isinstance(address, tuple):
        return True  # Unix sockets and other local families
    return is_local(address[0])


def _check(sock, address) -> None:
    if not allowed(sock.family, address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")


def _connect(self, address):
    _check(self, address)
    return _REAL["connect"](self, address)


def _connect_ex(self, address):
    _check(self, address)
    return _REAL["connect_ex"](self, address)


def _sendto(self, data, *args):
    address = args[-1]
    _check(self, address)
    return _REAL["sendto"](self, data, *args)


def _getaddrinfo(host, *args, **kwargs):
    if host is not None and not is_local(host):
        try:
            ipaddress.ip_address(str(host.decode() if isinstance(host, bytes) else host).split("%", 1)[0])
        except ValueError:  # a name to resolve: that would be a DNS query
            raise NetworkBlocked(f"name lookup blocked in tests: {host!r}") from None
    return _REAL["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.socket.sendto = _sendto
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _REAL["connect"]
    socket.socket.connect_ex = _REAL["connect_ex"]
    socket.socket.sendto = _REAL["sendto"]
    socket.getaddrinfo = _REAL["getaddrinfo"]


@contextmanager
def guarded():
    install()
    try:
        yield
    finally:
        uninstall()


def guarded_env(env: dict | None = None) -> dict:
    """Environment for a Python subprocess that installs the guard at start-up."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), str(SITE_DIR.parent.parent),
                                                    env.get("PYTHONPATH", "")) if p)
    env["GEOHAZARD_NET_GUARD"] = "1"
    return env
