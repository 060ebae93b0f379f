"""Shared by soak/soak.py and soak/faults.py: build the Rust tools, run the checking upstream and a real
Envoy with the real filter (the `harness` package: config from tools/envoy_config.py, the one renderer), read
stats, RSS, logs and the audit file, and check the wasm VM's health. Everything on 127.0.0.1; every process
started here is stopped here (and gets SIGTERM if this Python dies)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import envoy_config as ec

from harness.envoy import Envoy
from harness.proc import wait_until
from harness.upstream import BinaryUpstream

SOAK = Path(__file__).resolve().parent
ROOT = SOAK.parent
BIN = ROOT / "target" / "tools"
OUT = SOAK / "out"

# Log lines that mean the wasm VM (or the filter inside it) failed. Envoy logs "Wasm VM failed" when a
# VM traps; a Rust panic prints "panicked at"; a trap surfaces as "Uncaught RuntimeError"/"unreachable".
BAD_LOG_MARKERS = ("panicked", "Wasm VM failed", "Uncaught", "RuntimeError", "unreachable",
                   "cannot publish audit", "local reply failed", "failed to load", "[critical]")


def build_tools() -> None:
    """cargo build of the soak crate (std only: builds offline), profile `tools` of the workspace."""
    cmd = ["cargo", "build", "--profile", "tools", "--quiet", "-p", "soak-tools"]
    if subprocess.run(cmd + ["--offline"], cwd=ROOT).returncode != 0:
        subprocess.run(cmd, check=True, cwd=ROOT)


def start_up(run: str) -> tuple[Path, Path] | None:
    """What soak.py and faults.py do first: the module to load (GUARD_WASM, default the shipped one; None, with a
    message, when it is missing), the tools built, and an empty work directory OUT/<run>. Returns (wasm, work)."""
    wasm = Path(os.environ.get("GUARD_WASM", str(ec.DEFAULT_WASM)))
    if not wasm.is_file():
        print(f"{wasm} missing: run `make build`", file=sys.stderr)
        return None
    build_tools()
    work = OUT / run
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return wasm, work


def http_get(url: str, timeout: float = 10.0, method: str = "GET") -> str:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return str(r.read().decode())


class Upstream(BinaryUpstream):
    """soak-upstream: the fast, checking fake OpenRouter."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "upstream.stderr", "wb")
        super().__init__([BIN / "soak-upstream"], stderr=self.log)

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(http_get(self.url + "/__soak/stats")))

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
        super().stop()
        self.log.close()


class EnvoyProc(Envoy):
    """A started Envoy (concurrency 2, access logs flushed quickly, no audit key: the lines carry no mac).
    `tweak(doc)` may edit the bootstrap dict before it is written (e.g. a smaller buffer limit)."""

    def __init__(self, cfg: ec.EnvoyConfig, workdir: Path, tweak: Callable[[dict[str, Any]], None] | None = None,
                 concurrency: int = 2, log_level: str = "info") -> None:
        super().__init__(cfg, workdir, concurrency=concurrency, log_level=log_level, audit_key=False,
                         start_timeout=60.0, stop_grace=15.0)
        if tweak:
            doc = ec.build(cfg)
            tweak(doc)
            self.render_text = json.dumps(doc, indent=1)
        self.start()

    def rss_kb(self) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def log_text(self) -> str:
        return self.stderr_text()

    def bad_log_lines(self) -> list[str]:
        """Envoy's own log lines (not the operator access log) with a VM-failure marker."""
        out = []
        with open(self.stderr_path, errors="replace") as f:
            for line in f:
                if line.startswith("[") and "req=" in line:  # operator access-log line
                    continue
                # The filter's own error-level lines ("wasm log ... [error]") count too.
                if any(m in line for m in BAD_LOG_MARKERS) or ("wasm log" in line and "[error]" in line):
                    out.append(line.rstrip()[:300])
        return out

    def audit_for(self, rid: str, expect: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Records of request `rid`: waits for the operator log line (written after the audit loggers),
        then for `expect` records, then a short moment for a wrong duplicate."""
        wait_until(lambda: self.operator_lines(rid), timeout, 0.05)

        def mine() -> list[dict[str, Any]]:
            return [r for r in self.audit_records(strict=False) if r.get("request_id") == rid]

        wait_until(lambda: len(mine()) >= expect, 2.0, 0.05)
        time.sleep(0.3)
        return mine()


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
