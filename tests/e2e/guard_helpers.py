"""Shared assertions for the filter's behaviour tests."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
from envoy_config import ROOT
from fake_openrouter import FakeOpenRouter, Script
from wire import H2Conn

from harness.client import Resp, http_request
from harness.envoy import Envoy

CHAT = "/api/v1/chat/completions"
AUDIT_FIELDS = {
    "ts", "request_id", "authority", "method", "path", "endpoint", "profile", "user", "user_source",
    "model_requested", "models", "decision", "status", "reasons", "prompt_sha256", "bytes_in", "bytes_out",
    "filter_us", "redactions",
}
# Planted in requests that must never reach a log.
SECRET_KEY = "sk-or-v1-" + "0123456789abcdef" * 4
SECRET_EMAIL = "jane.doe.e2e@example.org"


def chat(model: Any = "anthropic/claude-3.5-sonnet", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
    body.update(extra)
    return body


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def assert_local_reply(resp: Resp, status: int, reason: str) -> dict[str, Any]:
    """The filter answered itself: JSON error body with code/message/type/reason."""
    assert resp.status == status, f"expected {status} {reason}, got {resp.status}: {resp.body[:300]!r}"
    assert (resp.header("content-type") or "").startswith("application/json"), resp.headers
    err = resp.json()["error"]
    assert err["code"] == status and err["reason"] == reason, err
    assert isinstance(err["message"], str) and err["message"] and isinstance(err["type"], str)
    return err


def assert_rejected(envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]],
                    resp: Resp, status: int, reason: str, decision: str | None = None) -> dict[str, Any]:
    """Local reply + the upstream received nothing + exactly one audit record saying why."""
    assert_local_reply(resp, status, reason)
    recs = audit_for(resp)
    assert fake.requests == [], "a refused request reached the upstream"
    assert len(recs) == 1, f"expected one audit record, got {len(recs)}"
    rec = recs[0]
    assert rec["status"] == status and reason in rec["reasons"], rec
    assert rec["decision"] == (decision or ("deny" if status == 403 else "reject")), rec
    assert rec["prompt_sha256"] is None and rec["bytes_out"] == 0, rec
    return rec


def forwarded(fake: FakeOpenRouter) -> tuple[bytes, dict[str, Any]]:
    """The single request the upstream received: checks its content-length, returns (raw body, parsed)."""
    reqs = fake.requests
    assert len(reqs) == 1, f"upstream received {len(reqs)} requests"
    rec = reqs[0]
    assert not rec.chunked and rec.header("content-length") == str(len(rec.body)), rec.headers
    return rec.body, json.loads(rec.body)


def send(proto: str, port: int, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
         host: str = "openrouter.ai", content_type: str | None = "application/json") -> Resp:
    """The same request over HTTP/1.1 (`h1`, harness.client.http_request) or HTTP/2 cleartext (`h2`, wire.H2Conn): a
    dict/list body is JSON-encoded, a unique x-request-id is added unless given; any header value goes as is."""
    if proto == "h1":
        return http_request(port, method, path, body, headers=headers, host=host, content_type=content_type)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    rid = hdrs.setdefault("x-request-id", f"e2e-{uuid.uuid4()}")
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if body is not None and content_type:
        hdrs.setdefault("content-type", content_type)
    if body is not None:
        hdrs.setdefault("content-length", str(len(body)))
    with H2Conn(port) as conn:
        r = conn.request(method, path, host, list(hdrs.items()), data=[body] if body else (), end_on_headers=not body)
    return Resp(r.status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in r.headers], r.body, rid)


VERIFY = ROOT / "tools" / "verify_audit.py"


def burst_admits_10_of_100(envoy: Envoy, fake: FakeOpenRouter, body: Any, headers: dict[str, str]) -> list[Resp]:
    """100 concurrent chat requests (h1 and h2 alternating) against a budget that fits 10, each held 1.5 s upstream so
    every admitted one is still in flight: exactly 10 get 200 and reach the upstream, 90 get 429. Returns every answer."""
    fake.script(*[Script(delay=1.5) for _ in range(100)])

    def one(i: int) -> Resp:
        return send("h2" if i % 2 else "h1", envoy.port, "POST", CHAT, body, headers=headers)

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(one, range(100)))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 10 and statuses.count(429) == 90, statuses
    assert len(fake.requests) == 10, "more requests reached the upstream than the budget fits"
    return responses


def abort(proto: str, port: int, headers: dict[str, str], rid: str) -> None:
    """Sends a chat request and walks away after 0.5 s (the upstream scripted to answer later)."""
    hdrs = {**headers, "x-request-id": rid}
    with pytest.raises((socket.timeout, TimeoutError)):
        if proto == "h1":
            http_request(port, "POST", CHAT, chat(), headers=hdrs, timeout=0.5)
        else:
            data = json.dumps(chat()).encode()
            with H2Conn(port, timeout=0.5) as conn:
                conn.request("POST", CHAT, "openrouter.ai",
                             [*hdrs.items(), ("content-type", "application/json"), ("content-length", str(len(data)))],
                             data=[data])


def verify(path: Path, *args: Any) -> subprocess.CompletedProcess[str]:
    """tools/verify_audit.py [args...] path, as an operator runs it."""
    return subprocess.run([sys.executable, str(VERIFY), *map(str, args), str(path)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def chains_of(lines: list[bytes]) -> dict[str, list[int]]:
    """chain id -> indexes (into lines) of its records, in file order."""
    out: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        out.setdefault(json.loads(line)["chain"], []).append(i)
    return out
