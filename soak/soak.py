#!/usr/bin/env python3
"""Soak: >= 100,000 mixed requests through a real Envoy with the real filter, then check everything.

    make soak                                   # 100,000 requests, concurrency 24, <= ~10 min on 2 cores
    SOAK_QUICK=1 make soak                      # 5,000 requests (about a minute with the build)
    SOAK_REQUESTS=20000 SOAK_CONCURRENCY=32 make soak
    SOAK_MAX_SECONDS=300                        # stop issuing requests after this (bound; default 540)
    SOAK_SEED=7                                 # another corpus and request order

Pieces (all on 127.0.0.1): soak-upstream (Rust, soak/src/bin/upstream.rs) checks every body it receives for
the planted PII and for the filter's provider injection; soak-load (Rust, soak/src/bin/load.rs) sends the
requests; Envoy runs the config rendered by tools/envoy_config.py with envoy/policy.default.json.

Asserted: zero unexpected statuses / transport errors / incomplete bodies; zero leaks; no ungoverned body
upstream and nothing the filter refused reached it; exactly one audit record per request, matched by
x-request-id, whose status is the one the client saw, and intact hash chains (tools/verify_audit.py); Envoy's
RSS flat after warm-up; no wasm VM restart or crash (wasm.* stats, Envoy's log). Artefacts in soak/out/soak/.
"""
from __future__ import annotations

import collections
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import soaklib as h

# RSS is "flat" when the median of the last 10% of the run is within this of the median just after warm-up.
RSS_TOLERANCE_KB = 12 * 1024
RSS_TOLERANCE_FRACTION = 0.05
WARMUP_FRACTION = 0.20
# Shorter runs (quick mode) report RSS without judging it.
MIN_RSS_SECONDS = 30


