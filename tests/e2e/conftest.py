"""End-to-end harness: the REAL Envoy binary with the REAL openrouter_guard.wasm in front of a fake OpenRouter.

Fixtures
  fake          session: the fake OpenRouter (reset before every test: no requests, no scripts)
  envoy         module: Envoy for the module's POLICY (dict; default envoy/policy.default.json), with the
                passthrough vhost; ENVOY_OPTIONS (dict of EnvoyConfig fields) tweaks it
  envoy_factory module: start more Envoys (other policies, plain Envoy, bad configs), cached per config
  http          function: http(method, path, ...) -> Resp through the module's Envoy
  audit_lines   function: audit_lines(n) -> the audit records written since the test started (waits for n)
Everything listens on 127.0.0.1, ports come from the kernel (Envoy binds port 0 and reports its ports), every
wait is bounded polling and every process is killed at the end, whatever the outcome.
"""
from __future__ import annotations

import dataclasses
import http.client as httpclient
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(HERE))

import envoy_config as ec  # noqa: E402
from fake_openrouter import FakeOpenRouter, Script  # noqa: E402,F401  (Script re-exported for tests)

WASM = Path(os.environ.get("GUARD_WASM", str(ec.DEFAULT_WASM)))
DEFAULT_POLICY: dict[str, Any] = json.loads(ec.DEFAULT_POLICY.read_text())
START_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    """Polls pred() until it returns something truthy or the timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------- HTTP client


@dataclasses.dataclass
class Resp:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    rid: str  # the x-request-id the request carried

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def error_reason(self) -> str | None:
        """`error.reason` of the filter's JSON error body, or None."""
        try:
            doc = self.json()
        except ValueError:
            return None
        err = doc.get("error") if isinstance(doc, dict) else None
        return err.get("reason") if isinstance(err, dict) else None


def http_request(port: int, method: str, path: str, body: bytes | str | dict | list | None = None, *,
                 headers: dict[str, str] | None = None, host: str | None = "openrouter.ai",
                 chunks: Iterable[bytes] | None = None, content_type: str | None = "application/json",
                 timeout: float = HTTP_TIMEOUT) -> Resp:
    """One HTTP/1.1 request to 127.0.0.1:port. A dict/list body is JSON-encoded; `chunks` sends it chunked.

    Adds a unique x-request-id unless given; `host=None` keeps http.client's own Host (127.0.0.1:port).
    """
    hdrs = {k: v for k, v in (headers or {}).items()}
    lower = {k.lower() for k in hdrs}
    rid = hdrs.get("x-request-id") or f"e2e-{uuid.uuid4()}"
    if "x-request-id" not in lower:
        hdrs["x-request-id"] = rid
    if host is not None and "host" not in lower:
        hdrs["Host"] = host
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if (body is not None or chunks is not None) and content_type and "content-type" not in lower:
        hdrs["Content-Type"] = content_type
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        skip_host = "host" in {k.lower() for k in hdrs}
        conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        if chunks is not None:
            hdrs.setdefault("Transfer-Encoding", "chunked")
        elif body is not None and "content-length" not in lower:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if chunks is not None:
            for c in chunks:
                if c:
                    conn.send(b"%x\r\n%s\r\n" % (len(c), c))
            conn.send(b"0\r\n\r\n")
        elif body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, list(r.getheaders()), data, rid)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- Envoy process


