"""The mesh-wide budget store's manifests (deploy/istio/spend-store.yaml) fit together and with the gateway: the
filter's `spend.store.cluster` is Istio's cluster for the service's gRPC port; Services, NetworkPolicies, the
disruption budget and AuthorizationPolicies select the pods they mean; only the gateway reaches the service and only
the service reaches Redis; every container is locked down and bounded; rls/Dockerfile builds what the Deployment
runs, as the user it requires. Schemas: test_manifests.py (Istio kinds), test_k8s_objects.py (Kubernetes kinds)."""
from __future__ import annotations

import copy
import json
import re
import subprocess
from functools import cache
from typing import Any, Callable

import pytest

import istio_manifests as im
import spend_store_manifests as ss

from deploy_checks import HELM_DIR, ISTIO_DIR, ROOT, docs_of_kind, load_docs
from test_manifests import _plugin_configs

STORE_FILE = ISTIO_DIR / "spend-store.yaml"
DOCKERFILE = ROOT / "rls" / "Dockerfile"

Docs = dict[tuple[str, str], dict[str, Any]]


@cache
def _store_docs() -> Docs:
    return {(d.body["kind"], d.body["metadata"]["name"]): d.body for d in load_docs(STORE_FILE)}


def store_docs() -> Docs:
    return copy.deepcopy(_store_docs())


@cache
def _gateway_netpol() -> dict[str, Any]:
    return next(d.body for d in docs_of_kind("NetworkPolicy") if d.body["metadata"]["name"] == "openrouter-egressgateway")


