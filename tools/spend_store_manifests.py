"""The mesh-wide budget store on Kubernetes (docs/spend.md, "Mesh-wide store"; docs/deploy-istio.md): the
rate-limit service (rls/, image from rls/Dockerfile) and the Redis that holds its counters, in their own namespace,
reachable only as the budgets need: the egress gateway -> the service -> Redis. Rendered by tools/istio_manifests.py
into deploy/istio/spend-store.yaml (a test fails when it drifts); every name, port and label is defined here once,
and the gateway's side (the filter's `spend.store.cluster`, its NetworkPolicy) is derived from these constants.
"""
from __future__ import annotations

import json
from typing import Any

# The namespace of the store: a platform namespace (not a workload namespace: no application calls OpenRouter
# from it), in the mesh, with strict mTLS.
NAMESPACE = "openrouter-guard"
PART_OF = "openrouter-guard"

RLS_NAME = "openrouter-guard-rls"
RLS_LABELS = {"app": RLS_NAME}
RLS_PORT = 8081
RLS_PORT_NAME = "grpc"
RLS_IMAGE = "registry.example.com/platform/openrouter-guard-rls"
# rls/Dockerfile's runtime image runs as this user (distroless `nonroot`).
RLS_UID = 65532
RLS_REPLICAS = 2
# Longest life of a reservation never committed; the service clamps the filter's `reservation_ttl_s` to it.
RLS_MAX_TTL_S = 900
RLS_REDIS_TIMEOUT_MS = 250

REDIS_NAME = "openrouter-guard-redis"
REDIS_LABELS = {"app": REDIS_NAME}
REDIS_PORT = 6379
REDIS_IMAGE = "docker.io/library/redis:7.4"
# The official image's `redis` user.
REDIS_UID = 999
# The Secret holding Redis's password (created by the operator, never in the repository): key `password`.
REDIS_SECRET = "openrouter-guard-redis"
REDIS_SECRET_KEY = "password"
# Memory for counters, below the container's limit; noeviction: a full Redis refuses writes (a store failure,
# each limit's on_store_error) rather than evicting a budget's counter (which would restart it from zero).
REDIS_MAXMEMORY = "256mb"

TRUST_DOMAIN = "cluster.local"


def svc_host(name: str) -> str:
    return f"{name}.{NAMESPACE}.svc.cluster.local"


# The Envoy cluster Istio generates on the gateway for the service's gRPC port: what the filter's
# `spend.store.cluster` names. Istio's own mTLS (auto mTLS to the service's sidecar) and load balancing over the
# service's pods come with it; the port's appProtocol `grpc` makes it HTTP/2.
RLS_CLUSTER = f"outbound|{RLS_PORT}||{svc_host(RLS_NAME)}"
# The :authority of the filter's calls (`spend.store.authority`): the cluster name, Envoy's default, has `|`, which
# the service's gRPC server (the h2 crate) refuses, resetting every call.
RLS_AUTHORITY = f"{svc_host(RLS_NAME)}:{RLS_PORT}"


def redis_url() -> str:
    """What the service is given: the password from the Secret, expanded by Kubernetes from the env var."""
    return f"redis://:$(REDIS_PASSWORD)@{svc_host(REDIS_NAME)}:{REDIS_PORT}/"


def principal(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def _meta(name: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": {
        "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": component}}


_RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def _pod_security(uid: int) -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _password_env() -> list[dict[str, Any]]:
    return [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": REDIS_SECRET, "key": REDIS_SECRET_KEY}}}]


def _deployment(name: str, component: str, labels: dict[str, str], replicas: int, uid: int,
                container: dict[str, Any], **pod: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            **({"strategy": {"type": "Recreate"}} if replicas == 1 else {}),
            "template": {
                "metadata": {
                    "labels": {**labels, "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF},
                    # The app starts once its sidecar can carry its connections (the service reaches Redis at once).
                    "annotations": {"proxy.istio.io/config": json.dumps({"holdApplicationUntilProxyStarts": True})},
                },
                "spec": {
                    "serviceAccountName": name,
                    # The app talks to no Kubernetes API (Istio's sidecar mounts its own token).
                    "automountServiceAccountToken": False,
                    "securityContext": _pod_security(uid),
                    "containers": [container],
                    **pod,
                },
            },
        },
    }


def rls_deployment() -> dict[str, Any]:
    container = {
        "name": "rls",
        "image": f"{RLS_IMAGE}:{rls_version()}",
        "imagePullPolicy": "IfNotPresent",
        "args": ["--listen", f"0.0.0.0:{RLS_PORT}", "--redis", redis_url(),
                 "--redis-timeout-ms", str(RLS_REDIS_TIMEOUT_MS), "--max-ttl-s", str(RLS_MAX_TTL_S)],
        "env": _password_env(),
        "ports": [{"name": RLS_PORT_NAME, "containerPort": RLS_PORT, "protocol": "TCP"}],
        # The service serves once it is connected to Redis (it exits when it cannot connect at start).
        "readinessProbe": {"tcpSocket": {"port": RLS_PORT_NAME}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": RLS_PORT_NAME}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        "securityContext": dict(_RESTRICTED_CONTAINER),
    }
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": dict(RLS_LABELS)}}]
    return _deployment(RLS_NAME, "budget-store", RLS_LABELS, RLS_REPLICAS, RLS_UID, container,
                       topologySpreadConstraints=spread)


def redis_deployment() -> dict[str, Any]:
    container = {
        "name": "redis",
        "image": REDIS_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # Not the image's entrypoint script (it would chown as root): redis-server itself.
        "command": ["redis-server"],
        "args": ["--port", str(REDIS_PORT), "--protected-mode", "no", "--requirepass", "$(REDIS_PASSWORD)",
                 "--dir", "/data", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                 "--maxmemory", REDIS_MAXMEMORY, "--maxmemory-policy", "noeviction"],
        "env": _password_env(),
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": dict(_RESTRICTED_CONTAINER),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    return _deployment(REDIS_NAME, "budget-counters", REDIS_LABELS, 1, REDIS_UID, container,
                       volumes=[{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}])


def rls_version() -> str:
    """The service's version (rls/Cargo.toml), the image tag."""
    import tomllib
    from pathlib import Path

    cargo = Path(__file__).resolve().parents[1] / "rls" / "Cargo.toml"
    return str(tomllib.loads(cargo.read_text())["package"]["version"])


def _service(name: str, component: str, labels: dict[str, str], port_name: str, port: int, app_protocol: str,
             target: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, component), "spec": {
        "type": "ClusterIP", "selector": dict(labels),
        "ports": [{"name": port_name, "port": port, "targetPort": target, "protocol": "TCP",
                   "appProtocol": app_protocol}]}}


def _service_account(name: str, component: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, component),
            "automountServiceAccountToken": False}


def _ns_peer(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "podSelector": {"matchLabels": dict(labels)}}


_DNS_AND_ISTIOD = [
    {"to": [_ns_peer("kube-system", {"k8s-app": "kube-dns"})],
     "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
    {"to": [_ns_peer("istio-system", {"app": "istiod"})], "ports": [{"protocol": "TCP", "port": 15012}]},
]
# The sidecar's merged metrics (15020), health (15021) and Envoy's stats (15090), from inside the cluster.
_SIDECAR_PORTS = {"ports": [{"protocol": "TCP", "port": p} for p in (15020, 15021, 15090)]}


def _network_policy(name: str, labels: dict[str, str], ingress_from: dict[str, Any], port: int,
                    egress: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": dict(labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [ingress_from], "ports": [{"protocol": "TCP", "port": port}]}, dict(_SIDECAR_PORTS)],
            "egress": egress + _DNS_AND_ISTIOD,
        },
    }


def _authorization_policy(name: str, labels: dict[str, str], caller: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"selector": {"matchLabels": dict(labels)}, "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": [caller]}}],
                            "to": [{"operation": {"ports": [str(port)]}}]}]},
    }


