"""Compressed bodies through real Envoy and the real .wasm, over HTTP/1.1 and HTTP/2.

Responses: every governed request asks the upstream for `accept-encoding: identity`, so a CDN-fronted upstream that
compresses when the client allows it (the OpenAI SDK sends `Accept-Encoding: gzip, deflate`) answers plainly and the
audit record keeps provider, tokens and cost. An upstream that compresses anyway (gzip, deflate, zstd) is decoded to
be read and passed to the client as sent; one the filter cannot read (`br`, corrupt) passes unread, audited, and is
withheld (502) under `enforce_served`.

Requests: gzip, deflate and zstd bodies are decoded (decoded size within `max_body_bytes`, else 413), governed and
forwarded decoded without `content-encoding` and with an exact `content-length`; other codings 415, corrupt 400.
"""
from __future__ import annotations

import gzip
import json
import zlib
from typing import Any, Callable

import openai
import pytest
import zstandard

from harness.client import Resp
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script, encode
from guard_helpers import CHAT, assert_local_reply, assert_rejected, chat, send
from test_metrics import prometheus

RESPONSES = "/api/v1/responses"
EMAIL = "jane.codec@example.org"
MAX_BODY = 64 * 1024
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "team",
    "max_body_bytes": MAX_BODY,
    "profiles": {
        "team": {"models": [{"allow": "anthropic/*"}, {"allow": "openai/*"}, {"deny": "*"}],
                 "pii": {"entities": {"EMAIL": "redact"}}},
        "enforce": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}],
                    "provider": {"order": ["anthropic"], "allow_fallbacks": False}, "enforce_served": True},
    },
}
ENFORCE = {"x-data-classification": "enforce"}
MODEL = "anthropic/claude-3.5-sonnet"
PROTOS = ["h1", "h2"]
USAGE = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19, "cost": 0.000123}


def compress(coding: str, data: bytes) -> bytes:
    if coding == "zstd":
        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    return encode(coding, data)


def one_record(audit_for: Callable[..., list[dict[str, Any]]], r: Resp) -> dict[str, Any]:
    recs = audit_for(r)
    assert len(recs) == 1, recs
    return recs[0]


def assert_usage_kept(rec: dict[str, Any]) -> None:
    assert rec["response_inspected"] is True and rec["response_not_inspected"] is None, rec
    assert rec["provider"] == "Anthropic" and rec["model_used"] == MODEL, rec
    assert (rec["prompt_tokens"], rec["completion_tokens"], rec["total_tokens"], rec["cost"]) == (12, 7, 19, 0.000123)


# ---------------------------------------------------------------------------------------------- responses


def sdk(envoy: Envoy, headers: dict[str, str]) -> Any:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{envoy.port}/api/v1", api_key="sk-or-v1-" + "b" * 64,
                         max_retries=0, timeout=30, default_headers=headers)


def sdk_chat(envoy: Envoy, headers: dict[str, str], rid: str) -> Any:
    """A chat completion through the OpenAI SDK; returns the raw response (headers, request, parsed body)."""
    return sdk(envoy, headers).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_headers={"x-request-id": rid})


def test_openai_sdk_gets_its_answer_and_the_record_keeps_provider_tokens_cost(envoy: Envoy, fake: FakeOpenRouter,
                                                                              audit_for) -> None:
    """The SDK allows gzip; the upstream compresses when allowed; the filter asked for identity."""
    fake.script(Script(compress="gzip"), Script(compress="gzip"))
    for i, headers in enumerate(({}, ENFORCE)):
        rid = f"e2e-codings-sdk-{i}"
        raw = sdk_chat(envoy, headers, rid)
        assert "gzip" in raw.http_response.request.headers["accept-encoding"]
        assert raw.parse().choices[0].message.content == "Hello from the fake upstream."
        assert raw.headers.get("content-encoding") is None  # the upstream answered in identity
        rec = one_record(audit_for, Resp(200, [], b"", rid))
        assert_usage_kept(rec)
        assert rec["provider_verdict"] == "approved" and rec["status"] == 200
    assert [r.header_all("accept-encoding") for r in fake.requests] == [["identity"], ["identity"]]


