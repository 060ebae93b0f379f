"""Budgets in the mesh-wide store through real Envoy (docs/spend.md, "Mesh-wide store"): the filter calls the real
rate-limit service (`rls/`, target/tools/openrouter-guard-rls, limitador, started here on a free 127.0.0.1 port)
with gRPC before the upstream is contacted. 100 concurrent requests against a budget that fits 10 let exactly 10
through; two Envoys sharing the service share the budget; reservations are committed to what the response
reported; a service that does not answer gets each limit's failure mode. HTTP/1.1 and HTTP/2."""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterable

import envoy_config as ec
import pytest

from fake_openrouter import FakeOpenRouter, Script
from envoys import EnvoyFactory
from harness.envoy import Envoy
from guard_helpers import CHAT, assert_local_reply, burst_admits_10_of_100, send
from harness.ports import dead_port
from harness.stores import Rls, running

MODEL = "anthropic/claude-3.5-sonnet"
USER = "x-user-id"


def limit(name: str, profile: str, unit: str, max_: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "per": ["user"], "window": "day", "unit": unit, "max": max_, "profiles": [profile], **extra}


def policy(**store: Any) -> dict[str, Any]:
    return {
        "clusters": ["openrouter"],
        "default_profile": "metered",
        "user_header": USER,
        "profiles": {name: {"models": [{"allow": "*"}], "max_tokens": 1000}
                     for name in ("burst", "metered", "shared", "closed", "open", "shadow")},
        # Completion at $100/M, prompt free: every request's worst case is 1000 tokens x $100/M = $0.10.
        "spend": {"prices": [{"model": "*", "prompt": 0, "completion": 100}],
                  "store": {"kind": "rls", "cluster": ec.RLS_CLUSTER, "timeout_ms": 2000, **store},
                  "limits": [
                      limit("burst-cost", "burst", "cost", 1.0),
                      limit("metered-cost", "metered", "cost", 0.25),
                      limit("shared-requests", "shared", "requests", 4),
                      limit("closed-requests", "closed", "requests", 100),
                      limit("open-requests", "open", "requests", 100, on_store_error="open"),
                      limit("shadow-requests", "shadow", "requests", 100, mode="shadow", on_store_error="closed"),
                  ]},
    }


@pytest.fixture(scope="module")
def rls() -> Iterable[str]:
    """The real rate-limit service on a port of its own (it binds port 0 and prints the address), in its memory."""
    with running(Rls(None)) as service:
        yield service.address


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, rls: str) -> Envoy:
    return envoy_factory(policy(), rls=rls)


def who(profile: str) -> dict[str, str]:
    return {"x-data-classification": profile, USER: f"e2e-{uuid.uuid4()}"}


def chat() -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}]}


def record(envoy: Envoy, rid: str) -> dict[str, Any]:
    assert envoy.wait_logged(rid), f"no log line for {rid}"
    recs = [r for r in envoy.audit_records() if r.get("request_id") == rid]
    assert len(recs) == 1, recs
    return recs[0]


def limits_of(rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in rec["spend"]["limits"]}


