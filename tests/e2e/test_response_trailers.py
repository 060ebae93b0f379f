"""Answers that end with trailers, through real Envoy over HTTP/1.1 and HTTP/2: the upstream sends HTTP/1.1 chunked
trailers and cluster openrouter accepts them (`enable_trailers`), so the filter's last response-body callback has
no end of stream and the trailers callback ends the response. A held answer is still restored (exact length) or
blocked by output inspection there, never passed on unread; a stream is still restored to its `[DONE]`, and a
stream that ends mid-event before its trailers loses that held event (never sent unread), noted."""
from __future__ import annotations

import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
EMAIL = "ann.trailers.e2e@example.com"
SECRET = "sk-or-v1-" + "9d3b7a1c5e0f2468" * 4
TRAILERS = {"x-upstream-checksum": "abc"}
ENVOY_OPTIONS = {"upstream_trailers": True}

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "mask",
    "profiles": {
        "mask": {"models": [{"allow": "anthropic/*"}], "pii": {"entities": {"EMAIL": "mask"}}},
        "inspect": {"models": [{"allow": "anthropic/*"}],
                    "output_pii": {"builtin_defaults": False, "entities": {"SECRETS": "block"}}},
    },
}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


@pytest.mark.parametrize("proto", PROTOS)
def test_a_held_answer_ending_in_trailers_is_restored_with_its_exact_length(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(echo_placeholders=True, trailers=TRAILERS))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"Mail {EMAIL}."))
    assert r.status == 200, r.body[:300]
    [req] = fake.requests
    assert EMAIL.encode() not in req.body and b"[EMAIL_1]" in req.body
    assert b"[EMAIL_1]" in fake.sent_bodies[0], "the upstream answered with the placeholder"
    assert r.json()["choices"][0]["message"]["content"] == f"Echo: {EMAIL}"
    assert r.header("content-length") == str(len(r.body)), r.headers
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0}, rec
    assert rec["decision"] == "allow" and EMAIL not in json.dumps(rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_held_answer_ending_in_trailers_with_a_secret_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(content=f"Your key is {SECRET} keep it.", trailers=TRAILERS))
    r = send(proto, envoy.port, "POST", CHAT, ask("What is my key?"), headers={"x-data-classification": "inspect"})
    assert SECRET.encode() in fake.sent_bodies[0]
    assert r.status == 502, r.body[:300]
    assert r.json()["error"]["reason"] == "output_blocked"
    assert b"sk-or-v1" not in r.body
    [rec] = audit_for(r)
    assert (rec["decision"], rec["status"]) == ("deny", 502) and "output_blocked" in rec["reasons"], rec
    assert SECRET not in json.dumps(rec) and SECRET not in envoy.stdout_text() + envoy.stderr_text()


@pytest.mark.parametrize("proto", PROTOS)
def test_a_restored_stream_ending_in_trailers_arrives_whole(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(echo_placeholders=True, sse_split="byte", trailers=TRAILERS))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"Mail {EMAIL}.", stream=True))
    assert r.status == 200
    text = r.body.decode()
    assert EMAIL in text and "[EMAIL_1]" not in text and text.rstrip().endswith("data: [DONE]"), text[-300:]
    [rec] = audit_for(r)
    assert rec["restore"]["restored"] == 1 and "response_tail_dropped" not in rec.get("reasons", []), rec



@pytest.mark.parametrize("proto", PROTOS)
def test_a_stream_ending_in_trailers_mid_event_drops_the_held_tail_and_notes_it(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # The last event (`data: [DONE]`, no blank line yet) is held by the rewriting when the trailers arrive: nothing
    # can follow the last data frame, so it is dropped (never sent unread) and noted.
    fake.script(Script(echo_placeholders=True, trailers=TRAILERS, sse_open_end=True))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"Mail {EMAIL}.", stream=True))
    assert r.status == 200
    assert fake.sent_bodies[0].endswith(b"data: [DONE]")
    text = r.body.decode()
    assert EMAIL in text and "[EMAIL_1]" not in text and "[DONE]" not in text, text[-300:]
    [rec] = audit_for(r)
    assert rec["restore"]["restored"] == 1 and "response_tail_dropped" in rec["reasons"], rec
    assert rec["decision"] == "allow" and EMAIL not in json.dumps(rec)
