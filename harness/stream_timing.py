"""Timing chat completions through Envoy on a raw HTTP/1.1 connection, for the benches that report what the
filter adds (bench/restore_ttfb.py, bench/outscan_ttfb.py, bench/spend_latency.py). Not used by pass/fail tests."""
from __future__ import annotations

import json
import socket
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import envoy_config as ec

from harness.envoy import Envoy


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


def print_added(res: dict[str, list[tuple[float, float]]], base: str, variant: str, added_by: str) -> None:
    """Prints TTFB and total (p50, p99, ms) of the `base` and `variant` runs (seconds, as post_chat returns them),
    then what `variant` adds over `base`: "added by <added_by>"."""
    for p in (base, variant):
        t = [x[0] * 1e3 for x in res[p]]
        tot = [x[1] * 1e3 for x in res[p]]
        print(f"  {p:6}  TTFB p50 {statistics.median(t):.3f} ms  p99 {pct(t, 0.99):.3f} ms   "
              f"total p50 {statistics.median(tot):.3f} ms  p99 {pct(tot, 0.99):.3f} ms")
    for name, i in (("TTFB", 0), ("total", 1)):
        a = [x[i] * 1e3 for x in res[variant]]
        b = [x[i] * 1e3 for x in res[base]]
        print(f"  added by {added_by}: {name} p50 {statistics.median(a) - statistics.median(b):+.3f} ms  "
              f"p99 {pct(a, 0.99) - pct(b, 0.99):+.3f} ms")


def measure_streams(upstream: str, policy: dict[str, Any], workdir: Path, base: str, variant: str, content: str, n: int,
                    *, warmup: int, check: Callable[[bytes], None]) -> dict[str, list[tuple[float, float]]]:
    """One Envoy (--concurrency 1, the built filter with `policy`, `upstream` behind it) in `workdir`: `warmup`
    streamed chats per profile, then about `n` each (batches of 25, the two profiles taking turns so background noise
    hits both alike): (TTFB, total) per request and profile. `check` sees each `variant` answer."""
    cfg = ec.EnvoyConfig(port=0, admin_port=0, policy=policy, upstream=upstream, passthrough=True,
                         wasm=ec.DEFAULT_WASM, restrict_endpoints=False)
    env = Envoy(cfg, workdir, concurrency=1, log_level="warning")
    env.start()
    try:
        return _interleaved(env.port, base, variant, content, n, warmup, check)
    finally:
        env.stop()


def _interleaved(port: int, base: str, variant: str, content: str, n: int, warmup: int,
                 check: Callable[[bytes], None]) -> dict[str, list[tuple[float, float]]]:
    for p in (base, variant):
        for _ in range(warmup):
            post_chat(port, p, content, stream=True)
    res: dict[str, list[tuple[float, float]]] = {base: [], variant: []}
    batch = min(25, n)
    for _ in range(max(1, n // batch)):
        for p in (base, variant):
            for _ in range(batch):
                ttfb, total, raw = post_chat(port, p, content, stream=True)
                if p == variant:
                    check(raw)
                res[p].append((ttfb, total))
    return res
