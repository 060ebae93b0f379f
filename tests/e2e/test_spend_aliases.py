"""A limit scoped to models by a glob counts the requests whose model OpenRouter resolves itself (docs/spend.md,
attack round 3 finding 15): a router (`openrouter/auto`), an alias (`~anthropic/claude-opus-latest`) or a preset can
serve any model, so it matches every `models` glob: a limit kept without `model` reserves and charges it; a limit kept
per model cannot know which model's counter it would use before the answer, so an enforced one refuses it
(`403 cost_unbounded`). HTTP/1.1 and HTTP/2, asserted on what the upstream received and on the audit record."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, assert_local_reply, send

PROTOS = ["h1", "h2"]
USER = "x-user-id"
OPUS = "anthropic/claude-opus-4"
VIA = ["~anthropic/claude-opus-latest", "openrouter/auto", "@preset/opus-bot"]
MODELS = [{"allow": "anthropic/*"}, {"allow": "~anthropic/*"}, {"allow": "openrouter/auto"},
          {"allow": "@preset/opus-bot"}]
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "per-model",
    "user_header": USER,
    "profile_header": "x-profile",
    "profiles": {"per-model": {"models": MODELS, "max_tokens": 100}, "per-user": {"models": MODELS, "max_tokens": 100}},
    "spend": {"prices": [{"model": "*", "prompt": 15, "completion": 75}], "limits": [
        {"name": "opus-per-model", "per": ["user", "model"], "window": "day", "unit": "requests", "max": 1,
         "models": "anthropic/claude-opus*", "profiles": ["per-model"]},
        {"name": "opus-per-user", "per": ["user"], "window": "day", "unit": "requests", "max": 1,
         "models": "anthropic/claude-opus*", "profiles": ["per-user"]}]},
}


def ask(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("via", VIA)
def test_a_limit_kept_per_model_refuses_a_model_resolved_by_openrouter(envoy: Envoy, fake: FakeOpenRouter,
                                                                        audit_for: Any, proto: str, via: str) -> None:
    headers = {USER: f"u-{uuid.uuid4()}", "x-profile": "per-model"}
    fake.script(Script(model=OPUS))
    r = send(proto, envoy.port, "POST", CHAT, ask(OPUS), headers=headers)
    assert r.status == 200, r.body[:300]
    assert_local_reply(send(proto, envoy.port, "POST", CHAT, ask(OPUS), headers=headers), 429, "limit_exceeded")
    fake.reset()
    # Whichever model the router, alias or preset would pick, its counter is unknown before the answer: refused,
    # before and after the user's Opus request is spent (a fresh user too).
    for hdrs in (headers, {**headers, USER: f"u-{uuid.uuid4()}"}):
        r = send(proto, envoy.port, "POST", CHAT, ask(via), headers=hdrs)
        err = assert_local_reply(r, 403, "cost_unbounded")
        assert "opus-per-model" in err["message"], err
        [rec] = audit_for(r)
        assert rec["decision"] == "deny" and "cost_unbounded" in rec["reasons"], rec
        assert [(e["name"], e["outcome"]) for e in rec["spend"]["limits"]] == [("opus-per-model", "unbounded")], rec
    assert fake.requests == [], f"a request for {via} reached the upstream past a per-model Opus limit"


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("via", VIA)
def test_a_limit_kept_without_model_counts_a_model_resolved_by_openrouter(envoy: Envoy, fake: FakeOpenRouter,
                                                                          audit_for: Any, proto: str, via: str) -> None:
    # The Opus request spends the user's one: the router, alias or preset is then refused.
    headers = {USER: f"u-{uuid.uuid4()}", "x-profile": "per-user"}
    fake.script(Script(model=OPUS))
    assert send(proto, envoy.port, "POST", CHAT, ask(OPUS), headers=headers).status == 200
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, ask(via), headers=headers)
    assert_local_reply(r, 429, "limit_exceeded")
    [rec] = audit_for(r)
    assert [(e["name"], e["outcome"]) for e in rec["spend"]["limits"]] == [("opus-per-user", "over")], rec
    assert fake.requests == []
    # The other way round: the router, alias or preset spends it (it may have served Opus), then Opus is refused.
    headers = {**headers, USER: f"u-{uuid.uuid4()}"}
    fake.script(Script(model=OPUS))
    r = send(proto, envoy.port, "POST", CHAT, ask(via), headers=headers)
    assert r.status == 200 and len(fake.requests) == 1, r.body[:300]
    [rec] = audit_for(r)
    [entry] = rec["spend"]["limits"]
    assert (entry["name"], entry["outcome"], entry["charged"]) == ("opus-per-user", "admitted", 1), entry
    assert_local_reply(send(proto, envoy.port, "POST", CHAT, ask(OPUS), headers=headers), 429, "limit_exceeded")
    assert len(fake.requests) == 1
