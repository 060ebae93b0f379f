"""Responses through the filter: JSON and SSE reach the client intact, and the audit record learns the
generation id, served model/provider, usage and cost. Also real clients: the OpenAI SDK and h2c."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, chat

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "internal",
    "user_header": "x-user-id",
    "profiles": {
        "internal": {
            "models": [{"allow": "anthropic/*"}, {"allow": "openai/*"}, {"deny": "*"}],
            "provider": {"allow_fallbacks": False, "data_collection": "deny"},
            "max_tokens": 2000,
        },
    },
}


def _events(body: bytes) -> list[bytes]:
    return [e for e in body.replace(b"\r\n", b"\n").split(b"\n\n") if e]


def _text(events: list[bytes]) -> str:
    out = ""
    for e in events:
        if e.startswith(b"data: {"):
            for c in json.loads(e[6:]).get("choices", []):
                out += c.get("delta", {}).get("content") or ""
    return out


def test_json_response_reaches_client_and_audit_gets_usage(envoy: Envoy, fake: FakeOpenRouter, audit_for) -> None:
    fake.script(Script(model="anthropic/claude-3.5-sonnet-20241022", provider="Amazon Bedrock",
                       usage={"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": 0.0042}))
    r = envoy.http("POST", CHAT, chat())
    assert r.status == 200
    doc = r.json()
    assert doc["provider"] == "Amazon Bedrock" and r.header("x-generation-id") == doc["id"]
    [rec] = audit_for(r)
    assert rec["generation_id"] == doc["id"]
    assert rec["model_used"] == "anthropic/claude-3.5-sonnet-20241022" and rec["provider"] == "Amazon Bedrock"
    assert (rec["prompt_tokens"], rec["completion_tokens"], rec["total_tokens"]) == (100, 20, 120)
    assert rec["cost"] == pytest.approx(0.0042)
    assert rec["streamed"] is False


@pytest.mark.parametrize("split", ["event", "byte", "large"])
def test_sse_stream_reaches_client_intact_and_audit_gets_usage(envoy, fake, audit_for, split) -> None:
    fake.script(Script(sse_split=split, content="alpha beta gamma delta"))
    r = envoy.http("POST", CHAT, chat(stream=True))
    assert r.status == 200 and (r.header("content-type") or "").startswith("text/event-stream")
    events = _events(r.body)
    assert events[0] == b": OPENROUTER PROCESSING" and events[-1] == b"data: [DONE]"
    assert _text(events) == "alpha beta gamma delta"
    [rec] = audit_for(r)
    assert rec["decision"] == "allow" and rec["status"] == 200 and rec["stream"] is True
    assert rec["streamed"] is True and rec["generation_id"] == r.header("x-generation-id")
    assert rec["total_tokens"] == 19 and rec["cost"] == pytest.approx(0.000123)
    assert rec["finish_reason"] == "stop"


def test_mid_stream_error_is_passed_on_and_audited(envoy, fake, audit_for) -> None:
    fake.script(Script(error_mid_stream=True))
    r = envoy.http("POST", CHAT, chat(stream=True))
    assert r.status == 200
    last = json.loads(_events(r.body)[-1][6:])
    assert last["error"]["code"] == 502
    [rec] = audit_for(r)
    assert rec["error_code"] == 502 and rec["finish_reason"] == "error"


def test_upstream_reset_mid_stream_still_gives_one_audit_record(envoy, fake, audit_for) -> None:
    import http.client

    fake.script(Script(reset_mid_stream=True))
    rid = "e2e-reset-mid-stream"
    try:
        envoy.http("POST", CHAT, chat(stream=True), headers={"x-request-id": rid})
    except (ConnectionError, http.client.HTTPException):
        pass  # the client sees a truncated stream; how exactly is Envoy's business
    assert envoy.wait_logged(rid)
    recs = [r for r in envoy.audit_records() if r.get("request_id") == rid]
    assert len(recs) == 1 and recs[0]["decision"] == "allow"


def test_client_abort_before_the_response_still_gives_one_audit_record(envoy, fake) -> None:
    fake.script(Script(delay=1.0))
    rid = "e2e-client-abort"
    body = json.dumps(chat()).encode()
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
        s.sendall(b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: openrouter.ai\r\nContent-Type: application/json\r\n"
                  b"x-request-id: " + rid.encode() + b"\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body)
        assert fake.wait_requests(1), "request never reached the upstream"
    assert envoy.wait_logged(rid)
    recs = [r for r in envoy.audit_records() if r.get("request_id") == rid]
    assert len(recs) == 1


def test_slow_upstream_is_waited_for(envoy, fake, audit_for) -> None:
    fake.script(Script(delay=1.5, sse_split="byte"))
    r = envoy.http("POST", CHAT, chat(stream=True))
    assert r.status == 200 and _events(r.body)[-1] == b"data: [DONE]"


def test_openai_sdk_pointed_at_envoy_is_governed(envoy, fake, audit_for) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{envoy.port}/api/v1", api_key="sk-or-v1-" + "a" * 64,
                           max_retries=0, timeout=30)
    out = client.chat.completions.create(model="anthropic/claude-3.5-sonnet",
                                         messages=[{"role": "user", "content": "hi"}])
    assert out.choices[0].message.content
    sent = fake.requests[0].json()
    assert sent["provider"]["data_collection"] == "deny" and sent["max_tokens"] == 2000
    with pytest.raises(openai.PermissionDeniedError) as e:
        client.chat.completions.create(model="meta-llama/llama-3-70b", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 403
    stream = client.chat.completions.create(model="openai/gpt-4o", stream=True,
                                            messages=[{"role": "user", "content": "hi"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert len(fake.requests) == 2


def test_h2c_clients_are_governed_too(envoy, fake, audit_for) -> None:
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl not installed")
    for model, status in (("meta-llama/llama-3-70b", 403), ("anthropic/claude-3.5-sonnet", 200)):
        p = subprocess.run([curl, "-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_code} %{http_version}",
                            "-H", "content-type: application/json", "-H", "host: openrouter.ai",
                            "--data-binary", json.dumps(chat(model)), f"http://127.0.0.1:{envoy.port}{CHAT}"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        code, version = p.stdout.rsplit(b"\n", 1)[1].split()
        assert (int(code), version) == (status, b"2")
    assert len(fake.requests) == 1
    assert fake.requests[0].json()["provider"]["data_collection"] == "deny"
