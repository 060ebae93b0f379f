"""Personal data and secrets outside the body (attack round 4, finding 1), through real Envoy, HTTP/1.1 and HTTP/2.

OpenRouter stores the app-attribution headers (`HTTP-Referer`, `X-Title`) and shows them on its public app pages;
every other header and the query string reach its logs. Before this round an e-mail in `X-Title` or a key in
`?note=` went upstream unread. Now every forwarded header value (but the credential, framing, trace ids,
`user-agent`) and each query name and value are scanned with the profile's request engine: redacted in place,
counted in the audit record, or refused with 403 `pii_blocked`."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import hashlib
import json
import uuid

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, chat, send
from wire import H1Conn, H2Conn

EMAIL = "jane.header@example.org"
KEY = "sk-or-v1-" + "5e2a9c7d0b13f4a6" * 4
PROFILE_HEADER = "x-data-classification"
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "profile_header": PROFILE_HEADER,
    "user_header": "x-user-id",
    "default_profile": "redact",
    "profiles": {
        "redact": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}],
                   "pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "SECRETS": "redact"}}},
        "block": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}],
                  "pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "SECRETS": "block"}}},
        "ipblock": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}],
                    "pii": {"builtin_defaults": False, "entities": {"IP_ADDRESS": "block", "SECRETS": "block"}}},
    },
}
PROTOS = ["h1", "h2"]
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def assert_no_planted_value_logged(envoy: Envoy) -> None:
    logs = envoy.audit_path.read_text() + envoy.stdout_text() + envoy.stderr_text()
    assert EMAIL not in logs and KEY not in logs and quote(EMAIL) not in logs


@pytest.mark.parametrize("proto", PROTOS)
def test_header_values_and_query_are_redacted_before_the_upstream(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                                 proto: str) -> None:
    path = f"{CHAT}?app=notes&note=mail+{quote(EMAIL)}&k={KEY}"
    hdrs = {"X-Title": f"Notes for {EMAIL}", "HTTP-Referer": f"https://notes.example/u/{quote(EMAIL)}",
            "x-customer-key": KEY, "authorization": f"Bearer {KEY}", "x-user-id": "alice", "user-agent": UA}
    r = send(proto, envoy.port, "POST", path, chat(), headers=hdrs)
    assert r.status == 200, r.body[:300]
    [up] = fake.requests
    assert up.path == f"{CHAT}?app=notes&note=mail%20%5BEMAIL%5D&k=%5BOPENROUTER_KEY%5D"
    assert up.header("x-title") == "Notes for [EMAIL]"
    assert up.header("http-referer") == "https://notes.example/u/[EMAIL]"
    assert up.header("x-customer-key") == "[OPENROUTER_KEY]"
    # The credential OpenRouter needs and the client's software name pass as sent; the user header is removed.
    assert up.header("authorization") == f"Bearer {KEY}" and up.header("user-agent") == UA
    assert up.header("x-user-id") is None
    assert EMAIL not in up.path + repr(up.headers) and quote(EMAIL) not in up.path + repr(up.headers)
    [rec] = audit_for(r)
    assert rec["decision"] == "allow" and rec["redactions"] == {"EMAIL": {"redact": 3}, "OPENROUTER_KEY": {"redact": 2}}
    assert_no_planted_value_logged(envoy)


@pytest.mark.parametrize("proto", PROTOS)
def test_header_findings_are_counted_with_the_body_findings(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                           proto: str) -> None:
    body = {"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": f"Mail {EMAIL}"}]}
    r = send(proto, envoy.port, "POST", CHAT, body, headers={"X-Title": f"For {EMAIL}"})
    assert r.status == 200
    [up] = fake.requests
    assert up.header("x-title") == "For [EMAIL]" and up.json()["messages"][0]["content"] == "Mail [EMAIL]"
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"redact": 2}}


@pytest.mark.parametrize("proto", PROTOS)
def test_bodyless_get_has_its_query_redacted(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str) -> None:
    r = send(proto, envoy.port, "GET", f"/api/v1/models?owner={quote(EMAIL)}", content_type=None)
    assert r.status == 200
    [up] = fake.requests
    assert up.path == "/api/v1/models?owner=%5BEMAIL%5D"
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"redact": 1}}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("where", ["header", "query"])
def test_a_blocked_secret_outside_the_body_refuses_the_request(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                               proto: str, where: str) -> None:
    hdrs = {PROFILE_HEADER: "block"}
    path = CHAT
    if where == "header":
        hdrs["X-Title"] = f"debug {KEY}"
    else:
        path = f"{CHAT}?debug={KEY}"
    r = send(proto, envoy.port, "POST", path, chat(), headers=hdrs)
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "pii_blocked", decision="deny")
    assert rec["redactions"] == {"OPENROUTER_KEY": {"block": 1}}
    assert KEY not in r.body.decode("latin-1")
    assert_no_planted_value_logged(envoy)


@pytest.mark.parametrize("proto", PROTOS)
def test_ordinary_sdk_headers_and_queries_pass_unchanged(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                         proto: str) -> None:
    hdrs = {"user-agent": UA, "x-stainless-os": "Linux", "x-stainless-runtime-version": "3.11.4",
            "x-stainless-package-version": "1.54.0", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "X-Title": "Support Copilot", "HTTP-Referer": "https://support.example.com/app?tab=2"}
    path = f"{CHAT}?a=1&b=two+words&c=%zz"
    r = send(proto, envoy.port, "POST", path, chat(), headers=hdrs)
    assert r.status == 200
    [up] = fake.requests
    assert up.path == path
    for k, v in hdrs.items():
        assert up.header(k) == v, k
    [rec] = audit_for(r)
    assert rec["redactions"] in (None, {}), rec["redactions"]


@pytest.mark.parametrize("proto", PROTOS)
def test_a_latin1_header_is_read_as_latin1_and_redacted(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                        proto: str) -> None:
    """`X-Title: Caf\\xe9 <e-mail>` (Python's http.client sends Latin-1; Node reads it so) is not UTF-8: it passed
    unread. Now it is read as Latin-1, and redacted it goes upstream as UTF-8 text."""
    rid = f"e2e-latin1-{uuid.uuid4()}"
    hdrs: list[tuple[str, str | bytes]] = [("x-request-id", rid), ("content-type", "application/json"),
                                           ("x-title", b"Caf\xe9 " + EMAIL.encode())]
    body = json.dumps(chat()).encode()
    if proto == "h1":
        with H1Conn(envoy.port) as c:
            r = c.request("POST", CHAT, [("host", "openrouter.ai"), *hdrs], body, framing="length")
    else:
        with H2Conn(envoy.port) as c:
            r = c.request("POST", CHAT, "openrouter.ai", hdrs, data=[body])
    assert r.status == 200, r.body[:300]
    [up] = fake.requests
    assert up.header("x-title") == "Caf\u00c3\u00a9 [EMAIL]"  # UTF-8 bytes of "Café [EMAIL]", read back as Latin-1
    assert envoy.wait_logged(rid)
    [rec] = [x for x in envoy.audit_records() if x.get("request_id") == rid]
    assert rec["redactions"] == {"EMAIL": {"redact": 1}} and "header_not_utf8_passed" in rec["reasons"]


@pytest.mark.parametrize("proto", PROTOS)
def test_client_address_headers_are_not_scanned(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str) -> None:
    """Every real request behind a proxy carries its client's address in x-forwarded-for (and kin): it was found as
    IP_ADDRESS, so `IP_ADDRESS: block` refused every non-loopback client. The shipped config removes these headers
    after the router (tools/envoy_config.py STRIPPED_REQUEST_HEADERS), so they are not scanned; a browser's user
    agent (`Chrome/120.0.0.0`) is scanned without IP_ADDRESS and passes unchanged."""
    hdrs = {PROFILE_HEADER: "ipblock", "x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.7",
            "forwarded": "for=203.0.113.7", "user-agent": UA, "sec-ch-ua-full-version-list": '"Chromium";v="120.0.6099.109"'}
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers=hdrs)
    assert r.status == 200, r.body[:300]
    [up] = fake.requests
    # Removed after the router: the upstream never sees the client's address.
    assert up.header("x-forwarded-for") is None and up.header("x-real-ip") is None and up.header("forwarded") is None
    assert up.header("user-agent") == UA and up.header("sec-ch-ua-full-version-list") == hdrs["sec-ch-ua-full-version-list"]
    [rec] = audit_for(r)
    assert rec["decision"] == "allow" and rec["redactions"] in (None, {}), rec["redactions"]
    # Anywhere else the address is still found.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers={PROFILE_HEADER: "ipblock", "x-client": "203.0.113.7"})
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "pii_blocked", decision="deny")
    assert rec["redactions"] == {"IP_ADDRESS": {"block": 1}}


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_in_the_user_agent_is_blocked(envoy: Envoy, fake: FakeOpenRouter, audit_for, proto: str) -> None:
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers={PROFILE_HEADER: "block", "user-agent": f"{UA} {KEY}"})
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "pii_blocked", decision="deny")
    assert rec["redactions"] == {"OPENROUTER_KEY": {"block": 1}}
    assert_no_planted_value_logged(envoy)


@pytest.mark.parametrize("proto", PROTOS)
def test_a_key_in_the_request_id_is_recorded_and_forwarded_as_its_hash(envoy: Envoy, fake: FakeOpenRouter,
                                                                       proto: str) -> None:
    """`sk-or-v1-<hex>` fits the request-id grammar, so it was forwarded and recorded verbatim. Now the secrets scan
    finds it: the audit record, Envoy's log and the upstream get `sha256-<hex>` instead (docs/pii.md)."""
    rid = KEY[:-8] + uuid.uuid4().hex[:8]
    hashed = "sha256-" + hashlib.sha256(rid.encode()).hexdigest()
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers={PROFILE_HEADER: "block", "x-request-id": rid})
    assert r.status == 200, r.body[:300]
    [up] = fake.requests
    assert up.header("x-request-id") == hashed
    assert envoy.wait_logged(hashed)
    [rec] = [x for x in envoy.audit_records() if x.get("request_id") == hashed]
    assert rec["decision"] == "allow"
    logs = envoy.audit_path.read_text() + envoy.stdout_text() + envoy.stderr_text()
    assert rid not in logs


