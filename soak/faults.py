#!/usr/bin/env python3
"""Fault injection through a real Envoy with the real filter: `make faults`. Bounded (about a minute).

Each case sends one request (or a short load) that meets a fault, then checks:
  - the outcome the client sees (status, truncated stream, ...);
  - fail closed: nothing the filter did not decide on reached the upstream (soak-upstream records every
    request id it sees, whether the body was complete, and scans every body for the planted PII);
  - exactly one audit record for the request (matched by x-request-id), with the status the client saw;
  - the filter survives: no wasm VM restart/crash (wasm.* stats, Envoy's log) and a normal request still
    gets 200 afterwards.
Prints a PASS/FAIL table (soak/out/faults/results.json too); exits 1 on any FAIL.

Cases: upstream reset mid-upload / mid-stream / closed before answering; upstream 500/502/503 (JSON and SSE);
slow first byte; slow stream; client abort mid-upload (FIN, RST, chunked) and mid-stream; bodies over the
filter's limit and over Envoy's buffer limit (content-length and chunked); Envoy's buffer limit below the
filter's; config reload (ECDS, tools/envoy_config.py ecds_file) under load, with one refused policy.
FAULTS_ONLY=substring runs the matching cases only.
"""
from __future__ import annotations

import copy
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import soaklib as h

CHAT = "/api/v1/chat/completions"
PLANTED = "contact soakpii.faults@soakmail.com or card 4539 1488 0343 6467 key sk-or-v1-" + "ab" * 32
KB = 1024
MB = 1024 * 1024


