"""PII and secret redaction through real Envoy: which fields of each endpoint are scanned, what every action
does to what the upstream receives, evasion through JSON escapes and Unicode, custom patterns, dictionaries and
the allow-list, and bad PII configuration refusing start-up. Planted values must never reach a log."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from harness.client import Resp
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected

MODEL = "anthropic/claude-3.5-sonnet"
PSEUDONYM_KEY = "e2e-pseudonym-key-0123456789"
PROFILE_HEADER = "x-data-classification"
REDACT_ALL = {e: "redact" for e in ("EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "SECRETS")}
MODELS = [{"allow": "anthropic/*"}, {"deny": "*"}]
PROVIDER = {"allow_fallbacks": False, "data_collection": "deny"}


def _profile(pii: dict[str, Any]) -> dict[str, Any]:
    return {"models": MODELS, "provider": PROVIDER, "max_tokens": 1000, "pii": pii}


POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "unknown_endpoints": "scan",  # test_unknown_endpoint_scans_every_string_but_routing_fields
    "profile_header": PROFILE_HEADER,
    "default_profile": "redact",
    "pseudonym_key": PSEUDONYM_KEY,
    "profiles": {
        "redact": _profile({
            "builtin_defaults": False,
            "entities": REDACT_ALL,
            "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"}],
            "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar"]}],
            "allow": ["support@example.com"],
        }),
        "hash": _profile({"entities": {"EMAIL": "hash", "PHONE": "hash"}}),
        "block": _profile({"entities": {"US_SSN": "block", "OPENROUTER_KEY": "block"}}),
        "flag": _profile({"builtin_defaults": False, "entities": {"EMAIL": "flag", "CREDIT_CARD": "flag"}}),
    },
}

# Every value planted by this module; none may appear in the audit log or Envoy's output.
PLANTED: set[str] = set()


# ---------------------------------------------------------------------------------------------- planted values


class Plant:
    """Distinct, valid values of each entity type, remembered with their placeholder."""

    def __init__(self) -> None:
        self.n = 0
        self.expect: dict[str, str] = {}  # value -> placeholder

    def _add(self, value: str, entity: str) -> str:
        assert value not in self.expect
        self.expect[value] = f"[{entity}]"
        PLANTED.add(value)
        return value

    def _next(self) -> int:
        self.n += 1
        return self.n

    def email(self, tag: str) -> str:
        return self._add(f"alice.{tag}.{self._next()}@example.com", "EMAIL")

    def phone(self) -> str:
        return self._add(f"415-555-{100 + self._next():04d}", "PHONE")

    def ssn(self) -> str:
        return self._add(f"123-45-{6700 + self._next():04d}", "US_SSN")

    def card(self) -> str:
        return self._add(luhn_card(self._next()), "CREDIT_CARD")

    def iban(self) -> str:
        return self._add(gb_iban(self._next()), "IBAN")

    def ip(self) -> str:
        return self._add(f"203.0.113.{10 + self._next()}", "IP_ADDRESS")

    def or_key(self) -> str:
        return self._add(or_key(f"plant-{self._next()}"), "OPENROUTER_KEY")

    def aws_key(self) -> str:
        return self._add(f"AKIA{self._next():016d}", "AWS_ACCESS_KEY")

    def github_token(self) -> str:
        return self._add(f"ghp_{hashlib.sha1(str(self._next()).encode()).hexdigest()[:36]}", "GITHUB_TOKEN")

    def apply(self, raw: bytes) -> bytes:
        """The raw body with every planted value replaced by its placeholder (values are plain ASCII)."""
        out = raw.decode()
        for value, placeholder in self.expect.items():
            out = out.replace(value, placeholder)
        return out.encode()

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for placeholder in self.expect.values():
            entity = placeholder[1:-1]
            out.setdefault(entity, {"redact": 0})["redact"] += 1
        return out


def luhn_card(n: int) -> str:
    """A 16-digit Visa number (IIN 4) with a valid Luhn check digit, grouped 4-4-4-4."""
    body = f"4{539_000_000_000 + n * 7919:014d}"[:15]
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    digits = body + str((10 - total % 10) % 10)
    return " ".join(digits[i:i + 4] for i in range(0, 16, 4))


def gb_iban(n: int) -> str:
    """A valid GB IBAN (mod-97 check digits), grouped by 4."""
    bban = f"WEST123456{n:08d}"
    numeric = "".join(str(int(c, 36)) for c in bban + "GB00")
    iban = f"GB{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def or_key(seed: str) -> str:
    return "sk-or-v1-" + hashlib.sha256(seed.encode()).hexdigest()


def pseudonym(entity: str, canonical: str) -> str:
    """The filter's `hash` token: HMAC-SHA-256(key, ENTITY NUL canonical value), first 12 hex digits."""
    mac = hmac.new(PSEUDONYM_KEY.encode(), entity.encode() + b"\0" + canonical.encode(), hashlib.sha256)
    return f"[{entity}:{mac.hexdigest()[:12]}]"