# ---------------------------------------------------------------------------------------------- token ids (finding 2)

EMBED = "/api/v1/embeddings"
COMPLETIONS = "/api/v1/completions"
TOKEN_POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "profile_header": PROFILE_HEADER,
    "default_profile": "redact",
    "profiles": {
        "redact": {"models": [{"allow": "openai/*"}, {"deny": "*"}], "pii": {"entities": {"EMAIL": "redact"}}},
        "nopii": {"models": [{"allow": "openai/*"}, {"deny": "*"}], "pii": {"enabled": False}},
    },
}
# "jane.header@example.org" in o200k_base ids (any ids serve: the filter cannot read them either way).
IDS = [73, 1395, 13, 6083, 31, 18582, 2238]


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("path,body", [
    (EMBED, {"model": "openai/text-embedding-3-small", "input": IDS}),
    (EMBED, {"model": "openai/text-embedding-3-small", "input": [IDS, [12]]}),
    (COMPLETIONS, {"model": "openai/gpt-4o-mini", "prompt": IDS, "max_tokens": 5}),
], ids=["embed-ids", "embed-id-lists", "completion-ids"])
def test_token_ids_are_refused_where_pii_is_scanned(envoy_factory, fake: FakeOpenRouter, proto: str, path: str,
                                                    body: dict[str, Any]) -> None:
    """LangChain's OpenAIEmbeddings tokenizes with tiktoken and sends ids: text the PII engine cannot read. They
    were forwarded unread; now 400 token_input_unreadable under a pii profile, forwarded where pii is off."""
    env = envoy_factory(TOKEN_POLICY)
    r = send(proto, env.port, "POST", path, body)
    assert r.status == 400 and r.json()["error"]["reason"] == "token_input_unreadable", r.body[:300]
    assert fake.requests == []
    assert env.wait_logged(r.rid)
    [rec] = [x for x in env.audit_records() if x.get("request_id") == r.rid]
    assert rec["decision"] == "reject" and "token_input_unreadable" in rec["reasons"]
    r = send(proto, env.port, "POST", path, body, headers={PROFILE_HEADER: "nopii"})
    assert r.status == 200 and len(fake.requests) == 1


@pytest.mark.parametrize("proto", PROTOS)
def test_text_inputs_still_pass_and_are_redacted(envoy_factory, fake: FakeOpenRouter, proto: str) -> None:
    env = envoy_factory(TOKEN_POLICY)
    body = {"model": "openai/text-embedding-3-small", "input": ["plain text", f"mail {EMAIL}"]}
    r = send(proto, env.port, "POST", EMBED, body)
    assert r.status == 200
    assert fake.requests[0].json()["input"] == ["plain text", "mail [EMAIL]"]
