"""Envoy without `allow_on_headers_stop_iteration` (what Istio's WasmPlugin generates, issue 11 item 4).

Envoy then turns the filter's pause in the request-headers callback into StopAllIterationAndWatermark: the body is
buffered but never handed to the filter, and the request used to hang until the client gave up (30 s). The filter
notices (Envoy received body bytes for a held stream and no body callback came: src/wasm/hold.rs) and answers 503
`headers_not_held` within about a second, logs an error naming the flag, counts it and writes the audit record.
Requests that need no hold (no body, or not governed) work as usual.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from envoys import EnvoyFactory
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from wire import H1Conn, H2Conn

CHAT = "/api/v1/chat/completions"
BODY = json.dumps({"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": "hi"}]}).encode()
CT = ("content-type", "application/json")


@pytest.fixture(scope="module")
def unheld(envoy_factory: EnvoyFactory) -> Envoy:
    return envoy_factory(None, hold_headers=False)


def record_of(envoy: Envoy, request_id: str) -> dict[str, Any]:
    assert envoy.wait_logged(request_id), f"Envoy never logged {request_id}"
    recs = [r for r in envoy.audit_records() if r.get("request_id") == request_id]
    assert len(recs) == 1, recs
    return recs[0]


@pytest.mark.parametrize("codec", ["h1", "h2"])
def test_governed_body_is_refused_with_503_instead_of_hanging(unheld: Envoy, fake: FakeOpenRouter, codec: str) -> None:
    rid = f"unheld-{uuid.uuid4()}"
    if codec == "h1":
        with H1Conn(unheld.port, timeout=10) as c:
            r = c.request("POST", CHAT, [("host", "openrouter.ai"), CT, ("x-request-id", rid)], BODY)
    else:
        with H2Conn(unheld.port, timeout=10) as c:
            r = c.request("POST", CHAT, "openrouter.ai", [CT, ("x-request-id", rid)], data=[BODY])
    assert r.status == 503, (r.status, r.body[:300])
    err = json.loads(r.body)["error"]
    assert err["reason"] == "headers_not_held" and "allow_on_headers_stop_iteration" in err["message"]
    assert fake.requests == [], "the upstream must see nothing of a request the filter could not decide"
    rec = record_of(unheld, rid)
    assert rec["decision"] == "error" and rec["status"] == 503 and "headers_not_held" in rec["reasons"], rec
    assert "request headers cannot be held" in unheld.stderr_text()
    stats = unheld.stats("wasmcustom.openrouter_guard_headers_not_held_total")
    assert sum(stats.values()) >= 1, stats


def test_requests_that_need_no_hold_still_work(unheld: Envoy, fake: FakeOpenRouter) -> None:
    """A body-less governed request is decided on its headers; other traffic is not held at all."""
    with H1Conn(unheld.port, timeout=10) as c:
        r = c.request("GET", "/api/v1/models", [("host", "openrouter.ai")], framing="none")
        assert r.status == 200, r.body[:300]
        r = c.request("POST", CHAT, [("host", "example.com"), CT], BODY)
        assert r.status == 200, r.body[:300]
    assert len(fake.requests) == 2
