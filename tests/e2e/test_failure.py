"""What happens when the filter itself fails, with a test-only build (`make build-test-hooks`, target/test-hooks):

- a genuine VM trap: with `failure_policy: FAIL_RELOAD` the worker answers 503 (never forwards unfiltered) and a
  fresh VM serves again after the backoff — on the same connection, so on the same worker;
- a governed request the filter let go without any decision (what HTTP/2 trailers used to do): its response is
  replaced by 502 `filter_bypassed`, the audit record says what happened, the error is logged and counted.
The shipped .wasm carries neither hook.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from envoy_config import ROOT
from envoys import WASM, EnvoyFactory
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from wire import H2Conn

HOOKS_WASM = ROOT / "target" / "test-hooks" / "wasm32-wasip1" / "release" / "openrouter_guard.wasm"
HOOK = "x-openrouter-guard-test-hook"
CHAT = "/api/v1/chat/completions"
CT = ("content-type", "application/json")
OK_BODY = json.dumps({"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": "hi"}]}).encode()
DENIED_BODY = json.dumps({"model": "x/y:free", "messages": []}).encode()


@pytest.fixture(scope="module")
def hooked(envoy_factory: EnvoyFactory) -> Envoy:
    if not HOOKS_WASM.is_file():
        pytest.fail(f"{HOOKS_WASM} is missing: run `make build-test-hooks` (`make e2e` does it)", pytrace=False)
    return envoy_factory(None, wasm=HOOKS_WASM)


def test_shipped_wasm_has_no_test_hooks() -> None:
    assert WASM.is_file(), f"{WASM} is missing: run `make build`"
    assert HOOK.encode() not in WASM.read_bytes()
    assert HOOK.encode() in HOOKS_WASM.read_bytes(), "the hook build is not what this module tests"


def test_a_trapped_vm_fails_closed_then_comes_back(hooked: Envoy, fake: FakeOpenRouter) -> None:
    with H2Conn(hooked.port, timeout=10) as c:
        r = c.request("POST", CHAT, "openrouter.ai", [CT, (HOOK, "trap")], data=[OK_BODY])
        assert r.status == 503, (r.status, r.body[:200])
        assert "Uncaught RuntimeError: unreachable" in hooked.stderr_text() or "panicked" in hooked.stderr_text()
        # Same connection, so the same worker: 503 (fail closed) until FAIL_RELOAD's backoff (1 s) has passed,
        # then a fresh VM that governs again. Bounded: 40 tries, 0.25 s apart.
        statuses = []
        for _ in range(40):
            fake.reset()
            r = c.request("POST", CHAT, "openrouter.ai", [CT], data=[OK_BODY])
            statuses.append(r.status)
            if r.status == 200:
                break
            assert r.status == 503 and fake.requests == [], "a request went out unfiltered while the VM was down"
            time.sleep(0.25)
        assert statuses[-1] == 200, statuses
        assert json.loads(fake.requests[0].body)["provider"]["order"], "the fresh VM must govern the request"
        r = c.request("POST", CHAT, "openrouter.ai", [CT], data=[DENIED_BODY])
        assert r.status == 403 and json.loads(r.body)["error"]["reason"] == "model_denied"
        r = c.request("POST", CHAT, "example.com", [CT], data=[OK_BODY])
        assert r.status == 200
    log = hooked.stderr_text()
    assert "openrouter-guard 0.1.0 starting" in log


def test_response_to_an_undecided_request_is_replaced_and_recorded(hooked: Envoy, fake: FakeOpenRouter) -> None:
    rid = f"bypass-{uuid.uuid4()}"
    with H2Conn(hooked.port, timeout=10) as c:
        r = c.request("GET", "/api/v1/models", "openrouter.ai", [(HOOK, "skip-decision"), ("x-request-id", rid)],
                      end_on_headers=True)
        assert r.status == 502, (r.status, r.body[:200])
        err = json.loads(r.body)["error"]
        assert err["reason"] == "filter_bypassed"
        assert b'"data"' not in r.body, "the upstream's answer must not reach the client"
        assert len(fake.requests) == 1  # it did go out: that is what the record must say
    assert hooked.wait_logged(rid)
    recs = [x for x in hooked.audit_records() if x.get("request_id") == rid]
    assert len(recs) == 1, recs
    rec: dict[str, Any] = recs[0]
    assert rec["decision"] == "error" and rec["reasons"] == ["filter_bypassed"], rec
    assert rec["status"] == 502 and rec["upstream_status"] == 200 and rec["prompt_sha256"] is None, rec
    assert "reached the upstream without a decision" in hooked.stderr_text()
    stats = hooked.stats("wasmcustom.openrouter_guard_unexpected_path_total")
    assert sum(stats.values()) >= 1, stats