class EnvoyStartError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when pytest dies, even by SIGKILL (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Envoy:
    """One Envoy process with a rendered config; logs and audit file in `workdir`."""

    def __init__(self, cfg: ec.EnvoyConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "envoy.yaml"
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        self.admin_addr_path = workdir / "admin.addr"
        self.audit_path = Path(cfg.audit_log) if cfg.audit_log else workdir / "audit.log"
        cfg.audit_log = self.audit_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.admin = ""
        self.returncode: int | None = None
        # The config text to run instead of ec.render(cfg) (a test that hand-edits the rendered bootstrap).
        self.render_text: str | None = None
        # Every test Envoy seals its audit lines with its own HMAC key, delivered like in production: in
        # Envoy's environment (vm_config host_env_keys), never in its config. `audit_key_path` is for the verifier.
        self.audit_key: str | None = secrets.token_hex(32)
        self.audit_key_path = workdir / "audit.key"

    def start(self, *, expect_ready: bool = True) -> "Envoy":
        if self.cfg.with_filter and not Path(self.cfg.wasm).is_file():
            pytest.fail(f"{self.cfg.wasm} is missing: build it with `make build` (`make e2e` does it first)",
                        pytrace=False)
        self.config_path.write_text(self.render_text if self.render_text is not None else ec.render(self.cfg))
        for p in (self.admin_addr_path, self.audit_path):
            p.unlink(missing_ok=True)
        self.audit_path.touch()
        cmd = ec.envoy_command(self.config_path, concurrency=2, flush_immediately=True,
                               admin_address_path=self.admin_addr_path)
        env = {k: v for k, v in os.environ.items() if k != ec.AUDIT_KEY_ENV}
        if self.audit_key is not None:
            self.audit_key_path.write_text(self.audit_key + "\n")
            env[ec.AUDIT_KEY_ENV] = self.audit_key
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        ready = wait_until(lambda: self.proc.poll() is not None or self._ready(), START_TIMEOUT, 0.05)
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            if expect_ready:
                raise EnvoyStartError(f"Envoy exited with {self.returncode}:\n{self.log_tail()}")
            return self
        if not ready:
            self.stop()
            raise EnvoyStartError(f"Envoy not ready after {START_TIMEOUT}s:\n{self.log_tail()}")
        self.port = ec.listener_port(self.admin)
        return self

    def _admin_get(self, path: str) -> str:
        return ec.admin_get(self.admin, path)

    def _ready(self) -> bool:
        self.admin = self.admin or ec.read_admin_address(self.admin_addr_path)
        return ec.admin_ready(self.admin)

    def stats(self, prefix: str = "") -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self._admin_get("/stats?usedonly").splitlines():
            k, _, v = line.partition(": ")
            if k.startswith(prefix) and v.strip().lstrip("-").isdigit():
                out[k] = int(v)
        return out

    def stop(self) -> None:
        if self.proc is None:
            return
        ec.stop_process(self.proc)
        self.returncode = self.proc.returncode

    # -- logs
    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def wait_logged(self, rid: str, timeout: float = 10.0) -> bool:
        """Waits until the operator access log (stderr) has the line of request `rid`: its stream ended and
        every access logger (the audit ones run first) has written. The audit file is a separate file that
        Envoy flushes on its own, so this then also waits (up to 1 s; nothing is written for an ungoverned
        request) until a line naming `rid` is in it."""
        needle = f"req={rid}"
        if not wait_until(lambda: needle in self.stderr_text(), timeout):
            return False
        mark = f'"request_id":{json.dumps(rid)}'.encode()
        wait_until(lambda: self.audit_path.exists() and mark in self.audit_path.read_bytes(), 1.0)
        return True

    # -- audit
    def audit_size(self) -> int:
        return self.audit_path.stat().st_size if self.audit_path.exists() else 0

    def audit_records(self, since: int = 0) -> list[dict[str, Any]]:
        """Audit records from byte offset `since`; a line that is not a JSON object fails the test."""
        with open(self.audit_path, "rb") as f:
            f.seek(since)
            data = f.read()
        out = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                pytest.fail(f"audit log line is not JSON ({len(line)} bytes): {line[:200]!r}")
            assert isinstance(rec, dict), f"audit record is not an object: {line[:200]!r}"
            out.append(rec)
        return out

    def http(self, method: str, path: str, body: Any = None, **kw: Any) -> Resp:
        return http_request(self.port, method, path, body, **kw)


def make_config(fake: FakeOpenRouter, policy: dict[str, Any] | None = None, **options: Any) -> ec.EnvoyConfig:
    # restrict_endpoints off: the filter is tested on any path (test_deploy_envoy.py tests the restriction).
    opts: dict[str, Any] = {"upstream": fake.url, "passthrough": True, "wasm": WASM, "restrict_endpoints": False}
    opts.update(options)
    return ec.EnvoyConfig(port=0, admin_port=0, policy=policy, **opts)


class EnvoyFactory:
    """Starts Envoys on demand, one per distinct config, and stops them all at the end."""

    def __init__(self, fake: FakeOpenRouter, basedir: Path) -> None:
        self.fake = fake
        self.basedir = basedir
        self._cache: dict[str, Envoy] = {}
        self._all: list[Envoy] = []

    def __call__(self, policy: dict[str, Any] | None = None, *, expect_ready: bool = True, cache: bool = True,
                 **options: Any) -> Envoy:
        cfg = make_config(self.fake, policy, **options)
        key = json.dumps([cfg.policy_json(), sorted((k, str(v)) for k, v in options.items())])
        if cache and expect_ready and key in self._cache:
            return self._cache[key]
        env = Envoy(cfg, self.basedir / f"envoy{len(self._all)}")
        self._all.append(env)
        env.start(expect_ready=expect_ready)
        if cache and expect_ready:
            self._cache[key] = env
        return env

    def stop_all(self) -> None:
        for env in self._all:
            env.stop()


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
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and "envoy" in getattr(item, "funcargs", {}):
        env = item.funcargs["envoy"]
        rep.sections.append(("envoy stderr (tail)", env.log_tail(30)))
