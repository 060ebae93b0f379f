"""The mesh-wide store with its counters in Redis (docs/spend.md, "Mesh-wide store"): a real `redis-server` and the
real rate-limit service (`--redis`) started here on free 127.0.0.1 ports, real Envoys with the real filter. A burst of
100 against a budget that fits 10 lets exactly 10 through; two Envoys share the budget; the budget survives a restart
of the service (that is what Redis buys) and a crash of Redis itself (its append-only file); reservations are
committed and released in Redis on client abort and upstream reset; Redis down gets each limit's failure mode.
HTTP/1.1 and HTTP/2."""
from __future__ import annotations

import http.client
import time
import uuid
from typing import Iterable

import pytest

from envoys import EnvoyFactory
from fake_openrouter import FakeOpenRouter, Script
from harness.envoy import Envoy
from guard_helpers import CHAT, abort, assert_local_reply, burst_admits_10_of_100, send
from harness.stores import Redis, Rls, running
from test_spend_rls import USER, assert_closed_then_open, chat, limits_of, policy, record, who


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterable[Redis]:
    with running(Redis(tmp_path_factory.mktemp("redis"), aof=True)) as r:
        yield r


@pytest.fixture(scope="module")
def rls(redis: Redis) -> Iterable[Rls]:
    with running(Rls(redis.url)) as s:
        yield s


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, rls: Rls) -> Envoy:
    return envoy_factory(policy(), rls=rls.address)


def test_a_burst_of_100_against_a_budget_that_fits_10_lets_exactly_10_through_with_redis(
        envoy: Envoy, fake: FakeOpenRouter) -> None:
    headers = who("burst")
    responses = burst_admits_10_of_100(envoy, fake, chat(), headers)
    r429 = next(r for r in responses if r.status == 429)
    assert "burst-cost" in assert_local_reply(r429, 429, "limit_exceeded")["message"]
    assert int(r429.header("retry-after") or 0) > 0, r429.headers
    allowed = record(envoy, next(r.rid for r in responses if r.status == 200))
    entry = limits_of(allowed)["burst-cost"]
    assert entry["outcome"] == "admitted" and entry["reserved"] == pytest.approx(0.1)


def _settled(redis: Redis, limit: str, user: str, used: int) -> tuple[dict[str, str], int, int]:
    """The counter once the commit reached Redis (the root context sends it from its next tick, <= 0.5 s after the
    stream ended): `used` as expected, or its last state when it never got there."""
    for _ in range(100):  # bounded: 10 s
        got = redis.counter(limit, user)
        if got[0].get("used") == str(used):
            break
        time.sleep(0.1)
    return got


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_reservations_are_committed_and_released_in_redis_on_client_abort_and_upstream_reset(
        envoy: Envoy, fake: FakeOpenRouter, redis: Redis, proto: str) -> None:
    headers = who("metered")  # $0.25 per day; worst case $0.10 (100,000 micro-USD in Redis)
    user = headers[USER]
    fake.script(Script(delay=3.0))
    rid = f"e2e-rls-abort-{uuid.uuid4()}"
    abort(proto, envoy.port, headers, rid)
    entry = limits_of(record(envoy, rid))["metered-cost"]
    # Usage never arrived: the worst case is charged, and the service holds no reservation for it any more.
    assert entry["outcome"] == "admitted" and entry["charged"] == pytest.approx(0.1), entry
    counter, reservations, expiries = _settled(redis, "metered-cost", user, 100_000)
    assert (counter.get("used"), counter.get("held"), reservations, expiries) == ("100000", "0", 0, 0), counter
    fake.script(Script(reset_mid_stream=True))
    try:
        send(proto, envoy.port, "POST", CHAT, {**chat(), "stream": True},
             headers={**headers, "x-request-id": rid + "-reset"})
    except (ConnectionError, OSError, http.client.HTTPException):
        pass  # the reset may reach the client as a reset
    entry = limits_of(record(envoy, rid + "-reset"))["metered-cost"]
    assert entry["outcome"] == "admitted" and entry["charged"] == pytest.approx(0.1), entry
    counter, reservations, expiries = _settled(redis, "metered-cost", user, 200_000)
    assert (counter.get("used"), counter.get("held"), reservations, expiries) == ("200000", "0", 0, 0), counter
    # $0.05 left: the next worst case ($0.10) does not fit.
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers=headers)
    assert "metered-cost" in assert_local_reply(r, 429, "limit_exceeded")["message"]
    assert len(fake.requests) == 2


