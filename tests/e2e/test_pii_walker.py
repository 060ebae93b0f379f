"""How the request walker reads what a downstream reader would read, over HTTP/1.1 and HTTP/2 (attack round 2,
findings 1-5): object keys that redact alike are numbered in linear time; `data:` URLs are read the way a WHATWG
parser (and forgiving base64) reads them, and a payload the filter cannot decode is refused; JSON numbers are
scanned like text; an identifier or signature that carries a credential's mark is scanned."""
from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, forwarded, send

MODEL = "openai/gpt-4o"
PROTOCOLS = ["h1", "h2"]


def post(envoy: Envoy, proto: str, body: Any):  # noqa: ANN201
    return send(proto, envoy.port, "POST", CHAT, body)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_twenty_thousand_keys_redacting_to_one_tag_are_numbered_and_all_forwarded(envoy: Envoy, fake: FakeOpenRouter,
                                                                                  audit_for, proto: str) -> None:
    """Every key is an e-mail, so every key becomes `[EMAIL]`: the later ones are numbered. The old numbering
    scanned a list of names for every candidate (cubic: 1,500 keys held Envoy's worker 10 s); 20,000 keys now
    finish like any body of that size."""
    n = 20_000
    metadata = "{" + ",".join('"u%d@ex.co":%d' % (i, i) for i in range(n)) + "}"
    raw = '{"model":"%s","messages":[{"role":"user","content":"hi"}],"metadata":%s}' % (MODEL, metadata)
    r = post(envoy, proto, raw)
    assert r.status == 200, r.body[:300]
    got, _ = forwarded(fake)
    assert b"@ex.co" not in got
    pairs = json.loads(got, object_pairs_hook=lambda kv: kv)
    sent = dict(dict(pairs)["metadata"])
    assert len(sent) == n, "a key was lost or duplicated"
    assert sent["[EMAIL]"] == 0 and sent["[EMAIL]#2"] == 1 and sent[f"[EMAIL]#{n}"] == n - 1
    [rec] = audit_for(r)
    assert rec["redactions"]["EMAIL"] == {"redact": n}


# --- data: URLs -------------------------------------------------------------------------------------------------

FILE_TEXT = "Patient SSN 123-45-6789, card 4111111111111111, mail jane.doe@example.com, key AKIAIOSFODNN7EXAMPLE.\n"
FILE_SECRETS = ("123-45-6789", "4111111111111111", "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE")
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def file_part(url: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "summarise the attached file"},
        {"type": "file", "file": {"filename": "notes.txt", "file_data": url}}]}]}


def whatwg_body(url: str) -> bytes:
    """The body bytes of a `data:` URL as the WHATWG processor (and forgiving base64) reads them."""
    url = "".join(c for c in url.strip("".join(map(chr, range(33)))) if c not in "\t\n\r")
    header, body = url[5:].split(",", 1)
    body_bytes = urllib.parse.unquote_to_bytes(body)
    if header.strip().lower().replace(" ", "").endswith(";base64"):
        return base64.b64decode(b"".join(body_bytes.split()), validate=True)
    return body_bytes


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def wrapped(payload: str, sep: str) -> str:
    return sep.join(payload[i:i + 76] for i in range(0, len(payload), 76))