def gateway_netpol() -> dict[str, Any]:
    return copy.deepcopy(_gateway_netpol())


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _arg(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, f"{flag} once in {args}"
    return args[args.index(flag) + 1]


def _pod(dep: dict[str, Any]) -> dict[str, Any]:
    return dep["spec"]["template"]


def _ports_to(rules: list[dict[str, Any]], peer_key: str, ns: str | None, labels: dict[str, str]) -> set[int]:
    """Ports the NetworkPolicy rules open to/from pods with `labels` in namespace `ns` (None: the policy's own)."""
    out: set[int] = set()
    for rule in rules:
        for peer in rule.get(peer_key, []):
            peer_ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            if "namespaceSelector" in peer and peer_ns != ns or "namespaceSelector" not in peer and ns is not None:
                continue
            if _selects(peer.get("podSelector", {}).get("matchLabels", {}), labels):
                out |= {p["port"] for p in rule["ports"]}
    return out


def store_problems(docs: Docs, gateway_np: dict[str, Any], filter_store: list[dict[str, Any]]) -> list[str]:
    """Everything that would break the store or open it to more callers than the gateway; [] when it fits."""
    p: list[str] = []
    ns = ss.NAMESPACE
    gw_ns, gw_labels = im.SYSTEM_NS, im.GATEWAY_LABELS
    try:
        rls, redis = docs[("Deployment", ss.RLS_NAME)], docs[("Deployment", ss.REDIS_NAME)]
        rls_svc, redis_svc = docs[("Service", ss.RLS_NAME)], docs[("Service", ss.REDIS_NAME)]
        rls_np, redis_np = docs[("NetworkPolicy", ss.RLS_NAME)], docs[("NetworkPolicy", ss.REDIS_NAME)]
        rls_ap, redis_ap = docs[("AuthorizationPolicy", ss.RLS_NAME)], docs[("AuthorizationPolicy", ss.REDIS_NAME)]
        pdb, mtls = docs[("PodDisruptionBudget", ss.RLS_NAME)], docs[("PeerAuthentication", "default")]
        namespace = docs[("Namespace", ns)]
    except KeyError as e:
        return [f"missing {e}"]
    for body in docs.values():
        if body["kind"] != "Namespace" and body["metadata"].get("namespace") != ns:
            p.append(f"{body['kind']}/{body['metadata']['name']} is not in namespace {ns}")
    labels = namespace["metadata"]["labels"]
    if labels.get("istio-injection") != "enabled" or labels.get("pod-security.kubernetes.io/enforce") not in ("baseline", "restricted"):
        p.append("the namespace must be in the mesh and enforce a Pod Security level")
    if mtls["spec"] != {"mtls": {"mode": "STRICT"}} or "selector" in mtls["spec"]:
        p.append("the namespace must accept mTLS only")

    # Deployments: selector within the pod labels, a ServiceAccount of their own, locked-down bounded containers.
    for dep in (rls, redis):
        name, pod = dep["metadata"]["name"], _pod(dep)
        if not _selects(dep["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]):
            p.append(f"Deployment {name}: its selector does not select its own pods")
        sa = pod["spec"].get("serviceAccountName")
        if ("ServiceAccount", sa) not in docs or sa != name:
            p.append(f"Deployment {name}: runs as service account {sa}, which this file does not create")
        sec = pod["spec"]["securityContext"]
        if not sec.get("runAsNonRoot") or not sec.get("runAsUser") or sec.get("seccompProfile") != {"type": "RuntimeDefault"}:
            p.append(f"Deployment {name}: pod must run as a non-root uid with the RuntimeDefault seccomp profile")
        for c in pod["spec"]["containers"]:
            cs = c.get("securityContext", {})
            if not (cs.get("readOnlyRootFilesystem") and cs.get("allowPrivilegeEscalation") is False
                    and cs.get("capabilities") == {"drop": ["ALL"]} and cs.get("runAsNonRoot")):
                p.append(f"Deployment {name}/{c['name']}: read-only root, no privilege escalation, no capabilities")
            for kind in ("requests", "limits"):
                if set(c.get("resources", {}).get(kind, {})) != {"cpu", "memory"}:
                    p.append(f"Deployment {name}/{c['name']}: cpu and memory {kind}")
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    p.append(f"Deployment {name}/{c['name']}: no {probe}")
            named = {port["name"]: port["containerPort"] for port in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                port = c.get(probe, {}).get("tcpSocket", {}).get("port")
                if port is not None and port not in named and port not in named.values():
                    p.append(f"Deployment {name}/{c['name']}: {probe} probes port {port}, which the container has not")
            env = {e["name"] for e in c.get("env", [])}
            for ref in re.findall(r"\$\((\w+)\)", " ".join(c.get("args", []) + c.get("command", []))):
                if ref not in env:
                    p.append(f"Deployment {name}/{c['name']}: $({ref}) in its arguments, not in its env")

    # Services and the disruption budget select their Deployment's pods, on a port the container listens on.
    for svc, dep in ((rls_svc, rls), (redis_svc, redis)):
        pod, (port,) = _pod(dep), svc["spec"]["ports"]
        if not _selects(svc["spec"]["selector"], pod["metadata"]["labels"]):
            p.append(f"Service {svc['metadata']['name']} does not select the pods of Deployment {dep['metadata']['name']}")
        named = {cp["name"]: cp["containerPort"] for c in pod["spec"]["containers"] for cp in c.get("ports", [])}
        if named.get(port["targetPort"], port["targetPort"]) != port["port"] or port["targetPort"] not in named:
            p.append(f"Service {svc['metadata']['name']}: targetPort {port['targetPort']} is not the container's port {port['port']}")
    if not _selects(pdb["spec"]["selector"]["matchLabels"], _pod(rls)["metadata"]["labels"]):
        p.append("the PodDisruptionBudget does not select the service's pods")
    if rls["spec"]["replicas"] < 2 or pdb["spec"].get("minAvailable") != 1:
        p.append("the service needs two replicas and a disruption budget (every governed request calls it)")

    # The filter's cluster is Istio's for the service's gRPC port (HTTP/2), and the service listens there.
    (rls_port,) = rls_svc["spec"]["ports"]
    want_cluster = f"outbound|{rls_port['port']}||{rls_svc['metadata']['name']}.{ns}.svc.cluster.local"
    if rls_port.get("appProtocol") != "grpc" and not rls_port["name"].startswith("grpc"):
        p.append("the service's port must be gRPC (appProtocol grpc): the filter calls it over HTTP/2")
    want_authority = f"{rls_svc['metadata']['name']}.{ns}.svc.cluster.local:{rls_port['port']}"
    for store in filter_store:
        if store.get("kind") != "rls" or store.get("cluster") != want_cluster:
            p.append(f"the filter's spend.store {store} does not name the service's cluster {want_cluster}")
        if store.get("authority") != want_authority:
            p.append(f"the filter's spend.store.authority must be {want_authority} (Istio's cluster name is not one)")
    (rls_c,) = _pod(rls)["spec"]["containers"]
    if _arg(rls_c["args"], "--listen").rpartition(":")[2] != str(rls_port["port"]):
        p.append("the service listens on another port than its Service's")

    # The service uses this Redis, with the password Redis requires; Redis is one pod that never evicts a counter.
    (redis_c,) = _pod(redis)["spec"]["containers"]
    (redis_port,) = redis_svc["spec"]["ports"]
    want_url = f"redis://:$(REDIS_PASSWORD)@{redis_svc['metadata']['name']}.{ns}.svc.cluster.local:{redis_port['port']}/"
    if _arg(rls_c["args"], "--redis") != want_url:
        p.append(f"the service's --redis is not {want_url}")
    if _arg(redis_c["args"], "--requirepass") != "$(REDIS_PASSWORD)":
        p.append("Redis must require the password")
    secrets = {json.dumps(e["valueFrom"]["secretKeyRef"], sort_keys=True)
               for c in (rls_c, redis_c) for e in c["env"] if e["name"] == "REDIS_PASSWORD"}
    if len(secrets) != 1:
        p.append(f"the service and Redis take REDIS_PASSWORD from different secrets: {secrets}")
    if redis["spec"]["replicas"] != 1 or redis["spec"].get("strategy") != {"type": "Recreate"}:
        p.append("Redis here is one pod, replaced (never two writers on one emptyDir)")
    if _arg(redis_c["args"], "--maxmemory-policy") != "noeviction":
        p.append("Redis must not evict a budget's counter (noeviction)")
    if _arg(redis_c["args"], "--appendonly") != "yes":
        p.append("Redis must keep an append-only file (budgets survive a container restart)")
    if _mib(_arg(redis_c["args"], "--maxmemory")) >= _mib(redis_c["resources"].get("limits", {}).get("memory", "0Mi")):
        p.append("Redis's maxmemory must be below its container's memory limit")

    # Fences: gateway -> service -> Redis, nothing else.
    rls_pods, redis_pods = _pod(rls)["metadata"]["labels"], _pod(redis)["metadata"]["labels"]
    if not _selects(rls_np["spec"]["podSelector"]["matchLabels"], rls_pods) or \
            not _selects(redis_np["spec"]["podSelector"]["matchLabels"], redis_pods):
        p.append("a NetworkPolicy does not select its pods")
    for np_, port in ((rls_np, rls_port["port"]), (redis_np, redis_port["port"])):
        if set(np_["spec"]["policyTypes"]) != {"Ingress", "Egress"}:
            p.append(f"NetworkPolicy {np_['metadata']['name']}: both directions fenced")
        app_rules = [r for r in np_["spec"]["ingress"] if any(pt["port"] == port for pt in r.get("ports", []))]
        if len(app_rules) != 1 or not app_rules[0].get("from"):
            p.append(f"NetworkPolicy {np_['metadata']['name']}: port {port} open to anyone")
        if any("from" not in r and any(pt["port"] not in (15020, 15021, 15090) for pt in r.get("ports", [])) or
               "from" not in r and not r.get("ports") for r in np_["spec"]["ingress"]):
            p.append(f"NetworkPolicy {np_['metadata']['name']}: a rule without `from` opens more than the sidecar's ports")
    if _ports_to(rls_np["spec"]["ingress"][:1], "from", gw_ns, gw_labels) != {rls_port["port"]} or \
            len(rls_np["spec"]["ingress"][0]["from"]) != 1:
        p.append("only the gateway's pods may reach the service's port")
    if _ports_to(redis_np["spec"]["ingress"][:1], "from", None, rls_pods) != {redis_port["port"]} or \
            len(redis_np["spec"]["ingress"][0]["from"]) != 1:
        p.append("only the service's pods may reach Redis's port")
    if _ports_to(rls_np["spec"]["egress"], "to", None, redis_pods) != {redis_port["port"]}:
        p.append("the service's NetworkPolicy must let it reach Redis")
    if _ports_to(gateway_np["spec"]["egress"], "to", ns, rls_pods) != {rls_port["port"]}:
        p.append("the gateway's NetworkPolicy must let it reach the service's port")
    for ap, pods, who in ((rls_ap, rls_pods, ss.principal(gw_ns, gateway_service_account())),
                          (redis_ap, redis_pods, ss.principal(ns, _pod(rls)["spec"]["serviceAccountName"]))):
        spec = ap["spec"]
        ok = spec.get("action") == "ALLOW" and _selects(spec["selector"]["matchLabels"], pods) and \
            [r["from"] for r in spec["rules"]] == [[{"source": {"principals": [who]}}]]
        if not ok:
            p.append(f"AuthorizationPolicy {ap['metadata']['name']} must allow {who} only")
    return p


def _mib(text: str) -> float:
    m = re.fullmatch(r"(\d+)(mb|Mi|Gi)", text)
    assert m, text
    return int(m.group(1)) * {"mb": 1e6 / 2**20, "Mi": 1, "Gi": 1024}[m.group(2)]


def gateway_service_account() -> str:
    """The gateway's service account as its values file documents it (the istio/gateway chart names it after the
    release)."""
    text = (HELM_DIR / "egressgateway-values.yaml").read_text()
    (sa,) = re.findall(r"the service account ([a-z0-9-]+)", text)
    assert sa == im.GATEWAY_SERVICE_ACCOUNT
    return sa


@cache
def _filter_stores() -> list[dict[str, Any]]:
    return [cfg["spend"]["store"] for cfg in _plugin_configs().values()]


def filter_stores() -> list[dict[str, Any]]:
    return copy.deepcopy(_filter_stores())


def test_the_store_fits_together_and_with_the_gateway() -> None:
    assert store_problems(store_docs(), gateway_netpol(), filter_stores()) == []


def _dep(d: Docs, name: str) -> dict[str, Any]:
    return d[("Deployment", name)]


def _container(d: Docs, name: str) -> dict[str, Any]:
    return _pod(_dep(d, name))["spec"]["containers"][0]


def _set_arg(c: dict[str, Any], flag: str, value: str) -> None:
    c["args"][c["args"].index(flag) + 1] = value


@pytest.mark.parametrize("mutate,expect", [
    (lambda d, g, f: d[("Service", ss.RLS_NAME)]["spec"].update(selector={"app": "rls"}), "does not select the pods"),
    (lambda d, g, f: d[("Service", ss.REDIS_NAME)]["spec"]["ports"][0].update(port=6380), "targetPort"),
    (lambda d, g, f: _dep(d, ss.RLS_NAME)["spec"]["selector"]["matchLabels"].update(app="x"), "its selector"),
    (lambda d, g, f: d[("PodDisruptionBudget", ss.RLS_NAME)]["spec"]["selector"]["matchLabels"].update(app="x"),
     "PodDisruptionBudget"),
    (lambda d, g, f: f[0].update(cluster="outbound|8081||openrouter-guard-rls.default.svc.cluster.local"),
     "does not name the service's cluster"),
    (lambda d, g, f: f[0].update(kind="embedded"), "spend.store"),
    (lambda d, g, f: f[0].pop("authority"), "authority"),
    (lambda d, g, f: d[("Service", ss.RLS_NAME)]["spec"]["ports"][0].update(appProtocol="tcp", name="tcp"), "gRPC"),
    (lambda d, g, f: _set_arg(_container(d, ss.RLS_NAME), "--listen", "0.0.0.0:9000"), "listens on another port"),
    (lambda d, g, f: _set_arg(_container(d, ss.RLS_NAME), "--redis", "redis://redis:6379/"), "--redis"),
    (lambda d, g, f: _container(d, ss.REDIS_NAME)["env"][0]["valueFrom"]["secretKeyRef"].update(name="other"),
     "different secrets"),
    (lambda d, g, f: _container(d, ss.RLS_NAME).update(env=[]), "not in its env"),
    (lambda d, g, f: _set_arg(_container(d, ss.REDIS_NAME), "--maxmemory-policy", "allkeys-lru"), "noeviction"),
    (lambda d, g, f: _set_arg(_container(d, ss.REDIS_NAME), "--maxmemory", "1Gi"), "maxmemory"),
    (lambda d, g, f: _dep(d, ss.REDIS_NAME)["spec"].update(replicas=2), "one pod"),
    (lambda d, g, f: _dep(d, ss.RLS_NAME)["spec"].update(replicas=1), "two replicas"),
    (lambda d, g, f: _container(d, ss.RLS_NAME)["securityContext"].update(readOnlyRootFilesystem=False), "read-only"),
    (lambda d, g, f: _container(d, ss.REDIS_NAME)["resources"].pop("limits"), "limits"),
    (lambda d, g, f: _container(d, ss.RLS_NAME).pop("livenessProbe"), "livenessProbe"),
    (lambda d, g, f: _pod(_dep(d, ss.RLS_NAME))["spec"]["securityContext"].pop("seccompProfile"), "seccomp"),
    (lambda d, g, f: _pod(_dep(d, ss.RLS_NAME))["spec"].update(serviceAccountName="default"), "service account"),
    (lambda d, g, f: d[("NetworkPolicy", ss.RLS_NAME)]["spec"]["ingress"][0].pop("from"), "open to anyone"),
    (lambda d, g, f: d[("NetworkPolicy", ss.RLS_NAME)]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
     ["matchLabels"].update({"kubernetes.io/metadata.name": "llm-apps"}), "only the gateway's pods"),
    (lambda d, g, f: d[("NetworkPolicy", ss.REDIS_NAME)]["spec"]["ingress"][0]["from"].append({"podSelector": {}}),
     "only the service's pods"),
    (lambda d, g, f: d[("NetworkPolicy", ss.REDIS_NAME)]["spec"]["ingress"].append({"ports": [{"port": 6379}]}),
     "without `from`"),
    (lambda d, g, f: d[("NetworkPolicy", ss.RLS_NAME)]["spec"].update(egress=d[("NetworkPolicy", ss.RLS_NAME)]["spec"]["egress"][1:]),
     "reach Redis"),
    (lambda d, g, f: g["spec"].update(egress=g["spec"]["egress"][:-1]), "gateway's NetworkPolicy"),
    (lambda d, g, f: d[("AuthorizationPolicy", ss.RLS_NAME)]["spec"]["rules"][0]["from"][0]["source"].update(
        principals=["cluster.local/ns/llm-apps/sa/default"]), "must allow"),
    (lambda d, g, f: d[("AuthorizationPolicy", ss.REDIS_NAME)]["spec"]["rules"][0]["from"].append(
        {"source": {"namespaces": ["llm-apps"]}}), "must allow"),
    (lambda d, g, f: d[("PeerAuthentication", "default")]["spec"]["mtls"].update(mode="PERMISSIVE"), "mTLS only"),
    (lambda d, g, f: d.pop(("Service", ss.REDIS_NAME)), "missing"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_store_check_catches_a_broken_manifest(
        mutate: Callable[[Docs, dict[str, Any], list[dict[str, Any]]], Any], expect: str) -> None:
    docs, gw, stores = store_docs(), gateway_netpol(), filter_stores()
    mutate(docs, gw, stores)
    problems = store_problems(docs, gw, stores)
    assert any(expect in x for x in problems), problems


def test_a_reservation_outlives_the_longest_exchange_and_the_service_keeps_it() -> None:
    """The filter's reservation TTL covers the routes' timeout (a longer stream would lose its hold), and the
    service does not clamp it below that (--max-ttl-s)."""
    timeouts = {r["timeout"] for d in docs_of_kind("VirtualService") for r in d.body["spec"]["http"]}
    longest = max(int(t.removesuffix("s")) for t in timeouts)
    (rls_c,) = _pod(store_docs()[("Deployment", ss.RLS_NAME)])["spec"]["containers"]
    max_ttl = int(_arg(rls_c["args"], "--max-ttl-s"))
    for store in filter_stores():
        assert longest <= store["reservation_ttl_s"] <= max_ttl, (longest, store, max_ttl)


def test_the_store_namespace_is_a_platform_namespace_not_a_workload_one() -> None:
    assert ss.NAMESPACE not in im.workload_namespaces()
    labels = store_docs()[("Namespace", ss.NAMESPACE)]["metadata"]["labels"]
    assert im.WORKLOAD_LABEL not in labels, "workloads never call OpenRouter from the store's namespace"


# ---------------------------------------------------------------- rls/Dockerfile

def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of rls/Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instr, _, rest = line.strip().partition(" ")
            out.append((instr.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    lines = dockerfile()
    start = max(i for i, (instr, _) in enumerate(lines) if instr == "FROM")
    return lines[start:]


def test_the_image_runs_the_service_as_the_user_and_port_the_deployment_expects() -> None:
    dep = store_docs()[("Deployment", ss.RLS_NAME)]
    pod = _pod(dep)["spec"]
    (c,) = pod["containers"]
    stage = dict(final_stage())
    uid = int(stage["USER"].split(":")[0])
    assert uid == pod["securityContext"]["runAsUser"] == ss.RLS_UID and uid != 0
    assert json.loads(stage["ENTRYPOINT"]) == ["/usr/local/bin/openrouter-guard-rls"] and "command" not in c
    assert int(stage["EXPOSE"]) == c["ports"][0]["containerPort"]
    assert "distroless" in stage["FROM"] and "nonroot" in stage["FROM"], "no shell, no root user in the image"
    image, _, tag = c["image"].rpartition(":")
    assert image == ss.RLS_IMAGE and tag == ss.rls_version()
    assert f"-t {ss.RLS_IMAGE}:{tag} " in DOCKERFILE.read_text(), "the build command in the Dockerfile names the tag"


def test_the_image_builds_the_service_as_make_build_rls_does_with_the_ci_compiler() -> None:
    lines = dockerfile()
    (build_from,) = [rest for instr, rest in lines if instr == "FROM" and " AS build" in rest]
    version = re.search(r"rust:(\d+\.\d+\.\d+)", build_from)
    assert version, build_from
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout
    assert rustc.split()[1] == version.group(1), f"the image builds with {version.group(1)}, CI with {rustc}"
    (run,) = [rest for instr, rest in lines if instr == "RUN"]
    make = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^build-rls:\n\t(.+)$", make, re.M)
    assert recipe, "Makefile target build-rls"
    assert recipe.group(1).strip() in run.replace(" --locked", ""), (recipe.group(1), run)
    assert "--locked" in run, "Cargo.lock as committed"
    # What the recipe builds is what the e2e tests run (harness/stores.py, RLS_BIN) and what the image copies.
    assert "target/tools/openrouter-guard-rls" in run
    e2e = (ROOT / "harness" / "stores.py").read_text()
    assert 'ROOT / "target" / "tools" / "openrouter-guard-rls"' in e2e


def test_the_build_context_leaves_out_build_outputs_and_environments() -> None:
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"target", ".venv", "out", ".git"} <= ignored

