#!/usr/bin/env python3
"""`make run-mesh`: the mesh-wide budget store on one machine (docs/spend.md, "A local mesh-wide setup"): one
redis-server, one rate-limit service on it (target/tools/openrouter-guard-rls --redis, `make build-rls`) and two
Envoys with the filter (tools/run_envoy.py, as `make run`), whose policy keeps every budget in that service: a user's
budget is shared by both Envoys. Everything listens on 127.0.0.1.

Environment:
  PORTS       the two Envoys' listener ports (default "10000 10001")
  RLS_PORT    the rate-limit service's port (default 8081)
  REDIS_PORT  redis-server's port (default 6380, so a Redis you already run on 6379 is left alone)
  POLICY      policy JSON file (default envoy/policy.default.json); its `spend.store` becomes the service
  OUT_DIR     default out/mesh: policy.json, redis/ (its append-only file), envoy0/ and envoy1/ (each Envoy's
              out/ as `make run` writes it: config, audit log, admin socket)
  UPSTREAM, OPENROUTER_API_KEY / OPENROUTER_API_KEY_FILE, WASM, ENVOY_BIN, ADMIN_PORT, LOG_LEVEL: as for `make run`
              (tools/run_envoy.py; ADMIN_PORT=0 gives each Envoy a free admin port)

Ctrl-C (or SIGTERM) stops all four; when one of them exits, the others are stopped too. Redis keeps an append-only
file in OUT_DIR/redis, so a restart of `make run-mesh` keeps the budgets (docs/spend.md, "Restarts").
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import envoy_config as ec  # tools/envoy_config.py, beside this script

RLS_BIN = ec.ROOT / "target" / "tools" / "openrouter-guard-rls"
RUN_ENVOY = Path(__file__).resolve().parent / "run_envoy.py"
NAMES = ("redis-server", "the rate-limit service", "the first Envoy", "the second Envoy")


def mesh_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """`policy` with its budgets in the rate-limit service behind cluster RLS_CLUSTER (tools/envoy_config.py)."""
    out = json.loads(json.dumps(policy))
    out.setdefault("spend", {})["store"] = {"kind": "rls", "cluster": ec.RLS_CLUSTER}
    return out


def port_free(port: int) -> bool:
    """Nothing listens on `port` (connections of a previous run in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:  # bounded by the deadline
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def main() -> int:
    out_dir = Path(os.environ.get("OUT_DIR", str(ec.ROOT / "out" / "mesh")))
    ports = [int(p) for p in os.environ.get("PORTS", "10000 10001").split()]
    rls_port = int(os.environ.get("RLS_PORT", "8081"))
    redis_port = int(os.environ.get("REDIS_PORT", "6380"))
    redis = shutil.which("redis-server")
    problems = []
    if len(ports) != 2:
        problems.append("PORTS must name two ports")
    if not RLS_BIN.is_file():
        problems.append(f"{RLS_BIN} is missing: `make build-rls`")
    if redis is None:
        problems.append("redis-server is missing: `make setup` installs it (apt), or apt-get install redis-server")
    problems += [f"127.0.0.1:{p} is already in use" for p in ports + [rls_port, redis_port] if not port_free(p)]
    if problems:
        print("\n".join(f"run-mesh: {p}" for p in problems), file=sys.stderr)
        return 1
    assert redis is not None
    policy_file = os.environ.get("POLICY") or str(ec.DEFAULT_POLICY)
    policy = mesh_policy(json.loads(Path(policy_file).read_text()))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "redis").mkdir(exist_ok=True)
    ec.write_file(out_dir / "policy.json", json.dumps(policy, indent=2) + "\n")

    procs: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        procs.append(subprocess.Popen(
            [redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(out_dir / "redis"),
             "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        if not _wait_port(redis_port, procs[-1], 10):
            print(f"run-mesh: redis-server did not start on 127.0.0.1:{redis_port}", file=sys.stderr)
            return 1
        procs.append(subprocess.Popen(
            [str(RLS_BIN), "--listen", f"127.0.0.1:{rls_port}", "--redis", f"redis://127.0.0.1:{redis_port}/"],
            stdin=subprocess.DEVNULL))
        if not _wait_port(rls_port, procs[-1], 10):
            print(f"run-mesh: the rate-limit service did not start on 127.0.0.1:{rls_port}", file=sys.stderr)
            return 1
        for i, port in enumerate(ports):
            env = dict(os.environ, PORT=str(port), OUT_DIR=str(out_dir / f"envoy{i}"),
                       POLICY=str(out_dir / "policy.json"), RLS=f"127.0.0.1:{rls_port}")
            procs.append(subprocess.Popen([sys.executable, str(RUN_ENVOY)], env=env, stdin=subprocess.DEVNULL))
        for port, proc in zip(ports, procs[2:], strict=True):
            if not _wait_port(port, proc, 120):
                print(f"run-mesh: the Envoy for 127.0.0.1:{port} did not start", file=sys.stderr)
                return 1
        print(f"run-mesh: ready: Envoys on http://127.0.0.1:{ports[0]} and http://127.0.0.1:{ports[1]} share their "
              f"budgets in the rate-limit service 127.0.0.1:{rls_port} (Redis 127.0.0.1:{redis_port}, "
              f"{out_dir / 'redis'}); policy {out_dir / 'policy.json'} (from {policy_file}). Ctrl-C stops all.",
              file=sys.stderr, flush=True)
        while not stopping:  # until a signal or one of the processes exits
            exited = [name for name, p in zip(NAMES, procs, strict=True) if p.poll() is not None]
            if exited:
                print(f"run-mesh: {exited[0]} exited: stopping the others", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(procs)


if __name__ == "__main__":
    sys.exit(main())
