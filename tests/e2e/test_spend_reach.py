"""Spend control bounds everything a request can reach (docs/spend.md), over HTTP/1.1 and HTTP/2, asserted on what
the upstream received and on the audit record: a per-model limit scoped by a `models` glob cannot be evaded with a
fallback list or a variant; the cost guard knows the content parts of /messages (documents and images by URL, tool
results) and refuses part types it does not know. Each test keys its counters by a fresh user id."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_local_reply, assert_rejected, forwarded, send

PROTOS = ["h1", "h2"]
USER = "x-user-id"
OPUS, HAIKU, SONNET = "anthropic/claude-3-opus", "anthropic/claude-3-haiku", "anthropic/claude-3.5-sonnet"

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "p",
    "user_header": USER,
    "profiles": {"p": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100},
                 "guarded": {"models": [{"allow": "anthropic/*"}], "max_tokens": 1000, "max_cost_per_request": 0.02}},
    "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15, "image_tokens": 1600}], "limits": [
        # At most one request per user and day may reach Opus, counted per model.
        {"name": "opus-per-model", "per": ["user", "model"], "window": "day", "unit": "requests", "max": 1,
         "models": "anthropic/claude-3-opus*"}]},
}

MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("proto", PROTOS)
def test_a_per_model_limit_holds_against_fallback_lists_and_variants(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                     proto: str) -> None:
    hdrs = {USER: f"e2e-{uuid.uuid4()}"}
    r = send(proto, envoy.port, "POST", CHAT, {"model": OPUS, "messages": MSG}, headers=hdrs)
    assert r.status == 200, r.body[:300]
    [rec] = audit_for(r)
    [entry] = rec["spend"]["limits"]
    assert (entry["name"], entry["outcome"], entry["charged"]) == ("opus-per-model", "admitted", 1), entry
    # A request that cannot reach Opus is not counted by the Opus limit.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, {"models": [HAIKU, SONNET], "messages": MSG}, headers=hdrs)
    assert r.status == 200 and len(fake.requests) == 1, r.body[:300]
    assert audit_for(r)[0]["spend"] is None  # no limit applied, no cost guard: nothing to record
    # Opus is exhausted: every body that can reach it is refused, whatever model comes first.
    fake.reset()
    for body in ({"models": [HAIKU, OPUS], "messages": MSG},
                 {"model": SONNET, "models": [HAIKU, OPUS], "messages": MSG},
                 {"model": HAIKU, "models": [OPUS + ":nitro"], "messages": MSG},
                 {"model": OPUS + ":floor", "messages": MSG}):
        r = send(proto, envoy.port, "POST", CHAT, body, headers=hdrs)
        assert_local_reply(r, 429, "limit_exceeded")
        [rec] = audit_for(r)
        assert rec["decision"] != "allow" and "limit_exceeded" in rec["reasons"], rec
        assert [e["outcome"] for e in rec["spend"]["limits"]] == ["over"], rec["spend"]
    assert fake.requests == [], "a request that can reach the exhausted model reached the upstream"


MESSAGES = "/api/v1/messages"
GUARDED = {"x-data-classification": "guarded"}


def blocks(*content: dict[str, Any]) -> dict[str, Any]:
    return {"model": SONNET, "max_tokens": 100, "messages": [{"role": "user", "content": list(content)}]}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("part", [
    {"type": "document", "source": {"type": "url", "url": "https://example.com/huge.pdf"}},
    {"type": "document", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}},
    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
        {"type": "document", "source": {"type": "url", "url": "https://example.com/huge.pdf"}}]},
    {"type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
], ids=["document-url", "document-file-id", "tool-result-document", "unknown-block"])
def test_messages_media_without_a_token_bound_is_refused_on_a_cost_guarded_profile(
        envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str, part: dict[str, Any]) -> None:
    r = send(proto, envoy.port, "POST", MESSAGES, blocks({"type": "text", "text": "summarise"}, part),
             headers=GUARDED)
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "cost_unbounded")
    assert rec["spend"]["cost_max_usd"] is None and rec["spend"]["prompt_tokens_max"] is None, rec["spend"]


@pytest.mark.parametrize("proto", PROTOS)
def test_messages_image_by_url_gets_the_image_allowance_and_inline_media_count_their_bytes(
        envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str) -> None:
    body = blocks({"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                  {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a memo"}})
    r = send(proto, envoy.port, "POST", MESSAGES, body, headers=GUARDED)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert sent["messages"] == body["messages"]
    [rec] = audit_for(r)
    assert rec["spend"]["prompt_tokens_max"] == len(raw) + 1600, (len(raw), rec["spend"])  # anthropic/*: image_tokens