def test_two_envoys_share_the_budget_and_it_survives_a_restart_of_the_service(
        envoy: Envoy, envoy_factory: EnvoyFactory, fake: FakeOpenRouter, rls: Rls) -> None:
    other = envoy_factory(policy(), rls=rls.address, cache=False)
    headers = who("shared")  # 4 requests per day
    fake.script(*[Script() for _ in range(4)])
    got = [send(proto, env.port, "POST", CHAT, chat(), headers=headers).status
           for env, proto in ((envoy, "h1"), (other, "h2"))]
    assert got == [200, 200]
    # The counters are in Redis, not in the service: a new process sees the 2 requests already counted.
    rls.stop()
    rls.start()
    got = []
    for env, proto in ((other, "h1"), (envoy, "h2")):
        for _ in range(50):  # bounded: Envoy reconnects to the restarted service
            r = send(proto, env.port, "POST", CHAT, chat(), headers=headers)
            if r.status != 503:
                break
            time.sleep(0.1)
        got.append(r.status)
    assert got == [200, 200]
    for env, proto in ((envoy, "h1"), (other, "h2")):
        r = send(proto, env.port, "POST", CHAT, chat(), headers=headers)
        err = assert_local_reply(r, 429, "limit_exceeded")
        assert "shared-requests" in err["message"]
    assert len(fake.requests) == 4


def _send_through_reconnect(env: Envoy, proto: str, headers: dict[str, str]) -> int:
    """The status of one request once the store answers again (a 503 while the service reconnects is retried)."""
    for _ in range(50):  # bounded: the service's connection manager reconnects to Redis
        r = send(proto, env.port, "POST", CHAT, chat(), headers=headers)
        if r.status != 503:
            return r.status
        time.sleep(0.1)
    return r.status


def test_the_budget_survives_a_crash_of_redis_with_its_append_only_file(
        envoy: Envoy, fake: FakeOpenRouter, redis: Redis) -> None:
    headers = who("shared")  # 4 requests per day
    fake.script(*[Script() for _ in range(4)])
    assert [send(proto, envoy.port, "POST", CHAT, chat(), headers=headers).status for proto in ("h1", "h2")] == [200, 200]
    redis.stop()  # SIGKILL
    redis.start()  # replays its append-only file
    assert [_send_through_reconnect(envoy, proto, headers) for proto in ("h2", "h1")] == [200, 200]
    r = send("h1", envoy.port, "POST", CHAT, chat(), headers=headers)
    assert "shared-requests" in assert_local_reply(r, 429, "limit_exceeded")["message"]
    assert len(fake.requests) == 4


@pytest.mark.parametrize("proto", ["h1", "h2"])
def test_redis_down_fails_closed_or_open_as_each_limit_says(
        envoy: Envoy, fake: FakeOpenRouter, redis: Redis, proto: str) -> None:
    redis.stop()
    try:
        assert_closed_then_open(envoy, fake, proto)
    finally:
        redis.start()
    # Redis back: the service reconnects and counts again.
    fake.script(Script())
    for _ in range(50):  # bounded: the service's connection manager reconnects
        r = send(proto, envoy.port, "POST", CHAT, chat(), headers=who("closed"))
        if r.status == 200:
            break
        assert_local_reply(r, 503, "limit_store_unavailable")
        time.sleep(0.1)
    assert r.status == 200
    assert limits_of(record(envoy, r.rid))["closed-requests"]["outcome"] == "admitted"
