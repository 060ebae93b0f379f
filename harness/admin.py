"""Envoy's admin interface (host:port, or unix:<socket path>) and the one parser of its /stats text."""
from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, sock_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._sock_path = sock_path
        self._timeout = timeout

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self._timeout)
        self.sock.connect(self._sock_path)


def admin_get(admin: str, path: str, method: str = "GET", timeout: float = 5.0) -> str:
    """GET (or `method`) `path` on the admin interface at `admin`; an HTTP error status raises OSError."""
    conn: http.client.HTTPConnection
    if admin.startswith("unix:"):
        conn = _UnixConnection(admin[len("unix:"):], timeout)
    else:
        host, _, port = admin.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        r = conn.getresponse()
        body = r.read().decode()
        if r.status >= 400:
            raise OSError(f"admin {method} {path}: HTTP {r.status}")
        return body
    finally:
        conn.close()


def read_admin_address(path: Path | str) -> str:
    """The admin host:port Envoy wrote to its `--admin-address-path` file; "" until it exists."""
    try:
        return Path(path).read_text().strip()
    except FileNotFoundError:
        return ""


def admin_ready(admin: str) -> bool:
    """Whether Envoy at `admin` reports LIVE on /ready."""
    if not admin:
        return False
    try:
        return admin_get(admin, "/ready").strip() == "LIVE"
    except OSError:
        return False


def listener_port(admin: str) -> int:
    """The port of Envoy's first listener (configs bind port 0 and let the kernel choose)."""
    listeners = json.loads(admin_get(admin, "/listeners?format=json"))
    return int(listeners["listener_statuses"][0]["local_address"]["socket_address"]["port_value"])


def parse_stats(text: str, prefix: str = "") -> dict[str, int]:
    """The counters and gauges of a /stats text page (`name: value` lines) whose name starts with `prefix`;
    histograms (non-integer values) are left out."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        k, _, v = line.partition(": ")
        if k.startswith(prefix) and v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out
