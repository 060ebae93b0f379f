"""One Envoy process with a config from the one renderer (tools/envoy_config.py), in a work directory of its own.

Used as it is by the end-to-end tests (tests/e2e/conftest.py), with a few more readings by the soak
(soak/harness.py) and the benchmark (bench/bench.py). Envoy binds port 0 for its listener and admin interface
and reports both (admin address file, /listeners); every wait is bounded polling.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any, Self

import envoy_config as ec

from harness.admin import admin_get, admin_ready, listener_port, parse_stats, read_admin_address
from harness.client import Resp, http_request
from harness.proc import spawn, stop_process, wait_until


class EnvoyStartError(RuntimeError):
    pass


class Envoy:
    """Files in `workdir`: envoy.yaml, stdout.log (the audit records; opened O_APPEND, so a reader may truncate
    it while Envoy writes), stderr.log (Envoy's log and the operator
    access log; os.devnull with `keep_stderr=False`), admin.addr, audit.log (unless cfg.audit_log names one).

    audit_file: the audit records also go to audit.log (or cfg.audit_log), not only to stdout.
    audit_key: seal the audit lines with a fresh HMAC key, delivered like in production (Envoy's environment,
    vm_config host_env_keys, never its config) and written to audit.key for the verifier.
    """

    def __init__(self, cfg: ec.EnvoyConfig, workdir: Path, *, concurrency: int = 2, log_level: str = "info",
                 flush_immediately: bool = True, audit_file: bool = True, audit_key: bool = True,
                 keep_stderr: bool = True,
                 start_timeout: float = 30.0, stop_grace: float = 10.0) -> None:
        self.cfg = cfg
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "envoy.yaml"
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        self.admin_addr_path = workdir / "admin.addr"
        self.audit_path = Path(cfg.audit_log) if cfg.audit_log else workdir / "audit.log"
        if audit_file:
            cfg.audit_log = self.audit_path
        self.concurrency = concurrency
        self.log_level = log_level
        self.flush_immediately = flush_immediately
        self.keep_stderr = keep_stderr
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.admin = ""
        self.returncode: int | None = None
        # The config text to run instead of ec.render(cfg) (a hand-edited bootstrap).
        self.render_text: str | None = None
        self.audit_key: str | None = secrets.token_hex(32) if audit_key else None
        self.audit_key_path = workdir / "audit.key"

    def start(self, *, expect_ready: bool = True) -> Self:
        """Starts Envoy and waits until it is ready. An Envoy that exits first raises EnvoyStartError, unless
        `expect_ready` is False (a config it must refuse): then `returncode` is set."""
        if self.cfg.with_filter and not Path(self.cfg.wasm).is_file():
            raise EnvoyStartError(f"{self.cfg.wasm} is missing: build it with `make build` (`make e2e` does it first)")
        self.config_path.write_text(self.render_text if self.render_text is not None else ec.render(self.cfg))
        for p in (self.admin_addr_path, self.audit_path):
            p.unlink(missing_ok=True)
        self.audit_path.touch()
        cmd = ec.envoy_command(self.config_path, concurrency=self.concurrency, log_level=self.log_level,
                               flush_immediately=self.flush_immediately, admin_address_path=self.admin_addr_path)
        env = {k: v for k, v in os.environ.items() if k != ec.AUDIT_KEY_ENV}
        if self.audit_key is not None:
            self.audit_key_path.write_text(self.audit_key + "\n")
            env[ec.AUDIT_KEY_ENV] = self.audit_key
        self.admin = ""
        self.stdout_path.write_bytes(b"")
        with open(self.stdout_path, "ab") as out, open(self.stderr_path if self.keep_stderr else os.devnull, "wb") as err:
            proc = self._proc = spawn(cmd, stdout=out, stderr=err, env=env)
        ready = wait_until(lambda: proc.poll() is not None or self._ready(), self.start_timeout, 0.05)
        if proc.poll() is not None:
            self.returncode = proc.returncode
            if expect_ready:
                raise EnvoyStartError(f"Envoy exited with {self.returncode}:\n{self.log_tail()}")
            return self
        if not ready:
            self.stop()
            raise EnvoyStartError(f"Envoy not ready after {self.start_timeout}s:\n{self.log_tail()}")
        self.port = listener_port(self.admin)
        return self

    def _ready(self) -> bool:
        self.admin = self.admin or read_admin_address(self.admin_addr_path)
        return admin_ready(self.admin)

    def admin_get(self, path: str, method: str = "GET") -> str:
        return admin_get(self.admin, path, method=method, timeout=10.0)

    _admin_get = admin_get  # the name the end-to-end tests use

    def stats(self, prefix: str = "") -> dict[str, int]:
        """Counters and gauges Envoy has used whose name starts with `prefix`."""
        return parse_stats(self.admin_get("/stats?usedonly"), prefix)

    def stop(self) -> None:
        if self._proc is None:
            return
        stop_process(self._proc, grace=self.stop_grace)
        self.returncode = self._proc.returncode

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self._proc is not None, "Envoy was never started"
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def http(self, method: str, path: str, body: Any = None, **kw: Any) -> Resp:
        """One HTTP/1.1 request to the listener (harness.client.http_request)."""
        return http_request(self.port, method, path, body, **kw)

    # -- logs
    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def operator_lines(self, rid: str) -> list[str]:
        """The operator access-log lines (stderr) of request `rid`."""
        needle = f"req={rid}"
        return [line for line in self.stderr_text().splitlines() if line.endswith(needle)]

    def wait_logged(self, rid: str, timeout: float = 10.0) -> bool:
        """Waits until the operator access log (stderr) has the line of request `rid`: its stream ended and
        every access logger (the audit ones run first) has written. The audit file is a separate file that
        Envoy flushes on its own, so this then also waits (up to 1 s; nothing is written for an ungoverned
        request) until a line naming `rid` is in it."""
        needle = f"req={rid}"
        if not wait_until(lambda: needle in self.stderr_text(), timeout):
            return False
        mark = f'"request_id":{json.dumps(rid)}'.encode()
        wait_until(lambda: mark in self._complete_audit_lines(), 1.0)
        return True

    def _complete_audit_lines(self) -> bytes:
        """The audit file up to its last newline: Envoy may be halfway through writing the next line."""
        if not self.audit_path.exists():
            return b""
        data = self.audit_path.read_bytes()
        return data[: data.rfind(b"\n") + 1]

    # -- audit
    def audit_size(self) -> int:
        return self.audit_path.stat().st_size if self.audit_path.exists() else 0

    def audit_records(self, since: int = 0, *, strict: bool = True) -> list[dict[str, Any]]:
        """Audit records from byte offset `since`. A line that is not a JSON object fails (AssertionError), or
        with strict=False comes back as {"_bad_line": its first 200 bytes}."""
        with open(self.audit_path, "rb") as f:
            f.seek(since)
            data = f.read()
        # A last line without its newline is one Envoy is still writing (its file flush is not line-atomic):
        # it is read on the next call, never judged half-written.
        data = data[: data.rfind(b"\n") + 1]
        out: list[dict[str, Any]] = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if not isinstance(rec, dict):
                assert not strict, f"audit log line is not a JSON object ({len(line)} bytes): {line[:200]!r}"
                rec = {"_bad_line": line.strip()[:200].decode(errors="replace")}
            out.append(rec)
        return out
