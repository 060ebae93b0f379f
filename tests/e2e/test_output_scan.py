"""Output inspection (`output_pii`) through real Envoy, over HTTP/1.1 and HTTP/2: what the model sends back is
scanned with the request engine. `flag` passes and is audited, `redact` puts the placeholder in place (also when
the value is cut across SSE events at any position, and written byte by byte), `block` withholds a JSON answer
(502) and ends a stream with an error event and `[DONE]` without one byte of the value; values restore put back
(`mask`) are the user's own and not flagged. The audit record has counts, never values."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
PHONE = "(415) 555-0132"
LEAK_EMAIL = "leak.outscan.e2e@example.net"
USER_EMAIL = "ann.outscan.e2e@example.com"
SECRET = "sk-or-v1-" + "5e2a9c7d0b13f846" * 4
PLANTED = [PHONE, LEAK_EMAIL, USER_EMAIL, SECRET]
MIX = {"x-data-classification": "mix"}

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "out",
    "profiles": {
        "out": {
            "models": [{"allow": "anthropic/*"}],
            "output_pii": {"builtin_defaults": False,
                           "entities": {"EMAIL": "flag", "PHONE": "redact", "SECRETS": "block"}},
        },
        # The request's e-mail is masked and restored in the answer; an e-mail the model writes itself is redacted.
        "mix": {
            "models": [{"allow": "anthropic/*"}],
            "pii": {"entities": {"EMAIL": "mask"}},
            "output_pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact"}},
        },
    },
}


def ask(text: str = "Answer me.", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def sse_events(body: bytes) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[6:] if line.startswith("data: ") else line[5:]
                         for line in block.split("\n") if line.startswith("data:"))
        if data:
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def content_of(body: bytes) -> str:
    events = sse_events(body)
    assert events and events[-1] == "[DONE]", events[-3:]
    return "".join((ev["choices"][0].get("delta", {}).get("content") or "")
                   for ev in events if isinstance(ev, dict) and ev.get("choices"))


def no_values_logged(envoy: Envoy, rec: dict[str, Any]) -> None:
    line = json.dumps(rec)
    logs = envoy.stdout_text() + envoy.stderr_text()
    for v in PLANTED:
        assert v not in line and v not in logs, v


def output_counter(envoy: Envoy, entity: str, action: str) -> float:
    """openrouter_guard_output_findings_total{entity, action} from Envoy's Prometheus stats (0 when absent)."""
    pat = re.compile(r'^openrouter_guard_output_findings_total\{(.*)\} ([0-9.e+]+)$')
    for line in envoy.admin_get("/stats/prometheus").splitlines():
        m = pat.match(line)
        if m and f'entity="{entity}"' in m.group(1) and f'action="{action}"' in m.group(1):
            return float(m.group(2))
    return 0.0


def no_piece_of(secret: str, body: bytes) -> None:
    """Not even a part of the secret's random tail (8 bytes or more) reached the client."""
    tail = secret[len("sk-or-v1-"):]
    text = body.decode("utf-8", "replace")
    for i in range(len(tail) - 7):
        assert tail[i:i + 8] not in text, (i, text[:400])
    assert "sk-or-v1" not in text


@pytest.mark.parametrize("proto", PROTOS)
def test_json_answer_flagged_email_passes_and_phone_is_redacted(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    before = output_counter(envoy, "PHONE", "redact"), output_counter(envoy, "EMAIL", "flag")
    fake.script(Script(content=f"Call {PHONE} or mail {LEAK_EMAIL} today."))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    assert r.status == 200, r.body[:300]
    assert r.header("content-length") in (None, str(len(r.body))), r.headers
    assert r.json()["choices"][0]["message"]["content"] == f"Call [PHONE] or mail {LEAK_EMAIL} today."
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"PHONE": {"redact": 1}, "EMAIL": {"flag": 1}}, rec
    assert rec["decision"] == "allow" and rec["status"] == 200 and rec["redactions"] == {}, rec
    no_values_logged(envoy, rec)
    after = output_counter(envoy, "PHONE", "redact"), output_counter(envoy, "EMAIL", "flag")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1), (before, after)


