"""Spend control through real Envoy (docs/spend.md): the per-request cost guard refuses a request whose worst case
exceeds the profile's max_cost_per_request with 402 before the upstream sees anything, over HTTP/1.1 and HTTP/2."""
from __future__ import annotations

from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, forwarded, send

PROTOS = ["h1", "h2"]
SONNET, MINI = "anthropic/claude-3.5-sonnet", "openai/gpt-4o-mini"
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "guarded",
    "profiles": {
        # $0.02 per request: 1000 output tokens of Sonnet ($15/M) is $0.015, leaving room for ~1,600 prompt bytes.
        "guarded": {"models": [{"allow": "anthropic/*"}, {"allow": "openai/*"}], "max_tokens": 1000,
                    "max_cost_per_request": 0.02},
        "uncapped": {"models": [{"allow": "*"}], "max_cost_per_request": 0.02},
    },
    "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15},
                         {"model": MINI, "prompt": 0.15, "completion": 0.6}]},
}
GUARDED = {"x-data-classification": "guarded"}


def body(prompt: str = "Say hello.", **extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 1000}
    b.update(extra)
    return b


def record(audit_for, r) -> dict[str, Any]:  # noqa: ANN001
    [rec] = audit_for(r)
    return rec


@pytest.mark.parametrize("proto", PROTOS)
def test_a_request_whose_worst_case_fits_is_forwarded_and_its_estimate_audited(envoy: Envoy, fake: FakeOpenRouter,
                                                                               audit_for, proto: str) -> None:
    r = send(proto, envoy.port, "POST", CHAT, body(model=SONNET), headers=GUARDED)
    assert r.status == 200, r.body[:300]
    raw, _ = forwarded(fake)
    spend = record(audit_for, r)["spend"]
    # Prompt bound = the bytes sent; cost = bytes × $3/M + 1000 × $15/M.
    assert spend["prompt_tokens_max"] == len(raw) and spend["output_tokens_max"] == 1000, spend
    assert spend["cost_max_usd"] == pytest.approx((len(raw) * 3 + 15_000) / 1e6), spend


@pytest.mark.parametrize("proto", PROTOS)
def test_a_request_over_the_cost_guard_gets_402_and_never_reaches_the_upstream(envoy: Envoy, fake: FakeOpenRouter,
                                                                               audit_for, proto: str) -> None:
    r = send(proto, envoy.port, "POST", CHAT, body("x" * 3000, model=SONNET), headers=GUARDED)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert "max_cost_per_request ($0.020000)" in r.json()["error"]["message"]
    assert rec["spend"]["cost_max_usd"] > 0.02, rec["spend"]


@pytest.mark.parametrize("proto", PROTOS)
def test_every_model_a_fallback_list_reaches_is_priced_and_the_dearest_counts(envoy: Envoy, fake: FakeOpenRouter,
                                                                             audit_for, proto: str) -> None:
    prompt = "x" * 3000  # 3000 bytes: cheap on gpt-4o-mini, over the guard on Sonnet
    r = send(proto, envoy.port, "POST", CHAT, body(prompt, model=MINI), headers=GUARDED)
    assert r.status == 200 and len(fake.requests) == 1
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, body(prompt, models=[MINI, SONNET]), headers=GUARDED)
    assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_fallback_list_whose_dearest_model_fits_is_forwarded_and_that_worst_case_audited(
        envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str) -> None:
    r = send(proto, envoy.port, "POST", CHAT, body(models=[MINI, SONNET]), headers=GUARDED)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert sent["models"] == [MINI, SONNET]
    spend = record(audit_for, r)["spend"]
    # The worst case is Sonnet's (the dearer of the two): bytes x $3/M + 1000 x $15/M, not gpt-4o-mini's.
    assert spend["prompt_tokens_max"] == len(raw) and spend["output_tokens_max"] == 1000, spend
    assert spend["cost_max_usd"] == pytest.approx((len(raw) * 3 + 15_000) / 1e6), spend


@pytest.mark.parametrize("proto", PROTOS)
def test_a_worst_case_that_cannot_be_bounded_fails_closed(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                          proto: str) -> None:
    # An allowed model with no price, in a fallback list.
    r = send(proto, envoy.port, "POST", CHAT, body(models=[MINI, "openai/gpt-4o"]), headers=GUARDED)
    assert_rejected(envoy, fake, audit_for, r, 403, "price_missing", decision="deny")
    # No output cap anywhere (the profile sets none, the request none).
    r = send(proto, envoy.port, "POST", CHAT, {"model": SONNET, "messages": []},
             headers={"x-data-classification": "uncapped"})
    assert_rejected(envoy, fake, audit_for, r, 400, "max_tokens_required")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_zero_negative_or_fractional_token_limit_is_refused_never_read_as_a_cap(envoy: Envoy, fake: FakeOpenRouter,
                                                                                  audit_for, proto: str) -> None:
    # Forwarded before: `max_tokens: 0` made the worst case prompt-only ($0.000…) on a cost-guarded profile, and a
    # provider that reads 0 as "no limit" would then bill any output. OpenAI refuses 0 ("integer below minimum").
    cases = [("guarded", "max_tokens", 0), ("uncapped", "max_tokens", 0), ("uncapped", "max_completion_tokens", 0),
             ("guarded", "max_completion_tokens", -1), ("uncapped", "max_tokens", 0.5)]
    for profile, field, value in cases:
        fake.reset()
        b: dict[str, Any] = {"model": SONNET, "messages": [{"role": "user", "content": "hi"}], field: value}
        r = send(proto, envoy.port, "POST", CHAT, b, headers={"x-data-classification": profile})
        rec = assert_rejected(envoy, fake, audit_for, r, 400, "max_tokens_invalid")
        assert f"{field} must be an integer of at least 1" in r.json()["error"]["message"], (profile, field, value)
        assert rec.get("spend") is None, rec
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, {"model": SONNET, "messages": [], "max_tokens": 1},
             headers={"x-data-classification": "uncapped"})
    assert r.status == 200 and forwarded(fake)[1]["max_tokens"] == 1
