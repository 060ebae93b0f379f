"""Every phase transition of the core's stream state machine (src/core/stream), driven through the built .wasm
and the proxy-wasm ABI (fake_host.py): what the upstream would receive, the local reply, the audit record and
the metrics, per transition. The unit tests in src/core/stream/tests.rs cover the same transitions natively;
these prove the adapter translates each one (flow, edits, replies, log, metrics, record) without Envoy.
"""
from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from fake_host import CONTINUE, PAUSE, REQ_HEADERS, REQ_TRAILERS, Host, Stream

EMAIL = "jane.phase@example.org"
POLICY = {
    "hosts": ["openrouter.ai"],
    "clusters": ["openrouter"],
    "profile_header": "x-data-classification",
    "default_profile": "main",
    "max_body_bytes": 4096,
    "profiles": {
        "main": {"models": [{"deny": "*:free"}, {"allow": "anthropic/*"}],
                 "provider": {"order": ["anthropic"], "allow_fallbacks": False}, "max_tokens": 1000,
                 "pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact"}}},
        "strict": {"models": [{"allow": "anthropic/*"}], "provider": {"order": ["anthropic"], "allow_fallbacks": False},
                   "enforce_served": True},
    },
}
ALLOWED = json.dumps({"model": "anthropic/claude-3.5-sonnet",
                      "messages": [{"role": "user", "content": f"Mail {EMAIL}"}]}).encode()
ALLOWED_STREAM = json.dumps({"model": "anthropic/claude-3.5-sonnet", "stream": True,
                             "messages": [{"role": "user", "content": f"Mail {EMAIL}"}]}).encode()
DENIED = json.dumps({"model": "openai/gpt-oss-20b:free", "messages": [{"role": "user", "content": "hi"}]}).encode()
ANSWER = b'{"id":"gen-1","model":"anthropic/claude-3.5-sonnet","provider":"Anthropic","usage":{"prompt_tokens":3}}'
JSON_CT = (b"content-type", b"application/json")


@pytest.fixture(scope="module")
def vm() -> Host:
    h = Host(json.dumps(POLICY).encode())
    assert h.configured
    return h


def head(authority: bytes = b"openrouter.ai", profile: bytes | None = None, path: bytes = b"/api/v1/chat/completions",
         method: bytes = b"POST") -> list[tuple[bytes, bytes]]:
    h = [(b":method", method), (b":path", path), (b":authority", authority), (b"x-request-id", b"phase-1"), JSON_CT]
    return h + ([(b"x-data-classification", profile)] if profile else [])


def record(s: Stream) -> dict[str, Any]:
    """log then done, like Envoy: exactly one record, published at the log."""
    s.log()
    assert len(s.state.audit) == 1, s.state.audit
    s.done()
    assert len(s.state.audit) == 1, "on_done after on_log must not publish again"
    return json.loads(s.state.audit[0])


def reply(s: Stream) -> tuple[int, str]:
    assert s.state.local_reply is not None and s.state.replies == 1
    return s.state.local_reply[0], json.loads(s.state.local_reply[1])["error"]["reason"]


def held(vm: Host, profile: bytes | None = None) -> Stream:
    s = vm.stream()
    assert s.request_headers(head(profile=profile), False) == PAUSE
    assert s.state.local_reply is None and s.state.forwarded is None
    return s


def forwarded(vm: Host, profile: bytes | None = None, body: bytes = ALLOWED) -> Stream:
    s = held(vm, profile)
    assert s.request_body(body, True) == CONTINUE
    assert s.state.forwarded is not None and EMAIL.encode() not in s.state.forwarded
    return s


def test_idle_to_ungoverned_passes_everything_and_records_nothing(vm: Host) -> None:
    s = vm.stream()
    assert s.request_headers(head(authority=b"example.com"), False) == CONTINUE
    assert s.request_body(DENIED, True) == CONTINUE
    assert s.response_headers([(b":status", b"200"), JSON_CT], False) == CONTINUE
    assert s.response_body(ANSWER, True) == CONTINUE
    s.log()
    s.done()
    assert s.state.audit == [] and s.state.local_reply is None
    assert s.state.maps[REQ_HEADERS] == head(authority=b"example.com"), "an ungoverned request is not edited"


def test_cluster_alone_governs(vm: Host) -> None:
    s = vm.stream()
    s.state.properties[(b"xds", b"cluster_name")] = b"openrouter"
    assert s.request_headers(head(authority=b"127.0.0.1:10000"), False) == PAUSE
    s.request_body(DENIED, True)
    assert reply(s) == (403, "model_denied")
    assert record(s)["decision"] == "deny"