# ---------------------------------------------------------------------------------------------- helpers


def post(envoy: Envoy, path: str, body: Any, profile: str | None = None) -> Resp:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {PROFILE_HEADER: profile} if profile else {}
    return envoy.http("POST", path, raw, headers=headers)


def upstream(fake: FakeOpenRouter) -> bytes:
    reqs = fake.requests
    assert len(reqs) == 1, f"upstream received {len(reqs)} requests"
    rec = reqs[0]
    assert rec.header("content-length") == str(len(rec.body)), rec.headers
    return rec.body


def without_injected(sent: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """`sent` without the top-level fields the filter adds (provider, token cap) that the client did not send."""
    return {k: v for k, v in sent.items() if k in original}


def assert_redacted_in_transit(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, path: str, body: dict[str, Any],
                               plant: Plant) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sends `body`; the upstream must get exactly the original bytes with each planted value replaced by its
    placeholder (plus the filter's own top-level inserts at the front), valid JSON of the same shape; the audit
    record counts each entity once per planted value. Returns (upstream doc, audit record)."""
    raw = json.dumps(body).encode()
    r = post(envoy, path, raw)
    assert r.status == 200, r.body[:300]
    got = upstream(fake)
    for value in plant.expect:
        assert value.encode() not in got, f"{value!r} reached the upstream"
    expected_raw = plant.apply(raw)
    # Splicing only: everything but the redacted string tokens (and the inserted fields) is byte-identical.
    assert got.endswith(expected_raw[1:]) and got.startswith(b"{"), (got, expected_raw)
    sent = json.loads(got)
    assert without_injected(sent, body) == json.loads(expected_raw)
    [rec] = audit_for(r)
    assert rec["decision"] == "allow" and rec["profile"] == "redact"
    assert rec["redactions"] == plant.counts(), rec["redactions"]
    return sent, rec


# ---------------------------------------------------------------------------------------------- 1. every endpoint


def test_chat_completions_every_text_field_is_redacted(envoy, fake, audit_for) -> None:
    p = Plant()
    args = {"to": p.email("args"), "body": f"wire to {p.iban()}", "count": 3, "urgent": True, "cc": None}
    body = {
        "model": MODEL,
        "temperature": 0.25,
        "seed": 12345,
        "messages": [
            {"role": "system", "content": f"Operator {p.email('system')} on {p.phone()}."},
            {"role": "user", "name": f"from {p.email('name')}",
             "content": [{"type": "text", "text": f"card {p.card()} ssn {p.ssn()}"},
                         {"type": "image_url",
                          "image_url": {"url": "https://img.example.net/a.png", "detail": "low"}}]},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "call_abc123", "type": "function",
                             "function": {"name": "send_mail", "arguments": json.dumps(args)}}]},
            {"role": "tool", "tool_call_id": "call_abc123", "content": f"sent to {p.email('tool')} via {p.ip()}"},
            {"role": "user", "content": f"use key {p.or_key()} and {p.aws_key()} and {p.github_token()}"},
        ],
        "tools": [{"type": "function", "function": {
            "name": "send_mail", "description": f"Sends mail; admin is {p.email('tooldesc')}",
            "parameters": {"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}}],
    }
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, CHAT, body, p)
    msgs = sent["messages"]
    assert msgs[0]["content"].startswith("Operator [EMAIL] on [PHONE]")
    assert msgs[1]["name"] == "from [EMAIL]"
    assert msgs[1]["content"][0]["text"] == "card [CREDIT_CARD] ssn [US_SSN]"
    inner = json.loads(msgs[2]["tool_calls"][0]["function"]["arguments"])  # still valid JSON
    assert inner == {"to": "[EMAIL]", "body": "wire to [IBAN]", "count": 3, "urgent": True, "cc": None}
    assert msgs[3]["content"] == "sent to [EMAIL] via [IP_ADDRESS]"
    assert msgs[4]["content"] == "use key [OPENROUTER_KEY] and [AWS_ACCESS_KEY] and [GITHUB_TOKEN]"
    assert sent["tools"][0]["function"]["description"] == "Sends mail; admin is [EMAIL]"
    assert sent["temperature"] == 0.25 and sent["seed"] == 12345 and sent["model"] == MODEL
    assert msgs[2]["tool_calls"][0]["id"] == "call_abc123" and msgs[3]["tool_call_id"] == "call_abc123"


@pytest.mark.parametrize("shape", ["string", "array"])
def test_completions_prompt_is_redacted(envoy, fake, audit_for, shape) -> None:
    p = Plant()
    prompt: Any = (f"Reply to {p.email('prompt')} re {p.card()}" if shape == "string"
                   else [f"Reply to {p.email('prompt0')}", f"ssn {p.ssn()} key {p.or_key()}"])
    body = {"model": MODEL, "prompt": prompt, "suffix": f"cc {p.email('suffix')}", "temperature": 0}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/completions", body, p)
    assert sent["suffix"] == "cc [EMAIL]"


def test_responses_input_string_and_instructions_are_redacted(envoy, fake, audit_for) -> None:
    p = Plant()
    body = {"model": MODEL, "input": f"Email {p.email('input')} about {p.iban()}",
            "instructions": f"Escalate to {p.email('instr')} or {p.phone()}", "max_output_tokens": 100}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/responses", body, p)
    assert sent["instructions"] == "Escalate to [EMAIL] or [PHONE]"
    assert sent["max_output_tokens"] == 100


def test_responses_input_items_with_content_parts_are_redacted(envoy, fake, audit_for) -> None:
    p = Plant()
    body = {"model": MODEL, "input": [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": f"I am {p.email('item')} at {p.ip()}"}]},
        {"type": "function_call", "call_id": "call_77", "name": "lookup",
         "arguments": json.dumps({"q": p.email("fcall")})},
        {"type": "function_call_output", "call_id": "call_77", "output": f"card {p.card()}"},
    ]}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/responses", body, p)
    assert sent["input"][0]["content"][0]["text"] == "I am [EMAIL] at [IP_ADDRESS]"
    assert json.loads(sent["input"][1]["arguments"]) == {"q": "[EMAIL]"}
    assert sent["input"][1]["call_id"] == "call_77"


@pytest.mark.parametrize("system_shape", ["string", "blocks"])
def test_messages_system_and_content_blocks_are_redacted(envoy, fake, audit_for, system_shape) -> None:
    p = Plant()
    system: Any = (f"Admin {p.email('sys')}" if system_shape == "string"
                   else [{"type": "text", "text": f"Admin {p.email('sysblock')}",
                          "cache_control": {"type": "ephemeral"}}])
    body = {"model": MODEL, "max_tokens": 50, "system": system, "messages": [
        {"role": "user", "content": [{"type": "text", "text": f"ssn {p.ssn()} phone {p.phone()}"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Looking it up."},
            {"type": "tool_use", "id": "toolu_01A", "name": "lookup",
             "input": {"email": p.email("tooluse"), "limit": 5, "nested": {"card": p.card()}}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A",
             "content": [{"type": "text", "text": f"found {p.email('toolres')}"}]},
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": f"key {p.or_key()}"}]},
    ]}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/messages", body, p)
    blocks = sent["messages"][1]["content"]
    assert blocks[1]["input"] == {"email": "[EMAIL]", "limit": 5, "nested": {"card": "[CREDIT_CARD]"}}
    assert blocks[1]["id"] == "toolu_01A" and sent["messages"][2]["content"][0]["tool_use_id"] == "toolu_01A"
    assert sent["max_tokens"] == 50


@pytest.mark.parametrize("shape", ["string", "array"])
def test_embeddings_input_is_redacted(envoy, fake, audit_for, shape) -> None:
    p = Plant()
    inp: Any = (f"profile of {p.email('emb')}" if shape == "string"
                else [f"profile of {p.email('emb0')}", f"account {p.iban()}", "plain text"])
    body = {"model": MODEL, "input": inp, "dimensions": 256, "encoding_format": "float"}
    assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/embeddings", body, p)


def test_rerank_query_and_documents_are_redacted(envoy, fake, audit_for) -> None:
    p = Plant()
    body = {"model": MODEL, "query": f"who is {p.email('query')}", "top_n": 2,
            "documents": [f"{p.email('doc0')} works here", "nothing here", f"call {p.phone()}"]}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/rerank", body, p)
    assert sent["documents"][1] == "nothing here" and sent["top_n"] == 2


def test_unknown_endpoint_scans_every_string_but_routing_fields(envoy, fake, audit_for) -> None:
    p = Plant()
    body = {"model": MODEL, "note": f"ping {p.email('other')}",
            "nested": {"deep": [f"card {p.card()}", 42, {"k": f"key {p.or_key()}", "flag": False}]},
            "list": [f"{p.ip()} down", 1.5]}
    sent, _ = assert_redacted_in_transit(envoy, fake, audit_for, "/api/v1/something", body, p)
    assert sent["nested"]["deep"][0] == "card [CREDIT_CARD]" and sent["list"] == ["[IP_ADDRESS] down", 1.5]


# ---------------------------------------------------------------------------------------------- 2. every action


def _chat_with(text: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}]}


def _hashed_text(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, text: str) -> tuple[str, dict[str, Any]]:
    fake.reset()
    r = post(envoy, CHAT, _chat_with(text), profile="hash")
    assert r.status == 200, r.body[:300]
    got = upstream(fake)
    [rec] = audit_for(r)
    return json.loads(got)["messages"][0]["content"], rec


def test_hash_gives_stable_keyed_pseudonyms(envoy, fake, audit_for) -> None:
    a, b = "bob.hash.e2e@example.com", "carol.hash.e2e@example.com"
    PLANTED.update([a, b, a.upper(), "415-555-0177"])
    first, rec = _hashed_text(envoy, fake, audit_for, f"mail {a} or {b}")
    tok_a, tok_b = pseudonym("EMAIL", a), pseudonym("EMAIL", b)
    assert first == f"mail {tok_a} or {tok_b}"
    assert tok_a != tok_b
    assert rec["redactions"] == {"EMAIL": {"hash": 2}} and rec["profile"] == "hash"
    # Same address in another request (any case) maps to the same token; phone canonicalised to digits.
    second, rec = _hashed_text(envoy, fake, audit_for, f"again {a.upper()}, call (415) 555-0177")
    assert second == f"again {tok_a}, call {pseudonym('PHONE', '4155550177')}"
    assert rec["redactions"] == {"EMAIL": {"hash": 1}, "PHONE": {"hash": 1}}
    for raw in (first, second):
        assert a not in raw.lower() and b not in raw.lower()


def test_hash_profile_keeps_default_redaction_for_other_entities(envoy, fake, audit_for) -> None:
    key = or_key("hash-profile")
    PLANTED.add(key)
    text, rec = _hashed_text(envoy, fake, audit_for, f"key {key}")
    assert text == "key [OPENROUTER_KEY]"
    assert rec["redactions"] == {"OPENROUTER_KEY": {"redact": 1}}


@pytest.mark.parametrize("where", ["content", "tool_arguments", "late_field"])
def test_block_refuses_the_request_naming_only_the_entity(envoy, fake, audit_for, where) -> None:
    ssn = {"content": "219-09-9991", "tool_arguments": "219-09-9992", "late_field": "219-09-9993"}[where]
    PLANTED.add(ssn)
    email = f"dave.block.{where}@example.com"
    PLANTED.add(email)
    body: dict[str, Any] = _chat_with(f"mail {email}, ssn {ssn}")
    if where == "tool_arguments":
        body["messages"] = [
            {"role": "user", "content": f"mail {email}"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                "name": "f", "arguments": json.dumps({"ssn": ssn})}}]}]
    elif where == "late_field":
        body["messages"] = [{"role": "user", "content": f"mail {email}"}]
        body["tools"] = [{"type": "function", "function": {"name": "f", "description": f"ssn {ssn}"}}]
    r = post(envoy, CHAT, body, profile="block")
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "pii_blocked")
    assert "US_SSN" in r.json()["error"]["message"]
    assert ssn.encode() not in r.body and email.encode() not in r.body and b"219" not in r.body
    assert rec["redactions"]["US_SSN"] == {"block": 1} and rec["profile"] == "block"


def test_block_on_a_secret_names_its_type(envoy, fake, audit_for) -> None:
    key = or_key("block-me")
    PLANTED.add(key)
    r = post(envoy, CHAT, _chat_with(f"my key is {key}"), profile="block")
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "pii_blocked")
    assert "OPENROUTER_KEY" in r.json()["error"]["message"] and key[9:].encode() not in r.body
    assert rec["redactions"] == {"OPENROUTER_KEY": {"block": 1}}


def test_flag_forwards_byte_identical_and_counts(envoy, fake, audit_for) -> None:
    email, card = "erin.flag.e2e@example.com", luhn_card(901)
    PLANTED.update([email, card])
    body = {"model": MODEL, "max_tokens": 10,
            "messages": [{"role": "user", "content": f"mail {email}, card {card}, again {email}"}]}
    raw = json.dumps(body).encode()
    r = post(envoy, CHAT, raw, profile="flag")
    assert r.status == 200
    got = upstream(fake)
    assert got.endswith(raw[1:]) and json.loads(got)["messages"] == body["messages"]
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"flag": 2}, "CREDIT_CARD": {"flag": 1}}
    assert rec["decision"] == "allow"


# ---------------------------------------------------------------------------------------------- 3. evasion


def _one_content(envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, raw: bytes) -> tuple[str, bytes, dict]:
    r = post(envoy, CHAT, raw)
    assert r.status == 200, r.body[:300]
    got = upstream(fake)
    [rec] = audit_for(r)
    return json.loads(got)["messages"][0]["content"], got, rec


def test_json_unicode_escapes_do_not_hide_an_email(envoy, fake, audit_for) -> None:
    PLANTED.add("frank.esc@example.com")
    raw = (b'{"model":"' + MODEL.encode() + b'","messages":[{"role":"user","content":'
           b'"mail frank.esc\\u0040example\\u002ecom now"}]}')
    content, got, rec = _one_content(envoy, fake, audit_for, raw)
    assert content == "mail [EMAIL] now"
    assert b"frank" not in got and rec["redactions"] == {"EMAIL": {"redact": 1}}


def test_zero_width_characters_inside_an_email_and_a_key_are_redacted_whole(envoy, fake, audit_for) -> None:
    key = or_key("zw")
    PLANTED.update(["grace.zw@example.com", key, key[9:41]])
    zw_key = "\u200d".join(key)
    text = f"mail gr\u200bace.zw@exam\u00adple.com\u2060 and {zw_key}!"
    # Once as raw UTF-8, once as \\u escapes.
    for raw in (json.dumps(_chat_with(text), ensure_ascii=False).encode(), json.dumps(_chat_with(text)).encode()):
        fake.reset()
        content, got, rec = _one_content(envoy, fake, audit_for, raw)
        assert content in ("mail [EMAIL] and [OPENROUTER_KEY]!", "mail [EMAIL]\u2060 and [OPENROUTER_KEY]!"), content
        assert "race" not in content and "\u200b" not in content and "\u200d" not in content
        assert rec["redactions"] == {"EMAIL": {"redact": 1}, "OPENROUTER_KEY": {"redact": 1}}
        assert json.loads(got)["messages"][0]["role"] == "user"


def test_fullwidth_digits_in_a_card_and_tag_characters_in_a_key_are_redacted(envoy, fake, audit_for) -> None:
    card = luhn_card(77)
    PLANTED.add(card)
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in card)
    aws = "AKIA\U000E0041IOSFODNN7EXAMPLE"  # tag character: a surrogate pair in JSON
    text = f"card {wide} key {aws}."
    content, got, rec = _one_content(envoy, fake, audit_for, json.dumps(_chat_with(text)).encode())
    assert content == "card [CREDIT_CARD] key [AWS_ACCESS_KEY].", content
    assert rec["redactions"] == {"CREDIT_CARD": {"redact": 1}, "AWS_ACCESS_KEY": {"redact": 1}}
    assert "\uff14" not in got.decode() and b"\\uff14" not in got and b"IOSFODNN" not in got


# ------------------------------------------------------------------------------------- 4. custom, dictionary, allow


def test_custom_pattern_dictionary_and_allow_list(envoy, fake, audit_for) -> None:
    PLANTED.update(["EMP-123456", "henry.allow@example.com"])
    text = ("EMP-123456 on project blue heron (NIGHTJAR), not nightjars or EMP-12345; "
            "write support@example.com or henry.allow@example.com, Support@Example.COM too")
    content, got, rec = _one_content(envoy, fake, audit_for, json.dumps(_chat_with(text)).encode())
    assert content == ("[EMPLOYEE_ID] on project [CODENAME] ([CODENAME]), not nightjars or EMP-12345; "
                       "write support@example.com or [EMAIL], Support@Example.COM too")
    assert rec["redactions"] == {"EMPLOYEE_ID": {"redact": 1}, "CODENAME": {"redact": 2}, "EMAIL": {"redact": 1}}


# ---------------------------------------------------------------------------------------------- 5. clean bodies


CLEAN = ("Summarise release 1.2.3.4 from 2024-08-06: it costs $1,234.56, fixes ticket 12345 and issue #9876, "
         "uses sk-learn 1.5 and runs at 10:30. Grüße ✓")


@pytest.mark.parametrize("path,body", [
    (CHAT, {"model": MODEL, "provider": PROVIDER, "max_tokens": 100,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": CLEAN}]}),
    ("/api/v1/responses", {"model": MODEL, "input": CLEAN, "instructions": "Be brief."}),
    ("/api/v1/messages", {"model": MODEL, "max_tokens": 10, "system": "Be brief.",
                          "messages": [{"role": "user", "content": [{"type": "text", "text": CLEAN}]}]}),
    ("/api/v1/embeddings", {"model": MODEL, "input": [CLEAN, "second"]}),
])
def test_clean_body_text_passes_unchanged_with_no_redactions(envoy, fake, audit_for, path, body) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    r = post(envoy, path, raw)
    assert r.status == 200
    got = upstream(fake)
    sent = json.loads(got)
    if "provider" not in body:  # only the filter's own fields are added, at the front
        assert got.endswith(raw[1:]), (got, raw)
    for k in ("messages", "input", "instructions", "system"):
        assert sent.get(k) == body.get(k)
    [rec] = audit_for(r)
    assert rec["redactions"] == {} and rec["decision"] == "allow"


# ---------------------------------------------------------------------------------------------- JSON inside strings


def test_tool_arguments_with_escapes_and_non_json_arguments_are_rebuilt_validly(envoy, fake, audit_for) -> None:
    PLANTED.update(["ivan.esc@example.com", "ivan.q@example.com", "ivan.plain@example.com", "ivan.str@example.com"])
    cases = [
        # Inner JSON escapes (\u0040 inside the arguments' own JSON), quotes, non-ASCII and newlines around a value.
        ('{"to": "ivan.esc\\u0040example.com", "n": [1, {"x": "say \\"hi\\" to ivan.q@example.com \\u00e9\\n"}]}',
         {"to": "[EMAIL]", "n": [1, {"x": "say \"hi\" to [EMAIL] \u00e9\n"}]}),
        ("to ivan.plain@example.com please", "to [EMAIL] please"),  # not JSON: scanned as text
        ('"ivan.str@example.com"', "[EMAIL]"),  # JSON, but a bare string
    ]
    body = {"model": MODEL, "messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": a}}
        for i, (a, _) in enumerate(cases)]}]}
    r = post(envoy, CHAT, body)
    assert r.status == 200
    calls = json.loads(upstream(fake))["messages"][0]["tool_calls"]
    assert json.loads(calls[0]["function"]["arguments"]) == cases[0][1]
    assert calls[1]["function"]["arguments"] == cases[1][1]
    assert json.loads(calls[2]["function"]["arguments"]) == cases[2][1]
    assert [c["id"] for c in calls] == ["c0", "c1", "c2"]
    [rec] = audit_for(r)
    assert rec["redactions"] == {"EMAIL": {"redact": 4}}


def test_chunked_request_is_redacted_too(envoy, fake, audit_for) -> None:
    p = Plant()
    raw = json.dumps(_chat_with(f"mail {p.email('chunked')} card {p.card()}")).encode()
    r = envoy.http("POST", CHAT, chunks=[raw[i:i + 7] for i in range(0, len(raw), 7)])
    assert r.status == 200
    got = upstream(fake)
    assert json.loads(got)["messages"][0]["content"] == "mail [EMAIL] card [CREDIT_CARD]"
    [rec] = audit_for(r)
    assert rec["redactions"] == p.counts()


def test_redactions_are_counted_in_envoy_stats(envoy, fake, audit_for) -> None:
    name = "wasmcustom.openrouter_guard_redactions_total.entity.IBAN.action.redact"
    before = envoy.stats().get(name, 0)
    p = Plant()
    r = post(envoy, CHAT, _chat_with(f"pay {p.iban()} or {p.iban()}"))
    assert r.status == 200
    audit_for(r)
    assert envoy.stats().get(name, 0) == before + 2


# Known gaps (real filter bugs at the time of writing): the walker's NON_TEXT_KEYS (`id`, `type`, `status`,
# `format`, `model`, `detail`, ...) describe the API's own objects, but they are also applied inside tool-call
# `arguments` and `tool_use.input`, whose keys are the tool author's, so user data under such keys is forwarded.


@pytest.mark.parametrize("where", ["chat_tool_call_arguments", "messages_tool_use_input"])
def test_tool_payload_values_are_scanned_whatever_their_key(envoy, fake, audit_for, where) -> None:
    p = Plant()
    payload = {"id": p.email(f"{where}-id"), "status": f"card {p.card()}", "format": f"ssn {p.ssn()}",
               "type": p.email(f"{where}-type"), "model": p.email(f"{where}-model"), "detail": p.phone()}
    if where == "chat_tool_call_arguments":
        body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "update_user", "arguments": json.dumps(payload)}}]}]}
        r = post(envoy, CHAT, body)
        assert r.status == 200
        got = json.loads(json.loads(upstream(fake))["messages"][0]["tool_calls"][0]["function"]["arguments"])
    else:
        body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "update_user", "input": payload}]}]}
        r = post(envoy, "/api/v1/messages", body)
        assert r.status == 200
        got = json.loads(upstream(fake))["messages"][0]["content"][0]["input"]
    leaked = sorted(k for k, v in got.items() if any(value in v for value in p.expect))
    assert not leaked, f"tool payload values under keys {leaked} reached the upstream unredacted"


# Formerly a gap: a string was skipped as a data URL when it merely started with `data:` and contained `;base64,`,
# so any text could opt out of every detector. Such a string is now read as a reader reads it: marked base64 but
# not base64, it is refused (a lenient decoder such as Python's b64decode would still read bytes from it).


@pytest.mark.parametrize("prefix", ["data:text/plain;base64,AAAA ", "DATA:;base64, "])
def test_text_that_only_starts_like_a_data_url_is_refused_not_skipped(envoy, fake, audit_for, prefix) -> None:
    p = Plant()
    r = post(envoy, CHAT, _chat_with(f"{prefix}my ssn is {p.ssn()}, mail {p.email('dataurl')}"))
    assert r.status == 400 and r.json()["error"]["reason"] == "data_url_unreadable", r.body[:300]
    assert fake.requests == [], "a refused request reached the upstream"
    [rec] = audit_for(r)
    assert "data_url_unreadable" in rec["reasons"]


def test_a_real_data_url_image_is_forwarded_untouched(envoy, fake, audit_for) -> None:
    # Base64 payloads are not text: a real image data URL stays byte-identical (no false positives inside it).
    url = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
           "AAAABJRU5ErkJggg==")
    body = {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]}]}
    raw = json.dumps(body).encode()
    r = post(envoy, CHAT, raw)
    assert r.status == 200
    assert upstream(fake).endswith(raw[1:])
    [rec] = audit_for(r)
    assert rec["redactions"] == {}


# ---------------------------------------------------------------------------------------------- nothing leaks


def test_no_planted_value_reaches_the_audit_log_or_envoy_output(envoy) -> None:
    assert PLANTED, "run with the rest of the module"
    texts = {"audit": envoy.audit_path.read_text(errors="replace"), "stdout": envoy.stdout_text(),
             "stderr": envoy.stderr_text()}
    for name, text in texts.items():
        for value in PLANTED:
            for form in {value, value.lower(), value.replace(" ", "")}:
                assert form not in text, f"a planted {len(value)}-char value appears in Envoy's {name}"


# ---------------------------------------------------------------------------------------------- 6. bad config


def _bad(pii: dict[str, Any], key: str | None = None) -> str:
    policy: dict[str, Any] = {"clusters": ["openrouter"], "default_profile": "p",
                              "profiles": {"p": {"models": MODELS, "pii": pii}}}
    if key is not None:
        policy["pseudonym_key"] = key
    return json.dumps(policy)


@pytest.mark.parametrize("policy_text,path", [
    (_bad({"entities": {"EMAILS": "redact"}}), "profiles.p.pii.entities.EMAILS"),
    (_bad({"custom": [{"name": "OK", "pattern": "OK-[0-9]+"}, {"name": "BAD", "pattern": "(unclosed"}]}),
     "profiles.p.pii.custom[1].pattern"),
    (_bad({"entities": {"EMAIL": "hash"}}), "profiles.p.pii.entities.EMAIL"),
    (_bad({"custom": [{"name": "X", "pattern": "X-[0-9]+", "action": "hash"}]}), "profiles.p.pii.custom[0].action"),
    (_bad({"entities": {"EMAIL": "hash"}}, key="short"), "pseudonym_key"),
    (_bad({"custom": [{"name": "EMAIL", "pattern": "E-[0-9]+"}]}), "profiles.p.pii.custom[0].name"),
    (_bad({"dictionaries": [{"name": "D", "terms": ["ok", "  "]}]}), "profiles.p.pii.dictionaries[0].terms[1]"),
])
def test_bad_pii_config_makes_envoy_refuse_to_start_naming_the_path(envoy_factory, policy_text, path) -> None:
    env = envoy_factory(policy_text=policy_text, expect_ready=False)
    assert env.returncode == 1
    log = env.stderr_text()
    assert f"invalid configuration at {path}:" in log, env.log_tail()
    assert "Unable to create Wasm plugin openrouter_guard" in log


@pytest.mark.parametrize("pii,where", [
    ({"entities": {"EMAIL": "masked"}}, "profiles.p.pii.entities.EMAIL"),
    ({"entites": {}}, "profiles.p.pii"),
])
def test_malformed_pii_object_makes_envoy_refuse_to_start(envoy_factory, pii, where) -> None:
    env = envoy_factory(policy_text=_bad(pii), expect_ready=False)
    assert env.returncode == 1
    assert "invalid configuration at " + where in env.stderr_text(), env.log_tail()

