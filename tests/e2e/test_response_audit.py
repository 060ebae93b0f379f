"""The response side of the audit record, read back from the exact access-log line through real Envoy.

Covers: JSON success (ids, served model/provider, usage, cost, finish reason, latencies, verdict), upstream
error bodies (code and status, never the message), SSE in tiny and large writes (byte-exact for the client),
mid-stream errors, served provider / model outside the profile (flagged by default, a 502 under
`enforce_served` for non-streaming responses, flagged-only for streams), client aborts and upstream resets mid
stream (one record, `incomplete`), bodies over the inspection limit (`too_large`), gzip ones (decoded to be read) and ones in a coding the filter does
not decode (`encoded`).
"""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from typing import Any, Callable

import pytest

from harness.client import Resp
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, assert_local_reply, chat

ORDER_ANTHROPIC = {"order": ["anthropic"], "allow_fallbacks": False}
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "flag",
    "profiles": {
        # Default mode: a served provider / model outside policy is flagged, never withheld.
        "flag": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": dict(ORDER_ANTHROPIC)},
        # enforce_served: a non-streaming response from outside the policy is replaced by a 502.
        "enforce": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": dict(ORDER_ANTHROPIC),
                    "enforce_served": True},
    },
}
ENFORCE = {"x-data-classification": "enforce"}
MODEL = "anthropic/claude-3.5-sonnet"
# Every field of the record (src/core/audit.rs), sealed chain fields first.
CHAIN_FIELDS = ["chain", "seq", "prev"]
RECORD_FIELDS = {
    "schema", "ts", "request_id", "authority", "method", "path", "path_sha256", "endpoint", "profile", "user", "user_source", "team",
    "model_requested", "models", "stream", "decision", "status", "reasons", "provider_injected", "prompt_sha256",
    "bytes_in", "bytes_out", "filter_us", "latency_first_byte_ms", "latency_ms", "redactions", "spend", "restore",
    "output_findings",
}
RESPONSE_FIELDS = {
    "generation_id", "model_used", "provider", "prompt_tokens", "completion_tokens", "total_tokens", "cost",
    "finish_reason", "cached_tokens", "reasoning_tokens", "error_code", "error_type", "upstream_status", "streamed",
    "response_inspected", "response_not_inspected", "provider_verdict", "provider_verdict_reason", "usage_suspect",
}
# Distinctive texts that must never reach an audit line.
ERROR_TEXT = "upstream-error-text-must-not-be-logged-7f3a"
COMPLETION_TEXT = "completion-text-only-the-client-may-see-91c2"


# ---------------------------------------------------------------------------------------------- helpers


def raw_audit_lines(envoy: Envoy, rid: str) -> list[bytes]:
    """The exact access-log lines (bytes, without the newline) that mention request `rid`."""
    needle = json.dumps(rid).encode()
    return [ln for ln in envoy.audit_path.read_bytes().split(b"\n") if needle in ln]


def record_of(envoy: Envoy, audit_for: Callable[..., list[dict[str, Any]]], resp: Resp) -> dict[str, Any]:
    """The single audit record of `resp`, checked for shape: every field, chain fields first, nothing else."""
    recs = audit_for(resp)
    assert len(recs) == 1, f"expected exactly one audit record, got {len(recs)}"
    return check_line(envoy, resp.rid)


def check_line(envoy: Envoy, rid: str) -> dict[str, Any]:
    lines = raw_audit_lines(envoy, rid)
    assert len(lines) == 1, f"expected exactly one audit line for {rid}, got {len(lines)}"
    line = lines[0]
    assert line.startswith(b'{"chain":"'), line[:80]
    rec = json.loads(line)
    keys = list(rec)
    assert keys[:3] == CHAIN_FIELDS, keys[:5]
    missing = (RECORD_FIELDS | RESPONSE_FIELDS) - set(keys)
    assert not missing, f"audit record lacks {sorted(missing)}"
    assert isinstance(rec["seq"], int) and rec["seq"] >= 1 and len(rec["prev"]) == 64
    assert rec["request_id"] == rid and rec["schema"] == 1
    return rec


