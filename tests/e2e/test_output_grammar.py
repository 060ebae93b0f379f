"""A response is read in the grammar its bytes have, not the one its label claims (issue 15, attack round 2), through
real Envoy over HTTP/1.1 and HTTP/2: an event stream labelled `text/plain`, `application/x-ndjson` or not labelled
at all; a JSON answer labelled `text/plain`; an event-stream label on an answer to a request that asked for no
stream; a BOM, CRLF line ends and `data:` without its space; a duplicate key or a lone surrogate escape that a
lenient client reads; a channel index spelled `0.0`. Each hid a key cut in two (or JSON-escaped) from output
inspection before; now the key never reaches the client, in no piece."""
from __future__ import annotations

import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
KEY = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
HEAD, TAIL = KEY[:17], KEY[17:]
USER_EMAIL = "ann.grammar.e2e@example.com"
MIX = {"x-data-classification": "mix"}

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "out",
    "profiles": {
        "out": {
            "models": [{"allow": "anthropic/*"}],
            "output_pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "SECRETS": "block"}},
        },
        "mix": {
            "models": [{"allow": "anthropic/*"}],
            "pii": {"entities": {"EMAIL": "mask"}},
        },
    },
}


def ask(stream: bool, text: str = "Answer me.") -> dict[str, Any]:
    return {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": text}]}


def event(content: str, index: Any = 0, eol: bytes = b"\n", space: bool = True) -> bytes:
    doc = {"id": "gen-g", "provider": "Anthropic", "choices": [{"index": 0, "delta": {"content": content}}]}
    data = json.dumps(doc).replace('"index": 0', f'"index": {index}', 1).encode()
    return (b"data: " if space else b"data:") + data + eol + eol


def split_key(**kw: Any) -> list[bytes]:
    eol = kw.get("eol", b"\n")
    return [event(f"the key {HEAD}", **kw), event(TAIL + " ok", **kw), b"data: [DONE]" + eol + eol]


def no_key(body: bytes) -> None:
    """No piece of the key's random part (8 bytes or more) reached the client."""
    text = body.decode("utf-8", "replace")
    rand = KEY[4:]
    for i in range(len(rand) - 7):
        assert rand[i:i + 8] not in text, (i, text[:600])


def stream_ended(body: bytes, reason: str) -> None:
    """The stream ended with an OpenAI-shaped error event naming `reason`, then `[DONE]`."""
    text = body.decode("utf-8", "replace")
    assert text.rstrip().endswith("data: [DONE]"), text[-300:]
    assert f'"reason": "{reason}"' in text or f'"reason":"{reason}"' in text, text[-400:]


def key_blocked(r: Any, audit_for: Any, stream: bool) -> dict[str, Any]:
    """The split key was blocked: a stream ends with an `output_blocked` error event (status 200 already sent), a held
    answer is a 502 naming it; no piece of the key reached the client; the audit record counts one block. Returns
    the record."""
    if stream:
        assert r.status == 200, r.body[:300]
        stream_ended(r.body, "output_blocked")
    else:
        assert r.status == 502, (r.status, r.body[:300])
        assert r.json()["error"]["reason"] == "output_blocked", r.body[:300]
    no_key(r.body)
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"GITHUB_TOKEN": {"block": 1}}, rec
    return rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("label", ["text/plain", "application/x-ndjson", None])
