#!/usr/bin/env python3
"""Time to first byte and to the end added by output inspection (`output_pii`) on an SSE stream (issue 15 §3).

Not a pass/fail test: prints figures. Same Envoy, same upstream, two profiles: `plain` (no output inspection; the
response is only observed) and `scan` (`output_pii` with the built-in defaults and SECRETS blocked: every content
delta goes through the rewriting pipeline and its scanner). The upstream (tests/e2e/fake_openrouter.py) streams an
answer of about EVENTS token-sized content deltas (1-8 bytes) holding a phone number and an e-mail address cut
across events. Two runs: back to back (the upstream writes as fast as it can: the CPU cost), and paced at
PACE_MS between events (a model's token rate: what the holdback costs in time). Sequential requests on fresh
HTTP/1.1 connections, the profiles alternating in batches so background noise hits both alike.

    PYTHONPATH=tests/e2e:tools:. .venv/bin/python bench/outscan_ttfb.py [requests-per-profile]

TTFB = request sent → first body byte that carries answer text (the first non-empty content delta); total = → last
byte.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
from pathlib import Path

import envoy_config as ec
from fake_openrouter import FakeOpenRouter, Script
from harness.envoy import Envoy
from harness.stream_timing import dechunk, pct, post_chat

EVENTS = 60
PACE_MS = 20
ANSWER = ("Sure. You can reach the desk at (415) 555-0132 during office hours, or write to "
          "help.desk.bench@example.com and someone will answer within a day. Anything else?")


def policy() -> dict:
    base = {"models": [{"allow": "anthropic/*"}]}
    scan = {**base, "output_pii": {"entities": {"SECRETS": "block"}}}
    return {"clusters": ["openrouter"], "profile_header": "x-data-classification", "default_profile": "plain",
            "profiles": {"plain": base, "scan": scan}}


def pieces() -> list[str]:
    rng = random.Random(7)
    out, i = [], 0
    while i < len(ANSWER):
        j = min(len(ANSWER), i + rng.randint(1, 8))
        out.append(ANSWER[i:j])
        i = j
    return out


def run(n: int, pace: float) -> dict[str, list[tuple[float, float]]]:
    parts = pieces()
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.script(*[Script(content_pieces=parts, event_delay=pace) for _ in range(2 * n + 20)])
        cfg = ec.EnvoyConfig(port=0, admin_port=0, policy=policy(), upstream=fake.url, passthrough=True,
                             wasm=ec.DEFAULT_WASM, restrict_endpoints=False)
        env = Envoy(cfg, Path(tmp) / "envoy", concurrency=1, log_level="warning")
        env.start()
        try:
            for p in ("plain", "scan"):  # warm-up
                for _ in range(3):
                    post_chat(env.port, p, "How do I reach the help desk?", stream=True)
            res: dict[str, list[tuple[float, float]]] = {"plain": [], "scan": []}
            batch = min(25, n)
            for _ in range(max(1, n // batch)):
                for p in ("plain", "scan"):
                    for _ in range(batch):
                        ttfb, total, raw = post_chat(env.port, p, "How do I reach the help desk?", stream=True)
                        if p == "scan":
                            assert b"[PHONE]" in dechunk(raw) and b"555-0132" not in dechunk(raw), raw[-300:]
                        res[p].append((ttfb, total))
        finally:
            env.stop()
    return res


def report(title: str, res: dict[str, list[tuple[float, float]]]) -> None:
    print(f"{title}: {len(res['scan'])} requests per profile, Envoy --concurrency 1, HTTP/1.1")
    for p in ("plain", "scan"):
        t = [x[0] * 1e3 for x in res[p]]
        tot = [x[1] * 1e3 for x in res[p]]
        print(f"  {p:6}  TTFB p50 {statistics.median(t):.3f} ms  p99 {pct(t, 0.99):.3f} ms   "
              f"total p50 {statistics.median(tot):.3f} ms  p99 {pct(tot, 0.99):.3f} ms")
    for name, i in (("TTFB", 0), ("total", 1)):
        a = [x[i] * 1e3 for x in res["scan"]]
        b = [x[i] * 1e3 for x in res["plain"]]
        print(f"  added by output inspection: {name} p50 {statistics.median(a) - statistics.median(b):+.3f} ms  "
              f"p99 {pct(a, 0.99) - pct(b, 0.99):+.3f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    parts = pieces()
    print(f"answer: {len(ANSWER)} bytes in {len(parts)} content deltas of 1-8 bytes, a phone and an e-mail cut "
          f"across them")
    report("back to back", run(n, 0.0))
    report(f"paced at {PACE_MS} ms per delta", run(max(10, n // 5), PACE_MS / 1000))
    print("  holdback: a cut after whitespace with 2 bytes after it in prose, 96 after a digit, 610 after an "
          "incomplete wrappable key prefix; never more than 4096 bytes per channel")


if __name__ == "__main__":
    main()
