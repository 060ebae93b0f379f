"""Credential injection: Envoy adds the organisation's OpenRouter key after the filter, so applications hold none.

The module's Envoy renders with `credential_file` (an SDS file with the key): cluster openrouter gets the upstream
filter `credential_injector` (overwrite: true). The filter sees only what the client sent, so `reject_client_keys`
still works; the upstream sees only the injected key; the key is in no log, no rendered config, no admin output.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import envoy_config as ec
from envoys import EnvoyFactory
from harness.client import http_request
from harness.envoy import Envoy
from harness.ports import PortTaken, start_on_free_port
from harness.proc import stop_process, wait_until
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, SECRET_KEY, assert_rejected, chat


INJECTED = "sk-or-v1-" + "feedface" * 8  # the organisation's key (only Envoy's SDS file holds it)
CLIENT_KEY = SECRET_KEY  # a key an application sends on its own


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, secret_file: Path) -> Envoy:
    """Overrides conftest's: the default policy with credential injection."""
    return envoy_factory(credential_file=secret_file)


def _auth_seen(fake: FakeOpenRouter) -> list[list[str]]:
    return [rec.header_all("authorization") for rec in fake.requests]


def test_upstream_sees_exactly_the_injected_key_and_never_the_clients(envoy: Envoy, fake: FakeOpenRouter) -> None:
    # No client key, a client Authorization, a client x-api-key, both: the upstream always gets one header,
    # the injected key (overwrite: true), and no x-api-key.
    for headers in ({}, {"Authorization": "Bearer " + CLIENT_KEY}, {"x-api-key": CLIENT_KEY},
                    {"Authorization": "Bearer " + CLIENT_KEY, "x-api-key": CLIENT_KEY}):
        r = envoy.http("POST", CHAT, chat(), headers={"x-data-classification": "public", **headers})
        assert r.status == 200, r.body[:300]
    assert _auth_seen(fake) == [["Bearer " + INJECTED]] * 4
    for rec in fake.requests:
        assert rec.header("x-api-key") is None
        assert CLIENT_KEY not in json.dumps(rec.headers) and CLIENT_KEY.encode() not in rec.body


def test_streaming_and_get_requests_get_the_key_too(envoy: Envoy, fake: FakeOpenRouter) -> None:
    r = envoy.http("POST", CHAT, chat(stream=True), headers={"x-data-classification": "public"})
    assert r.status == 200 and b"data: [DONE]" in r.body
    r = envoy.http("GET", "/api/v1/models")
    assert r.status == 200
    assert _auth_seen(fake) == [["Bearer " + INJECTED]] * 2


def test_requests_to_other_clusters_never_get_the_key(envoy: Envoy, fake: FakeOpenRouter) -> None:
    # The injector is an upstream filter of cluster `openrouter` only.
    r = envoy.http("GET", "/passthrough/x")  # Host openrouter.ai: governed, no body, routed to `passthrough`
    assert r.status == 200
    r = envoy.http("GET", "/", host="example.com")
    assert r.status == 200
    assert _auth_seen(fake) == [[], []]


def test_restricted_profile_refuses_a_client_key_and_the_upstream_receives_nothing(envoy: Envoy, fake, audit_for):
    for headers in ({"Authorization": "Bearer " + CLIENT_KEY}, {"x-api-key": CLIENT_KEY}):
        r = envoy.http("POST", CHAT, chat("anthropic/claude-3.5-sonnet"),
                       headers={"x-data-classification": "restricted", **headers})
        assert_rejected(envoy, fake, audit_for, r, 403, "client_key_rejected")
    assert fake.headers_seen == 0


def test_restricted_profile_works_without_a_client_key(envoy: Envoy, fake: FakeOpenRouter) -> None:
    r = envoy.http("POST", CHAT, chat("anthropic/claude-3.5-sonnet"), headers={"x-data-classification": "restricted"})
    assert r.status == 200, r.body[:300]
    assert _auth_seen(fake) == [["Bearer " + INJECTED]]


