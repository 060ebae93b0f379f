"""End-to-end harness: the REAL Envoy binary with the REAL openrouter_guard.wasm in front of a fake OpenRouter.

Fixtures
  fake          session: the fake OpenRouter (reset before every test: no requests, no scripts)
  envoy         module: Envoy for the module's POLICY (dict; default envoy/policy.default.json), with the
                passthrough vhost; ENVOY_OPTIONS (dict of EnvoyConfig fields) tweaks it
  envoy_factory module: start more Envoys (other policies, plain Envoy, bad configs), cached per config
  http          function: http(method, path, ...) -> Resp through the module's Envoy
  audit_lines   function: audit_lines(n) -> the audit records written since the test started (waits for n)
  secret_file   module: the SDS secret file with the module's INJECTED key (credential injection)
Everything listens on 127.0.0.1, ports come from the kernel (Envoy binds port 0 and reports its ports), every
wait is bounded polling and every process is killed at the end, whatever the outcome. The process, admin and
client code is the `harness` package's (shared with the bench and the soak): tests import it from there, and
make_config / EnvoyFactory / WASM / DEFAULT_POLICY from envoys.py, never from this file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import envoy_config as ec
import pytest
from fake_openrouter import FakeOpenRouter, Script  # noqa: F401  (Script: as ROOT)

from envoys import EnvoyFactory
from harness.client import Resp
from harness.envoy import Envoy
from harness.proc import wait_until

ROOT = ec.ROOT  # for test files written before they imported it from envoy_config (none on main)

# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def fake_server() -> Iterable[FakeOpenRouter]:
    fake = FakeOpenRouter().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake(fake_server: FakeOpenRouter) -> FakeOpenRouter:
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="module")
def envoy_factory(fake_server: FakeOpenRouter, tmp_path_factory: pytest.TempPathFactory) -> Iterable[EnvoyFactory]:
    factory = EnvoyFactory(fake_server, tmp_path_factory.mktemp("envoy"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def envoy(request: pytest.FixtureRequest, envoy_factory: EnvoyFactory) -> Envoy:
    policy = getattr(request.module, "POLICY", None)
    options = getattr(request.module, "ENVOY_OPTIONS", {})
    return envoy_factory(policy, **options)


@pytest.fixture(scope="module")
def secret_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file-based SDS secret (ec.secret_resource_text) holding the module's INJECTED key."""
    path = tmp_path_factory.mktemp("secrets") / "openrouter-api-key.yaml"
    ec.write_file(path, ec.secret_resource_text(request.module.INJECTED), private=True)
    return path


@pytest.fixture
def audit_mark(envoy: Envoy) -> int:
    return envoy.audit_size()


@pytest.fixture
def http(envoy: Envoy, fake: FakeOpenRouter) -> Callable[..., Resp]:
    """http(method, path, body=None, headers=..., host="openrouter.ai", chunks=None, content_type=...) -> Resp."""
    return envoy.http


@pytest.fixture
def audit_lines(envoy: Envoy, audit_mark: int) -> Callable[..., list[dict[str, Any]]]:
    """audit_lines(n=1, timeout=10) -> records written since the test started; waits (bounded) until there
    are at least n, then briefly for stragglers so callers can assert exact counts."""

    def get(n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        def count() -> int:
            return len(envoy.audit_records(audit_mark))

        wait_until(lambda: count() >= n, timeout)
        wait_until(lambda: count() > n, 0.1)  # a wrongly duplicated record gets a moment to show up
        return envoy.audit_records(audit_mark)

    return get


@pytest.fixture
def audit_for(envoy: Envoy, audit_mark: int) -> Callable[[Resp], list[dict[str, Any]]]:
    """audit_for(resp) -> the audit records of that request: waits until Envoy logged the request (operator
    log line on stderr, written after the audit loggers), then returns the records with its request_id."""

    def get(resp: Resp, expect: int = 1) -> list[dict[str, Any]]:
        assert envoy.wait_logged(resp.rid), f"Envoy never logged request {resp.rid}"

        def mine() -> list[dict[str, Any]]:
            return [r for r in envoy.audit_records(audit_mark) if r.get("request_id") == resp.rid]

        got = wait_until(lambda: len(m := mine()) >= expect and m, 2.0 if expect else 0.2)
        return got or mine()

    return get


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterable[None]:
    outcome: Any = yield
    rep = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    if rep.when == "call" and rep.failed and "envoy" in funcargs:
        env = funcargs["envoy"]
        rep.sections.append(("envoy stderr (tail)", env.log_tail(30)))
