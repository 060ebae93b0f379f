"""Shared assertions for the filter's behaviour tests."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from conftest import Envoy, Resp
from fake_openrouter import FakeOpenRouter

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
