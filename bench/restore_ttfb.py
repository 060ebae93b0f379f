#!/usr/bin/env python3
"""Time to first byte and to the end added by restoring `mask` placeholders on an SSE stream (issue 15 §2).

Not a pass/fail test: prints figures. Same Envoy, same upstream, two profiles that differ only in the action for
EMAIL: `redact` (no placeholders issued, the response is only observed) and `mask` (placeholders issued, every
event of the answer goes through the rewriting pipeline, and the answer's placeholders are restored). The request
carries one e-mail address; the upstream (tests/e2e/fake_openrouter.py) streams an answer of EVENTS content deltas,
every third one cut inside a placeholder `[EMAIL_1]`. Sequential requests on fresh HTTP/1.1 connections, the two
profiles alternating in batches so background noise hits both alike.

    PYTHONPATH=tests/e2e:tools:. .venv/bin/python bench/restore_ttfb.py [requests-per-profile] [seconds-between-events]

Back to back (the default) the whole answer arrives in one or two reads, so TTFB ~ total; paced (e.g. 0.005) the
TTFB is the first delta's own latency.

TTFB = request sent → first body byte that carries answer text (the first content delta); total = → last byte.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import envoy_config as ec
from fake_openrouter import FakeOpenRouter, Script
from harness.envoy import Envoy
from harness.stream_timing import dechunk, pct, post_chat

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 60
EMAIL = "ann.bench@example.com"


def policy() -> dict:
    prof = lambda action: {"models": [{"allow": "anthropic/*"}], "pii": {"entities": {"EMAIL": action}}}  # noqa: E731
    return {"clusters": ["openrouter"], "profile_header": "x-data-classification", "default_profile": "redact",
            "profiles": {"redact": prof("redact"), "mask": prof("mask")}}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pace = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    pieces = []
    for i in range(EVENTS):
        pieces.append(f"word{i} [EMA" if i % 3 == 0 else ("IL_1] " if i % 3 == 1 else "more text "))
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.script(*[Script(content_pieces=pieces, event_delay=pace) for _ in range(2 * n + 20)])
        cfg = ec.EnvoyConfig(port=0, admin_port=0, policy=policy(), upstream=fake.url, passthrough=True,
                             wasm=ec.DEFAULT_WASM, restrict_endpoints=False)
        env = Envoy(cfg, Path(tmp) / "envoy", concurrency=1, log_level="warning")
        env.start()
        try:
            for p in ("redact", "mask"):  # warm-up
                for _ in range(5):
                    post_chat(env.port, p, f"Write to {EMAIL} please.", stream=True)
            res: dict[str, list[tuple[float, float]]] = {"redact": [], "mask": []}
            batch = min(25, n)
            for _ in range(max(1, n // batch)):
                for p in ("redact", "mask"):
                    for _ in range(batch):
                        ttfb, total, raw = post_chat(env.port, p, f"Write to {EMAIL} please.", stream=True)
                        if p == "mask":
                            assert EMAIL.encode() in dechunk(raw), raw[-300:]
                        res[p].append((ttfb, total))
        finally:
            env.stop()
    print(f"restore on an SSE stream of {EVENTS} content deltas (a third cut inside [EMAIL_1]), "
          f"{len(res['mask'])} requests per profile, {pace * 1e3:g} ms between events, Envoy --concurrency 1, HTTP/1.1")
    for p in ("redact", "mask"):
        t = [x[0] * 1e3 for x in res[p]]
        tot = [x[1] * 1e3 for x in res[p]]
        print(f"  {p:6}  TTFB p50 {statistics.median(t):.3f} ms  p99 {pct(t, 0.99):.3f} ms   "
              f"total p50 {statistics.median(tot):.3f} ms  p99 {pct(tot, 0.99):.3f} ms")
    for name, i in (("TTFB", 0), ("total", 1)):
        a = [x[i] * 1e3 for x in res["mask"]]
        b = [x[i] * 1e3 for x in res["redact"]]
        print(f"  added by restore: {name} p50 {statistics.median(a) - statistics.median(b):+.3f} ms  "
              f"p99 {pct(a, 0.99) - pct(b, 0.99):+.3f} ms")
    print("  holdback bound: 76 bytes of text per channel (restore) + the current incomplete SSE event "
          "(≤ 1 MiB, the event limit)")


if __name__ == "__main__":
    main()