def test_the_key_is_in_no_log_no_audit_record_no_config_and_no_admin_output(envoy: Envoy, fake, audit_for) -> None:
    allowed = envoy.http("POST", CHAT, chat(), headers={"Authorization": "Bearer " + CLIENT_KEY})
    denied = envoy.http("POST", CHAT, chat("meta-llama/llama-3-70b"))
    assert allowed.status == 200 and denied.status == 403
    audit_for(allowed), audit_for(denied)
    texts = {
        "stdout": envoy.stdout_text(), "stderr": envoy.stderr_text(), "audit log": envoy.audit_path.read_text(),
        "envoy.yaml": envoy.config_path.read_text(),
    }
    for path in ("/config_dump?include_eds", "/stats", "/stats/prometheus", "/server_info", "/clusters"):
        texts[path] = envoy._admin_get(path)
    for where, text in texts.items():
        assert INJECTED not in text, f"the injected key leaked into {where}"
        assert INJECTED[9:] not in text, f"the injected key (without prefix) leaked into {where}"
    # The config dump names the secret, redacted: the operator can see injection is configured.
    assert ec.CREDENTIAL_SECRET_NAME in texts["/config_dump?include_eds"]
    assert allowed.header("authorization") is None and INJECTED.encode() not in allowed.body


def test_rendered_config_with_injection_passes_envoy_validate(tmp_path: Path, secret_file: Path) -> None:
    path = tmp_path / "envoy.yaml"
    cfg = ec.EnvoyConfig(credential_file=secret_file, audit_log=tmp_path / "audit.log")
    path.write_text(ec.render(cfg))
    assert INJECTED not in path.read_text()
    p = subprocess.run(ec.envoy_command(path, validate=True), capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]
    # No secret file: Envoy refuses the config rather than forwarding without a key.
    path.write_text(ec.render(ec.EnvoyConfig(credential_file=tmp_path / "missing.yaml")))
    p = subprocess.run(ec.envoy_command(path, validate=True), capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and "missing.yaml' does not exist" in p.stderr


def test_default_render_has_no_injection() -> None:
    doc = ec.build(ec.EnvoyConfig())
    assert "node" not in doc
    assert "credential_injector" not in json.dumps(doc)


def test_rotating_the_secret_file_rotates_the_key_without_restart(envoy_factory: EnvoyFactory, fake: FakeOpenRouter,
                                                                  tmp_path: Path) -> None:
    secret = tmp_path / "secrets" / "key.yaml"
    ec.write_file(secret, ec.secret_resource_text("sk-or-v1-first"), private=True)
    env = envoy_factory(credential_file=secret, cache=False)
    assert env.http("POST", CHAT, chat()).status == 200
    ec.write_file(secret, ec.secret_resource_text("sk-or-v1-second"), private=True)

    def rotated() -> bool:
        fake.reset()
        return env.http("POST", CHAT, chat()).status == 200 and _auth_seen(fake) == [["Bearer sk-or-v1-second"]]

    assert wait_until(rotated, 10, 0.1)
    env.stop()


@pytest.mark.parametrize("raw", ["", "   \n", "sk-or-v1 abc", "sk-or-v1-abc\nX-Evil: 1", "Bearer "])
def test_keys_that_cannot_be_a_header_value_are_refused(raw: str) -> None:
    with pytest.raises(ValueError) as e:
        ec.secret_resource_text(raw)
    assert "abc" not in str(e.value)  # the error never quotes the key


def test_key_files_are_trimmed_and_bearer_prefix_is_not_doubled() -> None:
    for raw in ("sk-or-v1-abc\n", "  sk-or-v1-abc  ", "Bearer sk-or-v1-abc", "bearer sk-or-v1-abc\r\n"):
        doc = json.loads(ec.secret_resource_text(raw))
        assert doc["resources"][0]["generic_secret"]["secret"]["inline_string"] == "Bearer sk-or-v1-abc"


# ---------------------------------------------------------------------------------------------- make run


def _run_envoy(tmp_path: Path, fake: FakeOpenRouter, extra_env: dict[str, str],
               ready: bytes = b"starting main dispatch loop"):
    """`make run` (tools/run_envoy.py) on a free port: its PORT cannot be 0, so a port another process took between
    harness.ports.free_port and Envoy's bind is retried on a fresh one (run_envoy.py refuses it: "already in use")."""
    out_dir = tmp_path / "out"
    log = tmp_path / "stderr"

    def start(port: int):
        env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "OPENROUTER_API_KEY_FILE")}
        env.update(UPSTREAM=fake.url, PORT=str(port), ADMIN_PORT="0", OUT_DIR=str(out_dir), **extra_env)
        with open(log, "wb") as err:
            proc = subprocess.Popen([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        started = wait_until(lambda: proc.poll() is not None or ready in log.read_bytes(), 30)
        if proc.poll() is not None and b"already in use" in log.read_bytes():
            raise PortTaken(port)
        return proc, port, out_dir, log, started

    return start_on_free_port(start)


def _stop(proc: subprocess.Popen) -> None:
    stop_process(proc, group=True)


@pytest.mark.parametrize("source", ["env", "file"])
def test_make_run_injects_the_key_from_the_environment_and_never_writes_it_to_logs(
        fake: FakeOpenRouter, tmp_path: Path, source: str) -> None:
    key = "sk-or-v1-" + "c0ffee00" * 8
    if source == "env":
        # debug: Envoy's `config` logger would print the SDS file in full; run_envoy.py keeps it at info.
        extra = {"OPENROUTER_API_KEY": key, "LOG_LEVEL": "debug"}
    else:
        key_file = tmp_path / "key"
        key_file.write_text(key + "\n")
        extra = {"OPENROUTER_API_KEY_FILE": str(key_file)}
    proc, port, out_dir, log, started = _run_envoy(tmp_path, fake, extra)
    try:
        assert started and proc.poll() is None, log.read_text(errors="replace")[-3000:]
        text = log.read_text(errors="replace")
        assert "credential injection ON" in text and "WARNING" not in text
        r = http_request(port, "POST", CHAT, chat("anthropic/claude-3.5-sonnet"),
                         headers={"x-data-classification": "restricted"})
        assert r.status == 200, r.body[:300]
        assert _auth_seen(fake) == [["Bearer " + key]]
        secret = out_dir / "secrets" / "openrouter-api-key.yaml"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
        # Envoy (run_envoy.py exec'd into it) does not carry the key in its environment.
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        assert key.encode() not in environ and b"OPENROUTER_API_KEY" not in environ
        assert wait_until(lambda: "cluster=openrouter" in log.read_text(errors="replace"), 10)
        for f in (out_dir / "envoy.yaml", out_dir / "audit.log", log):
            assert key not in f.read_text(errors="replace"), f
        if source == "env":
            text = log.read_text()
            assert "][debug][" in text  # debug logging was really on, except for the `config` logger
            assert "Filesystem config update accepted" not in text
    finally:
        _stop(proc)


def test_make_run_without_a_key_warns_that_apps_must_send_their_own(fake: FakeOpenRouter, tmp_path: Path) -> None:
    # (test_harness.py's make-run test shows this configuration serving.)
    proc, port, out_dir, log, started = _run_envoy(tmp_path, fake, {}, ready=b"run: WARNING")
    try:
        assert started, log.read_text(errors="replace")[-3000:]
        text = log.read_text(errors="replace")
        assert "WARNING: OPENROUTER_API_KEY / OPENROUTER_API_KEY_FILE not set" in text
        assert "credential_injector" not in (out_dir / "envoy.yaml").read_text()
        assert not (out_dir / "secrets").exists()
    finally:
        _stop(proc)


def test_make_run_refuses_a_malformed_key_without_printing_it(tmp_path: Path) -> None:
    env = dict(os.environ, OUT_DIR=str(tmp_path / "out"), OPENROUTER_API_KEY="sk-or-v1-abc def")
    env.pop("OPENROUTER_API_KEY_FILE", None)
    p = subprocess.run([sys.executable, str(ec.ROOT / "tools" / "run_envoy.py")], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60, text=True)
    assert p.returncode != 0 and "OPENROUTER_API_KEY" in p.stderr
    assert "abc def" not in p.stderr + p.stdout
