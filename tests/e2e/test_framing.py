"""The request-framing matrix through real Envoy (issue 11): codec x body framing x decision x odd bytes.

Codecs: HTTP/1.1 and HTTP/2 cleartext with prior knowledge (wire.py: every header byte and frame is chosen here).
Framings: content-length, chunked, chunked with trailers, Expect: 100-continue (HTTP/1.1); END_STREAM on the last
DATA frame, on an empty DATA frame, on trailers, on HEADERS (HTTP/2); no body (both).
Decisions: allowed and rewritten, denied by model, blocked by PII, malformed JSON.
Odd bytes: non-UTF-8 (Latin-1) header values on the request (passed through, or refused when the filter interprets
the header) and in upstream response headers.

Each case asserts what the upstream received (nothing, or exactly the rewritten body every other framing produces),
the one audit record, and that later requests on the same connection (so the same Envoy worker and VM) still work.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Callable, Iterator

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from wire import H1Conn, H2Conn, WireResp

CHAT = "/api/v1/chat/completions"
HOST = "openrouter.ai"
EMAIL = "jane.doe.framing@example.org"
POLICY: dict[str, Any] = {
    "hosts": [HOST],
    "clusters": ["openrouter"],
    "profile_header": "x-data-classification",
    "default_profile": "main",
    "user_header": "x-user-id",
    "profiles": {
        "main": {
            "models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"deny": "*"}],
            "provider": {"order": ["anthropic"], "allow_fallbacks": False, "data_collection": "deny"},
            "max_tokens": 1000,
            "pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "US_SSN": "block"}},
        },
    },
}


def _body(model: str, text: str) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}]}).encode()


ALLOWED = _body("anthropic/claude-3.5-sonnet", f"Mail {EMAIL} about invoice 4411, please.")
PLAIN = _body("anthropic/claude-3.5-sonnet", "Say hello.")
BODIES = {
    "allowed": ALLOWED,
    "denied_model": _body("openai/gpt-oss-20b:free", "Say hello."),
    "pii_blocked": _body("anthropic/claude-3.5-sonnet", "My SSN is 536-90-4471, file it."),
    "malformed": b'{"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": "x"}',
}
# decision -> (status, reason in the error body and the record, audit decision)
EXPECT = {
    "denied_model": (403, "model_denied", "deny"),
    "pii_blocked": (403, "pii_blocked", "deny"),
    "malformed": (400, "invalid_json", "reject"),
}
H1_FRAMINGS = ["content_length", "chunked", "chunked_trailers", "expect_continue"]
H2_FRAMINGS = ["last_data_frame", "empty_data_frame", "trailers"]
CASES = [("h1", f) for f in H1_FRAMINGS] + [("h2", f) for f in H2_FRAMINGS]
TRAILERS = [("x-checksum", b"abc123")]


def rid() -> str:
    return f"frame-{uuid.uuid4()}"


def halves(b: bytes) -> list[bytes]:
    return [b[: len(b) // 2], b[len(b) // 2:]]


class Client:
    """One connection of either codec, kept for the whole test: every request goes to the same Envoy worker."""

    def __init__(self, codec: str, port: int) -> None:
        self.codec = codec
        self.port = port
        self.conn: H1Conn | H2Conn = H1Conn(port) if codec == "h1" else H2Conn(port)
        self.reopened = 0

    def close(self) -> None:
        self.conn.close()

    def send(self, body: bytes | None, framing: str, *, rid: str, host: str | bytes = HOST,
             headers: list[tuple[str, str | bytes]] | None = None, method: str = "POST",
             path: str = CHAT, content_type: str | bytes = "application/json") -> WireResp:
        r = self._send(body, framing, rid=rid, host=host, headers=headers, method=method, path=path,
                       content_type=content_type)
        if isinstance(self.conn, H1Conn) and (r.header("connection") or b"").lower() == b"close":
            # Envoy closes an HTTP/1.1 connection after some local replies (400s): later requests need a new one
            # (HTTP/2 keeps the connection, so the HTTP/2 rows prove the same-worker property).
            self.conn.close()
            self.conn = H1Conn(self.port)
            self.reopened += 1
        return r

    def _send(self, body: bytes | None, framing: str, *, rid: str, host: str | bytes,
              headers: list[tuple[str, str | bytes]] | None, method: str, path: str,
              content_type: str | bytes) -> WireResp:
        hdrs: list[tuple[str, str | bytes]] = [("x-request-id", rid)]
        if body is not None:
            hdrs.append(("content-type", content_type))
        hdrs += headers or []
        if isinstance(self.conn, H1Conn):
            hdrs.insert(0, ("host", host))
            if framing == "no_body":
                return self.conn.request(method, path, hdrs, None, framing="none")
            if framing in ("content_length", "expect_continue"):
                return self.conn.request(method, path, hdrs, body, framing="length",
                                         expect_continue=framing == "expect_continue")
            return self.conn.request(method, path, hdrs, framing="chunked", chunks=halves(body or b""),
                                     trailers=TRAILERS if framing == "chunked_trailers" else ())
        if framing == "no_body":
            return self.conn.request(method, path, host, hdrs, end_on_headers=True)
        data = halves(body or b"")
        if framing == "trailers":
            return self.conn.request(method, path, host, hdrs, data=data, trailers=TRAILERS)
        return self.conn.request(method, path, host, hdrs, data=data, empty_final_data=framing == "empty_data_frame")

    def still_serves(self, envoy: Envoy, fake: FakeOpenRouter, host: str = HOST, n: int = 2) -> None:
        """Later requests on this same connection (same worker, same VM) are answered normally."""
        framing = "content_length" if self.codec == "h1" else "last_data_frame"
        for _ in range(n):
            before = len(fake.requests)
            r = self.send(PLAIN, framing, rid=rid(), host=host)
            assert r.status == 200 and not r.reset, (r.status, r.body[:300])
            assert json.loads(r.body)["object"] == "chat.completion"
            assert len(fake.requests) == before + 1


@pytest.fixture(params=["h1", "h2"])
def codec(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client_for(envoy: Envoy) -> Iterator[Callable[[str], Client]]:
    made: list[Client] = []

    def make(codec: str) -> Client:
        c = Client(codec, envoy.port)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def reference(envoy: Envoy, fake_server: FakeOpenRouter) -> bytes:
    """What the upstream receives for ALLOWED sent the plainest way (HTTP/1.1, content-length)."""
    fake_server.reset()
    with H1Conn(envoy.port) as c:
        r = c.request("POST", CHAT, [("host", HOST), ("content-type", "application/json")], ALLOWED)
    assert r.status == 200, r.body[:300]
    (req,) = fake_server.requests
    body = req.body
    doc = json.loads(body)
    assert EMAIL not in body.decode() and doc["provider"]["order"] == ["anthropic"] and doc["max_tokens"] == 1000
    fake_server.reset()
    return body


def record_of(envoy: Envoy, request_id: str) -> dict[str, Any]:
    """The one audit record of a request."""
    assert envoy.wait_logged(request_id), f"Envoy never logged {request_id}"
    recs = [r for r in envoy.audit_records() if r.get("request_id") == request_id]
    assert len(recs) == 1, f"{len(recs)} audit records for {request_id}"
    return recs[0]


def error_reason(r: WireResp) -> str | None:
    try:
        return json.loads(r.body)["error"]["reason"]
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("codec_name,framing", CASES)
def test_allowed_body_is_forwarded_rewritten_whatever_the_framing(envoy, fake, client_for, reference,
                                                                  codec_name, framing) -> None:
    c = client_for(codec_name)
    request_id = rid()
    r = c.send(ALLOWED, framing, rid=request_id)
    assert r.status == 200, (r.status, r.body[:300])
    (got,) = fake.requests
    assert got.body == reference, "the framing changed what the upstream received"
    assert not got.chunked and got.header("content-length") == str(len(reference))
    assert got.header("x-checksum") is None, "request trailers reached the upstream"
    rec = record_of(envoy, request_id)
    assert rec["decision"] == "allow" and rec["status"] == 200, rec
    assert rec["prompt_sha256"] == hashlib.sha256(reference).hexdigest() and rec["bytes_out"] == len(reference)
    assert rec["bytes_in"] == len(ALLOWED)
    if framing == "trailers":
        assert "request_trailers_dropped" in rec["reasons"], rec["reasons"]
    c.still_serves(envoy, fake)


@pytest.mark.parametrize("decision", list(EXPECT))
@pytest.mark.parametrize("codec_name,framing", CASES)
def test_refused_body_never_reaches_the_upstream_whatever_the_framing(envoy, fake, client_for, codec_name,
                                                                      framing, decision) -> None:
    status, reason, audit_decision = EXPECT[decision]
    c = client_for(codec_name)
    request_id = rid()
    r = c.send(BODIES[decision], framing, rid=request_id)
    assert (r.status, error_reason(r)) == (status, reason), (r.status, r.body[:300])
    assert fake.requests == [], "a refused request reached the upstream"
    rec = record_of(envoy, request_id)
    assert (rec["decision"], rec["status"]) == (audit_decision, status) and reason in rec["reasons"], rec
    assert rec["bytes_out"] == 0 and rec["prompt_sha256"] is None
    c.still_serves(envoy, fake)


def test_request_without_body_is_decided_on_its_headers(envoy, fake, client_for, codec) -> None:
    """END_STREAM on HEADERS: an inference call with no body names no model (400); a GET is forwarded."""
    c = client_for(codec)
    request_id = rid()
    r = c.send(None, "no_body", rid=request_id)
    assert (r.status, error_reason(r)) == (400, "model_missing"), r.body[:300]
    assert fake.requests == []
    rec = record_of(envoy, request_id)
    assert rec["decision"] == "reject" and "model_missing" in rec["reasons"]
    request_id = rid()
    r = c.send(None, "no_body", rid=request_id, method="GET", path="/api/v1/models")
    assert r.status == 200, r.body[:300]
    (got,) = fake.requests
    assert got.method == "GET" and got.body == b""
    assert record_of(envoy, request_id)["decision"] == "allow"
    c.still_serves(envoy, fake)


# ---------------------------------------------------------------------------------------------- odd bytes


@pytest.mark.parametrize("governed", [True, False], ids=["governed", "ungoverned"])
def test_latin1_header_passes_untouched_and_the_worker_keeps_serving(envoy, fake, client_for, codec,
                                                                    governed) -> None:
    """`X-Title: Caf\\xe9` (Python's http.client sends Latin-1) took the VM down: 503 for it and every later
    request on that worker, governed or not. It is passed through unread now, and the worker keeps serving."""
    c = client_for(codec)
    host = HOST if governed else "example.com"
    framing = "content_length" if codec == "h1" else "last_data_frame"
    request_id = rid()
    r = c.send(PLAIN, framing, rid=request_id, host=host, headers=[("x-title", b"Caf\xe9")])
    assert r.status == 200 and not r.reset, (r.status, r.body[:300])
    (got,) = fake.requests
    assert got.header("x-title") == "Caf\u00e9", "the header must reach the upstream byte for byte"
    if governed:
        rec = record_of(envoy, request_id)
        assert rec["decision"] == "allow" and "header_not_utf8_passed" in rec["reasons"], rec
    c.still_serves(envoy, fake, host=host)
    c.still_serves(envoy, fake, host=HOST if not governed else "example.com", n=1)


@pytest.mark.parametrize("header", ["content-type", "x-data-classification", "x-user-id", "authorization"])
def test_non_utf8_value_of_a_header_the_filter_interprets_is_refused(envoy, fake, client_for, codec,
                                                                     header) -> None:
    c = client_for(codec)
    framing = "content_length" if codec == "h1" else "last_data_frame"
    request_id = rid()
    if header == "content-type":
        r = c.send(PLAIN, framing, rid=request_id, content_type=b"application/json; x=\xe9")
    else:
        r = c.send(PLAIN, framing, rid=request_id, headers=[(header, b"Caf\xe9")])
    assert (r.status, error_reason(r)) == (400, "header_not_utf8"), (r.status, r.body[:300])
    assert "\u00e9" not in r.body.decode("utf-8", "replace")
    assert fake.requests == []
    rec = record_of(envoy, request_id)
    assert rec["decision"] == "reject" and rec["reasons"][-1] == "header_not_utf8" and rec["bytes_out"] == 0
    c.still_serves(envoy, fake)


@pytest.mark.parametrize("which", ["generation_id", "content_type", "other"])
def test_non_utf8_upstream_response_header_is_relayed_and_audited(envoy, fake, client_for, codec, which) -> None:
    """An upstream response header with a Latin-1 byte (the fake sends header values as Latin-1) took the VM down
    after the call was served and billed. Now the client gets the response, the record notes the header."""
    headers = {
        "generation_id": {"X-Generation-Id": "gen-caf\u00e9"},
        "content_type": {"Content-Type": "application/j\u00e9son"},
        "other": {"X-Upstream-Note": "Caf\u00e9"},
    }[which]
    fake.script(Script(headers=headers))
    c = client_for(codec)
    framing = "content_length" if codec == "h1" else "last_data_frame"
    request_id = rid()
    r = c.send(PLAIN, framing, rid=request_id)
    assert r.status == 200 and not r.reset, (r.status, r.body[:300])
    assert json.loads(r.body)["object"] == "chat.completion"
    rec = record_of(envoy, request_id)
    assert rec["decision"] == "allow" and rec["upstream_status"] == 200, rec
    if which == "other":
        assert "response_header_not_utf8" not in rec["reasons"]
        assert rec["generation_id"], rec
    else:
        assert "response_header_not_utf8" in rec["reasons"], rec["reasons"]
    if which == "generation_id":
        assert rec["generation_id"] is None or "\ufffd" not in rec["generation_id"], rec["generation_id"]
    if which == "content_type":
        assert rec["response_inspected"] is False, rec
    c.still_serves(envoy, fake)
