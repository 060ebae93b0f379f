"""The `mask` action through real Envoy, over HTTP/1.1 and HTTP/2: the upstream sees numbered placeholders
(`[EMAIL_1]`), never the values; the client gets its values back in JSON answers, in SSE streams whose placeholders
are cut across events and across TCP writes, and in tool-call arguments; placeholders the request did not issue
stay as they are and are counted; the audit record has counts, never values; an answer that cannot be read is
withheld."""
from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import openai
import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
EMAIL = "ann.mask.e2e@example.com"
EMAIL2 = "bob.mask.e2e@example.org"
PHONE = "415-555-0142"
EMPLOYEE = "EMP-123456"
PLANTED = [EMAIL, EMAIL2, PHONE, EMPLOYEE]

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "mask",
    "profiles": {
        "mask": {
            "models": [{"allow": "anthropic/*"}],
            "pii": {
                "entities": {"EMAIL": "mask", "PHONE": "mask"},
                "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}", "action": "mask"}],
            },
        },
    },
}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def upstream_text(fake: FakeOpenRouter) -> str:
    [req] = fake.requests
    assert req.header("content-length") == str(len(req.body)), req.headers
    return req.body.decode()


def sse_events(body: bytes) -> list[dict[str, Any] | str]:
    """The data of each event (parsed JSON, or the raw text such as `[DONE]`); every JSON event must parse."""
    out: list[dict[str, Any] | str] = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[6:] if line.startswith("data: ") else line[5:]
                         for line in block.split("\n") if line.startswith("data:"))
        if not data:
            continue
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def assembled(body: bytes) -> tuple[str, str]:
    """What a chat client assembles from a stream: the content and the tool call's arguments."""
    content, args = "", ""
    events = sse_events(body)
    assert events and events[-1] == "[DONE]", events[-3:]
    for ev in events:
        if isinstance(ev, dict) and ev.get("choices"):
            delta = ev["choices"][0].get("delta", {})
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                args += call.get("function", {}).get("arguments") or ""
    return content, args


def no_values_logged(envoy: Envoy, rec: dict[str, Any]) -> None:
    line = json.dumps(rec)
    logs = envoy.stdout_text() + envoy.stderr_text()
    for v in PLANTED:
        assert v not in line and v not in logs, v


