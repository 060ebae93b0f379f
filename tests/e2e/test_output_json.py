"""Output inspection of what a client parses out of a JSON answer (attack round 3), through real Envoy over HTTP/1.1
and HTTP/2: the object keys and long numbers of a `/messages` `tool_use` block's `input` (non-streaming and in a
stream's `content_block_start`), which the Anthropic SDK hands to the tool as they are. Before, only string values
were read: a key in an object key, an e-mail key or a card number reached the client whole."""
from __future__ import annotations

import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
SECRET = "sk-or-v1-" + "5e2a9c7d0b13f846" * 4
EMAIL = "jane.json.e2e@example.net"
CARD = 4111111111111111
MESSAGES = "/api/v1/messages"

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "out",
    "profiles": {
        "out": {
            "models": [{"allow": "anthropic/*"}],
            "output_pii": {"builtin_defaults": False,
                           "entities": {"EMAIL": "redact", "CREDIT_CARD": "redact", "SECRETS": "block"}},
        },
    },
}


def answer(inp: dict[str, Any]) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "Calling the tool."},
                        {"type": "tool_use", "id": "toolu_1", "name": "save", "input": inp}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 9}}


def ask(stream: bool = False) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": "save it"}]}


def ev(doc: Any) -> bytes:
    return b"event: " + doc["type"].encode() + b"\ndata: " + json.dumps(doc).encode() + b"\n\n"


def block_start_stream(inp: dict[str, Any]) -> list[bytes]:
    """A /messages stream whose tool_use block carries its whole `input` in content_block_start (the Anthropic SDK
    takes it as the block's input when no input_json_delta follows)."""
    msg = answer({})
    msg["content"] = []
    return [ev({"type": "message_start", "message": msg}),
            ev({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "save", "input": inp}}),
            ev({"type": "content_block_stop", "index": 0}),
            ev({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
            ev({"type": "message_stop"})]


def leaked(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [v for v in (SECRET, SECRET[9:40], EMAIL, str(CARD)) if v in text]


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_in_an_object_key_of_a_tool_use_input_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(body=answer({SECRET: True, "n": 1})))
    r = send(proto, envoy.port, "POST", MESSAGES, ask())
    assert r.status == 502 and r.json()["error"]["reason"] == "output_blocked", (r.status, r.body[:300])
    assert not leaked(r.body)
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert "output_blocked" in rec["reasons"] and rec["decision"] == "deny", rec


@pytest.mark.parametrize("proto", PROTOS)
def test_an_email_key_and_a_card_number_of_a_tool_use_input_are_redacted(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(body=answer({EMAIL: "primary", "card": CARD, "count": 3})))
    r = send(proto, envoy.port, "POST", MESSAGES, ask())
    assert r.status == 200, r.body[:300]
    assert not leaked(r.body)
    inp = r.json()["content"][1]["input"]
    assert inp["[EMAIL]"] == "primary" and inp["count"] == 3, inp
    assert isinstance(inp["card"], str) and "CREDIT_CARD" in inp["card"], inp
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"CREDIT_CARD": {"redact": 1}, "EMAIL": {"redact": 1}}, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_keys_and_numbers_of_a_streamed_tool_use_block_start_are_inspected(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(raw_events=block_start_stream({EMAIL: "primary", "card": CARD})))
    r = send(proto, envoy.port, "POST", MESSAGES, ask(stream=True))
    assert r.status == 200 and not leaked(r.body), r.body[:600]
    docs = [json.loads(line[6:]) for line in r.body.split(b"\n") if line.startswith(b"data: {")]
    [start] = [d for d in docs if d["type"] == "content_block_start"]
    assert "[EMAIL]" in start["content_block"]["input"], start
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"CREDIT_CARD": {"redact": 1}, "EMAIL": {"redact": 1}}, rec

    fake.script(Script(raw_events=block_start_stream({SECRET: True})))
    r = send(proto, envoy.port, "POST", MESSAGES, ask(stream=True))
    assert r.status == 200 and not leaked(r.body), r.body[:600]
    text = r.body.decode()
    assert '"output_blocked"' in text and text.rstrip().endswith("data: [DONE]"), text[-400:]
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec


CHAT = "/api/v1/chat/completions"


def chat(stream: bool) -> dict[str, Any]:
    return {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": "go"}]}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_key_wrapped_by_a_newline_escape_in_tool_arguments_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    # docs/pii.md: a key wrapped by a line break is joined. In tool-call arguments (JSON source) the line break is the
    # escape `\n`, which the client's JSON parser turns back into the wrapped key (attack round 3, finding 17).
    args = json.dumps({"note": "Key:\n" + SECRET[:41] + "\n" + SECRET[41:]})
    assert "\\n" in args
    fake.script(Script(content="ok", tool_args=[args]))
    r = send(proto, envoy.port, "POST", CHAT, chat(stream))
    assert not leaked(r.body), r.body[:600]
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert "output_blocked" in rec["reasons"], rec
    if stream:
        assert r.status == 200 and b'"output_blocked"' in r.body, r.body[-400:]
    else:
        assert r.status == 502 and r.json()["error"]["reason"] == "output_blocked", r.body[:300]


@pytest.mark.parametrize("proto", PROTOS)
def test_line_break_escapes_in_clean_tool_arguments_reach_the_client_unchanged(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    args = json.dumps({"note": "line one\nline\ttwo \"quoted\"\r\n"})
    fake.script(Script(content="ok", tool_args=[args]))
    r = send(proto, envoy.port, "POST", CHAT, chat(False))
    assert r.status == 200, r.body[:300]
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == args
    [rec] = audit_for(r)
    assert rec["output_findings"] == {}, rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_json_escapes_in_a_structured_output_content_do_not_hide_a_key_or_an_email(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    # With response_format json_* the client json.loads(message.content): `\u002d` and `\u0040` there decode to the
    # key's dashes and the e-mail's @ (attack round 3, finding 7). The e-mail is redacted, then the key blocks.
    email = '{"contact": "' + EMAIL.replace("@", "\\u0040") + '", "n": 1}'
    fake.script(Script(content_pieces=[email[:20], email[20:]]))
    body = {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": "extract"}],
            "response_format": {"type": "json_object"}}
    r = send(proto, envoy.port, "POST", CHAT, body)
    assert r.status == 200, r.body[:300]
    if stream:
        docs = [json.loads(b[6:]) for b in r.body.split(b"\n\n") if b.startswith(b"data: {")]
        text = "".join((d["choices"][0].get("delta", {}).get("content") or "") for d in docs if d.get("choices"))
    else:
        text = r.json()["choices"][0]["message"]["content"]
    assert json.loads(text) == {"contact": "[EMAIL]", "n": 1}, text
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec

    key = '{"token": "' + SECRET.replace("-", "\\u002d") + '"}'
    fake.script(Script(content_pieces=[key[:30], key[30:]]))
    r = send(proto, envoy.port, "POST", CHAT, body)
    text = r.body.decode("utf-8", "replace")
    assert SECRET[9:40] not in text and SECRET[40:] not in text, text[:600]
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert "output_blocked" in rec["reasons"], rec
    assert r.status == (200 if stream else 502), r.body[:300]
