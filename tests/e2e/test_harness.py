"""The harness itself: the fake upstream, the rendered Envoy configs, plain Envoy, and start-up failures.

These tests hold whatever the filter does with requests; they need the .wasm only to load it.
"""
from __future__ import annotations

import http.client as httpclient
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import envoy_config as ec
from envoys import DEFAULT_POLICY, WASM, EnvoyFactory
from harness.client import http_request
from harness.proc import stop_process, wait_until
from fake_openrouter import FakeOpenRouter, Script



def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends raw bytes on one connection and reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = bytearray()
        while chunk := s.recv(65536):
            out += chunk
    return bytes(out)


def _sse_events(body: bytes) -> list[bytes]:
    return [e for e in body.split(b"\n\n") if e]


# ---------------------------------------------------------------------------------------------- fake upstream


def test_fake_upstream_records_content_length_body_exactly(fake: FakeOpenRouter) -> None:
    body = b'{"model":"openai/gpt-4o","messages":[{"role":"user","content":"caf\\u00e9 \xc3\xa9"}]}'
    r = http_request(fake.port, "POST", "/api/v1/chat/completions", body, host="openrouter.ai",
                     headers={"X-Custom": "A b"})
    assert r.status == 200
    doc = r.json()
    assert doc["id"].startswith("gen-") and r.header("x-generation-id") == doc["id"]
    assert doc["model"] == "openai/gpt-4o" and doc["provider"] == "Anthropic"
    assert set(doc["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens", "cost"}
    [rec] = fake.requests
    assert (rec.method, rec.path, rec.body, rec.chunked) == ("POST", "/api/v1/chat/completions", body, False)
    assert rec.header("x-custom") == "A b" and rec.header("content-length") == str(len(body))
    assert ("X-Custom", "A b") in rec.headers  # original case kept


def test_fake_upstream_parses_chunked_request_bodies(fake: FakeOpenRouter) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    chunks = [body[:1], body[1:7], body[7:4096], body[4096:]]
    r = http_request(fake.port, "POST", "/api/v1/chat/completions", chunks=chunks)
    assert r.status == 200
    [rec] = fake.requests
    assert rec.chunked and rec.body == body and rec.header("content-length") is None


def test_fake_upstream_parses_chunk_extensions_and_trailers(fake: FakeOpenRouter) -> None:
    req = (b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
    out = _raw(fake.port, req)
    assert out.startswith(b"HTTP/1.1 200")
    assert fake.requests[0].body == b"abc0123456789"


@pytest.mark.parametrize("split", ["event", "byte", "large"])
def test_fake_upstream_streams_sse_with_usage_and_done(fake: FakeOpenRouter, split: str) -> None:
    fake.script(Script(sse_split=split, content="one two three"))
    r = http_request(fake.port, "POST", "/api/v1/chat/completions",
                     {"model": "anthropic/claude-3.5-sonnet", "stream": True, "messages": []})
    assert r.status == 200 and r.header("content-type") == "text/event-stream"
    events = _sse_events(r.body)
    assert events[0] == b": OPENROUTER PROCESSING"
    assert events[-1] == b"data: [DONE]"
    usage = json.loads(events[-2][len(b"data: "):])
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 19
    text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[1:-2])
    assert text == "one two three"


def test_fake_upstream_sends_mid_stream_error_chunk(fake: FakeOpenRouter) -> None:
    fake.script(Script(error_mid_stream=True))
    r = http_request(fake.port, "POST", "/api/v1/chat/completions", {"model": "m", "stream": True})
    last = json.loads(_sse_events(r.body)[-1][6:])
    assert last["error"]["code"] == 502 and last["choices"][0]["finish_reason"] == "error"
    assert b"[DONE]" not in r.body


def test_fake_upstream_resets_mid_stream(fake: FakeOpenRouter) -> None:
    fake.script(Script(reset_mid_stream=True))
    with pytest.raises((ConnectionError, httpclient.HTTPException)):
        http_request(fake.port, "POST", "/api/v1/chat/completions", {"model": "m", "stream": True})


def test_fake_upstream_scripted_errors_and_order(fake: FakeOpenRouter) -> None:
    fake.script(Script(status=429, error_message="rate limited"), Script(status=402), Script(model="x/y"))
    statuses = [http_request(fake.port, "POST", "/api/v1/chat/completions", {"model": "m"}) for _ in range(4)]
    assert [r.status for r in statuses] == [429, 402, 200, 200]
    assert statuses[0].json()["error"] == {"code": 429, "message": "rate limited",
                                           "metadata": {"provider_name": "Anthropic"}}
    assert statuses[2].json()["model"] == "x/y" and statuses[3].json()["model"] == "m"


# ---------------------------------------------------------------------------------------------- rendered config


@pytest.mark.parametrize("upstream", ["https://openrouter.ai", "http://127.0.0.1:9"])
@pytest.mark.parametrize("with_filter", [True, False])
def test_rendered_config_passes_envoy_validate(tmp_path: Path, upstream: str, with_filter: bool) -> None:
    if with_filter and not WASM.is_file():
        pytest.fail(f"{WASM} is missing: run `make build`", pytrace=False)
    cfg = ec.EnvoyConfig(upstream=upstream, with_filter=with_filter, audit_log=tmp_path / "audit.log",
                         passthrough=True, wasm=WASM)
    path = tmp_path / "envoy.yaml"
    path.write_text(ec.render(cfg))
    p = subprocess.run(ec.envoy_command(path, validate=True), capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    assert b"OK" in p.stdout + p.stderr


def test_rendered_config_shape_matches_the_policy() -> None:
    policy = dict(DEFAULT_POLICY, max_body_bytes=300_000)
    doc = ec.build(ec.EnvoyConfig(policy=policy, upstream="https://openrouter.ai", audit_log="/tmp/a.log"))
    listener = doc["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["address"] == "127.0.0.1"
    assert doc["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert listener["per_connection_buffer_limit_bytes"] > policy["max_body_bytes"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["codec_type"] == "AUTO" and hcm["normalize_path"] and hcm["merge_slashes"]
    wasm = hcm["http_filters"][0]["typed_config"]["config"]
    assert wasm["root_id"] == "openrouter_guard" and wasm["failure_policy"] == "FAIL_RELOAD"
    assert wasm["allow_on_headers_stop_iteration"] is True
    assert wasm["vm_config"]["runtime"] == "envoy.wasm.runtime.v8"
    assert json.loads(wasm["configuration"]["value"]) == policy
    [cluster] = doc["static_resources"]["clusters"]
    assert cluster["name"] == "openrouter" and cluster["type"] == "LOGICAL_DNS"
    tls = cluster["transport_socket"]["typed_config"]
    assert tls["sni"] == "openrouter.ai"
    assert tls["common_tls_context"]["validation_context"]["trusted_ca"]["filename"] == ec.CA_BUNDLE
    route = next(r["route"] for r in hcm["route_config"]["virtual_hosts"][-1]["routes"] if "route" in r)
    assert route["host_rewrite_literal"] == "openrouter.ai" and route["timeout"] == "0s"
    plain = ec.build(ec.EnvoyConfig(policy=policy, with_filter=False))
    plain_hcm = plain["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert [f["name"] for f in plain_hcm["http_filters"]] == ["envoy.filters.http.router"]


def test_default_policy_uses_only_known_keys() -> None:
    top = {"hosts", "clusters", "max_body_bytes", "max_json_depth", "profile_header", "default_profile",
           "user_header", "write_user", "unknown_endpoints", "pseudonym_key", "profiles", "spend"}
    prof = {"models", "provider", "max_tokens", "max_tokens_action", "pii", "reject_client_keys"}
    assert set(DEFAULT_POLICY) <= top
    assert set(DEFAULT_POLICY["profiles"]) == {"public", "internal", "confidential", "restricted"}
    assert DEFAULT_POLICY["default_profile"] in DEFAULT_POLICY["profiles"]
    for p in DEFAULT_POLICY["profiles"].values():
        assert set(p) <= prof
        assert p["models"][-1] == {"deny": "*"}


def test_cli_renders_the_same_config_as_the_module(tmp_path: Path) -> None:
    out = tmp_path / "e.yaml"
    assert ec.main(["--upstream", "http://127.0.0.1:1234", "--port", "1234", "-o", str(out)]) == 0
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(out.read_text()) == ec.build(ec.EnvoyConfig(upstream="http://127.0.0.1:1234", port=1234))


# ---------------------------------------------------------------------------------------------- plain Envoy


def test_plain_envoy_passes_requests_through_untouched(envoy_factory: EnvoyFactory, fake: FakeOpenRouter) -> None:
    env = envoy_factory(with_filter=False)
    body = b'{"model":"evil/model","messages":[{"role":"user","content":"x"}], "max_tokens": 999999}'
    r = env.http("POST", "/api/v1/chat/completions", body)
    assert r.status == 200 and r.json()["model"] == "evil/model"
    [rec] = fake.requests
    assert rec.body == body and rec.header("host") == "openrouter.ai"
    assert env.wait_logged(r.rid)
    assert env.audit_records() == []  # no filter, no audit


# ---------------------------------------------------------------------------------------------- start-up failures


@pytest.mark.parametrize("bad", ['{"profiles": 1}', "not json", '{"default_profile":"x","profiles":{},"bogus":1}'])
def test_bad_policy_makes_envoy_refuse_to_start(envoy_factory: EnvoyFactory, bad: str) -> None:
    # Envoy 1.40, failure_policy FAIL_RELOAD (only run-time traps reload): on_configure returning false fails the plugin load, the
    # listener is never created and the server exits 1 ("Unable to create Wasm plugin openrouter_guard").
    env = envoy_factory(policy_text=bad, expect_ready=False)
    assert env.returncode == 1
    log = env.stderr_text()
    assert "Failed to configure base Wasm plugin" in log
    assert "Unable to create Wasm plugin openrouter_guard" in log


def test_bad_policy_fails_envoy_validate(tmp_path: Path) -> None:
    if not WASM.is_file():
        pytest.fail(f"{WASM} is missing: run `make build`", pytrace=False)
    path = tmp_path / "envoy.yaml"
    path.write_text(ec.render(ec.EnvoyConfig(policy_text='{"profiles": 1}', wasm=WASM)))
    p = subprocess.run(ec.envoy_command(path, validate=True), capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert b"Unable to create Wasm plugin openrouter_guard" in p.stderr


def test_invalid_wasm_module_makes_envoy_refuse_to_start(envoy_factory: EnvoyFactory, tmp_path: Path) -> None:
    wasm = tmp_path / "broken.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0garbage")  # exists but is not a valid module
    env = envoy_factory(wasm=wasm, expect_ready=False)
    assert env.returncode == 1
    assert "Unable to create Wasm plugin openrouter_guard" in env.stderr_text()


# ---------------------------------------------------------------------------------------------- make run


def test_run_envoy_validates_then_serves_with_the_default_policy(fake: FakeOpenRouter, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    env = dict(os.environ, UPSTREAM=fake.url, PORT="0", ADMIN_PORT="0", OUT_DIR=str(out_dir))
    err = open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        started = wait_until(lambda: proc.poll() is not None
                             or b"starting main dispatch loop" in (tmp_path / "stderr").read_bytes(), 30)
        log = (tmp_path / "stderr").read_text(errors="replace")
        assert started and proc.poll() is None, log[-3000:]
        assert "run: listening on" in log and "filter on" in log
        assert (out_dir / "envoy.yaml").is_file() and (out_dir / "audit.log").exists()
    finally:
        stop_process(proc)
        err.close()


def test_run_envoy_refuses_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"profiles": 1}')
    env = dict(os.environ, POLICY=str(bad), OUT_DIR=str(tmp_path / "out"))
    p = subprocess.run([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120, text=True)
    assert p.returncode != 0
    assert "failed validation" in p.stderr


# ---------------------------------------------------------------------------------------------- TLS origination


def test_https_upstream_gets_tls_with_sni_and_verified_certificate(envoy_factory: EnvoyFactory,
                                                                   tmp_path: Path) -> None:
    # The production cluster shape (LOGICAL_DNS, UpstreamTlsContext, SAN check, auto_sni, ALPN auto_config),
    # pointed at a local TLS fake whose certificate names both openrouter.ai and localhost.
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:openrouter.ai,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    with FakeOpenRouter(tls=(str(cert), str(key))) as tls_fake:
        env = envoy_factory(upstream=tls_fake.url, ca_file=cert, passthrough=False, with_filter=False)
        r = env.http("POST", "/api/v1/chat/completions", {"model": "anthropic/claude-3.5-sonnet"})
        assert r.status == 200, r.body[:300]
        assert tls_fake.requests[0].header("host") == "openrouter.ai"
        assert tls_fake.sni_seen == ["openrouter.ai"]
        # A certificate the bundle does not vouch for is refused: nothing reaches the upstream.
        bad = envoy_factory(upstream=tls_fake.url, passthrough=False, with_filter=False)  # system CAs only
        r = bad.http("POST", "/api/v1/chat/completions", {"model": "anthropic/claude-3.5-sonnet"})
        assert r.status == 503 and len(tls_fake.requests) == 1


def test_default_policy_spend_example_is_shadow_only() -> None:
    """`make run`'s budget example counts and audits, never refuses (docs/spend.md)."""
    limits = DEFAULT_POLICY["spend"]["limits"]
    assert limits and all(lim["mode"] == "shadow" for lim in limits)