@pytest.mark.parametrize("proto", PROTOS)
def test_every_governed_request_asks_for_identity(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto) -> None:
    for accept in ("gzip, deflate, br, zstd", None):
        fake.reset()
        fake.script(Script(compress="gzip"))
        hdrs = {"accept-encoding": accept} if accept else {}
        r = send(proto, envoy.port, "POST", CHAT, chat(MODEL), headers=hdrs)
        assert r.status == 200 and r.header("content-encoding") is None and r.body == fake.sent_bodies[0]
        assert fake.requests[0].header_all("accept-encoding") == ["identity"]
        assert_usage_kept(one_record(audit_for, r))
    # GET /models too (the filter reads that answer's status and, when JSON, its body).
    fake.reset()
    fake.script(Script(compress="gzip"))
    r = send(proto, envoy.port, "GET", "/api/v1/models", headers={"accept-encoding": "gzip"})
    assert r.status == 200 and r.header("content-encoding") is None
    assert fake.requests[0].header_all("accept-encoding") == ["identity"]


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("coding", ["gzip", "deflate", "zstd"])
def test_upstream_that_compresses_anyway_is_decoded_to_be_read(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                               proto, coding) -> None:
    fake.script(Script(compress=coding, compress_always=True, content="Compressed anyway."))
    r = send(proto, envoy.port, "POST", CHAT, chat(MODEL), headers={"accept-encoding": coding})
    assert r.status == 200 and r.header("content-encoding") == coding
    assert json.loads(_decode(coding, r.body)) == json.loads(fake.sent_bodies[0])  # the client gets it as sent
    rec = one_record(audit_for, r)
    assert_usage_kept(rec)
    assert f"response_decoded_{coding}" in rec["reasons"] and rec["provider_verdict"] == "approved"
    # Under enforce_served the decoded body is checked and the answer delivered.
    fake.reset()
    fake.script(Script(compress=coding, compress_always=True))
    r = send(proto, envoy.port, "POST", CHAT, chat(MODEL), headers={"accept-encoding": coding, **ENFORCE})
    assert r.status == 200 and r.header("content-encoding") == coding
    rec = one_record(audit_for, r)
    assert_usage_kept(rec)
    assert rec["provider_verdict"] == "approved" and rec["decision"] == "allow"