def docs(gateway_ns: str, gateway_labels: dict[str, str], gateway_sa: str, pod_security_level: str) -> list[dict[str, Any]]:
    """Every object of the store; the gateway (namespace, pod labels, service account) is the only caller."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": {
        "istio-injection": "enabled",
        "pod-security.kubernetes.io/enforce": pod_security_level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }}}
    strict_mtls = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                   "metadata": {"name": "default", "namespace": NAMESPACE}, "spec": {"mtls": {"mode": "STRICT"}}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(RLS_NAME, "budget-store"),
           "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(RLS_LABELS)}}}
    return [
        namespace,
        strict_mtls,
        _service_account(RLS_NAME, "budget-store"),
        rls_deployment(),
        _service(RLS_NAME, "budget-store", RLS_LABELS, RLS_PORT_NAME, RLS_PORT, "grpc", RLS_PORT_NAME),
        pdb,
        _network_policy(RLS_NAME, RLS_LABELS, _ns_peer(gateway_ns, gateway_labels), RLS_PORT,
                        [{"to": [{"podSelector": {"matchLabels": dict(REDIS_LABELS)}}],
                          "ports": [{"protocol": "TCP", "port": REDIS_PORT}]}]),
        _authorization_policy(RLS_NAME, RLS_LABELS, principal(gateway_ns, gateway_sa), RLS_PORT),
        _service_account(REDIS_NAME, "budget-counters"),
        redis_deployment(),
        _service(REDIS_NAME, "budget-counters", REDIS_LABELS, "tcp-redis", REDIS_PORT, "tcp", "redis"),
        _network_policy(REDIS_NAME, REDIS_LABELS, {"podSelector": {"matchLabels": dict(RLS_LABELS)}}, REDIS_PORT, []),
        _authorization_policy(REDIS_NAME, REDIS_LABELS, principal(NAMESPACE, RLS_NAME), REDIS_PORT),
    ]


def gateway_egress_rule() -> dict[str, Any]:
    """The gateway NetworkPolicy's rule that lets it call the service (and nothing else of this namespace)."""
    return {"to": [_ns_peer(NAMESPACE, RLS_LABELS)], "ports": [{"protocol": "TCP", "port": RLS_PORT}]}


HEADER = f"""\
# The mesh-wide budget store: the rate-limit service (rls/, docs/spend.md "Mesh-wide store") and the Redis holding
# its counters. GENERATED by tools/istio_manifests.py (constants in tools/spend_store_manifests.py): do not edit.
#
# Build and push the service's image (rls/Dockerfile; `image:` below names {RLS_IMAGE}:<rls/Cargo.toml
# version>), apply this file, then create Redis's password (never in the repository; the pods start once it exists):
#   kubectl -n {NAMESPACE} create secret generic {REDIS_SECRET} --from-literal={REDIS_SECRET_KEY}=$(openssl rand -hex 32)
#
# Who reaches what: the egress gateway (the filter's `spend.store.cluster` is Istio's cluster for the service's
# gRPC port) -> {RLS_NAME}:{RLS_PORT} -> {REDIS_NAME}:{REDIS_PORT}; nothing else. Enforced twice: NetworkPolicy
# (by the CNI, on pod labels) and Istio (strict mTLS in this namespace, AuthorizationPolicy on the caller's service
# account; trust domain {TRUST_DOMAIN}: change the principals if yours differs).
#
# Redis: ONE pod with an append-only file on an emptyDir: budgets survive a restart of the service and of the
# Redis container, NOT the loss of the pod (rescheduling, node drain: every budget restarts from zero, and the
# service answers UNAVAILABLE while Redis is down: each limit's on_store_error applies). For production use a
# managed or highly available Redis (one primary, replicas with failover; Redis Cluster works too: a counter's
# keys share one hash slot) and point the service's --redis at it; then drop the Redis objects below.
"""
