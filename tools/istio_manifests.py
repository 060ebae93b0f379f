#!/usr/bin/env python3
"""Renders the Istio manifests of deploy/istio/ that depend on the policy, the forwarded endpoints or the list of
workload namespaces, so each of those facts is written once:

    envoyfilter-openrouter-guard.yaml      the filter (ECDS, allow_on_headers_stop_iteration), header removal, key
                                           injection, buffer limits, JSON local replies on the egress gateway
    authorizationpolicy-egressgateway.yaml who may call which OpenRouter operation (tools/envoy_config.py's lists)
    admission-workload-namespaces.yaml     ValidatingAdmissionPolicy: no Istio routing kinds in workload namespaces
    networkpolicy-egressgateway.yaml       the gateway's own fence (ingress from the workload namespaces only)
    workload-namespaces.yaml               per workload namespace: Namespace (Pod Security, injection), NetworkPolicy,
                                           Sidecar
    spend-store.yaml                       the mesh-wide budget store: rate-limit service and Redis, their fences
                                           (tools/spend_store_manifests.py)

    python3 tools/istio_manifests.py                 rewrite them in deploy/istio/ (a test fails when they drift)
    python3 tools/istio_manifests.py --image oci://REPO@sha256:D --sha256 D -o DIR
                                                     the deployable EnvoyFilter for one image (tools/oci/build.sh)
    python3 tools/istio_manifests.py --merge-istiod-values CURRENT.yaml
                                                     your istiod values with ours merged in (extensionProviders
                                                     by name; helm would replace the list)

Inputs: envoy/policy.default.json (the policy; `clusters` replaced by the gateway's Envoy clusters, `spend.store`
the mesh-wide store: the gateway runs several replicas, whose embedded counters would each admit a whole budget),
deploy/istio/workload-namespaces.json (namespace -> pinned profile or null), envoy_config's endpoint lists and
header/limit/local-reply helpers (shared with plain Envoy).

Why an EnvoyFilter and not a WasmPlugin: holding a request's headers until the body has been decided needs
`allow_on_headers_stop_iteration: true` in the Wasm filter config (Envoy >= 1.35). Istio's WasmPlugin API has
no field for it (1.30.3 and master CRDs), so a WasmPlugin-generated filter hangs every governed request with a
body. The EnvoyFilter ADDs a complete ECDS extension config (EXTENSION_CONFIG) holding the flag, and INSERTs an
HTTP filter that names it; Istio's agent downloads the oci:// module of any ECDS Wasm config with a remote code
source and rewrites it to a local file (pkg/wasm/convert.go), keeping every other field. docs/deploy-istio.md.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import envoy_config as ec  # tools/envoy_config.py, beside this script
import spend_store_manifests as ss  # tools/spend_store_manifests.py

ISTIO_DIR = ec.ROOT / "deploy" / "istio"
NAMESPACES_FILE = ISTIO_DIR / "workload-namespaces.json"
SYSTEM_NS = "istio-system"
# The dedicated egress gateway (helm release `istio-openrouter-egress` of istio/gateway: the chart labels its
# pods istio=<release name without "istio-">). Not the shared `istio: egressgateway` many meshes already run.
GATEWAY_LABELS = {"istio": "openrouter-egress"}
GATEWAY_SERVICE = "istio-openrouter-egress.istio-system.svc.cluster.local"
# The chart names the gateway's service account after the release too: the identity the budget store admits.
GATEWAY_SERVICE_ACCOUNT = "istio-openrouter-egress"
# The gateway Service's port 80 lands on container port 8080 (helm/egressgateway-values.yaml).
GATEWAY_PORT = 8080
OPENROUTER_HOSTS = ("openrouter.ai", "eu.openrouter.ai", "us.openrouter.ai")
SERVICE_ENTRY_PORT = 80
# Envoy cluster names Istio gives the gateway's routes to OpenRouter (ServiceEntry port 80).
MESH_CLUSTERS = tuple(f"outbound|{SERVICE_ENTRY_PORT}||{h}" for h in OPENROUTER_HOSTS)
# The VirtualService route (virtualservice-openrouter.yaml) that sends gateway traffic to OpenRouter.
GATEWAY_ROUTE_NAME = "egress-gateway-to-openrouter"
# ECDS resource name of the filter (istiod pushes it to the gateway; `istioctl proxy-config ecds` lists it).
FILTER_NAME = f"{SYSTEM_NS}.openrouter-guard"
IMAGE_REPO = "registry.example.com/platform/openrouter-guard"
# Until `make oci` stamps a real digest: 64 zeros, a digest no image has, so a template applied by mistake
# fails its fetch and Istio's agent installs a deny-all filter (failure_policy is not FAIL_OPEN).
PLACEHOLDER_DIGEST = "0" * 64
# Istio's agent reads these from vm_config.environment_variables (and strips them before Envoy sees them).
PULL_POLICY_ENV = "ISTIO_META_WASM_IMAGE_PULL_POLICY"
CREDENTIAL_DIR = "/etc/openrouter-guard/credential"
POD_SECURITY_LEVEL = "baseline"
# Label on every workload namespace; the ValidatingAdmissionPolicy binds to it.
WORKLOAD_LABEL = "openrouter-guard.io/workload-namespace"
# Groups allowed to manage Istio resources in workload namespaces (the ValidatingAdmissionPolicy exempts them).
PLATFORM_GROUPS = ("system:masters", "openrouter-guard:platform-admins")
# Istio kinds a workload namespace's owner must not create: with them traffic could be steered through the
# egress gateway to another host, or around it (issue 13 item 3).
FORBIDDEN_ISTIO_KINDS = {
    "networking.istio.io": ["gateways", "virtualservices", "serviceentries", "destinationrules", "envoyfilters",
                            "sidecars", "workloadentries"],
    "extensions.istio.io": ["wasmplugins"],
}
ROUTER = "envoy.filters.http.router"
HCM = "envoy.filters.network.http_connection_manager"


def image_url(repo: str, digest: str) -> str:
    """oci:// reference pinned by digest: a re-pushed tag can never change what the gateway runs."""
    return f"oci://{repo}@sha256:{digest}"


