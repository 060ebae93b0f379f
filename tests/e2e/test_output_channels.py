"""Output inspection of streams, through real Envoy over HTTP/1.1 and HTTP/2: a channel is the text a client
accumulates (attack round 3, findings 1, 2, 3, 4, 5, 9, 16). An event without a text delta (a `content: null` chunk, an
encrypted reasoning item, a citation, a /responses annotation) does not restart the scanner, so a key split around
it is still blocked; text after a choice's `finish_reason` (which released the channel) ends the stream as
unreadable; `logprobs` (the text again, token by token) are dropped under output inspection, in streams and JSON
answers; one event with thousands of deltas is rewritten whole; the text a start event opens a /messages block or a
/responses part with is the first piece of that channel. What the client received and the audit record are
asserted, never values in the record."""
from __future__ import annotations

import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
SECRET = "sk-or-v1-" + "5e2a9c7d0b13f846" * 4
HEAD, TAIL = SECRET[:25], SECRET[25:]
EMAIL = "jane.channels@example.net"
RESPONSES = "/api/v1/responses"

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "out",
    "profiles": {
        "out": {
            "models": [{"allow": "anthropic/*"}],
            "output_pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "SECRETS": "block"}},
        },
    },
}


def ev(doc: Any) -> bytes:
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    return ev({"id": "gen-x", "object": "chat.completion.chunk", "model": MODEL,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]})


def events_of(body: bytes) -> list[Any]:
    out: list[Any] = []
    for block in body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[6:] if line.startswith("data: ") else line[5:]
                         for line in block.split("\n") if line.startswith("data:"))
        if data:
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def chat_text(events: list[Any]) -> str:
    return "".join((e["choices"][0].get("delta", {}).get("content") or "")
                   for e in events if isinstance(e, dict) and e.get("choices"))


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True, **extra}


def ended_with_error(events: list[Any], code: str) -> None:
    assert events[-1] == "[DONE]", events[-3:]
    assert isinstance(events[-2], dict) and events[-2]["error"]["type"] == code, events[-3:]


def key_blocked(r: Any, rec: dict[str, Any], text: str) -> None:
    assert r.status == 200
    assert not any(SECRET[i:i + 8] in text for i in range(9, len(SECRET) - 7)), text
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert rec["decision"] == "deny" and "output_blocked" in rec["reasons"], rec
    assert SECRET not in json.dumps(rec)


