"""Budgets and rate limits in the embedded store through real Envoy (docs/spend.md): no burst overspend (100
concurrent requests against a budget that fits 10, two Envoy workers, a slow upstream), requests/tokens/cost charged
from what the response reports over JSON and SSE, reservations released on client abort and upstream reset, shadow
mode; over HTTP/1.1 and HTTP/2. Every test keys its counters by a fresh user id, so tests never share a counter."""
from __future__ import annotations

import http.client
import uuid
from typing import Any

import pytest

from envoy_config import ROOT
from fake_openrouter import FakeOpenRouter, Script
from envoys import EnvoyFactory
from harness.envoy import Envoy
from harness.proc import wait_until
from guard_helpers import CHAT, abort, assert_local_reply, burst_admits_10_of_100, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
USER = "x-user-id"


def limit(name: str, profile: str, window: str, unit: str, max_: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "per": ["user"], "window": window, "unit": unit, "max": max_, "profiles": [profile], **extra}


POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "metered",
    "user_header": USER,
    "profiles": {name: {"models": [{"allow": "*"}], "max_tokens": 1000}
                 for name in ("burst", "metered", "abort", "shadow")},
    # Completion at $100/M and a free prompt: every request's worst case is exactly 1000 tokens x $100/M = $0.10.
    "spend": {"prices": [{"model": "*", "prompt": 0, "completion": 100}], "limits": [
        limit("burst-cost", "burst", "day", "cost", 1.0),
        limit("metered-requests", "metered", "day", "requests", 2),
        limit("metered-tokens", "metered", "day", "tokens", 1_000_000),
        limit("metered-cost", "metered", "day", "cost", 5),
        limit("abort-cost", "abort", "day", "cost", 0.25),
        limit("shadow-requests", "shadow", "day", "requests", 1, mode="shadow"),
        {**limit("global-requests", "shadow", "day", "requests", 1_000_000), "per": []},
    ]},
}


def who(profile: str) -> dict[str, str]:
    return {"x-data-classification": profile, USER: f"e2e-{uuid.uuid4()}"}


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], **extra}


def limits_of(rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in rec["spend"]["limits"]}


def record(envoy: Envoy, rid: str, mark: int = 0) -> dict[str, Any]:
    assert envoy.wait_logged(rid), f"no log line for {rid}"
    recs = [r for r in envoy.audit_records(mark) if r.get("request_id") == rid]
    assert len(recs) == 1, recs
    return recs[0]


def test_a_burst_of_100_concurrent_requests_against_a_budget_that_fits_10_lets_at_most_10_through(
        envoy: Envoy, fake: FakeOpenRouter) -> None:
    mark = envoy.audit_size()
    headers = who("burst")
    responses = burst_admits_10_of_100(envoy, fake, chat(), headers)
    for r in (r for r in responses if r.status == 429):
        err = assert_local_reply(r, 429, "limit_exceeded")
        assert "burst-cost" in err["message"]
        assert 0 < int(r.header("retry-after") or 0) <= 86_400, r.headers
    # Both workers took part (one audit chain per worker VM).
    wait_until(lambda: len(envoy.audit_records(mark)) >= 100, 10)
    recs = envoy.audit_records(mark)
    assert len({r["chain"] for r in recs}) == 2, "the burst did not reach both workers"
    assert sum(r["decision"] == "deny" and "limit_exceeded" in r["reasons"] for r in recs) == 90
    allowed = [limits_of(r)["burst-cost"] for r in recs if r["decision"] == "allow"]
    assert len(allowed) == 10 and all(e["charged"] == pytest.approx(0.000123) for e in allowed), allowed
    # Every reservation was released: the last request to end saw nothing in flight.
    assert min(e["in_flight"] for e in allowed) == 0
    stats = envoy.stats("wasmcustom.openrouter_guard_limit_checks_total.limit.burst-cost")
    assert stats.get("wasmcustom.openrouter_guard_limit_checks_total.limit.burst-cost.outcome.over") == 90, stats
    # The budget now holds the 10 reported costs: $1 - 10 x $0.000123 leaves room for 9 worst cases.
    r = send("h1", envoy.port, "POST", CHAT, chat(), headers=headers)
    assert r.status == 200
    entry = limits_of(record(envoy, r.rid, mark))["burst-cost"]
    assert entry["used"] == pytest.approx(11 * 0.000123) and entry["in_flight"] == 0, entry


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("proto", PROTOS)
def test_requests_tokens_and_cost_are_charged_as_the_response_reports_them(envoy: Envoy, fake: FakeOpenRouter,
                                                                           proto: str, stream: bool) -> None:
    headers = who("metered")
    usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42, "cost": 0.0021}
    fake.script(Script(usage=usage), Script(usage=usage))
    body = chat(stream=True) if stream else chat()
    for n in (1, 2):
        r = send(proto, envoy.port, "POST", CHAT, body, headers=headers)
        assert r.status == 200, r.body[:200]
        rec = record(envoy, r.rid)
        assert rec["streamed"] is stream and rec["total_tokens"] == 42
        lim = limits_of(rec)
        assert lim["metered-requests"]["reserved"] == 1 and lim["metered-requests"]["used"] == n
        assert lim["metered-tokens"]["charged"] == 42 and lim["metered-tokens"]["used"] == 42 * n
        assert lim["metered-tokens"]["reserved"] == rec["spend"]["prompt_tokens_max"] + 1000
        assert lim["metered-cost"]["reserved"] == pytest.approx(0.1) and lim["metered-cost"]["charged"] == 0.0021
        assert lim["metered-cost"]["used"] == pytest.approx(0.0021 * n)
        assert all(e["outcome"] == "admitted" and e["in_flight"] == 0 for e in lim.values()), lim
    # The third request is over `metered-requests` (2 per day): 429 before the upstream sees it.
    r = send(proto, envoy.port, "POST", CHAT, body, headers=headers)
    assert_local_reply(r, 429, "limit_exceeded")
    assert int(r.header("retry-after") or 0) > 0
    assert len(fake.requests) == 2
    rec = record(envoy, r.rid)
    assert rec["decision"] == "deny" and rec["status"] == 429 and rec["prompt_sha256"] is None
    assert limits_of(rec)["metered-requests"]["outcome"] == "over"