def workload_namespaces() -> dict[str, str | None]:
    """namespace -> profile it is pinned to (None: any profile), from deploy/istio/workload-namespaces.json."""
    data = json.loads(NAMESPACES_FILE.read_text())
    return {ns: spec.get("profile") for ns, spec in data["namespaces"].items()}


# The filter's budget store on the gateway: the rate-limit service of spend-store.yaml, through the cluster Istio
# generates for it, with the service's name as :authority (Istio's cluster name is not a valid one, and the
# service's gRPC server resets such a call). A reservation lives as long as the longest exchange (the routes' 600 s
# timeout) and no longer than the service keeps one.
MESH_SPEND_STORE = {"kind": "rls", "cluster": ss.RLS_CLUSTER, "authority": ss.RLS_AUTHORITY, "timeout_ms": 500,
                    "reservation_ttl_s": ss.RLS_MAX_TTL_S}


def mesh_policy() -> dict[str, Any]:
    """envoy/policy.default.json with `clusters` naming the gateway's Envoy clusters for OpenRouter and the budgets
    kept in the mesh-wide store (every replica of the gateway shares them)."""
    policy = json.loads(ec.DEFAULT_POLICY.read_text())
    policy["clusters"] = list(MESH_CLUSTERS)
    policy.setdefault("spend", {})["store"] = dict(MESH_SPEND_STORE)
    return policy


def guard_wasm_config(url: str, digest: str, policy: dict[str, Any], *, hold_headers: bool = True) -> dict[str, Any]:
    """The Wasm filter's typed_config as the EnvoyFilter's ECDS extension holds it: the plain-Envoy config
    (envoy_config) with the module fetched from `url` by Istio's agent."""
    cfg = ec.EnvoyConfig(policy=policy)
    typed = ec.wasm_typed_config(cfg)
    vm = typed["config"]["vm_config"]
    # Istio's agent rewrites this to the downloaded file; `cluster` is never used (Istio itself writes "_").
    vm["code"] = {"remote": {"http_uri": {"uri": url, "cluster": "_", "timeout": "30s"}, "sha256": digest}}
    vm["environment_variables"] = {"key_values": {PULL_POLICY_ENV: "IfNotPresent"}}
    typed["config"]["allow_on_headers_stop_iteration"] = hold_headers
    return typed


def _listener_match(sni: str | None = None, sub_filter: str | None = None) -> dict[str, Any]:
    listener: dict[str, Any] = {"portNumber": GATEWAY_PORT, "filterChain": {"filter": {"name": HCM}}}
    if sni:
        listener["filterChain"]["sni"] = sni
    if sub_filter:
        listener["filterChain"]["filter"]["subFilter"] = {"name": sub_filter}
    return {"context": "GATEWAY", "listener": listener}