@pytest.mark.parametrize("proto", PROTOS)
def test_json_answer_gets_the_values_back_and_the_upstream_never_sees_them(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(echo_placeholders=True, tool_args=['{"to": "[EMAIL_2]", "id": "[EMPLOYEE_ID_1]"}']))
    text = f"Mail {EMAIL} and {EMAIL2}, call {PHONE}, badge {EMPLOYEE}. Again: {EMAIL}."
    r = send(proto, envoy.port, "POST", CHAT, ask(text))
    assert r.status == 200, r.body[:300]
    sent = upstream_text(fake)
    for v in PLANTED:
        assert v not in sent
    assert json.loads(sent)["messages"][0]["content"] == (
        "Mail [EMAIL_1] and [EMAIL_2], call [PHONE_1], badge [EMPLOYEE_ID_1]. Again: [EMAIL_1].")
    # The held answer was rewritten: its exact new length is set (Envoy sends no chunked framing then).
    assert r.header("content-length") == str(len(r.body)), r.headers
    msg = r.json()["choices"][0]["message"]
    assert msg["content"] == f"Echo: {EMAIL} {EMAIL2} {PHONE} {EMPLOYEE}"
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"to": EMAIL2, "id": EMPLOYEE}
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"mask": 3}, "PHONE": {"mask": 1}, "EMPLOYEE_ID": {"mask": 1}}, rec
    assert rec["restore"] == {"restored": 6, "unknown": 0, "mangled": 0}, rec
    assert rec["provider"] == "Anthropic" and rec["completion_tokens"] == 7, rec
    no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_placeholder_cut_across_events_at_every_position_and_written_byte_by_byte_is_restored(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    answer = "To [EMAIL_1]!"
    for cut in range(1, len(answer)):
        fake.reset()
        fake.script(Script(content_pieces=[answer[:cut], answer[cut:]], sse_split="byte" if cut % 2 else "event"))
        r = send(proto, envoy.port, "POST", CHAT, ask(f"write to {EMAIL}", stream=True))
        assert r.status == 200, r.body[:300]
        assert EMAIL not in upstream_text(fake)
        content, _ = assembled(r.body)
        assert content == f"To {EMAIL}!", (cut, r.body)
        [rec] = audit_for(r)
        assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0} and rec["streamed"] is True, rec
        assert rec["completion_tokens"] == 7, rec
        no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_stream_tool_call_arguments_are_restored_across_pieces(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(content_pieces=["ok"], tool_args=['{"to": "[EM', 'AIL_1]", "cc": "[PHONE', '_1]"}'],
                       sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"send to {EMAIL}, cc {PHONE}", stream=True))
    assert r.status == 200, r.body[:300]
    _, args = assembled(r.body)
    assert json.loads(args) == {"to": EMAIL, "cc": PHONE}
    [rec] = audit_for(r)
    assert rec["restore"]["restored"] == 2, rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_unknown_mangled_and_client_written_placeholders_stay_as_they_are(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    # The client itself writes [EMAIL_1]: the filter numbers the real address [EMAIL_2], so a model echoing the
    # client's text never gets someone's value restored into it.
    answer = "[EMAIL_1] [EMAIL_7] [EMAIL 2] [email_2] [STEP_1] [EMAIL_2]"
    fake.script(Script(content_pieces=[answer]))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"I typed [EMAIL_1] myself; mine is {EMAIL}", stream=stream))
    assert r.status == 200, r.body[:300]
    assert json.loads(upstream_text(fake))["messages"][0]["content"] == "I typed [EMAIL_1] myself; mine is [EMAIL_2]"
    got = assembled(r.body)[0] if stream else r.json()["choices"][0]["message"]["content"]
    assert got == f"[EMAIL_1] [EMAIL_7] [EMAIL 2] [email_2] [STEP_1] {EMAIL}"
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 2, "mangled": 2}, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_without_placeholders_the_answer_is_untouched_and_restore_is_null(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(content="Plain [EMAIL_1] answer."))
    r = send(proto, envoy.port, "POST", CHAT, ask("nothing personal here"))
    assert r.status == 200 and r.json()["choices"][0]["message"]["content"] == "Plain [EMAIL_1] answer."
    assert r.header("content-length") in (None, str(len(r.body)))
    [rec] = audit_for(r)
    assert rec["restore"] is None, rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("coding", ["gzip", "deflate", "zstd"])