DATA_URLS = [
    pytest.param("data:text/plain;base64," + wrapped(b64(FILE_TEXT), "\n"), id="wrapped-lf"),
    pytest.param("data:text/plain;base64," + wrapped(b64(FILE_TEXT), "\r\n"), id="wrapped-crlf"),
    pytest.param("data:text/plain;base64," + wrapped(b64(FILE_TEXT), " "), id="wrapped-space"),
    pytest.param("data:text/plain;BASE64," + b64(FILE_TEXT), id="uppercase-BASE64"),
    pytest.param(" data:text/plain;base64," + b64(FILE_TEXT), id="leading-space"),
    pytest.param("data:text/plain;base64," + b64(FILE_TEXT) + " ", id="trailing-space"),
    pytest.param('data:text/plain;charset="utf-8";base64,' + b64(FILE_TEXT), id="quoted-charset"),
    pytest.param("data:text/plain;base64," + b64(FILE_TEXT + "x").replace("=", "%3D"), id="percent-encoded-padding"),
    pytest.param("data:text/plain," + urllib.parse.quote(FILE_TEXT), id="percent-encoded-text"),
    pytest.param("data:application/octet-stream;base64," + b64(FILE_TEXT), id="text-as-octet-stream"),
    pytest.param("data:image/png;base64," + b64(FILE_TEXT), id="text-as-image"),
]


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("url", DATA_URLS)
def test_data_url_spellings_a_whatwg_reader_accepts_are_decoded_and_redacted(envoy: Envoy, fake: FakeOpenRouter,
                                                                            audit_for, proto: str, url: str) -> None:
    """What a WHATWG `data:` URL reader (browsers, Node's fetch, most SDKs) reads from the URL is what the filter
    scans: the text it decodes reaches the upstream redacted, still a `data:` URL of the same media type."""
    assert any(s.encode() in whatwg_body(url) for s in FILE_SECRETS)
    r = post(envoy, proto, file_part(url))
    assert r.status == 200, r.body[:300]
    _, sent = forwarded(fake)
    got = sent["messages"][0]["content"][1]["file"]["file_data"]
    text = whatwg_body(got).decode()
    for s in FILE_SECRETS:
        assert s not in text, f"{s} reached the upstream inside the data: URL"
    assert "[US_SSN]" in text and "[EMAIL]" in text
    assert got.lower().startswith(url.strip().split(";")[0].split(",")[0].lower())
    [rec] = audit_for(r)
    assert rec["redactions"]["US_SSN"] == {"redact": 1}


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("url", [
    pytest.param("data:text/plain;base64,AAAA my ssn is 123-45-6789", id="text-in-payload"),
    pytest.param("data:text/plain;base64,QQ==" + b64(FILE_TEXT), id="padding-then-more"),
    pytest.param("data:text/plain;base64," + base64.urlsafe_b64encode(b"\xfb\xff" + FILE_TEXT.encode()).decode(),
                 id="url-safe-alphabet"),
    pytest.param("data:text/plain;base64;charset=utf-8," + b64(FILE_TEXT), id="base64-not-last"),
])
def test_a_data_url_marked_base64_that_does_not_decode_is_refused(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                  proto: str, url: str) -> None:
    """Python's b64decode drops bytes outside the alphabet and Node's Buffer.from takes `-`/`_`, so they would read
    text from these; the filter cannot, so nothing is forwarded."""
    r = post(envoy, proto, file_part(url))
    assert_rejected(envoy, fake, audit_for, r, 400, "data_url_unreadable")


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_binary_data_urls_are_forwarded_byte_for_byte(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                      proto: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG_1X1}},
        {"type": "file", "file": {"filename": "a.bin", "file_data": "data:application/octet-stream;base64,"
                                  + base64.b64encode(bytes(range(255, -1, -1)) * 4).decode()}}]}]}
    raw = json.dumps(body).encode()
    r = post(envoy, proto, raw)
    assert r.status == 200, r.body[:300]
    _, sent = forwarded(fake)
    assert sent["messages"] == body["messages"]
    [rec] = audit_for(r)
    assert rec["redactions"] == {}


