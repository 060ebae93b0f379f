"""Shared by soak/soak.py and soak/faults.py: build the Rust tools, run the checking upstream and a real
Envoy with the real filter (config from tools/envoy_config.py, the one renderer), read stats, RSS, logs and
the audit file, and check the wasm VM's health. Everything on 127.0.0.1; every process started here is
stopped here (and gets SIGTERM if this Python dies)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

SOAK = Path(__file__).resolve().parent
ROOT = SOAK.parent
sys.path.insert(0, str(ROOT / "tools"))

import envoy_config as ec  # noqa: E402

BIN = SOAK / "target" / "release"
OUT = SOAK / "out"

# Log lines that mean the wasm VM (or the filter inside it) failed. Envoy logs "Wasm VM failed" when a
# VM traps; a Rust panic prints "panicked at"; a trap surfaces as "Uncaught RuntimeError"/"unreachable".
BAD_LOG_MARKERS = ("panicked", "Wasm VM failed", "Uncaught", "RuntimeError", "unreachable",
                   "cannot publish audit", "local reply failed", "failed to load", "[critical]")


def build_tools() -> None:
    """cargo build --release of the soak crate (std only: builds offline)."""
    cmd = ["cargo", "build", "--release", "--quiet", "--manifest-path", str(SOAK / "Cargo.toml")]
    if subprocess.run(cmd + ["--offline"]).returncode != 0:
        subprocess.run(cmd, check=True)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def http_get(url: str, timeout: float = 10.0, method: str = "GET") -> str:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


class Upstream:
    """soak-upstream: the fast, checking fake OpenRouter."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "upstream.stderr", "wb")
        self.proc = subprocess.Popen([str(BIN / "soak-upstream")], stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"soak-upstream did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        return json.loads(http_get(self.url + "/__soak/stats"))

    def rids(self) -> dict[str, tuple[bool, str]]:
        """Every request the upstream saw: rid -> (body complete, fault)."""
        out: dict[str, tuple[bool, str]] = {}
        for line in http_get(self.url + "/__soak/rids", timeout=30).splitlines():
            parts = line.split()
            if len(parts) == 3:
                out[parts[0]] = (parts[1] == "1", parts[2])
        return out

    def reset(self) -> None:
        http_get(self.url + "/__soak/reset", method="POST")

    def stop(self) -> None:
        ec.stop_process(self.proc, grace=5)
        self.log.close()


class EnvoyProc:
    """One Envoy (hot restart off, concurrency 2, access logs flushed quickly) with a rendered config.
    `tweak(doc)` may edit the bootstrap dict before it is written (e.g. a smaller buffer limit)."""

    def __init__(self, cfg: ec.EnvoyConfig, workdir: Path, tweak: Callable[[dict], None] | None = None,
                 concurrency: int = 2, log_level: str = "info") -> None:
        self.cfg = cfg
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.audit_path = workdir / "audit.log"
        cfg.audit_log = self.audit_path
        self.config_path = workdir / "envoy.yaml"
        self.admin_path = workdir / "admin.addr"
        self.stderr_path = workdir / "envoy.stderr"
        self.stdout_path = workdir / "envoy.stdout"
        for p in (self.admin_path, self.audit_path):
            p.unlink(missing_ok=True)
        doc = ec.build(cfg)
        if tweak:
            tweak(doc)
        self.config_path.write_text(json.dumps(doc, indent=1))
        self.audit_path.touch()
        cmd = ec.envoy_command(self.config_path, concurrency=concurrency, flush_immediately=True,
                               admin_address_path=self.admin_path, log_level=log_level)
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        self.admin = ""
        if not wait_until(lambda: self.proc.poll() is not None or self._ready(), 60, 0.1) or self.proc.poll() is not None:
            tail = self.log_text()[-3000:]
            self.stop()
            raise RuntimeError(f"Envoy did not become ready:\n{tail}")
        self.port = ec.listener_port(self.admin)

    def _ready(self) -> bool:
        self.admin = self.admin or ec.read_admin_address(self.admin_path)
        return ec.admin_ready(self.admin)

    def admin_get(self, path: str, method: str = "GET") -> str:
        return ec.admin_get(self.admin, path, method=method, timeout=10.0)

    def stats(self, prefix: str = "") -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.admin_get("/stats").splitlines():
            k, _, v = line.partition(": ")
            if k.startswith(prefix) and v.strip().lstrip("-").isdigit():
                out[k] = int(v)
        return out

    def rss_kb(self) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def log_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def bad_log_lines(self) -> list[str]:
        """Envoy's own log lines (not the operator access log) with a VM-failure marker."""
        out = []
        with open(self.stderr_path, "r", errors="replace") as f:
            for line in f:
                if line.startswith("[") and "req=" in line:  # operator access-log line
                    continue
                # The filter's own error-level lines ("wasm log ... [error]") count too.
                if any(m in line for m in BAD_LOG_MARKERS) or ("wasm log" in line and "[error]" in line):
                    out.append(line.rstrip()[:300])
        return out

    def operator_lines(self, rid: str) -> list[str]:
        needle = f"req={rid}"
        return [line for line in self.log_text().splitlines() if line.endswith(needle)]

    def audit_records(self) -> list[dict[str, Any]]:
        out = []
        with open(self.audit_path, "rb") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append({"_bad_line": line[:200].decode(errors="replace")})
        return out

    def audit_for(self, rid: str, expect: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Records of request `rid`: waits for the operator log line (written after the audit loggers),
        then for `expect` records, then a short moment for a wrong duplicate."""
        wait_until(lambda: self.operator_lines(rid), timeout, 0.05)

        def mine() -> list[dict[str, Any]]:
            return [r for r in self.audit_records() if r.get("request_id") == rid]

        wait_until(lambda: len(mine()) >= expect, 2.0, 0.05)
        time.sleep(0.3)
        return mine()

    def stop(self) -> None:
        ec.stop_process(self.proc, grace=15)
        self._out.close()
        self._err.close()


def wasm_snapshot(env: EnvoyProc) -> dict[str, int]:
    return env.stats("wasm.")


def wasm_problems(env: EnvoyProc, baseline: dict[str, int]) -> list[str]:
    """No VM restart or crash since `baseline`: no new VMs created, no reloads, no failures, no
    failure markers in Envoy's log, and the process still running."""
    problems = []
    if env.proc.poll() is not None:
        return [f"Envoy exited with {env.proc.returncode}"]
    now = wasm_snapshot(env)
    for k, v in sorted(now.items()):
        if k.startswith("wasm.remote_load"):
            continue
        if ("vm_reload" in k or "fail" in k) and v:
            problems.append(f"{k}={v}")
        elif k.endswith(".created") and v != baseline.get(k, v):
            problems.append(f"{k} {baseline.get(k)} -> {v} (VM re-created)")
        elif k.endswith(".active") and v != baseline.get(k, v):
            problems.append(f"{k} {baseline.get(k)} -> {v}")
    bad = env.bad_log_lines()
    if bad:
        problems.append(f"{len(bad)} failure lines in Envoy's log, first: {bad[0]}")
    return problems


def sha_policy_default() -> dict[str, Any]:
    return json.loads(ec.DEFAULT_POLICY.read_text())


def pii_config_in_default_policy() -> bool:
    pol = sha_policy_default()
    return any("pii" in (p or {}) for p in pol.get("profiles", {}).values())


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    return int(v) if v and v.strip() else default
