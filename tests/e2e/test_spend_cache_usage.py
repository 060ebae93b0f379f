"""A tokens budget counts every prompt token the response bills, cache writes and reads included (docs/spend.md,
attack round 3 finding 14): on /messages (Anthropic shape) `input_tokens` EXCLUDES `cache_creation_input_tokens` and
`cache_read_input_tokens`, billed on top of it, so a prompt sent with `cache_control` must not count as ~nothing.
JSON and SSE, HTTP/1.1 and HTTP/2, asserted on what the upstream received and on the audit record."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import assert_local_reply, send

PROTOS = ["h1", "h2"]
USER = "x-user-id"
MESSAGES = "/api/v1/messages"
SONNET = "anthropic/claude-3.5-sonnet"
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "budget",
    "user_header": USER,
    "profiles": {"budget": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100}},
    "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15}], "limits": [
        {"name": "user-tokens", "per": ["user"], "window": "hour", "unit": "tokens", "max": 6000}]},
}
PROMPT = "lorem ipsum dolor sit amet " * 150  # ~4 KB: its reservation (bytes + 100) fits the 6,000 budget once


def body(**extra: Any) -> dict[str, Any]:
    return {"model": SONNET, "max_tokens": 100, **extra,
            "system": [{"type": "text", "text": PROMPT, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "summarise"}]}


def entry(rec: dict[str, Any]) -> dict[str, Any]:
    [e] = rec["spend"]["limits"]
    assert e["name"] == "user-tokens", e
    return e


@pytest.mark.parametrize("proto", PROTOS)
def test_anthropic_cache_writes_count_in_a_tokens_budget_json(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any,
                                                              proto: str) -> None:
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": SONNET,
              "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
              "usage": {"input_tokens": 4, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 0,
                        "output_tokens": 10}}
    headers = {USER: f"u-{uuid.uuid4()}"}
    statuses = []
    for n in range(6):
        fake.script(Script(body=answer))
        r = send(proto, envoy.port, "POST", MESSAGES, body(), headers=headers)
        statuses.append(r.status)
        [rec] = audit_for(r)
        if r.status == 200:
            # 4 + 1,000 cache-write prompt tokens and 10 output tokens are charged: 1,014 per request.
            assert (rec["prompt_tokens"], rec["completion_tokens"]) == (1004, 10), rec
            assert (entry(rec)["charged"], entry(rec)["used"]) == (1014, 1014 * (n + 1)), entry(rec)
        else:
            assert_local_reply(r, 429, "limit_exceeded")
            assert entry(rec)["outcome"] == "over" and entry(rec)["used"] == 2028, entry(rec)
    # 1,014 used + a ~4,300-token reservation fits 6,000 once more; 2,028 + 4,300 does not.
    assert statuses == [200, 200, 429, 429, 429, 429], statuses
    assert len(fake.requests) == 2, "a request over the tokens budget reached the upstream"


def sse(*events: dict[str, Any]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


@pytest.mark.parametrize("proto", PROTOS)
def test_anthropic_cache_reads_count_in_a_tokens_budget_stream(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any,
                                                               proto: str) -> None:
    events = sse(
        {"type": "message_start", "message": {
            "id": "msg_2", "type": "message", "role": "assistant", "model": SONNET, "content": [],
            "usage": {"input_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 3000,
                      "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 10}},
        {"type": "message_stop"})
    headers = {USER: f"u-{uuid.uuid4()}"}
    fake.script(Script(raw_events=events))
    r = send(proto, envoy.port, "POST", MESSAGES, body(stream=True), headers=headers)
    assert r.status == 200, r.body[:300]
    [rec] = audit_for(r)
    assert rec["streamed"] is True
    assert (rec["prompt_tokens"], rec["completion_tokens"], rec["cached_tokens"]) == (3004, 10, 3000), rec
    assert (entry(rec)["charged"], entry(rec)["used"], entry(rec)["in_flight"]) == (3014, 3014, 0), entry(rec)
    # 3,014 used: a second ~4,300-token reservation no longer fits the 6,000 budget.
    r = send(proto, envoy.port, "POST", MESSAGES, body(stream=True), headers=headers)
    assert_local_reply(r, 429, "limit_exceeded")
    assert len(fake.requests) == 1, "a request over the tokens budget reached the upstream"
