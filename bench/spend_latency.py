#!/usr/bin/env python3
"""Latency added by budgets, per store (docs/spend.md "Latency", issue 16).

Not a pass/fail test: prints figures. The fake upstream (tests/e2e/fake_openrouter.py) and three Envoys
(--concurrency 1 each), one per budget store, with the same policy apart from `spend.store`:
  plain        no spend control (profile `plain`, on the embedded store's Envoy)
  embedded     a $1000 cost guard and three limits per user (requests, tokens, cost per day) in proxy-wasm shared data:
               3 CAS reads and writes before the request is forwarded, settled in on_log
  rls-memory   the same limits in the rate-limit service (target/tools/openrouter-guard-rls) on 127.0.0.1, counters in
               its memory: one gRPC reserve call (3 descriptors) before forwarding, one commit call after the response
  rls-redis    the same service with its counters in a redis-server on 127.0.0.1 (two Lua scripts per call)
Sequential non-streaming requests on fresh HTTP/1.1 connections; the four variants take turns in batches of 25 so
background noise hits all alike (same run, interleaved).

    PYTHONPATH=tests/e2e:tools:. .venv/bin/python bench/spend_latency.py [requests-per-variant]

total = request sent -> last response byte (the client's view; the commit is sent after the response, by the root
context's tick, so it adds no client latency); filter_us = the filter's own time in its request and response
callbacks (audit record): for the RLS variants it excludes the wait for the service's answer, which `total` includes.
Needs `make build build-rls` and redis-server (`make setup`).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import envoy_config as ec
from fake_openrouter import FakeOpenRouter
from harness.envoy import Envoy
from harness.stores import Redis, Rls
from harness.stream_timing import pct, post_chat

VARIANTS = ("plain", "embedded", "rls-memory", "rls-redis")


def policy(store: dict[str, Any] | None) -> dict[str, Any]:
    limit = lambda name, unit, max_: {"name": name, "per": ["user"], "window": "day", "unit": unit,  # noqa: E731
                                      "max": max_, "profiles": ["budgeted"]}
    prof = {"models": [{"allow": "anthropic/*"}], "max_tokens": 1000, "pii": {"enabled": False}}
    spend: dict[str, Any] = {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15}],
                             "limits": [limit("rpd", "requests", 1e12), limit("tpd", "tokens", 1e14),
                                        limit("usd", "cost", 1e8)]}
    if store is not None:
        spend["store"] = store
    return {"clusters": ["openrouter"], "default_profile": "plain", "user_header": "x-user-id",
            "profiles": {"plain": prof, "budgeted": {**prof, "max_cost_per_request": 1000}}, "spend": spend}


def one(port: int, profile: str, rid: str) -> float:
    _, total, buf = post_chat(port, profile, "Say hello.", stream=False, timeout=10,
                              extra_headers=f"x-user-id: bench-user\r\nx-request-id: {rid}\r\n")
    assert buf.startswith(b"HTTP/1.1 200"), buf[:200]
    return total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with FakeOpenRouter() as fake, tempfile.TemporaryDirectory() as tmp:
        redis = Redis(Path(tmp))
        redis.start()
        memory_rls, redis_rls = Rls(None), Rls(redis.url)
        envoys: dict[str, Envoy] = {}
        try:
            memory_rls.start()
            redis_rls.start()
            rls_store = {"kind": "rls", "cluster": ec.RLS_CLUSTER, "timeout_ms": 2000}
            for name, store, rls in (("embedded", None, None), ("rls-memory", rls_store, memory_rls.address),
                                     ("rls-redis", rls_store, redis_rls.address)):
                cfg = ec.EnvoyConfig(port=0, admin_port=0, policy=policy(store), upstream=fake.url, passthrough=True,
                                     wasm=ec.DEFAULT_WASM, restrict_endpoints=False, rls=rls)
                envoys[name] = Envoy(cfg, Path(tmp) / name, concurrency=1, log_level="warning")
                envoys[name].start()
            # variant -> (Envoy, profile)
            runs = {"plain": (envoys["embedded"], "plain"), "embedded": (envoys["embedded"], "budgeted"),
                    "rls-memory": (envoys["rls-memory"], "budgeted"), "rls-redis": (envoys["rls-redis"], "budgeted")}
            for v, (env, prof) in runs.items():  # warm-up
                for i in range(10):
                    one(env.port, prof, f"warm-{v}-{i}")
            totals: dict[str, list[float]] = {v: [] for v in VARIANTS}
            batch = 25
            for b in range(max(1, n // batch)):
                for v, (env, prof) in runs.items():
                    for i in range(batch):
                        totals[v].append(one(env.port, prof, f"{v}_{b}_{i}"))
            time.sleep(1.0)
            filter_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
            outcomes: dict[str, set[str]] = {v: set() for v in VARIANTS}
            for env in envoys.values():
                for rec in env.audit_records():
                    v = (rec.get("request_id") or "").split("_")[0]
                    if v in filter_us:
                        filter_us[v].append(rec["filter_us"])
                        outcomes[v] |= {e["outcome"] for e in (rec.get("spend") or {}).get("limits", [])}
        finally:
            for env in envoys.values():
                env.stop()
            redis_rls.stop()
            memory_rls.stop()
            redis.stop()
    print(f"budgets per store: {len(totals['plain'])} requests per variant, one Envoy --concurrency 1 per store, "
          "HTTP/1.1, non-streaming, 3 limits + cost guard (plain: none); interleaved batches of 25")
    off = [x * 1e3 for x in totals["plain"]]
    for v in VARIANTS:
        t = [x * 1e3 for x in totals[v]]
        us = filter_us[v]
        added = "" if v == "plain" else (f"   added p50 {statistics.median(t) - statistics.median(off):+.3f} ms  "
                                         f"p99 {pct(t, .99) - pct(off, .99):+.3f} ms  filter_us p50 "
                                         f"{statistics.median(us) - statistics.median(filter_us['plain']):+.0f}")
        print(f"  {v:10} total p50 {statistics.median(t):.3f} ms  p99 {pct(t, 0.99):.3f} ms   "
              f"filter_us p50 {statistics.median(us):.0f}  p99 {pct(us, 0.99):.0f}{added}")
    # Every budgeted request was admitted by its store (not failed open, which would measure nothing).
    for v in VARIANTS[1:]:
        assert outcomes[v] == {"admitted"}, (v, outcomes[v])


if __name__ == "__main__":
    main()