def envoy_filter(url: str, digest: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """The EnvoyFilter for the module at `url` and `policy` (default: mesh_policy())."""
    policy = policy or mesh_policy()
    cfg = ec.EnvoyConfig(policy=policy)
    credential = ec.credential_injector(CREDENTIAL_DIR + "/credential.yaml")
    patches: list[dict[str, Any]] = [
        # 1. The filter's config, delivered by ECDS, with the flag WasmPlugin cannot set.
        {"applyTo": "EXTENSION_CONFIG", "patch": {"operation": "ADD", "value": {
            "name": FILTER_NAME, "typed_config": guard_wasm_config(url, digest, policy)}}},
        # 2. The filter in every HTTP chain of the gateway's port, just before the router: after Istio's RBAC
        #    (AuthorizationPolicy), so refused callers never reach it. No SNI condition: a request for an
        #    OpenRouter host is governed whichever server of this port it arrives on. The listener waits for the
        #    ECDS config (initial_fetch_timeout 0s) and serves nothing until it has one.
        {"applyTo": "HTTP_FILTER", "match": _listener_match(sub_filter=ROUTER), "patch": {
            "operation": "INSERT_BEFORE", "value": {"name": FILTER_NAME, "config_discovery": {
                "config_source": {"ads": {}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
                "type_urls": [ec.WASM_TYPE_URL]}}}},
        # 3. After the filter (which must see a client x-api-key to refuse it): nothing about the caller goes on.
        #    x-forwarded-proto stays: this runs before the router, and Envoy finds no route for a request without
        #    it once a filter has cleared the route cache (checked with 1.40: 404 NR). It carries only the scheme.
        {"applyTo": "HTTP_FILTER", "match": _listener_match(sub_filter=ROUTER), "patch": {
            "operation": "INSERT_BEFORE",
            "value": ec.header_mutation_filter(extra=("x-api-key",), keep=("x-forwarded-proto",))}},
        # 4. The key, only on the OpenRouter server's chain, after the filter: the policy and the audit never
        #    see it, requests the filter refuses never get it.
        {"applyTo": "HTTP_FILTER", "match": _listener_match(sni=OPENROUTER_HOSTS[0], sub_filter=ROUTER), "patch": {
            "operation": "INSERT_BEFORE", "value": credential}},
        # 5. The router adds no x-envoy-* headers (expected timeout) to what OpenRouter receives.
        {"applyTo": "HTTP_FILTER", "match": _listener_match(sub_filter=ROUTER), "patch": {
            "operation": "MERGE", "value": {"name": ROUTER, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                "suppress_envoy_headers": True}}}},
        # 6. Envoy's own replies (upstream down, its 413, ...) as OpenAI-shaped JSON, like plain Envoy's.
        {"applyTo": "NETWORK_FILTER", "match": _listener_match(), "patch": {
            "operation": "MERGE", "value": {"name": HCM, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                         "HttpConnectionManager",
                "local_reply_config": ec.local_reply_config()}}}},
        # 7. Buffer limits above max_body_bytes (Istio sets none: Envoy's 1 MiB default would answer before
        #    the filter for bodies near max_body_bytes), the same figures plain Envoy uses.
        {"applyTo": "LISTENER", "match": {"context": "GATEWAY", "listener": {"portNumber": GATEWAY_PORT}},
         "patch": {"operation": "MERGE", "value": {"per_connection_buffer_limit_bytes": cfg.buffer_limit()}}},
        {"applyTo": "HTTP_ROUTE", "match": {"context": "GATEWAY", "routeConfiguration": {
            "vhost": {"route": {"name": GATEWAY_ROUTE_NAME}}}},
         "patch": {"operation": "MERGE", "value": {"request_body_buffer_limit": ec.request_body_buffer_limit(cfg)}}},
    ]
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "openrouter-guard", "namespace": SYSTEM_NS,
                     "labels": {"app.kubernetes.io/name": "openrouter-guard",
                                "app.kubernetes.io/component": "egress-policy"}},
        "spec": {"workloadSelector": {"labels": dict(GATEWAY_LABELS)}, "configPatches": patches},
    }