@pytest.mark.parametrize("proto", PROTOS)
def test_reservations_are_released_on_client_abort_and_upstream_reset(envoy: Envoy, fake: FakeOpenRouter,
                                                                      proto: str) -> None:
    headers = who("abort")  # $0.25 per day; worst case $0.10
    fake.script(Script(delay=3.0))
    rid = f"e2e-abort-{uuid.uuid4()}"
    abort(proto, envoy.port, headers, rid)
    entry = limits_of(record(envoy, rid))["abort-cost"]
    # Usage never arrived: the worst case is charged, and nothing stays reserved.
    assert entry["charged"] == pytest.approx(0.1) and entry["in_flight"] == 0, entry
    fake.script(Script(reset_mid_stream=True))
    try:
        send(proto, envoy.port, "POST", CHAT, chat(stream=True), headers={**headers, "x-request-id": rid + "-reset"})
    except (ConnectionError, OSError, http.client.HTTPException):
        pass  # the reset may reach the client as a reset
    entry = limits_of(record(envoy, rid + "-reset"))["abort-cost"]
    assert entry["charged"] == pytest.approx(0.1) and entry["in_flight"] == 0 and entry["used"] == pytest.approx(0.2)
    # $0.05 left: the next worst case ($0.10) does not fit.
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers=headers)
    assert_local_reply(r, 429, "limit_exceeded")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_shadow_limit_counts_and_audits_but_never_refuses(envoy: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    headers = who("shadow")  # 1 request per day, shadow
    outcomes = []
    for _ in range(3):
        r = send(proto, envoy.port, "POST", CHAT, chat(), headers=headers)
        assert r.status == 200
        outcomes.append(limits_of(record(envoy, r.rid))["shadow-requests"]["outcome"])
    assert outcomes == ["admitted", "shadow_over", "shadow_over"]
    assert len(fake.requests) == 3
    # A limit with no `per` (one counter) reports its used and remaining amounts as gauges.
    used = limits_of(record(envoy, r.rid))["global-requests"]["used"]
    stats = envoy.stats("wasmcustom.openrouter_guard_limit_")
    assert stats["wasmcustom.openrouter_guard_limit_used.limit.global-requests"] == used >= 3, stats
    assert stats["wasmcustom.openrouter_guard_limit_remaining.limit.global-requests"] == 1_000_000 - used


HOOKS_WASM = ROOT / "target" / "test-hooks" / "wasm32-wasip1" / "release" / "openrouter_guard.wasm"
STORE_POLICY: dict[str, Any] = {
    **POLICY,
    "profiles": {"store-closed": {"models": [{"allow": "*"}], "max_tokens": 1000},
                 "store-open": {"models": [{"allow": "*"}], "max_tokens": 1000}},
    "default_profile": "store-closed",
    "spend": {"limits": [
        {"name": "store-closed", "window": "day", "unit": "requests", "max": 100, "profiles": ["store-closed"]},
        {"name": "store-open", "window": "day", "unit": "requests", "max": 100, "profiles": ["store-open"],
         "on_store_error": "open"},
    ]},
}


@pytest.mark.parametrize("proto", PROTOS)
def test_a_failing_store_fails_closed_by_default_and_open_when_configured(envoy_factory: EnvoyFactory,
                                                                         fake: FakeOpenRouter, proto: str) -> None:
    """The test-hooks build (`make build-test-hooks`) writes a value that is no counter record into both limits'
    shared-data keys before the request is decided: the `closed` limit refuses with 503, the `open` one admits
    uncounted; both are audited and counted."""
    if not HOOKS_WASM.is_file():
        pytest.fail(f"{HOOKS_WASM} is missing: run `make build-test-hooks` (`make e2e` does it)", pytrace=False)
    env = envoy_factory(STORE_POLICY, wasm=HOOKS_WASM)
    hook = {"x-openrouter-guard-test-hook": "corrupt-store"}
    r = send(proto, env.port, "POST", CHAT, chat(), headers={**hook, "x-data-classification": "store-closed"})
    assert_local_reply(r, 503, "limit_store_bad_data")
    assert fake.requests == []
    rec = record(env, r.rid)
    assert rec["decision"] == "error" and "limit_store_bad_data" in rec["reasons"] and rec["prompt_sha256"] is None
    assert limits_of(rec)["store-closed"]["outcome"] == "store_error_closed"
    r = send(proto, env.port, "POST", CHAT, chat(), headers={**hook, "x-data-classification": "store-open"})
    assert r.status == 200 and len(fake.requests) == 1
    rec = record(env, r.rid)
    assert rec["decision"] == "allow" and "limit_store_bad_data" in rec["reasons"]
    assert limits_of(rec)["store-open"]["outcome"] == "store_error_open"
    stats = env.stats("wasmcustom.openrouter_guard_limit_checks_total")
    assert stats.get("wasmcustom.openrouter_guard_limit_checks_total.limit.store-closed.outcome.store_error_closed", 0) >= 1
    assert stats.get("wasmcustom.openrouter_guard_limit_checks_total.limit.store-open.outcome.store_error_open", 0) >= 1