def median_in(samples: list[tuple[float, int]], lo: float, hi: float) -> int:
    vals = [kb for t, kb in samples if lo <= t <= hi]
    if not vals and samples:  # short run: the sample nearest to the window
        vals = [min(samples, key=lambda s: abs(s[0] - (lo + hi) / 2))[1]]
    return int(statistics.median(vals)) if vals else 0


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float:
    if len(samples) < 3:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [kb / 1024 for _, kb in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def main() -> int:
    quick = os.environ.get("SOAK_QUICK", "") not in ("", "0")
    n = h.env_int("SOAK_REQUESTS", 5000 if quick else 100_000)
    conc = h.env_int("SOAK_CONCURRENCY", 16 if quick else 24)
    max_secs = h.env_int("SOAK_MAX_SECONDS", 540)
    seed = h.env_int("SOAK_SEED", 1)
    started = h.start_up("soak")
    if started is None:
        return 2
    wasm, work = started
    pii_cfg = h.pii_config_in_default_policy()
    print(f"soak: {n} requests, concurrency {conc}, seed {seed}, bound {max_secs}s; "
          f"policy envoy/policy.default.json ({'with' if pii_cfg else 'without'} a `pii` object: "
          f"{'its settings' if pii_cfg else 'the built-in PII defaults'} apply)", flush=True)

    up = h.Upstream(work)
    env = None
    try:
        cfg = h.ec.EnvoyConfig(port=0, admin_port=0, upstream=up.url, wasm=wasm)
        env = h.EnvoyProc(cfg, work)
        baseline = h.wasm_snapshot(env)
        rss_start = env.rss_kb()
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.monotonic() - t0, env.rss_kb()))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rids_file = work / "requests.tsv"
        cmd = [str(h.BIN / "soak-load"), "--port", str(env.port), "--requests", str(n), "--concurrency", str(conc),
               "--seed", str(seed), "--max-seconds", str(max_secs), "--out", str(rids_file)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, timeout=max_secs + 120)
        run_secs = time.monotonic() - t0
        stop.set()
        sampler.join()
        if proc.returncode != 0:
            print("soak-load failed", file=sys.stderr)
            return 1
        load = json.loads(proc.stdout)
        rss_after = env.rss_kb()

        # -- audit: wait (bounded) until every request's record is in the file
        want = load["requests"]
        h.wait_until(lambda: h.count_lines(env.audit_path) >= want, 30, 0.5)
        time.sleep(1.0)  # stragglers: a duplicate would show up now
        records = env.audit_records(strict=False)
        by_rid = collections.Counter(r.get("request_id") for r in records)
        sent: dict[str, tuple[int, int]] = {}  # rid -> (expected, got)
        for line in rids_file.read_text().splitlines():
            p = line.split()
            sent[p[0]] = (int(p[1]), int(p[2]))
        missing = [r for r in sent if by_rid.get(r, 0) == 0]
        dups = [r for r in sent if by_rid.get(r, 0) > 1]
        unknown = [r for r in by_rid if r not in sent]
        bad_lines = [r for r in records if "_bad_line" in r]
        status_mismatch = [r["request_id"] for r in records
                           if r.get("request_id") in sent and sent[r["request_id"]][1] not in (0, r.get("status"))]
        verify = subprocess.run([sys.executable, str(h.ROOT / "tools" / "verify_audit.py"), str(env.audit_path)],
                                capture_output=True, text=True)
        stats_custom = env.stats("wasmcustom.openrouter_guard_audit_records_total")
        filter_audit_total = sum(stats_custom.values())

        # -- upstream: leaks, governance, fail-closed
        us = up.stats()
        seen = up.rids()
        forwarded_ok = {r for r, (e, g) in sent.items() if g == 200}
        refused_but_seen = [r for r, (e, g) in sent.items() if e != 200 and r in seen]
        not_seen = [r for r in forwarded_ok if r not in seen]
        extra_seen = [r for r in seen if r not in forwarded_ok]

        # -- RSS
        warm_end = run_secs * WARMUP_FRACTION
        rss_warm = median_in(samples, warm_end, warm_end + run_secs * 0.10)
        rss_end = median_in(samples, run_secs * 0.90, run_secs)
        rss_peak = max((kb for _, kb in samples), default=0)
        post = [(t, kb) for t, kb in samples if t >= warm_end]
        growth = rss_end - rss_warm
        rss_ok = growth <= max(RSS_TOLERANCE_KB, int(rss_warm * RSS_TOLERANCE_FRACTION))
        rss_judged = run_secs >= MIN_RSS_SECONDS
        if not rss_judged:
            rss_ok = True  # reported, not judged: too short to tell warm-up from growth

        wasm_problems = h.wasm_problems(env, baseline)
        pf = load["planted_forwarded"]

        checks = [
            ("requests sent >= target" if not quick else "requests sent", load["requests"] >= n,
             f"{load['requests']} of {n} in {load['seconds']}s = {load['rps']} rps"),
            ("unexpected statuses", load["unexpected_status"] == 0, f"{load['unexpected_status']}"),
            ("transport errors", load["transport_errors"] == 0, f"{load['transport_errors']}"),
            ("incomplete/bad response bodies", load["bad_body"] == 0, f"{load['bad_body']}"),
            ("PII leaks upstream", us["leak_requests"] == 0,
             f"requests {us['leak_requests']} (email {us['leak_email']}, card {us['leak_card']}, key {us['leak_key']})"
             + (f" e.g. {us['leaked_rids'][:3]}" if us["leaked_rids"] else "")),
            ("planted PII redacted (placeholders)",
             (us["ph_email"], us["ph_card"], us["ph_key"]) == (pf["email"], pf["card"], pf["key"]),
             f"planted in forwarded bodies e/c/k {pf['email']}/{pf['card']}/{pf['key']}, "
             f"placeholders upstream {us['ph_email']}/{us['ph_card']}/{us['ph_key']}"),
            ("ungoverned bodies upstream", us["ungoverned"] == 0 and us["header_leak"] == 0,
             f"no provider injected {us['ungoverned']}, profile/user header forwarded {us['header_leak']}"),
            ("refused requests forwarded", not refused_but_seen, f"{len(refused_but_seen)} {refused_but_seen[:3]}"),
            ("upstream saw exactly the 200s", not not_seen and not extra_seen and us["posts"] == len(forwarded_ok),
             f"upstream {len(seen)} (posts {us['posts']}), client 200s {len(forwarded_ok)}, "
             f"missing {len(not_seen)}, extra {len(extra_seen)}"),
            ("one audit line per request", len(records) == len(sent) and not missing and not dups and not unknown,
             f"{len(records)} lines for {len(sent)} requests; missing {len(missing)}, duplicated {len(dups)}, "
             f"unknown {len(unknown)}" + (f" e.g. {(missing or dups or unknown)[:3]}" if missing or dups or unknown else "")),
            ("audit lines are JSON, status = client's", not bad_lines and not status_mismatch,
             f"bad lines {len(bad_lines)}, status mismatches {len(status_mismatch)} {status_mismatch[:3]}"),
            ("audit hash chains intact (verify_audit.py)", verify.returncode == 0,
             (verify.stdout.strip().splitlines() or ["?"])[-1][:160]),
            ("filter's audit counter", filter_audit_total == len(sent), f"{filter_audit_total}"),
            ("Envoy RSS flat after warm-up", rss_ok,
             f"start {rss_start // 1024} MB, after warm-up {rss_warm // 1024} MB, end {rss_end // 1024} MB "
             f"(growth {growth / 1024:+.1f} MB = {growth * 1024 / max(1, load['requests'] * (1 - WARMUP_FRACTION)):+.0f} B/request, "
             f"slope {slope_mb_per_min(post):+.2f} MB/min), peak {rss_peak // 1024} MB, "
             f"after load {rss_after // 1024} MB" + ("" if rss_judged else f"; not judged (run < {MIN_RSS_SECONDS}s)")),
            ("wasm VM: no restart/crash", not wasm_problems, "; ".join(wasm_problems) or
             ", ".join(f"{k}={v}" for k, v in sorted(h.wasm_snapshot(env).items()) if "remote_load" not in k)),
        ]
        summary = {"load": load, "upstream": {k: v for k, v in us.items()}, "audit_lines": len(records),
                   "rss_kb": {"start": rss_start, "after_warmup": rss_warm, "end": rss_end, "peak": rss_peak,
                              "after_load": rss_after},
                   "rss_samples": samples, "pii_config_in_policy": pii_cfg,
                   "checks": [{"name": c, "ok": ok, "detail": d} for c, ok, d in checks]}
        (work / "summary.json").write_text(json.dumps(summary, indent=1))
        print()
        print(f"load: {load['requests']} requests in {load['seconds']}s ({load['rps']} rps), concurrency {conc}")
        print(f"  statuses {load['statuses']}  endpoints {load['endpoints']}")
        print(f"  classes {load['classes']}  streams {load['streams']}  chunked {load['chunked']}  "
              f"with PII {load['pii_requests']}  planted e/c/k {load['planted']}  "
              f"bytes {load['request_bytes'] / 1e6:.0f} MB  latency us {load['latency_us']}")
        if load["examples"]:
            print("  examples of bad requests:", *load["examples"][:10], sep="\n    ")
        width = max(len(c) for c, _, _ in checks)
        print()
        for c, ok, d in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {c:<{width}}  {d}")
        failed = [c for c, ok, _ in checks if not ok]
        print(f"\nsoak: {'FAIL (' + ', '.join(failed) + ')' if failed else 'PASS'}; artefacts in {work}")
        return 1 if failed else 0
    finally:
        if env:
            env.stop()
        up.stop()


if __name__ == "__main__":
    sys.exit(main())
