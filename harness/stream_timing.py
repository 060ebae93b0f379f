"""Timing chat completions through Envoy on a raw HTTP/1.1 connection, for the benches that report what the
filter adds (bench/restore_ttfb.py, bench/outscan_ttfb.py, bench/spend_latency.py). Not used by pass/fail tests."""
from __future__ import annotations

import json
import socket
import time


def post_chat(port: int, profile: str, content: str, *, stream: bool, extra_headers: str = "",
              timeout: float = 30.0) -> tuple[float, float, bytes]:
    """POSTs one chat completion (Connection: close) and reads the response to its end. Returns (time to the first
    body byte that carries answer text — 0.0 when none did —, time to the end, the raw response)."""
    body = json.dumps({"model": "anthropic/claude-3.5-sonnet", **({"stream": True} if stream else {}),
                       "messages": [{"role": "user", "content": content}]}).encode()
    head = (f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: openrouter.ai\r\nContent-Type: application/json\r\n"
            f"x-data-classification: {profile}\r\n{extra_headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.perf_counter()
    s.sendall(head + body)
    buf = b""
    ttfb = 0.0
    while chunk := s.recv(65536):
        buf += chunk
        if not ttfb and b'"content": "' in buf.split(b"\r\n\r\n", 1)[-1].replace(b'"content": ""', b""):
            ttfb = time.perf_counter() - t0
    total = time.perf_counter() - t0
    s.close()
    return ttfb, total, buf


def dechunk(raw: bytes) -> bytes:
    """The body a client reads from an HTTP/1.1 chunked response (chunk boundaries may fall inside a value)."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    out = b""
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out, rest = out + rest[:n], rest[n + 2:]
    return out


def pct(xs: list[float], q: float) -> float:
    """The q-quantile of xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