def chat_body(size: int, stream: bool = False, pii: bool = True) -> bytes:
    """A chat request of about `size` bytes (planted PII at the start)."""
    filler_word = "the quarterly report shows revenue grew while costs stayed flat "
    text = (PLANTED + " " if pii else "") + filler_word * max(1, size // len(filler_word))
    body: dict[str, Any] = {"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def new_rid(case: str) -> str:
    return f"fault-{case}-{uuid.uuid4().hex[:12]}"


def head(rid: str, *, length: int | None, chunked: bool = False, fault: str | None = None,
         path: str = CHAT) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: openrouter.ai", "content-type: application/json",
             f"x-request-id: {rid}"]
    if fault:
        lines.append(f"x-soak-fault: {fault}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    elif length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 64 * KB) -> bytes:
    out = bytearray()
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    return bytes(out + b"0\r\n\r\n")


class Result:
    def __init__(self, status: int | None = None, body: bytes = b"", complete: bool = False, error: str = "",
                 seconds: float = 0.0, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.complete, self.error, self.seconds = status, body, complete, error, seconds
        self.headers = headers or {}

    def __repr__(self) -> str:
        return (f"status={self.status} complete={self.complete} bytes={len(self.body)}"
                + (f" error={self.error}" if self.error else "") + f" {self.seconds:.1f}s")


def send(port: int, data: bytes, *, timeout: float = 30.0) -> Result:
    """Sends `data` (head + body) from a writer thread while reading the response, so an early answer
    (413 while uploading) is read even if Envoy stops reading the body."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def writer() -> None:
        try:
            s.sendall(data)
        except OSError:
            pass

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    try:
        r = http.client.HTTPResponse(s)
        r.begin()
        try:
            body = r.read()
            complete = True
        except http.client.IncompleteRead as e:
            body, complete = e.partial, False
        except OSError as e:
            return Result(r.status, b"", False, type(e).__name__, time.monotonic() - t0)
        return Result(r.status, body, complete, "", time.monotonic() - t0, dict(r.getheaders()))
    except (OSError, http.client.HTTPException) as e:
        return Result(None, b"", False, type(e).__name__, time.monotonic() - t0)
    finally:
        w.join(timeout=5)
        s.close()


def abort_upload(port: int, data: bytes, *, rst: bool) -> None:
    """Sends `data` (a head and only part of the body it announces), then closes: FIN, or RST."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    time.sleep(0.3)  # Envoy has read and buffered what was sent
    if rst:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def abort_stream(port: int, data: bytes, *, after_bytes: int = 1) -> Result:
    """Sends a streaming request, reads the response head and some body, then closes (RST)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.sendall(data)
        r = http.client.HTTPResponse(s)
        r.begin()
        got = r.read1(4096) if after_bytes else b""
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return Result(r.status, got, False, "", time.monotonic() - t0)
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------- checking


class Case:
    def __init__(self, name: str, what: str) -> None:
        self.name, self.what = name, what
        self.problems: list[str] = []
        self.notes: list[str] = []

    def expect(self, cond: bool, problem: str) -> None:
        if not cond:
            self.problems.append(problem)


class Bench:
    """One Envoy + the shared upstream, with the checks every case ends with."""

    def __init__(self, up: h.Upstream, env: h.EnvoyProc) -> None:
        self.up, self.env = up, env
        self.baseline = h.wasm_snapshot(env)

    def audit_one(self, c: Case, rid: str, status: int | None) -> dict[str, Any]:
        recs = self.env.audit_for(rid)
        c.expect(len(recs) == 1, f"{len(recs)} audit records (want 1)")
        if not recs:
            return {}
        rec = recs[0]
        if status is not None:
            c.expect(rec.get("status") == status, f"audit status {rec.get('status')} but client saw {status}")
        keep = ("decision", "status", "reasons", "upstream_status", "streamed", "finish_reason",
                "response_inspected", "response_not_inspected", "latency_first_byte_ms", "latency_ms", "bytes_in",
                "bytes_out", "error_code")
        c.notes.append("audit " + json.dumps({k: rec.get(k) for k in keep if k in rec}, separators=(",", ":")))
        return rec

    def upstream_saw(self, rid: str) -> tuple[bool, str] | None:
        return self.up.rids().get(rid)

    def finish(self, c: Case, *, vm_may_change: bool = False) -> None:
        """Filter survives: no VM failure since the baseline, no leak so far, a normal request still works."""
        probs = h.wasm_problems(self.env, {} if vm_may_change else self.baseline)
        if vm_may_change:
            probs = [p for p in probs if "VM re-created" not in p and ".active" not in p]
        c.problems += [f"wasm: {p}" for p in probs]
        us = self.up.stats()
        c.expect(us["leak_requests"] == 0, f"PII leaked upstream ({us['leak_requests']} requests)")
        c.expect(us["ungoverned"] == 0, f"ungoverned body upstream ({us['ungoverned']})")
        rid = new_rid("health")
        body = chat_body(2 * KB)
        r = send(self.env.port, head(rid, length=len(body)) + body)
        c.expect(r.status == 200 and r.complete, f"health request after the fault: {r}")


def verify_chains(c: Case, env: h.EnvoyProc) -> None:
    """tools/verify_audit.py on the Envoy's audit file: every chain intact (no gap, edit, duplicate)."""
    v = subprocess.run([sys.executable, str(h.ROOT / "tools" / "verify_audit.py"), str(env.audit_path)],
                       capture_output=True, text=True)
    last = (v.stdout.strip().splitlines() or ["?"])[-1]
    c.expect(v.returncode == 0, f"verify_audit.py: {last}")
    c.notes.append("verify_audit.py: " + last.split(";")[0])


# ---------------------------------------------------------------------------------------------- cases


def case_upstream_reset_upload(b: Bench) -> Case:
    c = Case("upstream reset mid-upload", "900 KB body; upstream reads 32 KB then RST")
    rid = new_rid("reset-upload")
    body = chat_body(900 * KB)
    r = send(b.env.port, head(rid, length=len(body), fault="reset-upload") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 503, f"client status {r.status} (want 503)")
    seen = b.upstream_saw(rid)
    c.expect(seen is not None and not seen[0], f"upstream should have seen a partial body, saw {seen}")
    b.audit_one(c, rid, r.status)
    b.finish(c)
    return c


def case_upstream_reset_stream(b: Bench) -> Case:
    c = Case("upstream reset mid-stream", "SSE; upstream RST after 3 events")
    rid = new_rid("reset-stream")
    body = chat_body(2 * KB, stream=True)
    r = send(b.env.port, head(rid, length=len(body), fault="reset-stream") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 200 and not r.complete and b"[DONE]" not in r.body,
             f"client should see a 200 stream cut short: {r}")
    b.audit_one(c, rid, 200)
    b.finish(c)
    return c


def case_upstream_close(b: Bench) -> Case:
    c = Case("upstream closes before answering", "upstream reads the body, FIN, no response")
    rid = new_rid("close")
    body = chat_body(4 * KB)
    r = send(b.env.port, head(rid, length=len(body), fault="close-before-response") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 503, f"client status {r.status} (want 503)")
    b.audit_one(c, rid, r.status)
    b.finish(c)
    return c


def case_upstream_5xx(b: Bench) -> Case:
    c = Case("upstream 5xx", "500, 502, 503 as JSON; 503 on a stream request")
    for code, stream in ((500, False), (502, False), (503, False), (503, True)):
        rid = new_rid(f"status{code}")
        body = chat_body(2 * KB, stream=stream)
        r = send(b.env.port, head(rid, length=len(body), fault=f"status-{code}") + body)
        c.expect(r.status == code and r.complete, f"{code}{' stream' if stream else ''}: client {r}")
        rec = b.audit_one(c, rid, code)
        c.expect(rec.get("upstream_status") in (code, None), f"audit upstream_status {rec.get('upstream_status')}")
    b.finish(c)
    return c


def case_slow_first_byte(b: Bench) -> Case:
    c = Case("slow upstream: first byte", "upstream waits 3 s before the response headers")
    rid = new_rid("slow-first")
    body = chat_body(2 * KB)
    r = send(b.env.port, head(rid, length=len(body), fault="slow-first-byte-3000") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 200 and r.complete and r.seconds >= 2.9, f"client {r}")
    rec = b.audit_one(c, rid, 200)
    fb = rec.get("latency_first_byte_ms")
    c.expect(fb is None or fb >= 2900, f"latency_first_byte_ms {fb}")
    b.finish(c)
    return c


def case_slow_stream(b: Bench) -> Case:
    c = Case("slow upstream: stream", "SSE, 400 ms between 15 events (~6 s)")
    rid = new_rid("slow-stream")
    body = chat_body(2 * KB, stream=True)
    r = send(b.env.port, head(rid, length=len(body), fault="slow-stream-400") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 200 and r.complete and b"data: [DONE]" in r.body and r.seconds >= 5, f"client {r}")
    b.audit_one(c, rid, 200)
    b.finish(c)
    return c


def _abort_upload(b: Bench, name: str, *, rst: bool, is_chunked: bool) -> Case:
    c = Case(name, f"headers + 100 KB of a 600 KB body, then {'RST' if rst else 'FIN'}"
                   f"{' (chunked)' if is_chunked else ''}")
    rid = new_rid("abort-upload")
    body = chat_body(600 * KB)
    if is_chunked:
        data = head(rid, length=None, chunked=True) + chunked(body)[:100 * KB]
    else:
        data = head(rid, length=len(body)) + body[:100 * KB]
    abort_upload(b.env.port, data, rst=rst)
    rec = b.audit_one(c, rid, None)
    c.expect(rec.get("decision") == "reject" and "request_incomplete" in (rec.get("reasons") or []),
             f"audit should say reject/request_incomplete: {rec.get('decision')} {rec.get('reasons')}")
    c.expect(b.upstream_saw(rid) is None, "the upstream received the aborted request (fail open)")
    b.finish(c)
    return c


def case_client_abort_upload_fin(b: Bench) -> Case:
    return _abort_upload(b, "client abort mid-upload (FIN)", rst=False, is_chunked=False)


def case_client_abort_upload_rst(b: Bench) -> Case:
    return _abort_upload(b, "client abort mid-upload (RST)", rst=True, is_chunked=False)


def case_client_abort_upload_chunked(b: Bench) -> Case:
    return _abort_upload(b, "client abort mid-upload (chunked)", rst=False, is_chunked=True)


def case_client_abort_stream(b: Bench) -> Case:
    c = Case("client abort mid-stream", "SSE at 300 ms per event; client reads the first bytes, then RST")
    rid = new_rid("abort-stream")
    body = chat_body(2 * KB, stream=True)
    r = abort_stream(b.env.port, head(rid, length=len(body), fault="slow-stream-300") + body)
    c.notes.append(f"client {r}")
    c.expect(r.status == 200, f"client status {r.status}")
    seen = b.upstream_saw(rid)
    c.expect(seen is not None and seen[0], f"upstream should have the whole (allowed) request: {seen}")
    b.audit_one(c, rid, 200)
    b.finish(c)
    return c


def _oversize(b: Bench, c: Case, size: int, is_chunked: bool, want: int, reason: str | None) -> None:
    rid = new_rid("big")
    body = chat_body(size, pii=True)
    data = head(rid, length=None if is_chunked else len(body), chunked=is_chunked) + (
        chunked(body) if is_chunked else body)
    r = send(b.env.port, data)
    label = f"{len(body) / MB:.2f} MB {'chunked' if is_chunked else 'content-length'}"
    c.notes.append(f"{label}: client {r}")
    c.expect(r.status == want, f"{label}: status {r.status} (want {want})")
    if reason:
        try:
            got = json.loads(r.body)["error"]["reason"]
        except (ValueError, KeyError, TypeError):
            got = None
        c.expect(got == reason, f"{label}: reason {got} (want {reason})")
    c.expect(b.upstream_saw(rid) is None, f"{label}: the upstream received it (fail open)")
    rec = b.audit_one(c, rid, r.status)
    c.expect(rec.get("decision") == "reject", f"{label}: audit decision {rec.get('decision')}")


def case_over_filter_limit(b: Bench) -> Case:
    c = Case("body > filter limit (1 MiB)", "1.5 MB body, content-length and chunked: filter's JSON 413")
    for ch in (False, True):
        _oversize(b, c, int(1.5 * MB), ch, 413, "body_too_large")
    b.finish(c)
    return c


def case_over_envoy_limit(b: Bench) -> Case:
    c = Case("body > Envoy buffer limit and > filter limit",
             "3 MB body (Envoy's per-connection limit is 2 MiB + 64 KiB): content-length and chunked")
    for ch in (False, True):
        _oversize(b, c, 3 * MB, ch, 413, "body_too_large")
    b.finish(c)
    return c


def case_faults_under_load(b: Bench) -> Case:
    """The fault paths at once, interleaved with normal soak traffic on the same worker VMs."""
    seconds = 15
    c = Case("mixed faults under load", f"{seconds} s of soak load (concurrency 8) with every fault above fired in a loop")
    out = b.env.workdir / "mixed.tsv"
    load = subprocess.Popen([str(h.BIN / "soak-load"), "--port", str(b.env.port), "--requests", "10000000",
                             "--concurrency", "8", "--seed", "7", "--max-seconds", str(seconds), "--templates", "200",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = b.env.port
    small, stream_body, big = chat_body(2 * KB), chat_body(2 * KB, stream=True), chat_body(300 * KB)
    huge = chat_body(int(1.2 * MB))
    fired: list[tuple[str, str, bool]] = []  # (kind, rid, must not reach the upstream)

    def fire(kind: str) -> None:
        rid = new_rid("mixed-" + kind)
        if kind == "reset-upload":
            send(port, head(rid, length=len(big), fault="reset-upload") + big)
        elif kind in ("reset-stream", "status-502", "close-before-response"):
            body = stream_body if kind == "reset-stream" else small
            send(port, head(rid, length=len(body), fault=kind) + body)
        elif kind == "abort-upload":
            abort_upload(port, head(rid, length=len(big)) + big[:64 * KB], rst=len(fired) % 2 == 0)
        elif kind == "abort-stream":
            abort_stream(port, head(rid, length=len(stream_body), fault="slow-stream-50") + stream_body)
        elif kind == "oversize":
            send(port, head(rid, length=None, chunked=True) + chunked(huge))
        fired.append((kind, rid, kind in ("abort-upload", "oversize")))

    kinds = ["reset-upload", "reset-stream", "status-502", "close-before-response", "abort-upload", "abort-stream",
             "oversize"]
    while load.poll() is None:
        for k in kinds:
            fire(k)
    res = json.loads(load.communicate()[0])
    c.notes.append(f"load: {res['requests']} requests, {res['rps']} rps, statuses {res['statuses']}; "
                   f"faults fired: {len(fired)}")
    c.expect(res["unexpected_status"] == 0 and res["transport_errors"] == 0 and res["bad_body"] == 0,
             f"load: unexpected {res['unexpected_status']}, transport {res['transport_errors']}, bad body "
             f"{res['bad_body']} {res['examples'][:3]}")
    mine = {line.split()[0] for line in out.read_text().splitlines()} | {rid for _, rid, _ in fired}

    def counts() -> dict[str, int]:
        cnt: dict[str, int] = {}
        for r in b.env.audit_records(strict=False):
            if r.get("request_id") in mine:
                cnt[r["request_id"]] = cnt.get(r["request_id"], 0) + 1
        return cnt

    h.wait_until(lambda: len(counts()) >= len(mine), 20, 0.5)
    time.sleep(1)
    cnt = counts()
    missing = [r for r in mine if r not in cnt]
    dups = [r for r, n in cnt.items() if n > 1]
    c.notes.append(f"audit: {sum(cnt.values())} records for {len(mine)} requests")
    c.expect(not missing and not dups, f"audit: missing {len(missing)} {missing[:3]}, duplicated {len(dups)} {dups[:3]}")
    seen = b.up.rids()
    leaked = [rid for _, rid, closed in fired if closed and rid in seen]
    c.expect(not leaked, f"aborted/oversize requests reached the upstream: {leaked[:3]}")
    verify_chains(c, b.env)
    b.finish(c)
    return c


def case_envoy_limit_below_filter(up: h.Upstream, work: Path) -> Case:
    """Envoy's per-connection buffer limit (256 KiB) below the filter's max_body_bytes (1 MiB): Envoy itself
    refuses the body (its own 413) while the filter is still buffering; the filter must still account for it."""
    c = Case("Envoy buffer limit < filter limit", "Envoy limit 256 KiB, body 600 KB: Envoy's own 413")

    def tweak(doc: dict) -> None:
        for lst in doc["static_resources"]["listeners"]:
            lst["per_connection_buffer_limit_bytes"] = 256 * KB
        for cl in doc["static_resources"]["clusters"]:
            cl["per_connection_buffer_limit_bytes"] = 256 * KB

        def routes(node: object) -> None:  # and the route's stream limit (the shipped config raises it)
            if isinstance(node, dict):
                if "request_body_buffer_limit" in node:
                    node["request_body_buffer_limit"] = 256 * KB
                for v in node.values():
                    routes(v)
            elif isinstance(node, list):
                for v in node:
                    routes(v)

        routes(doc)

    env = h.EnvoyProc(h.ec.EnvoyConfig(port=0, admin_port=0, upstream=up.url), work / "small-buffer", tweak=tweak)
    try:
        b = Bench(up, env)
        for ch in (False, True):
            _oversize(b, c, 600 * KB, ch, 413, None)
        b.finish(c)
    finally:
        env.stop()
    return c


def case_reload_under_load(up: h.Upstream, work: Path, seconds: float) -> Case:
    c = Case("config reload under load (ECDS)",
             f"{seconds:.0f} s of soak load at concurrency 16 while the policy flips 8 times (+1 refused policy)")
    stat = f"extension_config_discovery.http_filter.{h.ec.ECDS_FILTER_NAME}."
    wd = work / "reload"
    ecds = wd / "xds" / "openrouter_guard.yaml"
    pol_a = h.sha_policy_default()
    pol_b = copy.deepcopy(pol_a)  # a real change that leaves every soak request's expected status unchanged
    pol_b["profiles"]["confidential"]["max_tokens"] = 4096
    pol_b["profiles"]["public"]["models"].insert(0, {"deny": "google/*"})
    bad = copy.deepcopy(pol_b)
    bad["profiles"]["public"]["provider"]["allow_fallback"] = True  # unknown field: the filter refuses it

    def push(policy: dict | None = None, text: str | None = None) -> None:
        cfg = h.ec.EnvoyConfig(port=0, admin_port=0, upstream=up.url, policy=policy, policy_text=text, ecds_file=ecds)
        h.ec.write_file(ecds, h.ec.filter_resource_text(cfg))

    push(pol_a)
    env = h.EnvoyProc(h.ec.EnvoyConfig(port=0, admin_port=0, upstream=up.url, ecds_file=ecds), wd)
    try:
        b = Bench(up, env)
        before = env.stats(stat)
        leaks_before = up.stats()["leak_requests"]
        out = wd / "requests.tsv"
        load = subprocess.Popen([str(h.BIN / "soak-load"), "--port", str(env.port), "--requests", "10000000",
                                 "--concurrency", "16", "--seed", "99", "--max-seconds", str(seconds),
                                 "--templates", "300", "--out", str(out)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        pushes = 0
        time.sleep(2)
        t_end = time.monotonic() + seconds - 4
        while time.monotonic() < t_end and pushes < 9:
            if pushes == 4:
                push(text=json.dumps(bad))
            else:
                push(pol_b if pushes % 2 == 0 else pol_a)
            pushes += 1
            time.sleep(max(0.5, (seconds - 6) / 9))
        stdout, _ = load.communicate(timeout=seconds + 60)
        res = json.loads(stdout)
        after = env.stats(stat)
        delta = {k[len(stat):]: after.get(k, 0) - before.get(k, 0) for k in after}
        c.notes.append(f"load: {res['requests']} requests, {res['rps']} rps, statuses {res['statuses']}")
        c.notes.append("ECDS " + ", ".join(f"{k}+{v}" for k, v in sorted(delta.items())
                                           if v and k not in ("version", "update_time")))
        c.expect(res["unexpected_status"] == 0 and res["transport_errors"] == 0 and res["bad_body"] == 0,
                 f"load: unexpected {res['unexpected_status']}, transport {res['transport_errors']}, "
                 f"bad body {res['bad_body']} {res['examples'][:3]}")
        c.expect(delta.get("update_success", 0) >= 1, "no policy update applied")
        c.expect(delta.get("config_fail", 0) + delta.get("update_rejected", 0) >= 1, "the bad policy was not refused")
        # audit: one line per request
        h.wait_until(lambda: h.count_lines(env.audit_path) >= res["requests"], 20, 0.5)
        time.sleep(1)
        from collections import Counter

        sent = {line.split()[0] for line in out.read_text().splitlines()}
        cnt = Counter(r.get("request_id") for r in env.audit_records(strict=False))
        missing = [r for r in sent if cnt.get(r, 0) == 0]
        dups = [r for r in sent if cnt.get(r, 0) > 1]
        c.notes.append(f"audit lines {sum(cnt.values())} for {len(sent)} requests")
        c.expect(not missing and not dups and sum(cnt.values()) == len(sent),
                 f"audit: {sum(cnt.values())} lines for {len(sent)} requests, missing {len(missing)}, "
                 f"duplicated {len(dups)}")
        c.expect(up.stats()["leak_requests"] == leaks_before, "PII leaked during reload")
        verify_chains(c, env)
        created = {k: v for k, v in env.stats("wasm.").items() if k.endswith((".created", ".active", "vm_count"))}
        c.notes.append(f"wasm after reloads {created} (new VMs per accepted config are expected)")
        # The refused policy is logged by Envoy on purpose; only other failure markers count.
        refusal = ("invalid configuration at", "Failed to configure base Wasm plugin", "Plugin openrouter_guard failed "
                   "to load", "Plugin configured to fail closed failed to load")
        all_bad = env.bad_log_lines()
        bad_lines = [ln for ln in all_bad if not any(m in ln for m in refusal)]
        c.expect(not bad_lines, f"failure lines in Envoy's log: {bad_lines[:2]}")
        vm_fail = sum("Failed to configure base Wasm plugin" in ln for ln in all_bad)
        c.expect(vm_fail == delta.get("config_fail", 0),
                 f"{vm_fail} 'Wasm VM failed' lines for {delta.get('config_fail', 0)} refused policies")
        c.notes.append(f"refused policy logged as expected ({len(all_bad) - len(bad_lines)} lines: invalid configuration "
                       "at <path>, Wasm VM failed to configure, plugin failed to load); the previous policy kept serving")
        probs = [p for p in h.wasm_problems(env, b.baseline) if "failure lines" not in p
                 and "VM re-created" not in p and ".active" not in p]
        c.problems += [f"wasm: {p}" for p in probs]
        rid = new_rid("health")
        body = chat_body(2 * KB)
        r = send(env.port, head(rid, length=len(body)) + body)
        c.expect(r.status == 200, f"health request after reloads: {r}")
    finally:
        env.stop()
    return c


def main() -> int:
    only = os.environ.get("FAULTS_ONLY", "")
    reload_secs = float(h.env_int("FAULTS_RELOAD_SECONDS", 20))
    started = h.start_up("faults")
    if started is None:
        return 2
    wasm, work = started
    up = h.Upstream(work)
    results: list[Case] = []
    t0 = time.monotonic()
    try:
        env = h.EnvoyProc(h.ec.EnvoyConfig(port=0, admin_port=0, upstream=up.url, wasm=wasm), work / "main")
        try:
            b = Bench(up, env)
            simple: list[Callable[[Bench], Case]] = [
                case_upstream_reset_upload, case_upstream_reset_stream, case_upstream_close, case_upstream_5xx,
                case_slow_first_byte, case_slow_stream, case_client_abort_upload_fin, case_client_abort_upload_rst,
                case_client_abort_upload_chunked, case_client_abort_stream, case_over_filter_limit,
                case_over_envoy_limit, case_faults_under_load,
            ]
            for fn in simple:
                if only and only not in fn.__name__:
                    continue
                print(f"faults: {fn.__name__} ...", flush=True)
                try:
                    results.append(fn(b))
                except Exception as e:  # a harness error fails the case, not the run
                    c = Case(fn.__name__, "")
                    c.problems.append(f"harness error: {type(e).__name__}: {e}")
                    results.append(c)
            if results:
                c = Case("audit hash chains after the faults", "tools/verify_audit.py on this Envoy's audit log")
                verify_chains(c, env)
                results.append(c)
        finally:
            env.stop()
        for name, fn2 in (("case_envoy_limit_below_filter", lambda: case_envoy_limit_below_filter(up, work)),
                          ("case_reload_under_load", lambda: case_reload_under_load(up, work, reload_secs))):
            if only and only not in name:
                continue
            print(f"faults: {name} ...", flush=True)
            try:
                results.append(fn2())
            except Exception as e:
                c = Case(name, "")
                c.problems.append(f"harness error: {type(e).__name__}: {e}")
                results.append(c)
    finally:
        up.stop()
    width = max(len(c.name) for c in results) if results else 10
    print()
    for c in results:
        print(f"{'PASS' if not c.problems else 'FAIL'}  {c.name:<{width}}  {c.what}")
        for p in c.problems:
            print(f"        FAIL: {p}")
        for n in c.notes:
            print(f"        {n}")
    failed = [c.name for c in results if c.problems]
    (work / "results.json").write_text(json.dumps(
        [{"name": c.name, "what": c.what, "ok": not c.problems, "problems": c.problems, "notes": c.notes}
         for c in results], indent=1))
    print(f"\nfaults: {len(results) - len(failed)}/{len(results)} PASS in {time.monotonic() - t0:.0f}s"
          + (f"; FAIL: {', '.join(failed)}" if failed else ""))
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
