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
import sys
import tempfile
from pathlib import Path

from fake_openrouter import FakeOpenRouter, Script
from harness.stream_timing import dechunk, measure_streams, print_added

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
        return measure_streams(fake.url, policy(), Path(tmp) / "envoy", "plain", "scan", "How do I reach the help desk?",
                               n, warmup=3, check=check_redacted)


def check_redacted(raw: bytes) -> None:
    assert b"[PHONE]" in dechunk(raw) and b"555-0132" not in dechunk(raw), raw[-300:]


def report(title: str, res: dict[str, list[tuple[float, float]]]) -> None:
    print(f"{title}: {len(res['scan'])} requests per profile, Envoy --concurrency 1, HTTP/1.1")
    print_added(res, "plain", "scan", "output inspection")


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