def assert_latencies(rec: dict[str, Any], *, first_byte_at_least: int = 0, total_at_least: int = 0) -> None:
    fb, total = rec["latency_first_byte_ms"], rec["latency_ms"]
    assert isinstance(fb, int) and isinstance(total, int), (fb, total)
    assert first_byte_at_least <= fb <= total, (fb, total)
    assert total >= total_at_least, (fb, total)


def events(body: bytes) -> list[bytes]:
    return [e for e in body.replace(b"\r\n", b"\n").split(b"\n\n") if e]


def response_fields(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec[k] for k in RESPONSE_FIELDS}


def raw_stream_request(rid: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    data = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"POST {CHAT} HTTP/1.1\r\nHost: openrouter.ai\r\nContent-Type: application/json\r\n"
            f"x-request-id: {rid}\r\n{extra}Content-Length: {len(data)}\r\n\r\n").encode() + data


# ---------------------------------------------------------------------------------------------- JSON success


def test_json_success_fills_every_response_field(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": 0.0042,
             "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 5}}
    fake.script(Script(model="anthropic/claude-3.5-sonnet-20241022", provider="Anthropic", usage=usage,
                       content=COMPLETION_TEXT, delay=0.2))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200
    assert r.body == fake.sent_bodies[0], "the client must get the upstream body byte for byte"
    doc = r.json()
    rec = record_of(envoy, audit_for, r)
    assert rec["decision"] == "allow" and rec["status"] == 200 and rec["reasons"] == []
    assert rec["profile"] == "flag" and rec["model_requested"] == MODEL and rec["stream"] is False
    assert response_fields(rec) == {
        "generation_id": r.header("x-generation-id"),
        "model_used": "anthropic/claude-3.5-sonnet-20241022",
        "provider": "Anthropic",
        "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": pytest.approx(0.0042),
        "finish_reason": "stop", "cached_tokens": 64, "reasoning_tokens": 5,
        "error_code": None, "error_type": None, "upstream_status": 200,
        "streamed": False, "response_inspected": True, "response_not_inspected": None,
        "provider_verdict": "approved", "provider_verdict_reason": "in_order", "usage_suspect": None,
    }
    assert rec["generation_id"] == doc["id"]
    # The fake waited 200 ms before its headers: both latencies include that, first byte <= total.
    assert_latencies(rec, first_byte_at_least=200, total_at_least=200)
    assert COMPLETION_TEXT.encode() not in raw_audit_lines(envoy, r.rid)[0]


def test_generation_id_header_wins_over_the_body_id(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(headers={"X-Generation-Id": "gen-from-header-0001"}))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.json()["id"] != "gen-from-header-0001"
    assert record_of(envoy, audit_for, r)["generation_id"] == "gen-from-header-0001"


def test_generation_id_falls_back_to_the_body_id(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(generation_id_header=False))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.header("x-generation-id") is None
    body_id = r.json()["id"]
    assert body_id.startswith("gen-")
    assert record_of(envoy, audit_for, r)["generation_id"] == body_id


# ---------------------------------------------------------------------------------------------- JSON errors


@pytest.mark.parametrize("status", [402, 429, 502])
def test_upstream_error_records_code_and_status_but_never_the_message(envoy: Envoy, fake: FakeOpenRouter,
                                                                       audit_for, status: int) -> None:
    fake.script(Script(status=status, error_message=ERROR_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == status and r.json()["error"]["message"] == ERROR_TEXT  # the client gets it unchanged
    assert r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert rec["decision"] == "allow" and rec["status"] == status and rec["upstream_status"] == status
    assert rec["error_code"] == status and rec["error_type"] is None
    assert rec["response_inspected"] is True and rec["streamed"] is False
    assert rec["generation_id"] == r.header("x-generation-id")
    assert (rec["prompt_tokens"], rec["completion_tokens"], rec["cost"]) == (None, None, None)
    # An error body names no provider/model at the top level: nothing to check, nothing to flag.
    assert rec["provider_verdict"] == "unknown"
    assert_latencies(rec)
    line = raw_audit_lines(envoy, r.rid)[0]
    assert ERROR_TEXT.encode() not in line and b"scripted error" not in line


def test_upstream_error_passes_unchanged_under_enforce(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(status=429, error_message=ERROR_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    assert r.status == 429 and r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert rec["profile"] == "enforce" and rec["status"] == 429 and rec["error_code"] == 429
    assert "served_unapproved" not in rec["reasons"]


# ---------------------------------------------------------------------------------------------- SSE


@pytest.mark.parametrize("split", ["byte", "large"])
def test_sse_success_in_any_write_size_is_byte_exact_and_fully_audited(envoy: Envoy, fake: FakeOpenRouter,
                                                                        audit_for, split: str) -> None:
    usage = {"prompt_tokens": 33, "completion_tokens": 44, "total_tokens": 77, "cost": 0.00125}
    fake.script(Script(sse_split=split, content="alpha beta gamma " + COMPLETION_TEXT, usage=usage,
                       provider="Anthropic", model="anthropic/claude-3.5-sonnet-20241022"))
    r = envoy.http("POST", CHAT, chat(MODEL, stream=True))
    assert r.status == 200 and (r.header("content-type") or "").startswith("text/event-stream")
    assert r.body == fake.sent_bodies[0], "the client must receive every byte of the stream unchanged"
    assert events(r.body)[-1] == b"data: [DONE]"
    rec = record_of(envoy, audit_for, r)
    assert rec["decision"] == "allow" and rec["status"] == 200 and rec["stream"] is True
    assert response_fields(rec) == {
        "generation_id": r.header("x-generation-id"),
        "model_used": "anthropic/claude-3.5-sonnet-20241022",
        "provider": "Anthropic",
        "prompt_tokens": 33, "completion_tokens": 44, "total_tokens": 77, "cost": pytest.approx(0.00125),
        "finish_reason": "stop", "cached_tokens": None, "reasoning_tokens": None,
        "error_code": None, "error_type": None, "upstream_status": 200,
        "streamed": True, "response_inspected": True, "response_not_inspected": None,
        "provider_verdict": "approved", "provider_verdict_reason": "in_order", "usage_suspect": None,
    }
    assert_latencies(rec)
    assert COMPLETION_TEXT.encode() not in raw_audit_lines(envoy, r.rid)[0]


def test_sse_latency_covers_the_whole_stream(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(content="a b c d", event_delay=0.06))  # 8 events: >= 7 gaps of 60 ms after the headers
    r = envoy.http("POST", CHAT, chat(MODEL, stream=True))
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert_latencies(rec)
    assert rec["latency_ms"] - rec["latency_first_byte_ms"] >= 350, rec


@pytest.mark.parametrize("code,field,value", [(502, "error_code", 502), ("server_error", "error_type", "server_error")])
def test_sse_mid_stream_error_chunk(envoy: Envoy, fake: FakeOpenRouter, audit_for, code, field, value) -> None:
    fake.script(Script(error_mid_stream=True, mid_stream_error_code=code))
    r = envoy.http("POST", CHAT, chat(MODEL, stream=True))
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    last = json.loads(events(r.body)[-1][6:])
    assert last["error"]["code"] == code
    rec = record_of(envoy, audit_for, r)
    assert rec[field] == value and rec["finish_reason"] == "error"
    assert rec["upstream_status"] == 200 and rec["status"] == 200 and rec["streamed"] is True
    assert rec["response_inspected"] is True and rec["response_not_inspected"] is None
    assert b"provider error mid-stream" not in raw_audit_lines(envoy, r.rid)[0]


# ---------------------------------------------------------------------------------------------- served provider / model


def test_unapproved_provider_is_flagged_and_passed_in_flag_mode(envoy: Envoy, fake: FakeOpenRouter,
                                                                audit_for) -> None:
    fake.script(Script(provider="DeepInfra", content=COMPLETION_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    assert r.json()["choices"][0]["message"]["content"] == COMPLETION_TEXT
    rec = record_of(envoy, audit_for, r)
    assert rec["profile"] == "flag" and rec["status"] == 200 and rec["upstream_status"] == 200
    assert rec["provider"] == "DeepInfra"
    assert (rec["provider_verdict"], rec["provider_verdict_reason"]) == ("unapproved", "not_in_order")
    assert "served_unapproved" not in rec["reasons"]


def test_unapproved_provider_is_withheld_with_502_under_enforce(envoy: Envoy, fake: FakeOpenRouter,
                                                                audit_for) -> None:
    fake.script(Script(provider="DeepInfra", content=COMPLETION_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    err = assert_local_reply(r, 502, "served_unapproved")
    assert err["type"] == "upstream_policy_violation"
    assert len(fake.requests) == 1, "the request was forwarded once"
    upstream = fake.sent_bodies[0]
    assert COMPLETION_TEXT.encode() in upstream
    assert COMPLETION_TEXT.encode() not in r.body and b"DeepInfra" not in r.body
    assert json.loads(upstream)["id"].encode() not in r.body
    assert r.header("x-generation-id") is None, "no upstream header may leak into the replacement reply"
    rec = record_of(envoy, audit_for, r)
    assert rec["profile"] == "enforce" and rec["decision"] == "deny"
    assert "served_unapproved" in rec["reasons"]
    assert rec["status"] == 502 and rec["upstream_status"] == 200
    assert (rec["provider_verdict"], rec["provider_verdict_reason"]) == ("unapproved", "not_in_order")
    assert rec["provider"] == "DeepInfra" and rec["total_tokens"] == 19  # what was spent is still recorded
    assert_latencies(rec)
    assert COMPLETION_TEXT.encode() not in raw_audit_lines(envoy, r.rid)[0]


def test_approved_provider_passes_unchanged_under_enforce(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(provider="Anthropic", content=COMPLETION_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    assert r.header("x-generation-id") == r.json()["id"]
    rec = record_of(envoy, audit_for, r)
    assert rec["status"] == 200 and rec["reasons"] == [] and rec["provider_verdict"] == "approved"


def test_unapproved_stream_passes_under_enforce_but_is_flagged(envoy: Envoy, fake: FakeOpenRouter,
                                                               audit_for) -> None:
    fake.script(Script(provider="DeepInfra", content="streamed " + COMPLETION_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL, stream=True), headers=ENFORCE)
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert rec["profile"] == "enforce" and rec["status"] == 200 and rec["streamed"] is True
    assert (rec["provider_verdict"], rec["provider_verdict_reason"]) == ("unapproved", "not_in_order")
    assert "served_unapproved" not in rec["reasons"]


@pytest.mark.parametrize("stream", [False, True])
def test_served_model_outside_the_rules_is_flagged(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                   stream: bool) -> None:
    fake.script(Script(model="openai/gpt-4o", provider="Anthropic"))
    r = envoy.http("POST", CHAT, chat(MODEL, stream=stream))
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert rec["model_requested"] == MODEL and rec["model_used"] == "openai/gpt-4o"
    assert (rec["provider_verdict"], rec["provider_verdict_reason"]) == ("unapproved", "model_denied")


def test_served_model_outside_the_rules_is_withheld_under_enforce(envoy: Envoy, fake: FakeOpenRouter,
                                                                  audit_for) -> None:
    fake.script(Script(model="openai/gpt-4o", provider="Anthropic", content=COMPLETION_TEXT))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    assert_local_reply(r, 502, "served_unapproved")
    assert COMPLETION_TEXT.encode() not in r.body
    rec = record_of(envoy, audit_for, r)
    assert "served_unapproved" in rec["reasons"] and rec["provider_verdict_reason"] == "model_denied"
    assert rec["status"] == 502 and rec["upstream_status"] == 200


def test_uncheckable_response_is_withheld_under_enforce(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    """Fail closed: an enforced, non-streaming response the filter cannot read (a coding it does not decode) is
    withheld. (gzip, deflate and zstd are decoded: test_codings.py.)"""
    doc = {"id": "gen-gz", "model": MODEL, "provider": "DeepInfra", "choices": [{"message": {
        "content": COMPLETION_TEXT}}]}
    fake.script(Script(body=json.dumps(doc).encode(), headers={"Content-Encoding": "br"}))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    assert_local_reply(r, 502, "served_unapproved")
    rec = record_of(envoy, audit_for, r)
    assert rec["response_not_inspected"] == "encoded" and rec["provider_verdict"] == "unknown"
    assert rec["status"] == 502 and rec["upstream_status"] == 200


# ---------------------------------------------------------------------------------------------- cut streams


def test_client_disconnect_mid_stream_gives_one_incomplete_record(envoy: Envoy, fake: FakeOpenRouter) -> None:
    fake.script(Script(content="one two three four five six seven eight nine ten", event_delay=0.15))
    rid = "e2e-client-gone-mid-stream"
    got = b""
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
        s.sendall(raw_stream_request(rid, chat(MODEL, stream=True)))
        deadline = time.monotonic() + 10
        while b'"content": "one"' not in got and time.monotonic() < deadline:
            data = s.recv(65536)
            if not data:
                break
            got += data
        assert got.startswith(b"HTTP/1.1 200") and b'"content": "one"' in got, got[:200]
    assert envoy.wait_logged(rid), "Envoy never logged the aborted request"
    rec = check_line(envoy, rid)
    assert rec["decision"] == "allow" and rec["status"] == 200 and rec["upstream_status"] == 200
    assert rec["streamed"] is True and rec["response_not_inspected"] == "incomplete"
    assert rec["finish_reason"] is None and rec["total_tokens"] is None  # the stream never got that far
    assert rec["generation_id"] is not None and rec["provider"] == "Anthropic"
    assert_latencies(rec)


def test_upstream_reset_mid_stream_gives_one_incomplete_record(envoy: Envoy, fake: FakeOpenRouter) -> None:
    fake.script(Script(reset_mid_stream=True))
    rid = "e2e-upstream-reset-mid-stream-audit"
    try:
        envoy.http("POST", CHAT, chat(MODEL, stream=True), headers={"x-request-id": rid})
    except (ConnectionError, http.client.HTTPException):
        pass  # a truncated chunked body; how the client notices is Envoy's business
    assert envoy.wait_logged(rid)
    rec = check_line(envoy, rid)
    assert rec["decision"] == "allow" and rec["upstream_status"] == 200 and rec["streamed"] is True
    assert rec["response_not_inspected"] == "incomplete" and rec["finish_reason"] is None
    assert_latencies(rec)


# ---------------------------------------------------------------------------------------------- uninspected bodies


def test_json_over_one_mib_passes_whole_and_is_marked_too_large(envoy: Envoy, fake: FakeOpenRouter,
                                                                 audit_for) -> None:
    doc = {"id": "gen-big", "object": "chat.completion", "model": MODEL, "provider": "Anthropic",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "x" * (1024 * 1024 + 4096)}}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5}}
    fake.script(Script(body=doc))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200
    assert len(r.body) > 1024 * 1024 and r.body == fake.sent_bodies[0], "the client must get the whole body"
    rec = record_of(envoy, audit_for, r)
    assert rec["response_inspected"] is False and rec["response_not_inspected"] == "too_large"
    assert rec["streamed"] is False and rec["upstream_status"] == 200 and rec["status"] == 200
    assert rec["generation_id"] == r.header("x-generation-id")  # the header is still read
    assert (rec["model_used"], rec["provider"], rec["total_tokens"], rec["cost"]) == (None, None, None, None)
    assert rec["provider_verdict"] == "unknown"


def test_gzip_encoded_response_passes_unchanged_and_is_read(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    doc = {"id": "gen-gz", "object": "chat.completion", "model": MODEL, "provider": "Anthropic",
           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    compressed = gzip.compress(json.dumps(doc).encode())
    fake.script(Script(body=compressed, headers={"Content-Encoding": "gzip"}))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.header("content-encoding") == "gzip"
    assert r.body == compressed and json.loads(gzip.decompress(r.body)) == doc
    rec = record_of(envoy, audit_for, r)
    assert rec["response_inspected"] is True and rec["response_not_inspected"] is None
    assert rec["upstream_status"] == 200 and rec["total_tokens"] == 3 and rec["provider"] == "Anthropic"
    assert "response_decoded_gzip" in rec["reasons"] and rec["provider_verdict"] == "approved"


def test_response_in_a_coding_the_filter_does_not_decode_is_marked_encoded(envoy: Envoy, fake: FakeOpenRouter,
                                                                           audit_for) -> None:
    body = b"\x8b\x02\x80not-brotli"
    fake.script(Script(body=body, headers={"Content-Encoding": "br"}))
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.header("content-encoding") == "br" and r.body == body
    rec = record_of(envoy, audit_for, r)
    assert rec["response_inspected"] is False and rec["response_not_inspected"] == "encoded"
    assert rec["upstream_status"] == 200 and rec["total_tokens"] is None
    assert rec["provider_verdict"] == "unknown"


def test_response_that_is_not_json_is_marked_bad_json(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(body=b"<html>" + COMPLETION_TEXT.encode() + b"</html>"))  # sent as application/json
    r = envoy.http("POST", CHAT, chat(MODEL))
    assert r.status == 200 and r.body == fake.sent_bodies[0]
    rec = record_of(envoy, audit_for, r)
    assert rec["response_inspected"] is False and rec["response_not_inspected"] == "bad_json"
    assert COMPLETION_TEXT.encode() not in raw_audit_lines(envoy, r.rid)[0]


def test_truncated_json_body_gives_one_incomplete_record(envoy: Envoy, fake: FakeOpenRouter) -> None:
    fake.script(Script(truncate_body=True, content="y" * 20000))
    rid = "e2e-json-body-truncated-flag"
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        envoy.http("POST", CHAT, chat(MODEL), headers={"x-request-id": rid})
    assert envoy.wait_logged(rid)
    rec = check_line(envoy, rid)
    assert rec["upstream_status"] == 200 and rec["streamed"] is False
    assert rec["response_inspected"] is False and rec["response_not_inspected"] == "incomplete"


# ---------------------------------------------------------------------------------------------- enforce: held bodies


def test_enforced_body_over_the_inspection_limit_is_withheld(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    """1.5 MiB: over the filter's 1 MiB JSON limit (cannot be checked: fail closed), under Envoy's buffer limit."""
    doc = {"id": "gen-big", "model": MODEL, "provider": "Anthropic",
           "choices": [{"message": {"content": COMPLETION_TEXT + "x" * (1536 * 1024)}}]}
    fake.script(Script(body=doc))
    r = envoy.http("POST", CHAT, chat(MODEL), headers=ENFORCE)
    assert_local_reply(r, 502, "served_unapproved")
    assert COMPLETION_TEXT.encode() not in r.body
    rec = record_of(envoy, audit_for, r)
    assert rec["response_not_inspected"] == "too_large" and "served_unapproved" in rec["reasons"]
    assert rec["status"] == 502 and rec["upstream_status"] == 200


def test_client_gone_while_an_enforced_body_is_held_gives_one_record(envoy: Envoy, fake: FakeOpenRouter) -> None:
    fake.script(Script(body_delay=1.0, content=COMPLETION_TEXT + "y" * 20000))
    rid = "e2e-client-gone-while-held"
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
        s.sendall(raw_stream_request(rid, chat(MODEL), ENFORCE))
        assert fake.wait_requests(1), "request never reached the upstream"
        s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.recv(65536)  # the body is held: nothing reaches the client before its end
    assert envoy.wait_logged(rid)
    rec = check_line(envoy, rid)
    assert rec["profile"] == "enforce" and rec["upstream_status"] == 200
    assert rec["response_not_inspected"] == "incomplete"
    assert envoy.proc.poll() is None


def _alive(env: Envoy) -> bool:
    return env.proc is not None and env.proc.poll() is None and env._ready()


def _records_of(env, mark: int, rid: str) -> list[dict]:
    """The audit records of `rid`, waiting (bounded) for the first: the audit file and the operator log
    are separate files flushed independently, so the operator line can land first."""

    def mine() -> list[dict]:
        return [r for r in env.audit_records(mark) if r.get("request_id") == rid]

    wait_until(lambda: mine(), 3.0)
    wait_until(lambda: len(mine()) > 1, 0.2)  # a duplicated record gets a moment to show up
    return mine()


# Regression: replying (send_http_response) from on_log for a held, unfinished response made Envoy
# log the stream twice and segfault. The filter now never replies from on_log, and withholds a held
# body as soon as it outgrows the inspection limit.


def test_upstream_reset_while_an_enforced_body_is_held_does_not_crash_envoy(envoy_factory, fake: FakeOpenRouter):
    env = envoy_factory(POLICY, cache=False)  # its own Envoy: this one may die
    mark = env.audit_size()
    fake.script(Script(truncate_body=True, content=COMPLETION_TEXT + "y" * 20000))
    rid = "e2e-upstream-reset-while-held"
    body = b""
    try:
        body = env.http("POST", CHAT, chat(MODEL), headers={"x-request-id": rid, **ENFORCE}).body
    except (ConnectionError, http.client.HTTPException):
        pass  # a reset is an acceptable answer; a crash is not
    assert COMPLETION_TEXT.encode() not in body, "held upstream bytes reached the client"
    env.wait_logged(rid, timeout=3)
    assert _alive(env), "Envoy died:\n" + env.log_tail(12)
    recs = _records_of(env, mark, rid)
    assert len(recs) == 1, f"expected one audit record, got {[(r['seq'], r['status']) for r in recs]}"
    assert recs[0]["seq"] == 1 and recs[0]["response_not_inspected"] == "incomplete"


def test_enforced_body_over_envoys_buffer_limit_does_not_crash_envoy(envoy_factory, fake: FakeOpenRouter) -> None:
    env = envoy_factory(POLICY, cache=False)
    mark = env.audit_size()
    doc = {"id": "gen-huge", "model": MODEL, "provider": "Anthropic",
           "choices": [{"message": {"content": COMPLETION_TEXT + "x" * (3 * 1024 * 1024)}}]}
    fake.script(Script(body=doc))
    rid = "e2e-held-body-over-envoy-limit"
    r = None
    try:
        r = env.http("POST", CHAT, chat(MODEL), headers={"x-request-id": rid, **ENFORCE})
    except (ConnectionError, http.client.HTTPException):
        pass
    env.wait_logged(rid, timeout=3)
    assert _alive(env), "Envoy died:\n" + env.log_tail(12)
    assert r is not None and r.status >= 500 and COMPLETION_TEXT.encode() not in r.body
    recs = _records_of(env, mark, rid)
    assert len(recs) == 1 and recs[0]["seq"] == 1, [(x["seq"], x["status"]) for x in recs]
