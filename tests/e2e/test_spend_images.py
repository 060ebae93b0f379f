"""An image given by URL costs the cost guard and token budgets its model's worst case (docs/spend.md, attack round 3
finding 10): `spend.prices[].image_tokens` per model glob, and without it the most any model OpenRouter serves is
known to bill for one image (50,000: gpt-4o-mini's high-detail tiling bills up to 48,169; Qwen2.5-VL up to 16,384),
not a flat 2,000. HTTP/1.1 and HTTP/2, asserted on what the upstream received and on the audit record."""
from __future__ import annotations

from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, forwarded, send

PROTOS = ["h1", "h2"]
VL = "qwen/qwen2.5-vl-72b-instruct"
SONNET = "anthropic/claude-3.5-sonnet"
DEFAULT_IMAGE_TOKENS = 50_000
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "capped",
    "profiles": {"capped": {"models": [{"allow": "qwen/*"}, {"allow": "anthropic/*"}], "max_tokens": 100,
                            "max_cost_per_request": 0.05}},
    "spend": {"prices": [{"model": "qwen/*", "prompt": 1, "completion": 1},
                         {"model": "anthropic/*", "prompt": 3, "completion": 15, "image_tokens": 1600}]},
}


def images(n: int, **extra: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "describe"}]
    parts += [{"type": "image_url", "image_url": {"url": f"https://img.example/{i}.png"}} for i in range(n)]
    return {"max_tokens": 100, "messages": [{"role": "user", "content": parts}], **extra}


@pytest.mark.parametrize("proto", PROTOS)
def test_images_by_url_on_a_model_without_an_allowance_cost_the_largest_any_model_bills(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # 10 images at up to 16,384 Qwen tokens each, $1/M: a real worst case of $0.164 against a $0.05 guard.
    body = images(10, model=VL)
    r = send(proto, envoy.port, "POST", CHAT, body)
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    spend = rec["spend"]
    assert 10 * DEFAULT_IMAGE_TOKENS < spend["prompt_tokens_max"] < 10 * DEFAULT_IMAGE_TOKENS + 2000, spend
    assert spend["cost_max_usd"] == pytest.approx((spend["prompt_tokens_max"] + 100) / 1e6), spend


@pytest.mark.parametrize("proto", PROTOS)
def test_a_price_entrys_image_tokens_bound_its_models_images(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any,
                                                             proto: str) -> None:
    # anthropic/*: 1,600 per image. 3 images: (bytes + 4,800) x $3/M + 100 x $15/M < $0.05.
    r = send(proto, envoy.port, "POST", CHAT, images(3, model=SONNET))
    assert r.status == 200, r.body[:300]
    raw, _ = forwarded(fake)
    [rec] = audit_for(r)
    assert rec["spend"]["prompt_tokens_max"] == len(raw) + 3 * 1600, (len(raw), rec["spend"])
    # A fallback list reaching Qwen too: the prompt bound takes the largest allowance, and each model's cost its own
    # (Qwen's 3 x 50,000 tokens at $1/M = $0.15 is the dearest): refused.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, images(3, model=SONNET, models=[VL]))
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["prompt_tokens_max"] > 3 * DEFAULT_IMAGE_TOKENS, rec["spend"]