NO_TEXT_DELTAS: dict[str, dict[str, Any]] = {
    "content-null": {"content": None},
    "encrypted-reasoning": {"reasoning_details": [{"type": "reasoning.encrypted", "data": "gAAAAABpZ2VuY3J5cHRlZA==",
                                                   "id": "rs_1", "format": "openai-responses-v1", "index": 0}]},
    "annotation": {"annotations": [{"type": "url_citation", "url_citation": {
        "url": "https://example.org/a", "title": "A", "start_index": 0, "end_index": 1}}]},
}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("between", sorted(NO_TEXT_DELTAS))
def test_a_key_split_around_an_event_without_a_text_delta_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, between: str) -> None:
    fake.script(Script(raw_events=[
        chunk({"role": "assistant", "content": "Your key is " + HEAD}),
        chunk(NO_TEXT_DELTAS[between]),
        chunk({"content": TAIL + " keep it safe."}),
        chunk({}, "stop"),
        b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    key_blocked(r, rec, chat_text(events))
    ended_with_error(events, "output_blocked")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_split_around_a_responses_annotation_event_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    def delta(text: str, seq: int) -> bytes:
        return ev({"type": "response.output_text.delta", "sequence_number": seq, "item_id": "msg_1",
                   "output_index": 0, "content_index": 0, "delta": text})
    fake.script(Script(raw_events=[
        ev({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress"}}),
        delta("Key: " + HEAD, 1),
        ev({"type": "response.output_text.annotation.added", "sequence_number": 2, "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "annotation_index": 0,
            "annotation": {"type": "url_citation", "url": "https://example.org/a", "title": "A",
                           "start_index": 0, "end_index": 4}}),
        delta(TAIL + " done.", 3),
        ev({"type": "response.completed", "sequence_number": 4, "response": {"id": "resp_1", "status": "completed"}}),
    ]))
    r = send(proto, envoy.port, "POST", RESPONSES, {"model": MODEL, "input": "hi", "stream": True})
    events = events_of(r.body)
    text = "".join(e["delta"] for e in events if isinstance(e, dict) and e.get("type") == "response.output_text.delta")
    [rec] = audit_for(r)
    key_blocked(r, rec, text)


@pytest.mark.parametrize("proto", PROTOS)
def test_text_after_a_finish_reason_ends_the_stream_as_unreadable(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # The choice's channel was released whole at its finish_reason; a client would append more text to it.
    fake.script(Script(raw_events=[
        chunk({"role": "assistant", "content": "Your key is " + HEAD}, "stop"),
        chunk({"content": TAIL + " keep it safe."}),
        b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    # Nothing of the text after the finish reached the client (the head did, or nothing when one read held it all).
    assert r.status == 200 and chat_text(events) in ("", "Your key is " + HEAD), events
    ended_with_error(events, "response_unreadable")
    assert "response_unreadable" in rec["reasons"], rec


@pytest.mark.parametrize("proto", PROTOS)
def test_an_empty_delta_after_the_finish_reason_passes(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # OpenRouter's last chunk carries usage and an empty content delta after the finish chunk.
    fake.script(Script(raw_events=[
        chunk({"role": "assistant", "content": "Fine, thanks."}),
        chunk({}, "stop"),
        ev({"id": "gen-x", "object": "chat.completion.chunk", "model": MODEL,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}}),
        b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    assert chat_text(events) == "Fine, thanks." and events[-1] == "[DONE]", events
    assert rec["output_findings"] == {} and rec["reasons"] == [], rec


def lp(tokens: list[str]) -> dict[str, Any]:
    return {"content": [{"token": t, "logprob": -0.01, "bytes": list(t.encode()), "top_logprobs": []} for t in tokens]}


@pytest.mark.parametrize("proto", PROTOS)
def test_logprobs_are_dropped_from_a_stream_so_a_blocked_key_does_not_leave_in_them(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    toks = ["Your", " key", " is", " sk", "-or", "-v1", "-", SECRET[9:25], SECRET[25:45], SECRET[45:], " ok"]
    events = [ev({"id": "g", "object": "chat.completion.chunk", "model": MODEL,
                  "choices": [{"index": 0, "delta": {"content": t}, "logprobs": lp([t]), "finish_reason": None}]})
              for t in toks]
    fake.script(Script(raw_events=[*events, chunk({}, "stop"), b"data: [DONE]\n\n"], event_delay=0.05))
    r = send(proto, envoy.port, "POST", CHAT, ask(logprobs=True))
    got = events_of(r.body)
    [rec] = audit_for(r)
    chunks = [e for e in got if isinstance(e, dict) and e.get("choices")]
    assert chunks and all(e["choices"][0]["logprobs"] is None for e in chunks), chunks
    key_blocked(r, rec, r.body.decode())
    ended_with_error(got, "output_blocked")


@pytest.mark.parametrize("proto", PROTOS)
def test_logprobs_are_dropped_from_a_json_answer_so_a_redacted_email_does_not_stay_in_them(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    toks = ["Mail", " jane", ".channels", "@", "example", ".net", " today"]
    doc = {"id": "g", "object": "chat.completion", "model": MODEL, "choices": [{
        "index": 0, "finish_reason": "stop", "logprobs": lp(toks),
        "message": {"role": "assistant", "content": "".join(toks)}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}}
    fake.script(Script(body=doc))
    r = send(proto, envoy.port, "POST", CHAT,
             {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "logprobs": True})
    [rec] = audit_for(r)
    body = r.json()
    assert r.status == 200 and body["choices"][0]["message"]["content"] == "Mail [EMAIL] today", body
    assert body["choices"][0]["logprobs"] is None and EMAIL not in r.body.decode(), body
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_one_event_with_thousands_of_deltas_is_rewritten_whole(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # 24,000 deltas of one choice in one ~880 KB event: each was a copy of the whole event before (quadratic:
    # more than the client's 30 s); now one pass. Every delta's text reaches the client.
    n = 24_000
    doc = {"id": "g", "object": "chat.completion.chunk", "model": MODEL,
           "choices": [{"index": 0, "delta": {"content": "a "}, "finish_reason": None}] * n}
    fake.script(Script(raw_events=[b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n",
                                   b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    text = "".join(c["delta"].get("content") or "" for e in events if isinstance(e, dict) and e.get("choices")
                   for c in e["choices"])
    assert r.status == 200 and text == "a " * n and events[-1] == "[DONE]", (len(text), events[-2:])
    assert rec["output_findings"] == {} and rec["reasons"] == [], rec


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_split_across_legacy_function_call_arguments_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # `delta.function_call.arguments` (the pre-tool_calls shape openai-python still accumulates) is a channel.
    fake.script(Script(raw_events=[
        chunk({"role": "assistant", "content": None, "function_call": {"name": "send", "arguments": ""}}),
        chunk({"function_call": {"arguments": '{"key": "' + HEAD}}),
        chunk({"function_call": {"arguments": TAIL + '"}'}}),
        chunk({}, "function_call"),
        b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    args = "".join(((e["choices"][0].get("delta") or {}).get("function_call") or {}).get("arguments") or ""
                   for e in events if isinstance(e, dict) and e.get("choices"))
    key_blocked(r, rec, args)
    ended_with_error(events, "output_blocked")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_tool_name_split_across_events_ends_the_stream_as_unreadable(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # A name is scanned whole, once: a second piece (which a client would join to the first) fails closed.
    def call(name: str) -> bytes:
        return chunk({"tool_calls": [{"index": 0, "function": {"name": name, "arguments": ""}}]})
    fake.script(Script(raw_events=[call("save_" + HEAD), call(TAIL), chunk({}, "tool_calls"), b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    names = "".join(tc.get("function", {}).get("name") or "" for e in events if isinstance(e, dict) and e.get("choices")
                    for tc in (e["choices"][0].get("delta") or {}).get("tool_calls") or [])
    assert r.status == 200 and names in ("", "save_" + HEAD), events
    ended_with_error(events, "response_unreadable")
    assert "response_unreadable" in rec["reasons"], rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("where", ["tool-call-id", "unknown-field"])
def test_another_delta_string_split_across_events_ends_the_stream_as_unreadable(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, where: str) -> None:
    # Finding 5: openai-python joins every string under `delta`; those that are not text channels are scanned one
    # event at a time, so a second, different piece fails closed.
    def piece(text: str) -> bytes:
        if where == "tool-call-id":
            return chunk({"tool_calls": [{"index": 0, "id": text, "type": "function", "function": {"arguments": ""}}]})
        return chunk({"role": "assistant", "x_note": text})
    fake.script(Script(raw_events=[piece("call_" + HEAD), piece(TAIL), chunk({}, "stop"), b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    assert r.status == 200 and TAIL not in r.body.decode(), events
    ended_with_error(events, "response_unreadable")
    assert "response_unreadable" in rec["reasons"], rec


@pytest.mark.parametrize("proto", PROTOS)
def test_the_same_role_and_tool_call_id_in_every_chunk_pass(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # What some providers send: role (and a call's id, type and name) repeated in each chunk; a client joining them
    # gets nothing new, so the stream passes whole.
    def call(args: str) -> bytes:
        return chunk({"role": "assistant", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "save", "arguments": args}}]})
    fake.script(Script(raw_events=[chunk({"role": "assistant", "content": "Saving "}),
                                   chunk({"role": "assistant", "content": "now."}),
                                   call('{"note": '), call('"ok"}'), chunk({}, "tool_calls"), b"data: [DONE]\n\n"]))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    events = events_of(r.body)
    [rec] = audit_for(r)
    assert r.status == 200 and events[-1] == "[DONE]", events
    assert chat_text(events) == "Saving now."
    args = "".join(tc["function"]["arguments"] for e in events if isinstance(e, dict) and e.get("choices")
                   for tc in (e["choices"][0].get("delta") or {}).get("tool_calls") or [])
    assert args == '{"note": "ok"}'
    assert rec["decision"] == "allow" and rec.get("output_findings", {}) == {}, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_a_messages_delta_with_a_choices_member_ends_the_stream_as_unreadable(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # The Anthropic SDK reads `type`/`delta` and ignores `choices`; the filter would read the event as a chat chunk.
    def delta(text: str) -> bytes:
        return b"event: content_block_delta\n" + ev({"type": "content_block_delta", "index": 0, "choices": [],
                                                     "delta": {"type": "text_delta", "text": text}})
    fake.script(Script(raw_events=[
        b"event: content_block_start\n" + ev({"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}}),
        delta("Key: " + HEAD), delta(TAIL + " done."),
        b"event: message_stop\n" + ev({"type": "message_stop"})]))
    body = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = send(proto, envoy.port, "POST", "/api/v1/messages", body)
    events = events_of(r.body)
    [rec] = audit_for(r)
    assert r.status == 200 and HEAD not in r.body.decode(), events
    ended_with_error(events, "response_unreadable")
    assert "response_unreadable" in rec["reasons"], rec


MESSAGES = "/api/v1/messages"


def anthropic_text(events: list[Any]) -> str:
    """What the Anthropic SDK accumulates: a block starts with content_block_start's text, text_deltas append."""
    blocks: dict[int, str] = {}
    for e in events:
        if not isinstance(e, dict):
            continue
        if e.get("type") == "content_block_start":
            assert e["index"] not in blocks, ("block started twice", events)
            blocks[e["index"]] = e["content_block"].get("text", "")
        elif e.get("type") == "content_block_delta":
            blocks[e["index"]] += e["delta"].get("text", "")
    return "".join(blocks.values())


def messages_stream(start_text: str, *deltas: str) -> list[bytes]:
    def named(name: str, doc: dict[str, Any]) -> bytes:
        return f"event: {name}\n".encode() + ev(doc)
    return [
        named("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        named("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": start_text}}),
        *[named("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": d}}) for d in deltas],
        named("content_block_stop", {"type": "content_block_stop", "index": 0}),
        named("message_stop", {"type": "message_stop"})]


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_split_between_a_block_start_and_its_first_delta_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    # Attack round 3, finding 3: content_block_start's text is the block's first piece, not a whole string of its own.
    fake.script(Script(raw_events=messages_stream("Key: " + HEAD, TAIL + " done.")))
    body = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = send(proto, envoy.port, "POST", MESSAGES, body)
    events = events_of(r.body)
    [rec] = audit_for(r)
    key_blocked(r, rec, anthropic_text(events))
    ended_with_error(events, "output_blocked")


@pytest.mark.parametrize("proto", PROTOS)
def test_an_email_split_between_a_block_start_and_its_delta_is_redacted_once(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    local, domain = EMAIL.split("@")
    fake.script(Script(raw_events=messages_stream("Write to " + local, "@" + domain + " today.")))
    body = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = send(proto, envoy.port, "POST", MESSAGES, body)
    [rec] = audit_for(r)
    assert r.status == 200
    assert anthropic_text(events_of(r.body)) == "Write to [EMAIL] today."
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec


def responses_text(events: list[Any]) -> str:
    """What openai-python's ResponseStreamState accumulates: output_item.added's content, content_part.added's part,
    then the deltas, per (output_index, content_index)."""
    parts: dict[tuple[int, int], str] = {}
    for e in events:
        if not isinstance(e, dict):
            continue
        if e.get("type") == "response.output_item.added":
            for i, p in enumerate(e["item"].get("content") or []):
                parts[(e["output_index"], i)] = p.get("text", "")
        elif e.get("type") == "response.content_part.added":
            k = (e["output_index"], e["content_index"])
            parts[k] = parts.get(k, "") + e["part"].get("text", "")
        elif e.get("type") == "response.output_text.delta":
            k = (e["output_index"], e["content_index"])
            parts[k] = parts.get(k, "") + e["delta"]
    return "".join(parts.values())


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("where", ["content_part.added", "output_item.added"])
def test_a_key_split_between_a_part_s_added_text_and_its_first_delta_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, where: str) -> None:
    # Attack round 3, finding 4: the part (or the item's content) an added event carries is the part's first piece.
    if where == "content_part.added":
        first = {"type": "response.content_part.added", "sequence_number": 1, "item_id": "msg_1", "output_index": 0,
                 "content_index": 0, "part": {"type": "output_text", "text": "Key: " + HEAD, "annotations": []}}
    else:
        first = {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {
            "type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress",
            "content": [{"type": "output_text", "text": "Key: " + HEAD, "annotations": []}]}}
    fake.script(Script(raw_events=[
        ev({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress"}}),
        ev(first),
        ev({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 0,
            "content_index": 0, "delta": TAIL + " done."}),
        ev({"type": "response.completed", "sequence_number": 3, "response": {"id": "resp_1", "status": "completed"}}),
    ]))
    r = send(proto, envoy.port, "POST", RESPONSES, {"model": MODEL, "input": "hi", "stream": True})
    events = events_of(r.body)
    [rec] = audit_for(r)
    key_blocked(r, rec, responses_text(events))
    ended_with_error(events, "output_blocked")