def test_an_answer_compressed_despite_identity_is_decoded_restored_and_forwarded_decoded(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, coding: str) -> None:
    # The filter asks for identity; an upstream that compresses anyway is decoded, restored, sent decoded.
    fake.script(Script(echo_placeholders=True, compress=coding, compress_always=True))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"to {EMAIL}"), headers={"accept-encoding": coding})
    assert r.status == 200, r.body[:300]
    assert fake.requests[0].header("accept-encoding") == "identity"
    assert r.header("content-encoding") is None and r.header("content-length") in (None, str(len(r.body)))
    assert r.json()["choices"][0]["message"]["content"] == f"Echo: {EMAIL}"
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0}, rec
    assert f"response_decoded_{coding}" in rec["reasons"] and rec["provider"] == "Anthropic", rec
    no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_compressed_answer_it_cannot_read_is_withheld_rather_than_passed_on_unread(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    doc = json.dumps({"id": "gen-x", "choices": [{"index": 0, "message": {"role": "assistant",
                                                                          "content": "[EMAIL_1]"}}]}).encode()
    corrupt = bytearray(gzip.compress(doc))
    corrupt[-6] ^= 1
    stream = gzip.compress(b'data: {"choices":[{"index":0,"delta":{"content":"[EMAIL_1]"}}]}\n\ndata: [DONE]\n\n')
    # The stream answers a request for one (a compressed stream is not decoded); the same bytes answering a request
    # for no stream are held whole, decoded and read (test_a_compressed_event_stream_answering_no_stream_is_read).
    cases: list[tuple[bytes, dict[str, str], bool]] = [
        (doc, {"Content-Encoding": "br"}, False),
        (bytes(corrupt), {"Content-Encoding": "gzip"}, False),
        (stream, {"Content-Encoding": "gzip", "Content-Type": "text/event-stream"}, True),
    ]
    for body, headers, streamed in cases:
        fake.reset()
        fake.script(Script(body=body, headers=headers))
        r = send(proto, envoy.port, "POST", CHAT, ask(f"to {EMAIL}", stream=streamed))
        assert r.status == 502, (headers, r.status, r.body[:200])
        assert r.json()["error"]["reason"] == "response_unreadable"
        [rec] = audit_for(r)
        assert "response_unreadable" in rec["reasons"] and rec["status"] == 502, rec
        no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_compressed_event_stream_answering_no_stream_is_read(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    body = gzip.compress(b'data: {"choices":[{"index":0,"delta":{"content":"[EMAIL_1]"}}]}\n\ndata: [DONE]\n\n')
    fake.script(Script(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/event-stream"}))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"to {EMAIL}"))
    assert r.status == 200, r.body[:300]
    assert r.header("content-encoding") is None and r.header("content-length") in (None, str(len(r.body))), r.headers
    assert EMAIL.encode() in r.body and b"[EMAIL_1]" not in r.body, r.body[:300]
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0}, rec


def test_the_openai_sdk_gets_values_back_in_a_stream_cut_inside_placeholders_and_in_tool_arguments(
        envoy: Envoy, fake: FakeOpenRouter) -> None:
    """What a real client assembles: the SDK's stream iterator (content and tool-call argument deltas, including
    the events the filter adds for held text) and a non-streaming tool call, over HTTP/1.1."""
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{envoy.port}/api/v1", api_key="sk-or-v1-" + "c" * 64,
                           max_retries=0, timeout=30)
    messages: Any = [{"role": "user", "content": f"mail {EMAIL}, call {PHONE}"}]
    fake.script(Script(content_pieces=["Sure: [EMA", "IL_1] / [PHONE_", "1] [EMAIL_"],
                       tool_args=['{"to": "[EMAIL', '_1]", "phone": "[PHONE_1]"}'], sse_split="byte"),
                Script(tool_args=['{"to": "[EMAIL_1]"}']))
    content, args, finish = "", "", None
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                args += (call.function.arguments if call.function else None) or ""
            finish = choice.finish_reason or finish
    assert content == f"Sure: {EMAIL} / {PHONE} [EMAIL_" and finish == "stop", content
    assert json.loads(args) == {"to": EMAIL, "phone": PHONE}
    done = client.chat.completions.create(model=MODEL, messages=messages)
    calls = done.choices[0].message.tool_calls or []
    assert json.loads(calls[0].function.arguments) == {"to": EMAIL}  # type: ignore[union-attr]
    for req in fake.requests:
        assert EMAIL not in req.body.decode() and PHONE not in req.body.decode()


def file_part(text: str) -> dict[str, Any]:
    b64 = base64.b64encode(text.encode()).decode()
    return {"type": "file", "file": {"filename": "notes.txt", "file_data": f"data:text/plain;base64,{b64}"}}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("hidden", ["data-url-file", "escaped-in-arguments"])
def test_a_client_tag_inside_a_data_url_file_or_escaped_in_arguments_is_never_issued(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, hidden: str) -> None:
    # docs/pii.md "Collisions": a client cannot make the filter write a value into a place it chose. The model reads
    # `[EMAIL_1]` in a base64 text file and in `\u005bEMAIL_1\u005d` inside tool-call arguments (attack round 3,
    # finding 18): the user's own address must get another number, and the model's copy of the client's tag must
    # come back as it is.
    if hidden == "data-url-file":
        msgs: list[dict[str, Any]] = [{"role": "user", "content": [
            {"type": "text", "text": f"I am {EMAIL}."}, file_part("Forward the report to [EMAIL_1] please.")]}]
    else:
        msgs = [{"role": "user", "content": f"I am {EMAIL}."},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                 "function": {"name": "send", "arguments": '{"to": "\\u005bEMAIL_1\\u005d"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sent"}]
    fake.script(Script(content="Done: forwarded to [EMAIL_1], you are [EMAIL_2]."))
    r = send(proto, envoy.port, "POST", CHAT, {"model": MODEL, "messages": msgs})
    assert r.status == 200, r.body[:300]
    sent = upstream_text(fake)
    assert EMAIL not in sent and "[EMAIL_2]" in sent, sent[:600]
    assert r.json()["choices"][0]["message"]["content"] == f"Done: forwarded to [EMAIL_1], you are {EMAIL}."
    [rec] = audit_for(r)
    assert rec["restore"] == {"restored": 1, "unknown": 1, "mangled": 0}, rec
    no_values_logged(envoy, rec)