def test_a_burst_of_100_concurrent_requests_against_a_budget_that_fits_10_lets_exactly_10_through(
        envoy: Envoy, fake: FakeOpenRouter) -> None:
    headers = who("burst")
    responses = burst_admits_10_of_100(envoy, fake, chat(), headers)
    for r in (r for r in responses if r.status == 429):
        err = assert_local_reply(r, 429, "limit_exceeded")
        assert "burst-cost" in err["message"]
        assert int(r.header("retry-after") or 0) > 0, r.headers
    denied = record(envoy, next(r.rid for r in responses if r.status == 429))
    assert denied["decision"] == "deny" and limits_of(denied)["burst-cost"]["outcome"] == "over"
    allowed = record(envoy, next(r.rid for r in responses if r.status == 200))
    entry = limits_of(allowed)["burst-cost"]
    assert entry["outcome"] == "admitted" and entry["reserved"] == pytest.approx(0.1)
    assert entry["charged"] == pytest.approx(0.000123), entry


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_a_reservation_is_committed_to_the_reported_cost_so_the_budget_holds_more_than_its_worst_cases(
        envoy: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    # $0.25 fits two worst cases ($0.10) at once. Each request costs $0.000123 as reported: once committed
    # (the root context sends the commit from its tick), 5 sequential requests all fit. Without the commit
    # releasing the hold, the third would be refused for good.
    headers = who("metered")
    fake.script(*[Script() for _ in range(5)])
    admitted = 0
    for _ in range(100):  # bounded: a refused request waits for the previous commit (a tick, 0.5 s)
        r = send(proto, envoy.port, "POST", CHAT, chat(), headers=headers)
        if r.status == 200:
            admitted += 1
            if admitted == 5:
                break
        else:
            assert_local_reply(r, 429, "limit_exceeded")
            time.sleep(0.1)
    assert admitted == 5 and len(fake.requests) == 5


def test_two_envoys_sharing_the_service_share_one_budget(
        envoy: Envoy, envoy_factory: EnvoyFactory, fake: FakeOpenRouter, rls: str) -> None:
    other = envoy_factory(policy(), rls=rls, cache=False)
    headers = who("shared")
    fake.script(*[Script() for _ in range(4)])
    got = [send(proto, env.port, "POST", CHAT, chat(), headers=headers).status
           for env, proto in ((envoy, "h1"), (other, "h2"), (envoy, "h2"), (other, "h1"))]
    assert got == [200] * 4
    for env, proto in ((envoy, "h1"), (other, "h2")):
        r = send(proto, env.port, "POST", CHAT, chat(), headers=headers)
        err = assert_local_reply(r, 429, "limit_exceeded")
        assert "shared-requests" in err["message"]
    assert len(fake.requests) == 4


@pytest.fixture(scope="module")
def dead_store(envoy_factory: EnvoyFactory) -> Iterable[Envoy]:
    """An Envoy whose rate-limit service does not answer (a port nothing listens on)."""
    with dead_port() as port:
        yield envoy_factory(policy(timeout_ms=500), rls=f"127.0.0.1:{port}")


def assert_closed_then_open(envoy: Envoy, fake: FakeOpenRouter, proto: str) -> dict[str, Any]:
    """With the store failing: the `closed` profile's limit refuses (503, nothing forwarded), the `open` profile's lets
    the request through with the failure in its record. Returns the refused request's audit record."""
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers=who("closed"))
    err = assert_local_reply(r, 503, "limit_store_unavailable")
    assert "closed-requests" in err["message"]
    assert fake.requests == []
    closed = record(envoy, r.rid)
    assert limits_of(closed)["closed-requests"]["outcome"] == "store_error_closed"
    fake.script(Script())
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers=who("open"))
    assert r.status == 200, r.body[:200]
    assert len(fake.requests) == 1
    rec = record(envoy, r.rid)
    assert "limit_store_unavailable" in rec["reasons"]
    assert limits_of(rec)["open-requests"]["outcome"] == "store_error_open"
    return closed


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_a_store_that_does_not_answer_fails_closed_or_open_as_each_limit_says(
        dead_store: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    assert assert_closed_then_open(dead_store, fake, proto)["decision"] == "error"


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_a_shadow_limit_never_refuses_even_when_the_store_fails_closed(
        dead_store: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    fake.script(Script())
    r = send(proto, dead_store.port, "POST", CHAT, chat(), headers=who("shadow"))
    assert r.status == 200, r.body[:200]
    assert len(fake.requests) == 1
    rec = record(dead_store, r.rid)
    assert rec["decision"] != "error"
    assert "limit_store_unavailable" in rec["reasons"]
    assert limits_of(rec)["shadow-requests"]["outcome"] == "store_error_open"

