"""Paths, endpoints, model ids and host names through the real Envoy with a config that does NOT normalise paths
(normalize_path, merge_slashes and %2F unescaping all off): the filter itself decodes the path, removes dot
segments, classifies what it will forward and forwards exactly that (or refuses). Over HTTP/1.1 (http.client
sends the path verbatim) and HTTP/2 cleartext (tests/e2e/wire.py)."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest

from envoys import EnvoyFactory
from harness.client import Resp
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import assert_rejected
from wire import H2Conn

POLICY: dict[str, Any] = {
    "hosts": ["openrouter.ai"], "clusters": ["openrouter"], "default_profile": "p",
    "profiles": {"p": {
        "models": [{"deny": "*:free"}, {"allow": "*/claude-*"}, {"allow": "anthropic/*"}, {"allow": "openai/*"}],
        "provider": {"order": ["anthropic"], "allow_fallbacks": False, "data_collection": "deny"},
        "max_tokens": 100,
        # The provider routing restricts where prompts go, so plugins are denied unless listed (test_plugins.py):
        # web search (and `:online`) is allowed here, for the variant and plugin-field tests below.
        "plugins": [{"id": "web"}],
    }},
}
ENVOY_OPTIONS = {"normalize_path": False}
CHAT = "/api/v1/chat/completions"
CODECS = ["h1", "h2"]
MSG = [{"role": "user", "content": "hello"}]


def h2_request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Resp:
    """One HTTP/2 cleartext (prior knowledge) request, the path exactly as given. (curl resets uploads that get an
    early local reply with "Stream error in the HTTP/2 framing layer" about half the time.)"""
    with H2Conn(port) as conn:
        w = conn.request(method, path, headers["host"], [(k, v) for k, v in headers.items() if k != "host"],
                         data=[body] if body else (), end_on_headers=body is None)
    assert w.status, "no HTTP/2 response"
    return Resp(w.status, [(k.decode(), v.decode()) for k, v in w.headers], w.body, headers["x-request-id"])


def send(envoy: Envoy, codec: str, path: str, body: Any = None, *, host: str = "openrouter.ai",
         method: str = "POST") -> Resp:
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    if codec == "h1":
        return envoy.http(method, path, raw, host=host)
    headers = {"host": host, "x-request-id": f"e2e-{uuid.uuid4()}"}
    if raw is not None:
        headers["content-type"] = "application/json"
    return h2_request(envoy.port, method, path, raw, headers)


def only_request(fake: FakeOpenRouter) -> Any:
    reqs = fake.requests
    assert len(reqs) == 1, f"upstream received {len(reqs)} requests"
    return reqs[0]


# ------------------------------------------------------------------------------------------- paths (item 6)

DOTTED = [
    "/api/v1/x/../chat/completions",
    "/api/v1/x/%2e%2e/chat/completions",
    "/api/v1/x/%2E%2E/chat/completions",
    "/api/v1/x/.%2e/chat/completions",
    "/api/v1/x%2f..%2fchat%2Fcompletions",
    "/api/v1/x%5c..%5cchat/completions",
    "//api//v1//chat/completions",
    "/api/v1/./chat/./completions",
    "/api/v1/%63hat/completions",
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("path", DOTTED)
def test_a_dotted_or_encoded_path_is_governed_as_the_endpoint_it_reaches(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str, path: str) -> None:
    # No model: an inference request without one is refused, never forwarded unchecked.
    r = send(envoy, codec, path, {"messages": MSG})
    rec = assert_rejected(envoy, fake, audit_for, r, 400, "model_missing")
    assert rec["endpoint"] == "chat/completions" and rec["path"] == CHAT, rec
    # With an allowed model: forwarded with routing and the cap, under the path it was classified by.
    r = send(envoy, codec, path + "?trace=%2e%2e", {"model": "anthropic/claude-3.5-sonnet", "messages": MSG})
    assert r.status == 200, r.body[:300]
    got = only_request(fake)
    assert got.path == CHAT + "?trace=%2e%2e"
    sent = got.json()
    assert sent["provider"]["data_collection"] == "deny" and sent["max_tokens"] == 100
    [rec] = audit_for(r)
    assert rec["decision"] == "allow" and rec["endpoint"] == "chat/completions" and rec["path"] == CHAT


@pytest.mark.parametrize("codec", CODECS)
def test_a_backslash_path_is_governed_or_refused_never_forwarded_raw(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str) -> None:
    r = send(envoy, codec, "/api/v1/x/..\\chat/completions", {"messages": MSG})
    assert fake.requests == []
    if r.status == 400 and r.error_reason() == "model_missing":
        [rec] = audit_for(r)
        assert rec["path"] == CHAT
    else:  # Envoy's codec refused the raw backslash itself (no filter involved)
        assert r.status == 400, (r.status, r.body[:200])


AMBIGUOUS = [
    "/api/v1/chat/completions;x",
    "/api/v1/x;/../chat/completions",
    "/api/v1/x/%252e%252e/chat/completions",
    "/api/v1/chat/completions%3bx",
    "/api/v1/chat%3fcompletions",
    "/../api/v1/chat/completions",
    "/api/v1/chat/completions%zz",
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("path", AMBIGUOUS)
def test_a_path_that_cannot_be_classified_safely_is_refused(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str, path: str) -> None:
    r = send(envoy, codec, path, {"model": "anthropic/claude-3.5-sonnet", "messages": MSG})
    assert fake.requests == []
    if r.status == 400 and r.error_reason() is None:
        return  # Envoy's own codec refused it before any filter (e.g. HTTP/2 `%zz`): nothing forwarded either
    assert_rejected(envoy, fake, audit_for, r, 400, "invalid_path")


@pytest.mark.parametrize("codec", CODECS)
def test_the_alpha_responses_api_is_inference(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str) -> None:
    r = send(envoy, codec, "/api/alpha/responses", {"input": "hi"})
    assert_rejected(envoy, fake, audit_for, r, 400, "model_missing")
    r = send(envoy, codec, "/api/alpha/responses", {"model": "anthropic/claude-3.5-sonnet", "input": "hi",
                                                     "max_output_tokens": 5000})
    assert r.status == 200, r.body[:300]
    sent = only_request(fake).json()
    assert sent["max_output_tokens"] == 100 and sent["provider"]["data_collection"] == "deny"
    [rec] = audit_for(r)
    assert rec["endpoint"] == "responses"


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("path", ["/api/v1/audio/speech", "/api/v1/images/generations", "/api/v1/x/../keys"])
def test_unknown_endpoints_with_a_body_are_refused_by_default(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str, path: str) -> None:
    r = send(envoy, codec, path, {"input": "hello", "voice": "alloy"})
    assert_rejected(envoy, fake, audit_for, r, 404, "unknown_endpoint")


@pytest.mark.parametrize("codec", CODECS)
def test_a_bodyless_get_is_forwarded_under_its_normalised_path(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str) -> None:
    r = send(envoy, codec, "/api/v1/x/%2e%2e/models", method="GET")
    assert r.status == 200, r.body[:300]
    assert only_request(fake).path == "/api/v1/models"


# ------------------------------------------------------------------------------------------- models (item 5)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("body,path", [
    ({"model": "openai/gpt-oss-20b:free:nitro"}, CHAT),
    ({"model": "openai/gpt-oss-20b:nitro:free"}, CHAT),
    ({"model": "anthropic/claude-3.5-sonnet", "models": ["openai/gpt-4o:online:free"]}, CHAT),
    ({"model": "@preset/claude-anything"}, CHAT),
    ({"model": "~anthropic/claude-latest"}, CHAT),
    ({"model": "openrouter/claude-router"}, CHAT),
    ({"model": "anthropic/claude-3.5-sonnet", "models": ["@preset/claude-x"]}, CHAT),
    ({"model": "anthropic/claude-3.5-sonnet", "preset": "claude-x"}, CHAT),
    ({"model": "anthropic/claude-3.5-sonnet"}, "/api/v1/presets/claude-x/chat/completions"),
    ({"model": "anthropic/claude-3.5-sonnet"}, "/api/v1/presets/claude-x/../claude-y/chat/completions"),
])
def test_stacked_variants_and_unnamed_routers_presets_aliases_are_denied(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str,
        body: dict[str, Any], path: str) -> None:
    r = send(envoy, codec, path, dict(body, messages=MSG))
    assert_rejected(envoy, fake, audit_for, r, 403, "model_denied")


@pytest.mark.parametrize("model", ["openai/gpt-oss-20b:free:free", "openai/gpt-oss-20b:turbo"])
def test_unknown_or_repeated_variants_are_invalid(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], model: str) -> None:
    r = send(envoy, "h1", CHAT, {"model": model, "messages": MSG})
    assert_rejected(envoy, fake, audit_for, r, 400, "model_invalid")


def test_a_variant_that_is_allowed_is_forwarded(envoy: Envoy, fake: FakeOpenRouter) -> None:
    r = send(envoy, "h1", CHAT, {"model": "openai/gpt-4o:nitro:online", "messages": MSG})
    assert r.status == 200, r.body[:300]
    assert only_request(fake).json()["model"] == "openai/gpt-4o:nitro:online"


# ------------------------------------------------------------------------------------------- hosts (item 7)


@pytest.mark.parametrize("hosts,where", [
    (["*.openrouter.ai:443"], "hosts[0]"),
    (["openrouter.ai", "openrouter.ai:https"], "hosts[1]"),
    (["open*.ai"], "hosts[0]"),
    (["https://openrouter.ai"], "hosts[0]"),
])
def test_a_host_name_that_would_govern_nothing_makes_envoy_refuse_to_start(
        envoy_factory: EnvoyFactory, hosts: list[str], where: str) -> None:
    env = envoy_factory(dict(POLICY, hosts=hosts, clusters=[]), expect_ready=False, normalize_path=False)
    assert env.returncode == 1
    log = env.stderr_text()
    assert f"invalid configuration at {where}:" in log, env.log_tail()
    assert "Unable to create Wasm plugin openrouter_guard" in log


def test_a_wildcard_host_governs_the_names_below_it(envoy_factory: EnvoyFactory, fake: FakeOpenRouter) -> None:
    env = envoy_factory(dict(POLICY, hosts=["*.openrouter.ai"], clusters=[]), normalize_path=False)
    r = env.http("POST", CHAT, {"model": "openai/x:free", "messages": MSG}, host="eu.openrouter.ai")
    assert r.status == 403 and r.error_reason() == "model_denied", r.body[:300]
    assert fake.requests == []
    # The bare domain is not below itself: not governed, forwarded as is.
    r = env.http("POST", CHAT, {"model": "openai/x:free", "messages": MSG}, host="openrouter.ai")
    assert r.status == 200 and len(fake.requests) == 1


@pytest.mark.parametrize("host", ["openrouter.ai:443:443", "user@openrouter.ai", "[openrouter.ai]", "openrouter%2eai",
                                  "openrouter.ai:"])
def test_every_host_spelling_envoy_accepts_is_governed_without_a_cluster(
        envoy_factory: EnvoyFactory, fake: FakeOpenRouter, host: str) -> None:
    # Hosts only (no cluster), and a route that sends every Host to OpenRouter: the Host decides alone.
    env = envoy_factory(dict(POLICY, clusters=[]), normalize_path=False)
    r = env.http("POST", CHAT, {"model": "openai/x:free", "messages": MSG}, host=host)
    assert r.status == 403 and r.error_reason() == "model_denied", (r.status, r.body[:300])
    assert fake.requests == []


# ------------------------------------------------------------------------------------------- attack regressions

EMAIL = "jane.doe.paths@example.org"


@pytest.mark.parametrize("path,extra", [
    (CHAT, {"prediction": {"type": "content", "content": f"mail {EMAIL}"}}),
    (CHAT, {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "description": f"about {EMAIL}"}}}}),
    (CHAT, {"stop": [EMAIL]}),
    (CHAT, {"plugins": [{"id": "web", "search_prompt": f"who is {EMAIL}"}]}),
    ("/api/v1/responses", {"input": "hi", "prompt": {"id": "pmpt_1", "variables": {"who": EMAIL}}}),
    ("/api/v1/responses", {"input": "hi", "text": {"format": {"type": "json_schema", "name": "x", "schema": {
        "type": "object", "description": f"about {EMAIL}"}}}}),
    ("/api/v1/messages", {"max_tokens": 5, "metadata": {"user_id": EMAIL}, "stop_sequences": [EMAIL]}),
])
def test_text_outside_the_conversation_is_redacted_too(
        envoy: Envoy, fake: FakeOpenRouter, path: str, extra: dict[str, Any]) -> None:
    body = {"model": "anthropic/claude-3.5-sonnet", "messages": MSG, **extra}
    r = send(envoy, "h1", path, body)
    assert r.status == 200, r.body[:300]
    sent = only_request(fake).body
    assert EMAIL.encode() not in sent and b"[EMAIL]" in sent, sent[:400]


@pytest.mark.parametrize("codec", CODECS)
def test_a_top_level_proto_member_is_refused(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], codec: str) -> None:
    r = send(envoy, codec, CHAT, b'{"model":"anthropic/claude-3.5-sonnet","__proto__":{"models":["meta/llama"]},'
                                 b'"messages":[]}')
    assert_rejected(envoy, fake, audit_for, r, 400, "reserved_key")


@pytest.mark.parametrize("charset", ["utf-7", "utf-16", "latin1"])
def test_a_body_in_another_charset_is_refused(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Callable[..., list[dict[str, Any]]], charset: str) -> None:
    # UTF-7 `+ADAANwA4-` is `078` to a server that honours the charset: text the filter never saw.
    body = b'{"model":"anthropic/claude-3.5-sonnet","messages":[{"role":"user","content":"ssn +ADAANwA4--05-1120"}]}'
    r = envoy.http("POST", CHAT, body, content_type=f"application/json; charset={charset}")
    assert_rejected(envoy, fake, audit_for, r, 415, "unsupported_media_type")