@pytest.mark.parametrize("proto", PROTOS)
def test_json_answer_with_a_blocked_secret_is_withheld(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    fake.script(Script(content=f"Here is a key: {SECRET} enjoy", tool_args=['{"key": "x"}']))
    r = send(proto, envoy.port, "POST", CHAT, ask())
    assert r.status == 502, (r.status, r.body[:300])
    err = r.json()["error"]
    assert err["reason"] == "output_blocked" and "OPENROUTER_KEY" in err["message"], err
    no_piece_of(SECRET, r.body)
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert rec["decision"] == "deny" and rec["status"] == 502 and "output_blocked" in rec["reasons"], rec
    no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_phone_cut_across_events_at_every_position_is_redacted_and_a_flagged_email_passes(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str) -> None:
    answer = f"Call {PHONE} now, or {LEAK_EMAIL}."
    start = answer.index(PHONE)
    for cut in range(start, start + len(PHONE) + 1):
        fake.reset()
        fake.script(Script(content_pieces=[answer[:cut], answer[cut:]], sse_split="byte" if cut % 2 else "event"))
        r = send(proto, envoy.port, "POST", CHAT, ask(stream=True))
        assert r.status == 200, r.body[:300]
        assert content_of(r.body) == f"Call [PHONE] now, or {LEAK_EMAIL}.", (cut, r.body[:600])
        assert PHONE.encode() not in r.body and b"555-0132" not in r.body, cut
        [rec] = audit_for(r)
        assert rec["output_findings"] == {"PHONE": {"redact": 1}, "EMAIL": {"flag": 1}}, (cut, rec)
        assert rec["streamed"] is True and rec["completion_tokens"] == 7, rec
        no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("split", ["event", "byte"])
def test_a_secret_cut_across_events_ends_the_stream_with_an_error_event_and_done(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, split: str) -> None:
    pieces = ["Sure, the key is sk-or", "-v1-" + SECRET[9:30], SECRET[30:] + " and more", " text after it."]
    assert "".join(pieces) == f"Sure, the key is {SECRET} and more text after it."
    fake.script(Script(content_pieces=pieces, sse_split=split))
    r = send(proto, envoy.port, "POST", CHAT, ask(stream=True))
    assert r.status == 200, r.body[:300]  # the stream had started: it ends with an error event
    events = sse_events(r.body)
    assert events[-1] == "[DONE]", events[-3:]
    err = events[-2]
    assert isinstance(err, dict) and err["error"]["reason"] == "output_blocked", events[-3:]
    no_piece_of(SECRET, r.body)
    released = "".join((ev["choices"][0].get("delta", {}).get("content") or "")
                       for ev in events if isinstance(ev, dict) and ev.get("choices"))
    assert "Sure, the key is ".startswith(released), released
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert "output_blocked" in rec["reasons"] and rec["decision"] == "deny", rec
    no_values_logged(envoy, rec)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_restored_values_are_not_flagged_but_the_models_own_are(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    fake.script(Script(content_pieces=["Sent to [EMAIL", "_1] and cc ", LEAK_EMAIL[:9], LEAK_EMAIL[9:] + " too."],
                       sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask(f"write to {USER_EMAIL}", stream=stream), headers=MIX)
    assert r.status == 200, r.body[:300]
    [req] = fake.requests
    assert USER_EMAIL.encode() not in req.body
    got = content_of(r.body) if stream else r.json()["choices"][0]["message"]["content"]
    assert got == f"Sent to {USER_EMAIL} and cc [EMAIL] too.", got
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"mask": 1}}, rec
    assert rec["restore"] == {"restored": 1, "unknown": 0, "mangled": 0}, rec
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec
    no_values_logged(envoy, rec)


def tool_args(r: Any, stream: bool) -> str:
    """The tool call's `arguments` as the client reads them: joined across stream events, or from the JSON body."""
    if stream:
        return "".join(call.get("function", {}).get("arguments") or ""
                       for ev in sse_events(r.body) if isinstance(ev, dict) and ev.get("choices")
                       for call in ev["choices"][0].get("delta", {}).get("tool_calls") or [])
    return str(r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_an_email_the_model_writes_into_tool_call_arguments_is_redacted(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    fake.script(Script(content_pieces=["ok"], tool_args=['{"to": "leak.out', 'scan.e2e@exam', 'ple.net", "n": 1}'],
                       sse_split="byte"))
    r = send(proto, envoy.port, "POST", CHAT, ask("send it", stream=stream), headers=MIX)
    assert r.status == 200, r.body[:300]
    args = tool_args(r, stream)
    assert json.loads(args) == {"to": "[EMAIL]", "n": 1}, args
    assert LEAK_EMAIL.encode() not in r.body
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True])
def test_an_email_hidden_behind_json_escapes_in_tool_call_arguments_is_redacted(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    # `\u0040` in the arguments' own JSON is `@` for the client; the escape is also cut across two events.
    fake.script(Script(content_pieces=["ok"], tool_args=['{"to": "leak.outscan.e2e\\u00', '40example.net", "n": 1}'],
                       sse_split="event"))
    r = send(proto, envoy.port, "POST", CHAT, ask("send it", stream=stream), headers=MIX)
    assert r.status == 200, r.body[:300]
    args = tool_args(r, stream)
    assert json.loads(args) == {"to": "[EMAIL]", "n": 1}, args
    assert b"leak.outscan" not in r.body and b"example.net" not in r.body, r.body[:600]
    [rec] = audit_for(r)
    assert rec["output_findings"] == {"EMAIL": {"redact": 1}}, rec
