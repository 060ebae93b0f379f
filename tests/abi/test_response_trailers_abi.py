"""Responses that end with trailers (HTTP/2, or HTTP/1.1 chunked trailers with `enable_trailers`), through the built
.wasm and the proxy-wasm ABI (fake_host.py): the last body callback has no end of stream and the trailers callback
ends the response. A held answer is restored or inspected there exactly as at its end (never passed unread); a
rewritten stream's held tail cannot follow its last data frame and is dropped, noted and counted."""
from __future__ import annotations

import json
from typing import Any

import pytest

from fake_host import CONTINUE, PAUSE, RESP_BODY, RESP_HEADERS, Host, Stream

EMAIL = "jane.trailers@example.org"
KEY = "sk-or-v1-" + "7c1e9a3f5b2d4068" * 4
TRAILERS = [(b"x-upstream-done", b"1")]


def policy(output: str | None) -> bytes:
    profile: dict[str, Any] = {"models": [{"allow": "anthropic/*"}],
                               "pii": {"builtin_defaults": False, "entities": {"EMAIL": "mask"}}}
    if output:
        profile["output_pii"] = {"builtin_defaults": False, "entities": {"SECRETS": output}}
    return json.dumps({"hosts": ["openrouter.ai"], "default_profile": "m", "profiles": {"m": profile}}).encode()


def forwarded(vm: Host, stream: bool) -> Stream:
    s = vm.stream()
    req = json.dumps({"model": "anthropic/claude-3.5-sonnet", "stream": stream,
                      "messages": [{"role": "user", "content": f"Mail {EMAIL}"}]}).encode()
    head = [(b":method", b"POST"), (b":path", b"/api/v1/chat/completions"), (b":authority", b"openrouter.ai"),
            (b"content-type", b"application/json")]
    assert s.request_headers(head, False) == PAUSE
    assert s.request_body(req, True) == CONTINUE
    assert s.state.forwarded is not None and b"[EMAIL_1]" in s.state.forwarded
    s.state.properties[(b"upstream", b"address")] = b"127.0.0.1:443"
    return s


def record(s: Stream) -> dict[str, Any]:
    s.log()
    s.done()
    assert len(s.state.audit) == 1
    return json.loads(s.state.audit[0])


def answer(text: str) -> bytes:
    return json.dumps({"id": "gen-t", "model": "anthropic/claude-3.5-sonnet", "provider": "Anthropic",
                       "choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def test_a_held_answer_ending_in_trailers_is_restored_with_its_exact_length() -> None:
    vm = Host(policy(None))
    s = forwarded(vm, stream=False)
    assert s.response_headers([(b":status", b"200"), (b"content-type", b"application/json")], False) == PAUSE
    body = answer("Wrote to [EMAIL_1].")
    assert s.response_body(body[:20], False) == PAUSE
    assert s.response_body(body[20:], False) == PAUSE
    assert s.response_trailers(TRAILERS, body) == CONTINUE
    sent = bytes(s.state.buffers[RESP_BODY])
    assert json.loads(sent)["choices"][0]["message"]["content"] == f"Wrote to {EMAIL}."
    assert dict(s.state.maps[RESP_HEADERS])[b"content-length"] == str(len(sent)).encode()
    assert s.state.local_reply is None
    rec = record(s)
    assert rec["decision"] == "allow" and EMAIL not in json.dumps(rec)
    assert vm.unexpected == []


def test_a_held_answer_ending_in_trailers_is_blocked_not_passed_unread() -> None:
    vm = Host(policy("block"))
    s = forwarded(vm, stream=False)
    assert s.response_headers([(b":status", b"200"), (b"content-type", b"application/json")], False) == PAUSE
    body = answer(f"The key is {KEY} there.")
    assert s.response_body(body, False) == PAUSE
    assert s.response_trailers(TRAILERS, body) == PAUSE
    assert s.state.local_reply is not None and s.state.local_reply[0] == 502
    assert json.loads(s.state.local_reply[1])["error"]["reason"] == "output_blocked"
    rec = record(s)
    assert (rec["decision"], rec["status"]) == ("deny", 502) and "output_blocked" in rec["reasons"]
    assert rec["output_findings"]["OPENROUTER_KEY"] == {"block": 1} and KEY not in json.dumps(rec)
    assert vm.unexpected == []


def test_a_held_body_gone_at_the_trailers_is_withheld() -> None:
    vm = Host(policy(None))
    s = forwarded(vm, stream=False)
    s.response_headers([(b":status", b"200"), (b"content-type", b"application/json")], False)
    assert s.response_body(answer("[EMAIL_1]"), False) == PAUSE
    assert s.response_trailers(TRAILERS, None) == PAUSE
    assert s.state.local_reply is not None and s.state.local_reply[0] == 502
    assert json.loads(s.state.local_reply[1])["error"]["reason"] == "response_unreadable"
    assert "response_unreadable" in record(s)["reasons"]


@pytest.mark.parametrize("output", [None, "block"])
def test_a_rewritten_stream_ending_in_trailers_drops_its_held_tail(output: str | None) -> None:
    vm = Host(policy(output))
    s = forwarded(vm, stream=True)
    assert s.response_headers([(b":status", b"200"), (b"content-type", b"text/event-stream")], False) == CONTINUE
    done = b'data: {"choices":[{"delta":{"content":"Hi "}}]}\n\n'
    tail = (b'data: {"choices":[{"delta":{"content":"to [EMAIL_1] ' + KEY.encode() + b'"}}]}')  # no blank line yet
    sent = b""
    for chunk in (done, tail):
        assert s.response_body(chunk, False) == CONTINUE
        sent += bytes(s.state.buffers[RESP_BODY])
    assert s.response_trailers(TRAILERS, None) == CONTINUE
    # Restore alone holds back only a placeholder prefix; output inspection also holds its window ("Hi " too).
    assert (b"Hi " in sent) == (output is None), sent
    assert b"EMAIL" not in sent and EMAIL.encode() not in sent and b"sk-or-v1" not in sent, sent
    rec = record(s)
    assert "response_tail_dropped" in rec["reasons"], rec
    # The key in the dropped tail is still found and recorded as blocked.
    assert rec["decision"] == ("allow" if output is None else "deny"), rec
    assert ("output_blocked" in rec["reasons"]) == (output == "block"), rec
    assert EMAIL not in json.dumps(rec) and KEY not in json.dumps(rec)
    assert vm.metric_values.get("openrouter_guard_response_tail_dropped_total") == 1
    assert vm.unexpected == []