def test_held_to_forwarded_rewrites_the_body_with_an_exact_length_and_removes_the_profile_header(vm: Host) -> None:
    s = held(vm, profile=b"main")
    assert s.request_body(ALLOWED[:10], False) == PAUSE  # buffering
    assert s.request_body(ALLOWED[10:], True) == CONTINUE
    assert s.state.forwarded is not None
    fwd = json.loads(s.state.forwarded)
    assert fwd["provider"]["order"] == ["anthropic"] and fwd["max_tokens"] == 1000
    hdrs = dict(s.state.maps[REQ_HEADERS])
    assert hdrs[b"content-length"] == str(len(s.state.forwarded)).encode()
    assert b"x-data-classification" not in hdrs
    assert s.state.properties[(b"log_path",)] == b"/api/v1/chat/completions"
    # A second end of stream after the decision changes nothing.
    assert s.request_body(b"", True) == CONTINUE and s.state.local_reply is None
    rec = record(s)
    assert rec["decision"] == "allow" and rec["redactions"] == {"EMAIL": {"redact": 1}}
    assert vm.metric_values.get("openrouter_guard_redactions_total.entity.EMAIL.action.redact", 0) >= 1


def test_held_to_replied_stays_replied(vm: Host) -> None:
    s = held(vm)
    assert s.request_body(DENIED, True) == PAUSE
    assert reply(s) == (403, "model_denied")
    assert s.request_body(ALLOWED, True) == PAUSE and s.request_trailers([]) == PAUSE
    assert s.request_headers(head(), True) == PAUSE
    assert s.state.forwarded is None and s.state.replies == 1
    assert s.response_headers([(b":status", b"403"), JSON_CT], True) == CONTINUE  # the reply passes back through
    rec = record(s)
    assert (rec["decision"], rec["status"], rec["reasons"]) == ("deny", 403, ["model_denied"])


def test_body_over_the_limit_while_buffering_is_413(vm: Host) -> None:
    s = held(vm)
    assert s.request_body(b" " * 5000, False) == PAUSE
    assert reply(s) == (413, "body_too_large")
    assert record(s)["decision"] == "reject"


def test_idle_to_forwarded_and_idle_to_replied_on_bodyless_requests(vm: Host) -> None:
    s = vm.stream()
    assert s.request_headers(head(path=b"/api/v1/models", method=b"GET"), True) == CONTINUE
    assert s.state.forwarded == b"" and s.state.local_reply is None
    assert record(s)["decision"] == "allow"
    s = vm.stream()
    assert s.request_headers(head(), True) == PAUSE
    assert reply(s) == (400, "model_missing")
    record(s)


def test_trailers_end_the_request_and_are_removed(vm: Host) -> None:
    s = held(vm)
    assert s.request_body(ALLOWED, False) == PAUSE
    assert s.request_trailers([(b"x-checksum", b"1")]) == CONTINUE
    assert s.state.forwarded is not None
    assert s.state.maps[REQ_TRAILERS] == [] and json.loads(s.state.forwarded)["max_tokens"] == 1000
    assert "request_trailers_dropped" in record(s)["reasons"]


def test_forwarded_to_response_to_done(vm: Host) -> None:
    s = forwarded(vm)
    assert s.response_headers([(b":status", b"200"), JSON_CT], False) == CONTINUE
    assert s.response_body(ANSWER, True) == CONTINUE
    assert s.response_body(b"late", True) == CONTINUE  # after the end: ignored
    rec = record(s)
    assert (rec["status"], rec["upstream_status"], rec["provider"], rec["prompt_tokens"]) == (200, 200, "Anthropic", 3)
    assert rec["provider_verdict"] == "approved" and rec["response_inspected"] is True


def test_streaming_response_passes_chunk_by_chunk_even_when_enforced_and_a_cut_is_recorded(vm: Host) -> None:
    s = forwarded(vm, profile=b"strict", body=ALLOWED_STREAM)
    assert s.response_headers([(b":status", b"200"), (b"content-type", b"text/event-stream")], False) == CONTINUE
    assert s.response_body(b'data: {"id":"gen-7","provider":"OpenAI"}\n\n', False) == CONTINUE
    rec = record(s)  # cut before its end
    assert (rec["streamed"], rec["response_not_inspected"], rec["generation_id"]) == (True, "incomplete", "gen-7")
    assert s.state.local_reply is None


def test_an_event_stream_label_on_an_answer_to_no_stream_is_held_and_enforced(vm: Host) -> None:
    # The label alone no longer decides streaming: the request asked for no stream, so the answer is held and its
    # served provider enforced (before: streamed, never checked).
    s = forwarded(vm, profile=b"strict")
    assert s.response_headers([(b":status", b"200"), (b"content-type", b"text/event-stream")], False) == PAUSE
    assert s.response_body(b'data: {"id":"gen-8","provider":"OpenAI"}\n\n', True) == PAUSE
    assert reply(s) == (502, "served_unapproved")