ENVOY_FILTER_HEADER = """\
# openrouter-guard on the dedicated egress gateway. GENERATED by tools/istio_manifests.py: do not edit.
#
# TEMPLATE: the module is pinned by digest (oci://...@sha256:<digest>, plus `sha256`); the 64 zeros here match no
# image, so this copy, applied by mistake, makes Istio's agent install a deny-all filter (not FAIL_OPEN). `make oci`
# writes the deployable copy with the image's digest to deploy/istio/generated/envoyfilter-openrouter-guard.yaml.
#
# Why an EnvoyFilter and not a WasmPlugin: the filter holds a request's headers until it has decided on the whole
# body, which needs `allow_on_headers_stop_iteration: true` in the Wasm config; WasmPlugin has no field for it, and
# without it every governed request with a body hangs. Patch 1 ADDs the complete ECDS extension (flag, failure
# policy, the oci:// module Istio's agent downloads and checks against `sha256`), patch 2 INSERTs the filter that
# names it. Patches are applied in order: filter, header removal, key injection, router (docs/deploy-istio.md).
# Needs Istio >= 1.28 (Envoy >= 1.36: request_body_buffer_limit; allow_on_headers_stop_iteration is 1.35).
"""

AUTHZ_HEADER = """\
# Who may use the egress gateway for OpenRouter, and for what. GENERATED by tools/istio_manifests.py from
# deploy/istio/workload-namespaces.json and tools/envoy_config.py's endpoint lists (the same operations plain
# Envoy forwards): do not edit.
#
# Enforced by the gateway's RBAC filter on the identity proven by the mesh mTLS of the caller's sidecar. An ALLOW
# policy makes everything it does not allow denied (403, before openrouter-guard runs):
# - only the listed namespaces' workloads reach OpenRouter at all;
# - only OpenRouter hosts and the operations the filter governs (POST to inference endpoints, GET of models and
#   generations): no key-management, credit or other account endpoints, which would act with the organisation's
#   key for any caller;
# - a namespace pinned to a profile must send it in the profile header (absence, meaning the default profile, is
#   refused too).
# Paths are matched after Istio's path normalisation, query strings excluded; anything spelled otherwise (case,
# encoded characters) is refused, never passed ungoverned.
"""


def authorization_policy() -> dict[str, Any]:
    policy = mesh_policy()
    hosts = [h for host in OPENROUTER_HOSTS for h in (host, f"{host}:{SERVICE_ENTRY_PORT}")]
    to = [{"operation": {"hosts": hosts, "methods": [method], "paths": list(paths)}}
          for method, paths in (("POST", ec.INFERENCE_ENDPOINTS), ("GET", ec.READ_ONLY_ENDPOINTS))]
    rules = []
    for ns, profile in workload_namespaces().items():
        rule: dict[str, Any] = {"from": [{"source": {"namespaces": [ns]}}], "to": copy.deepcopy(to)}
        if profile is not None:
            rule["when"] = [{"key": f"request.headers[{policy['profile_header']}]", "values": [profile]}]
        rules.append(rule)
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "openrouter-egress-callers", "namespace": SYSTEM_NS},
        "spec": {"selector": {"matchLabels": dict(GATEWAY_LABELS)}, "action": "ALLOW", "rules": rules},
    }


GATEWAY_NETPOL_HEADER = """\
# The egress gateway's own fence. GENERATED by tools/istio_manifests.py: do not edit.
# In: the gateway port only from the workload namespaces (deploy/istio/workload-namespaces.json); the agent's
# merged metrics 15020 (what the chart's prometheus.io/port annotation names), health 15021 and Envoy's
# Prometheus port 15090 from inside the cluster. Out: TLS (443) to addresses outside the
# private ranges, DNS, istiod, the budget store's rate-limit service (spend-store.yaml). So the gateway is no hop into in-cluster or private services. (OpenRouter sits
# behind a CDN with changing addresses: a NetworkPolicy cannot name it; the Gateway, VirtualServices and the
# AuthorizationPolicy limit the gateway to OpenRouter hosts, the DestinationRule verifies OpenRouter's certificate.)
# Adjust the `except` list to your pod, service and node CIDRs. The istio-agent in this pod also pulls the Wasm
# image: a registry at a private address needs a rule of its own here.
"""


