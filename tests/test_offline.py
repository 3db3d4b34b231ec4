"""No network at run time: the socket guard used by the end-to-end tests refuses anything but loopback before
a packet is sent, and `unshare -n` leaves subprocesses with no network interface but loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from support import netguard
from support.offline import offline_command, offline_env, offline_prefix

REFUSED = [("192.0.2.1", 80), ("10.0.0.1", 443), ("8.8.8.8", 53), ("example.invalid", 80), ("::ffff:192.0.2.1", 80)]
ALLOWED = [("127.0.0.1", 1), ("127.3.4.5", 1), ("::1", 1), ("localhost", 1), ("::ffff:127.0.0.1", 1)]


def test_the_guard_decides_by_address():
    assert all(not netguard.allowed(socket.AF_INET, a) for a in REFUSED)
    assert all(netguard.allowed(socket.AF_INET, a) for a in ALLOWED)
    assert netguard.allowed(socket.AF_UNIX, "/tmp/x.sock")


def test_blocked_connections_never_reach_the_real_socket_call(monkeypatch):
    calls = []
    for name in ("connect", "connect_ex", "sendto"):  # if the guard let one through, nothing would be sent
        monkeypatch.setitem(netguard._REAL, name, lambda *a, name=name: calls.append((name, a)))
    blocked = 0
    with netguard.guarded():
        for address in REFUSED[:3]:
            for attempt in (lambda s: s.connect(address), lambda s: s.connect_ex(address),
                            lambda s: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", address)):
                with socket.socket() as sock, pytest.raises(netguard.NetworkBlocked):
                    attempt(sock)
                blocked += 1
        with pytest.raises(netguard.NetworkBlocked):
            socket.getaddrinfo("example.invalid", 80)
        blocked += 1
        assert socket.getaddrinfo("127.0.0.1", 80)  # numeric and local lookups send nothing
    assert calls == []
    assert socket.socket.connect is netguard._REAL["connect"]  # uninstalled afterwards
    print(f"blocked={blocked} real_calls=0")


@pytest.mark.offline
def test_the_offline_marker_guards_a_test_and_loopback_still_works():
    assert socket.socket.connect is netguard._connect
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        threading.Thread(target=lambda: server.accept()[0].sendall(b"ok"), daemon=True).start()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            assert client.recv(2) == b"ok"


@pytest.mark.skipif(not offline_prefix(), reason="the kernel does not allow unshare -n here")
def test_subprocesses_of_the_e2e_tests_have_no_network_interface_but_loopback():
    script = ("import socket; from support import netguard\n"
              "print(sorted(n for _, n in socket.if_nameindex()), socket.socket.connect is netguard._connect)")
    out = subprocess.run(offline_command([sys.executable, "-c", script]), capture_output=True, text=True,
                         env=offline_env(), timeout=60, check=True).stdout.split()
    assert out == ["['lo']", "True"], out
    print("unshare -n: interfaces ['lo'], socket guard installed at start-up")