@pytest.mark.parametrize("provider,replaced", [(b"OpenAI", True), (b"Anthropic", False)])
def test_enforced_response_is_held_whole_and_replaced_when_unapproved(vm: Host, provider: bytes,
                                                                       replaced: bool) -> None:
    s = forwarded(vm, profile=b"strict")
    assert s.response_headers([(b":status", b"200"), JSON_CT], False) == PAUSE
    body = b'{"id":"gen-3","model":"anthropic/claude-3.5-sonnet","provider":"' + provider + b'"}'
    assert s.response_body(body[:5], False) == PAUSE
    assert s.response_body(body, True) == (PAUSE if replaced else CONTINUE)
    rec = record(s)
    if replaced:
        assert reply(s) == (502, "served_unapproved")
        assert (rec["decision"], rec["status"], rec["provider_verdict"]) == ("deny", 502, "unapproved")
    else:
        assert s.state.local_reply is None and rec["provider_verdict"] == "approved"


def test_enforced_response_too_large_is_withheld_at_once(vm: Host) -> None:
    s = forwarded(vm, profile=b"strict")
    s.response_headers([(b":status", b"200"), JSON_CT], False)
    assert s.response_body(b" " * ((1 << 20) + 1), False) == PAUSE
    assert reply(s) == (502, "served_unapproved")
    assert record(s)["response_not_inspected"] == "too_large"


def test_response_before_the_decision_is_lost_control_and_replaced(vm: Host) -> None:
    s = held(vm)
    s.state.properties[(b"request", b"size")] = struct.pack("<Q", 77)
    before = vm.metric_values.get("openrouter_guard_unexpected_path_total", 0)
    assert s.response_headers([(b":status", b"200"), JSON_CT], False) == PAUSE
    assert reply(s) == (502, "filter_bypassed")
    assert any("reached the upstream without a decision (response headers)" in m for _, m in vm.logs)
    assert vm.metric_values["openrouter_guard_unexpected_path_total"] == before + 1
    rec = record(s)
    assert (rec["decision"], rec["reasons"], rec["upstream_status"]) == ("error", ["filter_bypassed"], 200)
    assert (rec["bytes_in"], rec["bytes_out"], rec["prompt_sha256"]) == (77, 77, None)


def test_envoy_own_reply_to_an_undecided_request_is_recorded_incomplete(vm: Host) -> None:
    s = held(vm)
    s.state.properties[(b"response", b"code_details")] = b"request_payload_too_large"
    assert s.response_headers([(b":status", b"413"), (b"content-type", b"text/plain")], True) == CONTINUE
    assert s.state.local_reply is None
    rec = record(s)
    assert (rec["decision"], rec["status"], rec["reasons"], rec["upstream_status"]) == \
        ("reject", 413, ["request_incomplete"], None)


@pytest.mark.parametrize("reached", [False, True])
def test_stream_end_while_held(vm: Host, reached: bool) -> None:
    s = held(vm)
    if reached:
        s.state.properties[(b"upstream", b"address")] = b"127.0.0.1:9"
    rec = record(s)
    assert s.state.local_reply is None, "never a reply from the log callback"
    if reached:
        assert (rec["decision"], rec["reasons"]) == ("error", ["filter_bypassed"])
        assert any("(stream end)" in m for _, m in vm.logs)
    else:
        assert (rec["decision"], rec["reasons"]) == ("reject", ["request_incomplete"])


def test_log_without_headers_and_done_without_log(vm: Host) -> None:
    s = vm.stream()
    s.log()
    s.done()
    assert s.state.audit == []
    s = held(vm)
    s.request_body(ALLOWED, True)
    s.done()  # Envoy tore the stream down without the log callback: the record is still published, once
    assert len(s.state.audit) == 1 and json.loads(s.state.audit[0])["decision"] == "allow"


def test_a_failed_body_edit_fails_closed_with_500() -> None:
    vm = Host(json.dumps(POLICY).encode())
    vm.failing = {"proxy_set_buffer_bytes"}
    s = held(vm)
    assert s.request_body(ALLOWED, True) == PAUSE
    assert reply(s) == (500, "write_body_failed")
    assert s.state.forwarded is None
    rec = record(s)
    assert (rec["decision"], rec["reasons"][-1], rec["prompt_sha256"]) == ("error", "write_body_failed", None)


def test_a_failed_header_edit_fails_closed_with_500() -> None:
    vm = Host(json.dumps(POLICY).encode())
    vm.failing = {"proxy_remove_header_map_value"}
    s = vm.stream()
    assert s.request_headers(head(), False) == PAUSE
    assert reply(s) == (500, "header_edit_failed")
    assert record(s)["decision"] == "error"
