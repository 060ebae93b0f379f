"""The examples (examples/openai_client.py, examples/curl.sh) against real Envoy + the fake upstream, and the
committed production-shaped envoy/envoy.yaml (must equal a fresh render and pass `envoy --mode validate`).

The module's Envoy injects the key (credential_file), as `OPENROUTER_API_KEY=... make run` does: the examples
send no key of their own.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import envoy_config as ec
from envoys import WASM, EnvoyFactory
from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter

EXAMPLES = ec.ROOT / "examples"
VENV_PY = ec.ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PY) if VENV_PY.exists() else sys.executable
INJECTED = "sk-or-v1-" + "5eed" * 16
DEMO_EMAIL = "jane.doe@example.com"
DEMO_KEY = "sk-or-v1-" + "0123456789abcdef" * 4
FAKE_REPLY = "Hello from the fake upstream."


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, tmp_path_factory: pytest.TempPathFactory) -> Envoy:
    secret = tmp_path_factory.mktemp("secrets") / "openrouter-api-key.yaml"
    ec.write_file(secret, ec.secret_resource_text(INJECTED), private=True)
    return envoy_factory(credential_file=secret)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _run(cmd: list[str], extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env={**_env(), **(extra_env or {})}, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _client(envoy: Envoy, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(PYTHON) is None and not Path(PYTHON).exists():
        pytest.skip("no python")
    pytest.importorskip("openai")
    return _run([PYTHON, str(EXAMPLES / "openai_client.py"), *args,
                 "--base-url", f"http://127.0.0.1:{envoy.port}/api/v1"])


def _check_upstream(fake: FakeOpenRouter, expect_stream: bool = True) -> None:
    """What the fake OpenRouter got from the four calls: 3 allowed requests (the denied one never left
    Envoy), each with only the injected key, the redaction prompt without the originals."""
    reqs = fake.requests
    assert len(reqs) == 3, [r.body[:100] for r in reqs]
    for rec in reqs:
        assert rec.header_all("authorization") == ["Bearer " + INJECTED]
    bodies = [rec.json() for rec in reqs]
    assert [b.get("stream") is True for b in bodies] == [False, expect_stream, False]
    redacted = bodies[2]["messages"][0]["content"]
    assert DEMO_EMAIL not in redacted and DEMO_KEY not in redacted, redacted
    assert "[EMAIL]" in redacted and "[OPENROUTER_KEY]" in redacted, redacted
    assert all("meta-llama" not in b["model"] for b in bodies)
    for rec in reqs:  # the profile and user headers are the filter's, consumed before the upstream
        assert rec.header("x-data-classification") is None and rec.header("x-user-id") is None


def test_openai_client_example_runs_all_four_calls(envoy: Envoy, fake: FakeOpenRouter) -> None:
    # The strictest profile: it refuses client keys, so this also shows the example sends none.
    p = _client(envoy, "all", "--profile", "restricted", "--user", "alice")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert f"chat: {FAKE_REPLY}" in out
    assert "chat: model=anthropic/claude-3.5-sonnet provider=Anthropic" in out
    assert f"stream: {FAKE_REPLY}" in out
    chunks = int(out.split("stream: ")[-1].split(" content chunks")[0])
    assert chunks == len(FAKE_REPLY.split(" ")), out  # one delta per word, as the fake streams them
    assert "denied: HTTP 403 reason=model_denied" in out
    assert "rule #1 (deny \"*:free\")" in out and "profile 'restricted'" in out
    assert "redact: the model never saw the originals" in out
    _check_upstream(fake)


def test_openai_client_example_with_a_dummy_key_is_refused_by_the_restricted_profile(envoy: Envoy, fake) -> None:
    p = _client(envoy, "chat", "--profile", "restricted", "--dummy-key")
    assert p.returncode == 1
    assert "chat: HTTP 403" in p.stdout and "client-supplied API keys" in p.stdout, p.stdout
    assert fake.requests == []


def test_curl_example_runs_all_four_calls(envoy: Envoy, fake: FakeOpenRouter) -> None:
    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    p = _run(["bash", str(EXAMPLES / "curl.sh"), "all"], {"GUARD_URL": f"http://127.0.0.1:{envoy.port}/api/v1"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("HTTP 200") == 3 and "HTTP 403" in p.stdout
    assert '"reason":"model_denied"' in p.stdout and "data: [DONE]" in p.stdout
    _check_upstream(fake)


def test_example_scripts_are_executable() -> None:
    for name in ("openai_client.py", "curl.sh"):
        assert os.access(EXAMPLES / name, os.X_OK), name
    p = _run(["bash", "-n", str(EXAMPLES / "curl.sh")])
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------------------------------------- envoy/envoy.yaml


def test_committed_envoy_yaml_is_the_renderers_output() -> None:
    pytest.importorskip("yaml")  # the committed file is the PyYAML rendering
    assert ec.EXAMPLE_CONFIG.read_text() == ec.render_example(), (
        "envoy/envoy.yaml drifted from tools/envoy_config.py: regenerate it with "
        "`.venv/bin/python tools/envoy_config.py --example -o envoy/envoy.yaml`")


def test_committed_envoy_yaml_is_production_shaped_and_portable() -> None:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(ec.EXAMPLE_CONFIG.read_text())
    text = ec.EXAMPLE_CONFIG.read_text()
    assert str(ec.ROOT) not in text  # relative paths only: works from any checkout
    assert doc["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    [cluster] = doc["static_resources"]["clusters"]
    assert cluster["type"] == "LOGICAL_DNS" and cluster["transport_socket"]["typed_config"]["sni"] == "openrouter.ai"
    filters = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"][
        "http_filters"]
    assert [f["name"] for f in filters] == ["envoy.filters.http.header_mutation", "envoy.filters.http.credential_injector",
                                            "envoy.filters.http.upstream_codec"]
    assert filters[1]["typed_config"]["overwrite"] is True
    hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = hcm["http_filters"][0]["typed_config"]["config"]
    assert wasm["vm_config"]["code"]["local"]["filename"] == "target/openrouter_guard.wasm"
    assert json.loads(wasm["configuration"]["value"]) == json.loads(ec.DEFAULT_POLICY.read_text())


def test_committed_envoy_yaml_passes_envoy_validate(tmp_path: Path) -> None:
    # Envoy resolves its relative paths against the working directory: give it a tree shaped like the repo.
    if not WASM.is_file():
        pytest.fail(f"{WASM} is missing: run `make build`", pytrace=False)
    wasm = tmp_path / "target" / "openrouter_guard.wasm"
    wasm.parent.mkdir(parents=True)
    wasm.symlink_to(WASM)
    ec.write_file(tmp_path / "out" / "secrets" / "openrouter-api-key.yaml", ec.secret_resource_text("sk-or-v1-x"),
                  private=True)
    p = subprocess.run(ec.envoy_command(ec.EXAMPLE_CONFIG, validate=True), cwd=tmp_path, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]
