"""Prices refreshed from OpenRouter's public model list (`spend.prices_refresh`, docs/spend.md) through real Envoy:
the filter's root context fetches `GET /api/v1/models` itself (dispatch_http_call on the tick, one worker at a time)
from a second fake upstream serving a realistic list (tests/e2e/model_list.py); the fetched prices decide the cost
guard; a list that stops coming (an error status, garbage) keeps the last good prices until `max_age_s`, then every
request that needs a cost fails closed (503 prices_stale, audited, counted) while profiles without a cost need go on;
the next good list recovers; a request with no output cap is bounded by its model's listed output limit
(`spend.assume_output_tokens: "model_context"`). Over HTTP/1.1 and HTTP/2. Waits are bounded polls (the fetch runs every second)."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import pytest

import envoy_config as ec
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, forwarded, send
from harness.client import Resp
from harness.envoy import Envoy
from harness.proc import wait_until
from model_list import model_list_bytes

PROTOS = ["h1", "h2"]
SONNET, OPUS, MINI = "anthropic/claude-3.5-sonnet", "anthropic/claude-opus-4", "openai/gpt-4o-mini"
# Generous beside the 1 s interval: on a loaded 2-core CI machine a fetch of the 373 KB list can take seconds.
MAX_AGE_S = 8
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "guarded",
    "profiles": {
        # $0.02: 1000 output tokens of Sonnet at the listed $15/M is $0.015; Opus at $75/M is $0.075.
        "guarded": {"models": [{"allow": "*"}, {"allow": "openrouter/auto"}], "max_tokens": 1000,
                    "max_cost_per_request": 0.02},
        "plain": {"models": [{"allow": "*"}], "max_tokens": 1000},
        # No output cap: each model's listed limit is assumed (max_completion_tokens 16384 in model_list.py).
        # $0.5: Sonnet's 16384 × $15/M ≈ $0.246 fits; Opus's 16384 × $75/M ≈ $1.23 does not.
        "uncapped": {"models": [{"allow": "*"}, {"allow": "openrouter/auto"}], "max_cost_per_request": 0.5},
    },
    # The list prices routers "-1" (variable): the policy prices them. Sonnet is priced in both: the dearer wins.
    "spend": {"prices": [{"model": "openrouter/*", "prompt": 10, "completion": 50},
                         {"model": SONNET, "prompt": 1, "completion": 1}],
              "assume_output_tokens": "model_context",
              "prices_refresh": {"cluster": ec.MODELS_CLUSTER, "interval_s": 1, "max_age_s": MAX_AGE_S,
                                 "timeout_ms": 2000}},
}
GUARDED, PLAIN = {"x-data-classification": "guarded"}, {"x-data-classification": "plain"}
UNCAPPED = {"x-data-classification": "uncapped"}
LIST = (200, model_list_bytes())


@pytest.fixture(scope="module")
def models() -> Iterable[FakeOpenRouter]:
    """The upstream the price refresh calls (cluster openrouter_models), apart from the inference upstream."""
    fake = FakeOpenRouter().start()
    fake.models_answer = LIST
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def envoy(envoy_factory, models: FakeOpenRouter) -> Envoy:  # noqa: ANN001
    return envoy_factory(POLICY, models_upstream=models.url)


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 1000}


def until(proto: str, envoy: Envoy, fake: FakeOpenRouter, model: str, want: int, headers: dict[str, str],
          timeout: float = 20.0) -> Resp:
    """Sends `model` until the answer's status is `want` (bounded); returns that answer, upstream record reset."""
    deadline = time.monotonic() + timeout
    while True:
        fake.reset()
        r = send(proto, envoy.port, "POST", CHAT, chat(model), headers=headers)
        if r.status == want or time.monotonic() > deadline:
            assert r.status == want, (r.status, r.body[:300])
            if want != 200:
                fake.reset()  # a 200 earlier in the loop reached the upstream; the refusal below must not
            return r
        time.sleep(0.2)


def refresh_stats(envoy: Envoy) -> dict[str, int]:
    return envoy.stats("wasmcustom.openrouter_guard_price_refresh_total")


