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

import sys
import tempfile
from pathlib import Path

from fake_openrouter import FakeOpenRouter, Script
from harness.stream_timing import dechunk, measure_streams, print_added

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 60
EMAIL = "ann.bench@example.com"


def policy() -> dict:
    prof = lambda action: {"models": [{"allow": "anthropic/*"}], "pii": {"entities": {"EMAIL": action}}}  # noqa: E731
    return {"clusters": ["openrouter"], "profile_header": "x-data-classification", "default_profile": "redact",
            "profiles": {"redact": prof("redact"), "mask": prof("mask")}}


def check_restored(raw: bytes) -> None:
    assert EMAIL.encode() in dechunk(raw), raw[-300:]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pace = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    pieces = []
    for i in range(EVENTS):
        pieces.append(f"word{i} [EMA" if i % 3 == 0 else ("IL_1] " if i % 3 == 1 else "more text "))
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.script(*[Script(content_pieces=pieces, event_delay=pace) for _ in range(2 * n + 20)])
        res = measure_streams(fake.url, policy(), Path(tmp) / "envoy", "redact", "mask", f"Write to {EMAIL} please.", n,
                              warmup=5, check=check_restored)
    print(f"restore on an SSE stream of {EVENTS} content deltas (a third cut inside [EMAIL_1]), "
          f"{len(res['mask'])} requests per profile, {pace * 1e3:g} ms between events, Envoy --concurrency 1, HTTP/1.1")
    print_added(res, "redact", "mask", "restore")
    print("  holdback bound: 76 bytes of text per channel (restore) + the current incomplete SSE event "
          "(≤ 1 MiB, the event limit)")


if __name__ == "__main__":
    main()