# --- identifiers and signatures that carry a credential's mark -----------------------------------------------------

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GH_TOKEN = "ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1"
OR_KEY = "sk-or-v1-" + "0123456789abcdef" * 4


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("field,value,tag", [
    ("tool_call_id", "call_" + AWS_KEY, "call_[AWS_ACCESS_KEY]"),
    ("tool_call_id", "call_" + OR_KEY, "call_[OPENROUTER_KEY]"),
    ("id", "msg_" + GH_TOKEN, "msg_[GITHUB_TOKEN]"),
])
def test_a_credential_behind_an_id_prefix_is_redacted_and_real_ids_are_kept(envoy: Envoy, fake: FakeOpenRouter,
                                                                           audit_for, proto: str, field: str,
                                                                           value: str, tag: str) -> None:
    """An id prefix (`call_`, `msg_`) makes a value structure only when no credential's mark follows it."""
    real = "toolu_01A09q90qw90lq917835lq9"
    body = {"model": MODEL, "messages": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": value if field == "tool_call_id" else real, "type": "function",
             "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "ok", "tool_call_id": real, field: value}]}
    r = post(envoy, proto, body)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert value.split("_", 1)[1].encode() not in raw
    assert sent["messages"][1][field] == tag
    if field == "tool_call_id":
        assert sent["messages"][0]["tool_calls"][0]["id"] == tag, "the call and its result keep one id"
    else:
        assert sent["messages"][0]["tool_calls"][0]["id"] == real and sent["messages"][1]["tool_call_id"] == real
    [rec] = audit_for(r)
    assert sum(n for by_action in rec["redactions"].values() for n in by_action.values()) >= 1


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_an_aws_key_inside_a_signature_blob_is_redacted_and_real_signatures_are_kept(envoy: Envoy,
                                                                                    fake: FakeOpenRouter,
                                                                                    proto: str) -> None:
    blob = AWS_KEY + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" + "abcd"
    real = "EqQBCkgIARABGAIiQL2/xz+y" * 4
    body = {"model": MODEL, "messages": [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": blob},
                                          {"type": "thinking", "thinking": "u", "signature": real}]},
        {"role": "user", "content": "hi"}]}
    r = post(envoy, proto, body)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert AWS_KEY.encode() not in raw
    parts = sent["messages"][0]["content"]
    assert parts[0]["signature"].startswith("[AWS_ACCESS_KEY]") and parts[1]["signature"] == real


# --- JSON numbers ----------------------------------------------------------------------------------------------------

CARD, SSN, PHONE = 4111111111111111, 123456789, 14155550132


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_numbers_in_tool_call_arguments_are_redacted_like_the_same_json_as_tool_content(envoy: Envoy,
                                                                                        fake: FakeOpenRouter,
                                                                                        audit_for,
                                                                                        proto: str) -> None:
    args = json.dumps({"card": CARD, "ssn": SSN, "phone": PHONE, "quantity": 2})
    body = {"model": MODEL, "messages": [
        {"role": "user", "content": "pay my bill"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "pay", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": args}]}
    r = post(envoy, proto, body)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    for n in (CARD, SSN, PHONE):
        assert str(n).encode() not in raw
    arguments = json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"card": "[CREDIT_CARD]", "ssn": "[US_SSN]", "phone": "[PHONE]", "quantity": 2}
    [rec] = audit_for(r)
    assert rec["redactions"]["CREDIT_CARD"] == {"redact": 2} and rec["redactions"]["US_SSN"] == {"redact": 2}


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_numbers_in_tool_and_response_schemas_are_redacted_and_other_numbers_kept(envoy: Envoy,
                                                                                 fake: FakeOpenRouter,
                                                                                 proto: str) -> None:
    body = {"model": MODEL, "max_tokens": 1000, "temperature": 0.5,
            "messages": [{"role": "user", "content": "charge the card on file"}],
            "tools": [{"type": "function", "function": {"name": "charge", "parameters": {
                "type": "object", "properties": {"card": {"type": "integer", "enum": [CARD], "default": CARD}}}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {
                "type": "object", "properties": {"ssn": {"const": SSN}, "card": {"examples": [CARD]}}}}},
            "metadata": {"order": 123456789, "ts": 1733220000}}
    r = post(envoy, proto, body)
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert str(CARD).encode() not in raw
    card = sent["tools"][0]["function"]["parameters"]["properties"]["card"]
    assert card["enum"] == ["[CREDIT_CARD]"] and card["default"] == "[CREDIT_CARD]"
    props = sent["response_format"]["json_schema"]["schema"]["properties"]
    assert props == {"ssn": {"const": "[US_SSN]"}, "card": {"examples": ["[CREDIT_CARD]"]}}
    assert sent["metadata"] == body["metadata"] and sent["max_tokens"] == 1000 and sent["temperature"] == 0.5