def test_a_mislabelled_stream_is_read_as_events(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, label: str | None) -> None:
    headers = {"Content-Type": label} if label else {}
    fake.script(Script(raw_events=split_key(), headers=headers, no_content_type=label is None, sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    rec = key_blocked(r, audit_for, stream=True)
    assert "output_blocked" in rec["reasons"], rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("coding", [None, "gzip", "zstd"])
def test_a_json_answer_labelled_text_is_read_as_json(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, coding: str | None) -> None:
    # `\u005f` is `_` for a client's JSON parser; read as raw text the key was not there. With `coding`, an upstream
    # that compresses although the filter asked for identity: the decoded bytes are sniffed the same way.
    escaped = KEY.replace("_", "\\u005f")
    body = ('{"id":"gen-g","provider":"Anthropic","choices":[{"index":0,"message":{"content":"k '
            + escaped + '"}}]}').encode()
    fake.script(Script(body=body, headers={"Content-Type": "text/plain"}, compress=coding, compress_always=True))
    r = send(proto, envoy.port, "POST", CHAT, ask(False))
    key_blocked(r, audit_for, stream=False)


@pytest.mark.parametrize("proto", PROTOS)
def test_an_event_stream_answering_a_request_for_no_stream_is_held_and_read_as_events(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(raw_events=split_key(), sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(False))
    key_blocked(r, audit_for, stream=False)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("framing", ["bom", "crlf_nospace", "cr"])
def test_odd_framing_is_read_as_a_client_reads_it(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, framing: str) -> None:
    events = {
        "bom": [b"\xef\xbb\xbf" + split_key()[0], *split_key()[1:]],
        "crlf_nospace": split_key(eol=b"\r\n", space=False),
        "cr": split_key(eol=b"\r"),
    }[framing]
    fake.script(Script(raw_events=events, sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    key_blocked(r, audit_for, stream=True)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("second", ["duplicate_key", "lone_surrogate"])
def test_json_a_lenient_client_reads_ends_the_stream_unread(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, second: str) -> None:
    # JavaScript and Python keep the last `content` and accept `\ud800`: they would join the key's two halves.
    tail = {
        "duplicate_key": '{"choices":[{"index":0,"delta":{"content":"x","content":"' + TAIL + '"}}]}',
        "lone_surrogate": '{"choices":[{"index":0,"delta":{"content":"' + TAIL + '\\ud800"}}]}',
    }[second]
    fake.script(Script(raw_events=[event(f"the key {HEAD}"), b"data: " + tail.encode() + b"\n\n",
                                   b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    assert r.status == 200, r.body[:300]
    stream_ended(r.body, "response_unreadable")
    no_key(r.body)
    [rec] = audit_for(r)
    assert "response_unreadable" in rec["reasons"], rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("index", ["0.0", "-0", '"0"'])
def test_a_key_split_across_index_spellings_of_one_channel_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, index: str) -> None:
    fake.script(Script(raw_events=[event(f"the key {HEAD}"), event(TAIL + " ok", index=index),
                                   b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    key_blocked(r, audit_for, stream=True)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_in_a_comment_line_is_blocked(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(raw_events=[b": " + KEY.encode() + b"\n\n", event("hi"), b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    assert r.status == 200, r.body[:300]
    stream_ended(r.body, "output_blocked")
    no_key(r.body)


@pytest.mark.parametrize("proto", PROTOS)
def test_placeholders_in_a_mislabelled_stream_are_restored(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(raw_events=[event("Sent to [EMA"), event("IL_1]."), b"data: [DONE]\n\n"],
                       headers={"Content-Type": "text/plain"}, sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(True, f"write to {USER_EMAIL}"), headers=MIX)
    assert r.status == 200, r.body[:300]
    [req] = fake.requests
    assert USER_EMAIL.encode() not in req.body
    got = "".join(json.loads(line[5:])["choices"][0]["delta"].get("content") or ""
                  for line in r.body.decode().splitlines() if line.startswith("data: {"))
    assert got == f"Sent to {USER_EMAIL}.", r.body[:600]
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0}, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_more_than_64_open_channels_end_the_stream_unread(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # Each channel keeps its last event as a template: 64 open at once pass, a 65th ends the stream (an upstream
    # sending thousands of distinct indexes cannot grow the filter's memory), before any of its text is sent.
    def events(n: int) -> list[bytes]:
        return [event(f"part {i} ", index=i) for i in range(n)] + [event("last " + KEY, index=n - 1)]

    fake.script(Script(raw_events=[*events(64)[:-1], b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    assert r.status == 200 and r.body.rstrip().endswith(b"data: [DONE]"), r.body[-300:]
    assert b"response_unreadable" not in r.body and b'"index": 63' in r.body, r.body[-300:]
    [rec] = audit_for(r)
    assert "response_unreadable" not in rec["reasons"], rec

    fake.reset()
    fake.script(Script(raw_events=[*events(65), b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask(True))
    assert r.status == 200, r.body[:300]
    stream_ended(r.body, "response_unreadable")
    assert b'"index": 64' not in r.body, r.body[-600:]  # (what went before depends on how Envoy batched the reads)
    no_key(r.body)
    [rec] = audit_for(r)
    assert "response_unreadable" in rec["reasons"], rec
