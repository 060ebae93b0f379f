#!/usr/bin/env python3
"""Latency added by budgets in the embedded store (docs/spend.md, issue 16).

Not a pass/fail test: prints figures. One Envoy (--concurrency 1), the fake upstream (tests/e2e/fake_openrouter.py),
two profiles that differ only in spend control: `plain` (none) and `budgeted` (a $1000 cost guard and three limits
per user: requests, tokens and cost per day, so every request reserves in three shared-data counters before it is
forwarded and settles them in on_log). Sequential non-streaming requests on fresh HTTP/1.1 connections, the
profiles alternating in batches so background noise hits both alike.

    PYTHONPATH=tests/e2e:tools:. .venv/bin/python bench/spend_latency.py [requests-per-profile]

total = request sent -> last response byte (the client's view; settling in on_log runs after the response is
sent); filter_us = the filter's own time in its request and response callbacks (audit record), where the
reservation (3 CAS reads and writes) happens.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import envoy_config as ec
from fake_openrouter import FakeOpenRouter
from harness.envoy import Envoy
from harness.stream_timing import pct, post_chat


def policy() -> dict:
    limit = lambda name, unit, max_: {"name": name, "per": ["user"], "window": "day", "unit": unit,  # noqa: E731
                                      "max": max_, "profiles": ["budgeted"]}
    prof = {"models": [{"allow": "anthropic/*"}], "max_tokens": 1000, "pii": {"enabled": False}}
    return {"clusters": ["openrouter"], "default_profile": "plain", "user_header": "x-user-id",
            "profiles": {"plain": prof, "budgeted": {**prof, "max_cost_per_request": 1000}},
            "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15}],
                      "limits": [limit("rpd", "requests", 1e12), limit("tpd", "tokens", 1e14),
                                 limit("usd", "cost", 1e8)]}}


def one(port: int, profile: str, rid: str) -> float:
    _, total, buf = post_chat(port, profile, "Say hello.", stream=False, timeout=10,
                              extra_headers=f"x-user-id: bench-user\r\nx-request-id: {rid}\r\n")
    assert buf.startswith(b"HTTP/1.1 200"), buf[:200]
    return total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as tmp:
        cfg = ec.EnvoyConfig(port=0, admin_port=0, policy=policy(), upstream=fake.url, passthrough=True,
                             wasm=ec.DEFAULT_WASM, restrict_endpoints=False)
        env = Envoy(cfg, Path(tmp) / "envoy", concurrency=1, log_level="warning")
        env.start()
        try:
            for p in ("plain", "budgeted"):  # warm-up
                for i in range(10):
                    one(env.port, p, f"warm-{p}-{i}")
            totals: dict[str, list[float]] = {"plain": [], "budgeted": []}
            batch = 25
            for b in range(max(1, n // batch)):
                for p in ("plain", "budgeted"):
                    for i in range(batch):
                        totals[p].append(one(env.port, p, f"{p}-{b}-{i}"))
            time.sleep(1.0)
            filter_us: dict[str, list[float]] = {"plain": [], "budgeted": []}
            for rec in env.audit_records():
                rid = rec.get("request_id") or ""
                p = rid.split("-")[0]
                if p in filter_us:
                    filter_us[p].append(rec["filter_us"])
            last = [r for r in env.audit_records() if (r.get("request_id") or "").startswith("budgeted-")][-1]
        finally:
            env.stop()
    print(f"budgets in the embedded store: {len(totals['plain'])} requests per profile, Envoy --concurrency 1, "
          "HTTP/1.1, non-streaming, 3 limits + cost guard on `budgeted`")
    for p in ("plain", "budgeted"):
        t = [x * 1e3 for x in totals[p]]
        us = filter_us[p]
        print(f"  {p:9} total p50 {statistics.median(t):.3f} ms  p99 {pct(t, 0.99):.3f} ms   "
              f"filter_us p50 {statistics.median(us):.0f}  p99 {pct(us, 0.99):.0f}")
    on = [x * 1e3 for x in totals["budgeted"]]
    off = [x * 1e3 for x in totals["plain"]]
    fa, fb = filter_us["budgeted"], filter_us["plain"]
    print(f"  added: total p50 {statistics.median(on) - statistics.median(off):+.3f} ms  "
          f"p99 {pct(on, .99) - pct(off, .99):+.3f} ms   "
          f"filter_us p50 {statistics.median(fa) - statistics.median(fb):+.0f} us")
    print("  last budgeted record's limits:", json.dumps(last["spend"]["limits"]))


if __name__ == "__main__":
    main()