def gateway_network_policy() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "openrouter-egressgateway", "namespace": SYSTEM_NS},
        "spec": {
            "podSelector": {"matchLabels": dict(GATEWAY_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                          for ns in workload_namespaces()],
                 "ports": [{"protocol": "TCP", "port": GATEWAY_PORT}]},
                {"ports": [{"protocol": "TCP", "port": port} for port in (15020, 15021, 15090)]},
            ],
            "egress": [
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [
                    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]}},
                        {"ipBlock": {"cidr": "::/0", "except": ["fc00::/7", "fe80::/10"]}}],
                 "ports": [{"protocol": "TCP", "port": 443}]},
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                {"to": [{"podSelector": {"matchLabels": {"app": "istiod"}}}],
                 "ports": [{"protocol": "TCP", "port": 15012}]},
                ss.gateway_egress_rule(),
            ],
        },
    }


NAMESPACES_HEADER = """\
# Every workload namespace the AuthorizationPolicy names, locked down the same way. GENERATED by
# tools/istio_manifests.py from deploy/istio/workload-namespaces.json: add a namespace there, regenerate, apply.
#
# Namespace: sidecar injection on; Pod Security Standard `baseline` enforced (`restricted` warned and audited), so
#   no pod of the namespace runs with hostNetwork, hostPort, NET_ADMIN/NET_RAW or privileged: the ways a pod
#   leaves its NetworkPolicy or rewrites its own iptables are refused at admission. Istio's istio-init container
#   needs NET_ADMIN/NET_RAW, which baseline refuses: install Istio with the CNI node agent (istio-cni).
# NetworkPolicy: the pods may open connections only to their own namespace, cluster DNS, istiod and the egress
#   gateway; nothing outside the cluster, on any port, whatever the pod does to its sidecar (inject: "false",
#   excludeOutboundPorts, uid 1337). Enforced by the CNI on the node. Needs a CNI that enforces NetworkPolicy.
# Sidecar: REGISTRY_ONLY, only this namespace's and istio-system's services visible. A convenience, not the
#   enforcement (a namespace owner can write their own Sidecar); the NetworkPolicy is.
"""


def workload_namespace_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for ns in workload_namespaces():
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            "istio-injection": "enabled",
            WORKLOAD_LABEL: "true",
            "pod-security.kubernetes.io/enforce": POD_SECURITY_LEVEL,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        }}})
        docs.append({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "egress-only-via-mesh", "namespace": ns},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                             "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                     "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                    {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NS}},
                             "podSelector": {"matchLabels": {"app": "istiod"}}}],
                     "ports": [{"protocol": "TCP", "port": 15012}]},
                    {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NS}},
                             "podSelector": {"matchLabels": dict(GATEWAY_LABELS)}}],
                     "ports": [{"protocol": "TCP", "port": GATEWAY_PORT}]},
                ],
            },
        })
        docs.append({
            "apiVersion": "networking.istio.io/v1",
            "kind": "Sidecar",
            "metadata": {"name": "default", "namespace": ns},
            "spec": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
                     "egress": [{"hosts": ["./*", f"{SYSTEM_NS}/*"]}]},
        })
    return docs


ADMISSION_HEADER = """\
# Workload namespaces may not create Istio routing resources. GENERATED by tools/istio_manifests.py: do not edit.
#
# A namespace owner with their own Gateway, VirtualService, ServiceEntry or DestinationRule could attach a server to
# a gateway's pods or send mesh traffic to any public host; their own Sidecar or EnvoyFilter could undo the
# namespace's REGISTRY_ONLY default or the filter chain. This policy refuses creating or changing those kinds in
# every namespace labelled openrouter-guard.io/workload-namespace=true (workload-namespaces.yaml sets the label).
# Needs Kubernetes >= 1.30 (admissionregistration.k8s.io/v1). Requests from the groups in PLATFORM_GROUPS (cluster
# admins and openrouter-guard:platform-admins) are exempt: they apply the namespaces' own Sidecar. Keep the right to
# edit namespace labels away from namespace owners: removing the label lifts the policy.
"""


def admission_policy_docs() -> list[dict[str, Any]]:
    rules = [{"apiGroups": [group], "apiVersions": ["*"], "resources": resources,
              "operations": ["CREATE", "UPDATE"]} for group, resources in FORBIDDEN_ISTIO_KINDS.items()]
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "openrouter-guard-workload-istio-kinds"},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": rules},
                "matchConditions": [{
                    "name": "not-the-platform-team",
                    "expression": "!request.userInfo.groups.exists(g, g in %s)" % json.dumps(list(PLATFORM_GROUPS)),
                }],
                "validations": [{
                    "expression": "false",
                    "message": "workload namespaces governed by openrouter-guard may not create Istio routing "
                               "resources (Gateway, VirtualService, ServiceEntry, DestinationRule, EnvoyFilter, "
                               "Sidecar, WorkloadEntry, WasmPlugin); ask the platform team",
                    "reason": "Forbidden",
                }],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "openrouter-guard-workload-istio-kinds"},
            "spec": {
                "policyName": "openrouter-guard-workload-istio-kinds",
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {WORKLOAD_LABEL: "true"}}},
            },
        },
    ]