def _decode(coding: str, body: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "deflate":
        return zlib.decompress(body)
    return zstandard.ZstdDecompressor().decompress(body)


@pytest.mark.parametrize("proto", PROTOS)
def test_sdk_decodes_an_upstream_that_gzips_anyway_under_enforce(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                 proto) -> None:
    if proto == "h2":  # the SDK speaks HTTP/1.1; the HTTP/2 case is test_upstream_that_compresses_anyway_...
        fake.script(Script(compress="gzip", compress_always=True))
        r = send("h2", envoy.port, "POST", CHAT, chat(MODEL), headers={"accept-encoding": "gzip", **ENFORCE})
        assert r.status == 200 and json.loads(gzip.decompress(r.body))["provider"] == "Anthropic"
        return
    fake.script(Script(compress="gzip", compress_always=True))
    rid = "e2e-codings-sdk-gzip-anyway"
    raw = sdk_chat(envoy, ENFORCE, rid)
    assert raw.headers.get("content-encoding") == "gzip"
    assert raw.parse().choices[0].message.content == "Hello from the fake upstream."
    rec = one_record(audit_for, Resp(200, [], b"", rid))
    assert "response_decoded_gzip" in rec["reasons"] and rec["provider_verdict"] == "approved"
    assert_usage_kept(rec)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_response_the_filter_cannot_read_is_withheld_under_enforce(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                     proto) -> None:
    doc = json.dumps({"id": "gen-x", "model": MODEL, "provider": "Anthropic", "usage": USAGE,
                      "choices": [{"message": {"content": "SECRET-ANSWER"}}]}).encode()
    corrupt = bytearray(gzip.compress(doc))
    corrupt[-6] ^= 1  # CRC-32 mismatch
    cases = [("br", b"\x8b\x02\x80" + doc, "encoded"), ("gzip", bytes(corrupt), "bad_encoding"),
             ("gzip, zstd", doc, "encoded")]
    for coding, body, why in cases:
        fake.reset()
        fake.script(Script(body=body, headers={"Content-Encoding": coding}))
        r = send(proto, envoy.port, "POST", CHAT, chat(MODEL), headers=ENFORCE)
        assert_local_reply(r, 502, "served_unapproved")
        assert b"SECRET-ANSWER" not in r.body
        rec = one_record(audit_for, r)
        assert rec["response_not_inspected"] == why and rec["provider_verdict"] == "unknown", (coding, rec)
        assert rec["status"] == 502 and rec["upstream_status"] == 200
        # Without enforcement it passes unread, audited as not inspected.
        fake.reset()
        fake.script(Script(body=body, headers={"Content-Encoding": coding}))
        r = send(proto, envoy.port, "POST", CHAT, chat(MODEL))
        assert r.status == 200 and r.body == body and r.header("content-encoding") == coding
        rec = one_record(audit_for, r)
        assert rec["response_inspected"] is False and rec["response_not_inspected"] == why
        assert rec["provider"] is None and rec["total_tokens"] is None


# ---------------------------------------------------------------------------------------------- requests


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("coding", ["gzip", "deflate", "zstd"])
def test_a_compressed_request_is_governed_and_forwarded_decoded(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                proto, coding) -> None:
    body = {"model": "openai/gpt-4o", "input": f"write to {EMAIL} please", "stream": False}
    raw = json.dumps(body).encode()
    sent = compress(coding, raw)
    r = send(proto, envoy.port, "POST", RESPONSES, sent, headers={"content-encoding": coding})
    assert r.status == 200, r.body[:300]
    up = fake.requests[0]
    assert up.header("content-encoding") is None and up.header("content-length") == str(len(up.body))
    assert not up.chunked
    assert up.json()["input"] == "write to [EMAIL] please" and EMAIL.encode() not in up.body
    rec = one_record(audit_for, r)
    assert rec["decision"] == "allow" and f"request_decoded_{coding}" in rec["reasons"]
    assert rec["bytes_in"] == len(sent) and rec["bytes_out"] == len(up.body)
    assert rec["redactions"] == {"EMAIL": {"redact": 1}}


@pytest.mark.parametrize("proto", PROTOS)
def test_a_disallowed_model_inside_a_gzip_body_is_denied_before_the_upstream(envoy: Envoy, fake: FakeOpenRouter,
                                                                             audit_for, proto) -> None:
    sent = gzip.compress(json.dumps(chat("meta-llama/llama-3-70b")).encode())
    r = send(proto, envoy.port, "POST", CHAT, sent, headers={"content-encoding": "gzip"})
    assert_rejected(envoy, fake, audit_for, r, 403, "model_denied")


@pytest.mark.parametrize("proto", PROTOS)
def test_a_decompression_bomb_is_413(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto) -> None:
    doc = json.dumps({"model": MODEL, "input": " " * (4 * MAX_BODY)}).encode()
    for coding in ("gzip", "zstd"):
        sent = compress(coding, doc)
        assert len(sent) < MAX_BODY // 8
        r = send(proto, envoy.port, "POST", RESPONSES, sent, headers={"content-encoding": coding})
        assert_rejected(envoy, fake, audit_for, r, 413, "body_too_large")


@pytest.mark.parametrize("proto", PROTOS)
def test_unknown_stacked_and_corrupt_codings(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto) -> None:
    raw = json.dumps(chat(MODEL)).encode()
    for coding, body in (("br", raw), ("compress", raw), ("gzip, zstd", compress("zstd", gzip.compress(raw)))):
        r = send(proto, envoy.port, "POST", CHAT, body, headers={"content-encoding": coding})
        assert_rejected(envoy, fake, audit_for, r, 415, "unsupported_encoding")
    truncated = gzip.compress(raw)[:-5]
    for coding, body in (("gzip", truncated), ("zstd", raw), ("deflate", b"\x78\x9c" + raw)):
        r = send(proto, envoy.port, "POST", CHAT, body, headers={"content-encoding": coding})
        err = assert_rejected(envoy, fake, audit_for, r, 400, "invalid_encoding")
        assert err["reasons"] == ["invalid_encoding"]


def parse_failures(envoy: Envoy) -> dict[str, float]:
    samples = prometheus(envoy).get("openrouter_guard_parse_failures_total", {})
    return {dict(labels)["kind"]: v for labels, v in samples.items()}


@pytest.mark.parametrize("proto", PROTOS)
def test_bodies_that_do_not_decode_count_as_parse_failures(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                           proto) -> None:
    before = parse_failures(envoy)
    r = send(proto, envoy.port, "POST", CHAT, b"\x1f\x8b\x08\x00garbage", headers={"content-encoding": "gzip"})
    assert_rejected(envoy, fake, audit_for, r, 400, "invalid_encoding")
    fake.script(Script(body=b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}))
    r = send(proto, envoy.port, "POST", CHAT, chat(MODEL))
    assert r.status == 200 and one_record(audit_for, r)["response_not_inspected"] == "bad_encoding"
    after = parse_failures(envoy)
    assert after.get("request", 0) - before.get("request", 0) == 1, (before, after)
    assert after.get("response", 0) - before.get("response", 0) == 1, (before, after)