@pytest.mark.parametrize("proto", PROTOS)
def test_fetched_prices_decide_the_cost_guard(envoy: Envoy, fake: FakeOpenRouter, models: FakeOpenRouter,
                                              audit_for: Callable[..., list[dict[str, Any]]], proto: str) -> None:
    models.models_answer = LIST
    r = until(proto, envoy, fake, SONNET, 200, GUARDED)
    # The dearer of the policy's $1/$1 and the list's $3/$15 priced Sonnet: 1000 × $15/M + the prompt bytes × $3/M.
    [rec] = audit_for(r)
    assert 0.015 < rec["spend"]["cost_max_usd"] < 0.02, rec["spend"]
    # The call the filter made: a GET of the model list, nothing else, no client header on it.
    got = models.requests
    assert got and all(q.method == "GET" and q.path == "/api/v1/models" for q in got), [(q.method, q.path) for q in got]
    assert got[-1].header("accept") == "application/json" and got[-1].header("x-data-classification") is None
    # Listed dearer: refused before the upstream. A router (the list says "-1"): the policy's price. Unlisted and
    # unpriced: price_missing.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, chat(OPUS), headers=GUARDED)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["cost_max_usd"] > 0.075, rec["spend"]
    r = send(proto, envoy.port, "POST", CHAT, chat("openrouter/auto"), headers=GUARDED)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["cost_max_usd"] > 0.05, rec["spend"]
    r = send(proto, envoy.port, "POST", CHAT, chat("nobody/unlisted"), headers=GUARDED)
    assert_rejected(envoy, fake, audit_for, r, 403, "price_missing", decision="deny")
    # OpenRouter raises Sonnet's price: the next fetch refuses what the last one let through.
    models.models_answer = (200, model_list_bytes({SONNET: ("0.000003", "0.00003")}))
    r = until(proto, envoy, fake, SONNET, 402, GUARDED)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["cost_max_usd"] > 0.03, rec["spend"]
    models.models_answer = LIST
    until(proto, envoy, fake, SONNET, 200, GUARDED)
    assert refresh_stats(envoy).get("wasmcustom.openrouter_guard_price_refresh_total.outcome.ok", 0) >= 2


@pytest.mark.parametrize("proto", PROTOS)
def test_an_uncapped_request_is_bounded_by_its_models_listed_output_limit(
        envoy: Envoy, fake: FakeOpenRouter, models: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]],
        proto: str) -> None:
    models.models_answer = LIST
    until(proto, envoy, fake, SONNET, 200, GUARDED)  # a fresh list is in
    uncapped = {"messages": [{"role": "user", "content": "Say hello."}]}
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, {"model": SONNET, **uncapped}, headers=UNCAPPED)
    assert r.status == 200, (r.status, r.body[:300])
    _, sent = forwarded(fake)
    assert sent["model"] == SONNET and "max_tokens" not in sent
    [rec] = audit_for(r)
    assert rec["spend"]["output_tokens_max"] == 16384, rec["spend"]
    assert 0.245 < rec["spend"]["cost_max_usd"] < 0.5, rec["spend"]
    # The same worst case over the guard: refused before the upstream.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, {"model": OPUS, **uncapped}, headers=UNCAPPED)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["output_tokens_max"] == 16384 and rec["spend"]["cost_max_usd"] > 1.2, rec["spend"]
    # Priced by the policy but not in the list with a limit (a router): no worst case, the request must cap it.
    r = send(proto, envoy.port, "POST", CHAT, {"model": "openrouter/auto", **uncapped}, headers=UNCAPPED)
    assert_rejected(envoy, fake, audit_for, r, 400, "max_tokens_required")
    # A cap in the request wins over the listed limit.
    r = send(proto, envoy.port, "POST", CHAT, {"model": OPUS, **uncapped, "max_tokens": 100}, headers=UNCAPPED)
    assert r.status == 200, (r.status, r.body[:300])
    [rec] = audit_for(r)
    assert rec["spend"]["output_tokens_max"] == 100, rec["spend"]


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("broken", ["garbage", "status"])
def test_a_list_that_stops_coming_fails_closed_after_max_age_and_recovers(
        envoy: Envoy, fake: FakeOpenRouter, models: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]],
        proto: str, broken: str) -> None:
    models.models_answer = LIST
    until(proto, envoy, fake, SONNET, 200, GUARDED)
    before = refresh_stats(envoy)
    marker = "og-garbage-marker-7c1e"
    models.models_answer = (200, f"<html>{marker}</html>".encode()) if broken == "garbage" else (503, b"{}")
    # The last good prices serve until max_age_s after that fetch; then the guard fails closed.
    r = until(proto, envoy, fake, SONNET, 503, GUARDED, timeout=MAX_AGE_S + 15)
    rec = assert_rejected(envoy, fake, audit_for, r, 503, "prices_stale", decision="error")
    assert "out of date" in r.json()["error"]["message"]
    assert rec.get("spend") is not None and rec["spend"]["cost_max_usd"] is None, rec
    # A profile without a cost guard or cost limit does not need prices.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, chat(SONNET), headers=PLAIN)
    assert r.status == 200 and len(fake.requests) == 1
    # Counted per outcome, logged without the answer's content.
    outcome = "bad_answer" if broken == "garbage" else "http_error"
    key = f"wasmcustom.openrouter_guard_price_refresh_total.outcome.{outcome}"
    # Waited for (bounded): the fetch that failed first may be another worker's, still being counted.
    assert wait_until(lambda: refresh_stats(envoy).get(key, 0) > before.get(key, 0), 10.0), refresh_stats(envoy)
    assert marker not in envoy.stderr_text()
    denials = envoy.stats("wasmcustom.openrouter_guard_denials_total")
    assert any("prices_stale" in k and v > 0 for k, v in denials.items()), denials
    # The list comes back: so does the guard.
    models.models_answer = LIST
    until(proto, envoy, fake, SONNET, 200, GUARDED)