def merge_istiod_values(current: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """`current` (helm get values istiod) with ours added: extensionProviders merged by name (helm would replace
    the whole list), other keys deep-merged with ours winning. A provider of ours whose name is taken by a
    different provider is an error rather than a silent replacement."""
    out = copy.deepcopy(current)

    def deep(dst: dict[str, Any], src: dict[str, Any], path: str) -> None:
        for k, v in src.items():
            where = f"{path}.{k}" if path else k
            if where == "meshConfig.extensionProviders":
                have = {p.get("name"): p for p in dst.get(k) or []}
                merged = list(dst.get(k) or [])
                for p in v:
                    if p["name"] in have and have[p["name"]] != p:
                        raise ValueError(f"meshConfig.extensionProviders: a different provider named {p['name']!r} exists")
                    if p["name"] not in have:
                        merged.append(copy.deepcopy(p))
                dst[k] = merged
            elif isinstance(v, dict) and isinstance(dst.get(k), dict):
                deep(dst[k], v, where)
            else:
                dst[k] = copy.deepcopy(v)

    deep(out, ours, "")
    return out


def dump(docs: list[dict[str, Any]], header: str) -> str:
    import yaml

    body = "---\n".join(yaml.dump(d, Dumper=ec._yaml_dumper(), sort_keys=False, width=120) for d in docs)
    return header + body


def rendered(url: str | None = None, digest: str = PLACEHOLDER_DIGEST) -> dict[str, str]:
    """file name -> text of every generated manifest."""
    url = url or image_url(IMAGE_REPO, digest)
    return {
        "envoyfilter-openrouter-guard.yaml": dump([envoy_filter(url, digest)], ENVOY_FILTER_HEADER),
        "authorizationpolicy-egressgateway.yaml": dump([authorization_policy()], AUTHZ_HEADER),
        "networkpolicy-egressgateway.yaml": dump([gateway_network_policy()], GATEWAY_NETPOL_HEADER),
        "workload-namespaces.yaml": dump(workload_namespace_docs(), NAMESPACES_HEADER),
        "admission-workload-namespaces.yaml": dump(admission_policy_docs(), ADMISSION_HEADER),
        "spend-store.yaml": dump(ss.docs(SYSTEM_NS, GATEWAY_LABELS, GATEWAY_SERVICE_ACCOUNT, POD_SECURITY_LEVEL),
                                 ss.HEADER),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", help="oci://REPO@sha256:DIGEST: render only the deployable EnvoyFilter for it")
    ap.add_argument("--sha256", help="the image's manifest digest (64 hex), with --image")
    ap.add_argument("-o", "--output-dir", default=str(ISTIO_DIR))
    ap.add_argument("--merge-istiod-values", metavar="CURRENT.yaml",
                    help="print CURRENT.yaml (`helm get values istiod -n istio-system -o yaml`) merged with "
                         "deploy/istio/helm/istiod-values.yaml, extensionProviders merged by name")
    a = ap.parse_args(argv)
    out = Path(a.output_dir)
    if a.merge_istiod_values:
        import yaml

        current = yaml.safe_load(Path(a.merge_istiod_values).read_text()) or {}
        ours = yaml.safe_load((ISTIO_DIR / "helm" / "istiod-values.yaml").read_text())
        try:
            merged = merge_istiod_values(current, ours)
        except ValueError as e:
            print(f"istio_manifests: {e}", file=sys.stderr)
            return 1
        sys.stdout.write(yaml.safe_dump(merged, sort_keys=False))
        return 0
    if a.image:
        if not a.sha256 or len(a.sha256) != 64 or any(c not in "0123456789abcdef" for c in a.sha256):
            ap.error("--sha256 must be the image manifest digest, 64 lower-case hex digits")
        name = "envoyfilter-openrouter-guard.yaml"
        text = rendered(a.image, a.sha256)[name].replace(
            "# TEMPLATE: ", "# STAMPED for one image by tools/oci/build.sh (never commit this copy). Template note: ", 1)
        ec.write_file(out / name, text)
        return 0
    for name, text in rendered().items():
        ec.write_file(out / name, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
