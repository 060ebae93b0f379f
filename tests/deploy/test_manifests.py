"""The Istio manifests of deploy/istio: valid against Istio's CRD schemas, consistent with each other, generated
from one source (tools/istio_manifests.py), and locking down every namespace they name.

What a cluster would add (admission webhooks, istiod's own analysis) is out of reach here; the CEL rules these
manifests depend on are checked by hand below. What Envoy does with the EnvoyFilter's patches is tested with
the real Envoy and .wasm in tests/e2e/test_istio_gateway.py.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import envoy_config as ec
import istio_manifests as im
import spend_store_manifests as ss

from deploy_checks import (
    HELM_DIR,
    ISTIO_DIR,
    ISTIO_GROUPS,
    ROOT,
    Doc,
    all_docs,
    cel_check,
    crd_schema,
    docs_of_kind,
    one,
    require_schemas,
    schema_index,
    schema_label,
)


EGRESS_SELECTOR = {"istio": "openrouter-egress"}
EGRESS_SERVICE = "istio-openrouter-egress.istio-system.svc.cluster.local"
GATEWAY_REF = "istio-system/openrouter-egress"
PLACEHOLDER_SHA256 = "0" * 64
CLUSTER_SCOPED = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
# Namespaces of the platform (the egress gateway, the budget store): not workload namespaces, locked down by their
# own manifests (test_spend_store.py for the store's).
PLATFORM_NAMESPACES = {"istio-system", ss.NAMESPACE}

ISTIO_DOCS = [d for d in all_docs() if d.group in ISTIO_GROUPS]
K8S_DOCS = [d for d in all_docs() if d.group not in ISTIO_GROUPS]
NETPOL_DOCS = [d for d in K8S_DOCS if d.body["kind"] == "NetworkPolicy"]


def validator_for(doc: Doc) -> jsonschema.Draft7Validator:
    root = require_schemas()
    index = schema_index(str(root), schema_label())
    kind, version = doc.body.get("kind"), doc.version
    assert kind in index["kinds"], f"{doc.id}: no Istio CRD of kind {kind!r} in schema set {schema_label()}"
    entry = index["kinds"][kind]
    assert entry["group"] == doc.group, f"{doc.id}: {kind} belongs to {entry['group']}, not {doc.group}"
    assert version in entry["versions"], f"{doc.id}: {kind} has no version {version} ({sorted(entry['versions'])})"
    assert entry["versions"][version]["served"], f"{doc.id}: {doc.group}/{version} {kind} is not served"
    assert not entry["versions"][version]["deprecated"], f"{doc.id}: {doc.group}/{version} {kind} is deprecated"
    schema = crd_schema(str(root), schema_label(), doc.group, version, kind)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(doc: Doc, body: dict[str, Any] | None = None) -> list[str]:
    """JSON-schema errors plus violated CEL rules; a CEL rule this suite cannot evaluate is an error too."""
    body = doc.body if body is None else body
    v = validator_for(doc)
    errors = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
    out = [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in errors]
    violated, unknown = cel_check(v.schema, body)
    out += [f"CEL {e}" for e in violated]
    out += [f"CEL rule not transcribed in tests/deploy/deploy_checks.py, cannot check: {u}" for u in unknown]
    return out


# ---------------------------------------------------------------- schema validation

def test_the_manifest_set_is_complete():
    kinds = {d.body["kind"] for d in all_docs(include_generated=False)}
    assert {
        "ServiceEntry", "Gateway", "VirtualService", "DestinationRule", "Sidecar", "AuthorizationPolicy",
        "EnvoyFilter", "Telemetry", "NetworkPolicy", "Namespace", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "PeerAuthentication", "Deployment", "Service", "ServiceAccount",
        "PodDisruptionBudget",
    } <= kinds
    # WasmPlugin cannot set allow_on_headers_stop_iteration: a WasmPlugin-loaded filter hangs governed requests.
    assert "WasmPlugin" not in kinds
    for d in all_docs():
        assert d.body.get("apiVersion") and d.body.get("kind"), f"{d.id}: apiVersion and kind are required"
        if d.body["kind"] not in CLUSTER_SCOPED:
            assert d.body["metadata"].get("namespace"), f"{d.id}: every resource names its namespace explicitly"


def test_generated_manifests_are_what_the_generator_writes():
    for name, text in im.rendered().items():
        path = ISTIO_DIR / name
        assert path.is_file() and path.read_text() == text, (
            f"deploy/istio/{name} drifted from tools/istio_manifests.py: run `.venv/bin/python tools/istio_manifests.py`")


@pytest.mark.parametrize("doc", ISTIO_DOCS, ids=lambda d: d.id)
def test_istio_manifest_is_valid_against_its_crd_schema(doc: Doc):
    errors = schema_errors(doc)
    assert not errors, f"{doc.id} does not validate against Istio {schema_label()}:\n" + "\n".join(errors)


def _guard_doc() -> Doc:
    return next(d for d in ISTIO_DOCS if d.body["kind"] == "EnvoyFilter" and d.path.name == "envoyfilter-openrouter-guard.yaml")


def _doc(kind: str, name: str) -> Doc:
    return next(d for d in ISTIO_DOCS if d.body["kind"] == kind and d.body["metadata"]["name"] == name)


@pytest.mark.parametrize(
    "kind,name,mutate,expect",
    [
        # a typo in a field name, at several depths
        ("EnvoyFilter", "openrouter-guard", lambda b: b["spec"].update(workloadSelectorr={}), "workloadSelectorr"),
        ("DestinationRule", "openrouter-tls",
         lambda b: b["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"].update(snii="x"), "snii"),
        ("VirtualService", "openrouter-ai-via-egress",
         lambda b: b["spec"]["http"][0]["route"][0]["destination"].update(subsett="x"), "subsett"),
        ("AuthorizationPolicy", "openrouter-egress-callers",
         lambda b: b["spec"]["rules"][0]["from"][0]["source"].update(namespace=["x"]), "namespace"),
        ("ServiceEntry", "openrouter", lambda b: b["spec"]["ports"][0].update(target_port=443), "target_port"),
        ("EnvoyFilter", "openrouter-guard",
         lambda b: b["spec"]["configPatches"][1]["match"].update(contex="GATEWAY"), "contex"),
        # unknown top-level and metadata fields
        ("Gateway", "openrouter-egress", lambda b: b.update(specs={}), "specs"),
        ("Sidecar", "default", lambda b: b["metadata"].update(labeles={}), "labeles"),
        # a wrong enum value, a wrong type, a broken pattern, a missing required field
        ("EnvoyFilter", "openrouter-guard", lambda b: b["spec"]["configPatches"][0].update(applyTo="EXTENSION"),
         "EXTENSION"),
        ("EnvoyFilter", "openrouter-guard",
         lambda b: b["spec"]["configPatches"][1]["patch"].update(operation="INSERT"), "INSERT"),
        ("EnvoyFilter", "openrouter-guard", lambda b: b["spec"].update(priority="high"), "high"),
        ("EnvoyFilter", "openrouter-guard",
         lambda b: b["spec"]["configPatches"][1]["match"]["listener"].update(portNumber="8080x"), "8080x"),
        ("Sidecar", "default", lambda b: b["spec"]["outboundTrafficPolicy"].update(mode="REGISTRY"), "REGISTRY"),
        ("ServiceEntry", "openrouter", lambda b: b["spec"]["ports"][0].update(number=-1), "-1"),
        ("ServiceEntry", "openrouter", lambda b: b["spec"].pop("hosts"), "hosts"),
        # wrong apiVersion for the kind
        ("EnvoyFilter", "openrouter-guard", lambda b: b.update(apiVersion="networking.istio.io/v1"), "apiVersion"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_schema_check_rejects_a_broken_manifest(kind, name, mutate, expect):
    doc = _doc(kind, name)
    assert not schema_errors(doc), "the unmodified manifest must be valid for this negative test to mean anything"
    body = copy.deepcopy(doc.body)
    mutate(body)
    errors = schema_errors(doc, body)
    assert errors, f"a broken {kind} ({expect}) passed schema validation"
    assert any(expect in e for e in errors), errors


def test_openapi_nullable_and_preserve_unknown_fields_are_honoured():
    ef = _guard_doc()
    body = copy.deepcopy(ef.body)
    body["spec"]["configPatches"][0]["patch"]["value"]["anything"] = True  # patch.value is free-form
    assert not schema_errors(ef, body)
    dr = _doc("DestinationRule", "openrouter-tls")
    body = copy.deepcopy(dr.body)
    body["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"]["insecureSkipVerify"] = None  # `nullable: true`
    assert not schema_errors(dr, body)


@pytest.mark.parametrize(
    "kind,name,mutate,expect",
    [
        ("VirtualService", "openrouter-ai-via-egress", lambda b: b["spec"]["http"][0].update(timeout="600"),
         "not a duration"),
        ("VirtualService", "openrouter-ai-via-egress", lambda b: b["spec"]["http"][0].update(timeout="0s"),
         "duration"),
        ("ServiceEntry", "openrouter", lambda b: b["spec"]["ports"][0].update(number=70000), "1-65535"),
        ("ServiceEntry", "openrouter", lambda b: b["spec"]["ports"].append(dict(b["spec"]["ports"][0], name="dup")),
         "duplicated"),
        ("EnvoyFilter", "openrouter-guard",
         lambda b: b["spec"].update(targetRefs=[{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "x"}]),
         "only one of"),
        ("EnvoyFilter", "openrouter-guard",
         lambda b: b["spec"]["workloadSelector"]["labels"].update(app="*"), "wildcard"),
        ("AuthorizationPolicy", "openrouter-egress-callers",
         lambda b: b["spec"]["selector"]["matchLabels"].update(app="*"), "wildcard"),
        ("AuthorizationPolicy", "openrouter-egress-callers",
         lambda b: b["spec"]["rules"][0]["from"][0]["source"].update(serviceAccounts=["llm-apps/x"]),
         "serviceAccounts"),
        ("PeerAuthentication", "default", lambda b: b["spec"].update(portLevelMtls={"8081": {"mode": "DISABLE"}}),
         "portLevelMtls requires selector"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_cel_rules_of_the_crds_are_enforced(kind, name, mutate, expect):
    """x-kubernetes-validations are CEL, which JSON schema cannot run: deploy_checks.CEL_RULES transcribes them."""
    doc = _doc(kind, name)
    assert not schema_errors(doc)
    body = copy.deepcopy(doc.body)
    mutate(body)
    errors = [e for e in schema_errors(doc, body) if e.startswith("CEL")]
    assert any(expect in e for e in errors), errors


# ---------------------------------------------------------------- NetworkPolicy (no schema available)

NETPOL_SPEC_KEYS = {"podSelector", "policyTypes", "ingress", "egress"}
PEER_KEYS = {"podSelector", "namespaceSelector", "ipBlock"}
SELECTOR_KEYS = {"matchLabels", "matchExpressions"}


def _check_selector(sel: Any, where: str) -> None:
    assert isinstance(sel, dict), f"{where}: a label selector is a mapping"
    assert set(sel) <= SELECTOR_KEYS, f"{where}: unknown selector keys {set(sel) - SELECTOR_KEYS}"
    for k, v in sel.get("matchLabels", {}).items():
        assert isinstance(k, str) and isinstance(v, str), f"{where}: matchLabels must map strings to strings"


def _check_rule(rule: dict[str, Any], peers_key: str, where: str) -> None:
    assert set(rule) <= {peers_key, "ports"}, f"{where}: unknown rule keys {set(rule) - {peers_key, 'ports'}}"
    for i, peer in enumerate(rule.get(peers_key, [])):
        w = f"{where}.{peers_key}[{i}]"
        assert peer and set(peer) <= PEER_KEYS, f"{w}: a peer has podSelector/namespaceSelector/ipBlock only"
        if "ipBlock" in peer:
            assert set(peer) == {"ipBlock"}, f"{w}: ipBlock cannot be combined with selectors"
            assert set(peer["ipBlock"]) <= {"cidr", "except"} and "cidr" in peer["ipBlock"], w
        for key in ("podSelector", "namespaceSelector"):
            if key in peer:
                _check_selector(peer[key], f"{w}.{key}")
    for i, port in enumerate(rule.get("ports", [])):
        w = f"{where}.ports[{i}]"
        assert set(port) <= {"protocol", "port", "endPort"}, f"{w}: unknown keys"
        assert port.get("protocol", "TCP") in {"TCP", "UDP", "SCTP"}, w
        assert isinstance(port.get("port"), (int, str)), f"{w}: port is a number or a named port"
        if isinstance(port["port"], int):
            assert 1 <= port["port"] <= 65535, w


@pytest.mark.parametrize("doc", NETPOL_DOCS, ids=lambda d: d.id)
def test_network_policy_is_well_formed(doc: Doc):
    b = doc.body
    assert (b["apiVersion"], b["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy"), doc.id
    assert set(b) == {"apiVersion", "kind", "metadata", "spec"}, doc.id
    spec = b["spec"]
    assert set(spec) <= NETPOL_SPEC_KEYS and "podSelector" in spec, doc.id
    _check_selector(spec["podSelector"], f"{doc.id}.spec.podSelector")
    types = spec.get("policyTypes", [])
    assert types and set(types) <= {"Ingress", "Egress"}, f"{doc.id}: policyTypes must be explicit"
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        if direction in spec:
            assert direction.capitalize() in types, f"{doc.id}: {direction} rules without policyType"
            for i, rule in enumerate(spec[direction]):
                _check_rule(rule, peers_key, f"{doc.id}.spec.{direction}[{i}]")


def test_network_policy_check_rejects_a_broken_policy():
    doc = next(d for d in NETPOL_DOCS if d.body["metadata"]["name"] == "egress-only-via-mesh")
    for mutate in (
        lambda b: b["spec"]["egress"][0].update(too=[]),
        lambda b: b["spec"]["egress"][1]["ports"][0].update(protocol="ICMP"),
        lambda b: b["spec"].update(policyTypes=["Outbound"]),
        lambda b: b["spec"]["egress"][1]["to"][0].update(ipBlock={"cidr": "0.0.0.0/0"}),
    ):
        body = copy.deepcopy(doc.body)
        mutate(body)
        with pytest.raises(AssertionError):
            test_network_policy_is_well_formed(Doc(doc.path, doc.index, body))


def _namespaces_named_anywhere() -> dict[str, list[str]]:
    """Every workload namespace a manifest or the namespace list names -> where."""
    named: dict[str, list[str]] = {}
    for ns in im.workload_namespaces():
        named.setdefault(ns, []).append("workload-namespaces.json")
    for d in all_docs(include_generated=False):
        if d.body["kind"] == "AuthorizationPolicy":
            for r in d.body["spec"]["rules"]:
                for f in r.get("from", []):
                    for ns in f["source"].get("namespaces", []):
                        named.setdefault(ns, []).append(d.id)
        if d.body["kind"] == "NetworkPolicy":
            for r in d.body["spec"].get("ingress", []):
                for peer in r.get("from", []):
                    ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                    if ns and ns not in PLATFORM_NAMESPACES:
                        named.setdefault(ns, []).append(d.id)
        ns = d.body["metadata"].get("namespace")
        if ns and ns not in PLATFORM_NAMESPACES:
            named.setdefault(ns, []).append(d.id)
    return named


def lockdown_gaps(docs: list[Doc]) -> list[str]:
    """For each workload namespace named anywhere: what of its lock-down is missing from `docs`."""
    gaps = []
    for ns, where in sorted(_namespaces_named_anywhere().items()):
        have = {(d.body["kind"], d.body["metadata"]["name"]) for d in docs
                if d.body["metadata"].get("namespace") == ns or (d.body["kind"] == "Namespace" and d.body["metadata"]["name"] == ns)}
        for kind, name in (("Namespace", ns), ("NetworkPolicy", "egress-only-via-mesh"), ("Sidecar", "default")):
            if (kind, name) not in have:
                gaps.append(f"{ns} (named in {', '.join(sorted(set(where)))}) has no {kind} {name}")
    return gaps


def test_every_namespace_named_anywhere_is_locked_down():
    assert set(_namespaces_named_anywhere()) == set(im.workload_namespaces()) == {"llm-apps", "llm-restricted"}
    assert lockdown_gaps(all_docs(include_generated=False)) == []


def test_the_lockdown_check_fails_for_a_namespace_without_its_policies():
    # Today's bug (issue 13 item 1): the AuthorizationPolicy named llm-restricted, nothing locked it down.
    docs = [d for d in all_docs(include_generated=False)
            if not (d.body["metadata"].get("namespace") == "llm-restricted" and d.body["kind"] in ("NetworkPolicy", "Sidecar"))]
    gaps = lockdown_gaps(docs)
    assert any("llm-restricted" in g and "NetworkPolicy" in g for g in gaps), gaps
    assert any("llm-restricted" in g and "Sidecar" in g for g in gaps), gaps


def test_workload_namespaces_enforce_pod_security_and_carry_the_admission_label():
    for d in all_docs(include_generated=False):
        if d.body["kind"] != "Namespace" or d.body["metadata"]["name"] in PLATFORM_NAMESPACES:
            continue
        labels = d.body["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted"), d.id
        assert labels["istio-injection"] == "enabled" and labels[im.WORKLOAD_LABEL] == "true", d.id


def test_workload_namespaces_may_not_create_istio_routing_kinds():
    vap = one("ValidatingAdmissionPolicy", "openrouter-guard-workload-istio-kinds")["spec"]
    binding = one("ValidatingAdmissionPolicyBinding", "openrouter-guard-workload-istio-kinds")["spec"]
    assert binding["policyName"] == "openrouter-guard-workload-istio-kinds" and binding["validationActions"] == ["Deny"]
    assert binding["matchResources"]["namespaceSelector"]["matchLabels"] == {im.WORKLOAD_LABEL: "true"}
    assert vap["failurePolicy"] == "Fail" and [v["expression"] for v in vap["validations"]] == ["false"]
    covered = {(g, r) for rule in vap["matchConstraints"]["resourceRules"] for g in rule["apiGroups"]
               for r in rule["resources"]}
    for kind in ("gateways", "virtualservices", "serviceentries", "destinationrules"):
        assert ("networking.istio.io", kind) in covered, kind
    for rule in vap["matchConstraints"]["resourceRules"]:
        assert set(rule["operations"]) >= {"CREATE", "UPDATE"} and rule["apiVersions"] == ["*"]


def test_workload_namespaces_can_leave_the_cluster_only_through_the_egress_gateway():
    gw_port = _egress_gateway_target_port()
    for wl_doc in [d for d in NETPOL_DOCS if d.body["metadata"]["name"] == "egress-only-via-mesh"]:
        wl = wl_doc.body["spec"]
        assert wl["podSelector"] == {} and wl["policyTypes"] == ["Egress"], "applies to every pod, egress"
        gateway_rules = []
        for rule in wl["egress"]:
            assert rule.get("to"), "a rule without `to` would allow every destination"
            for peer in rule["to"]:
                assert "ipBlock" not in peer, "no address outside the cluster may be allowed"
                assert peer.get("podSelector") is not None, "each peer names pods, not whole namespaces"
            if any(p.get("podSelector", {}).get("matchLabels") == EGRESS_SELECTOR for p in rule["to"]):
                gateway_rules.append(rule)
        assert len(gateway_rules) == 1, wl_doc.id
        assert gateway_rules[0]["ports"] == [{"protocol": "TCP", "port": gw_port}]
    gw = one("NetworkPolicy", "openrouter-egressgateway")["spec"]
    assert gw["podSelector"]["matchLabels"] == EGRESS_SELECTOR
    allowed_from = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for r in gw["ingress"] if any(pt["port"] == gw_port for pt in r["ports"]) for p in r.get("from", [])
    }
    assert allowed_from == _authorized_namespaces(), "gateway NetworkPolicy and AuthorizationPolicy disagree"
    internet = [r for r in gw["egress"] if any("ipBlock" in p for p in r["to"])]
    assert len(internet) == 1 and internet[0]["ports"] == [{"protocol": "TCP", "port": 443}]


# ---------------------------------------------------------------- the pieces fit together

def _egress_gateway_target_port() -> int:
    values = yaml.safe_load((HELM_DIR / "egressgateway-values.yaml").read_text())
    (port,) = [p for p in values["service"]["ports"] if p["port"] == 80]
    return port["targetPort"]


def _authorized_namespaces() -> set[str]:
    ap = one("AuthorizationPolicy", "openrouter-egress-callers")
    return {ns for r in ap["spec"]["rules"] for f in r["from"] for ns in f["source"]["namespaces"]}


def _patches(doc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return (doc or _guard_doc().body)["spec"]["configPatches"]


def _extension(doc: dict[str, Any] | None = None) -> dict[str, Any]:
    (ext,) = [p["patch"]["value"] for p in _patches(doc) if p["applyTo"] == "EXTENSION_CONFIG"]
    return ext


def _plugin_configs() -> dict[str, dict[str, Any]]:
    return {d.id: json.loads(_extension(d.body)["typed_config"]["config"]["configuration"]["value"])
            for d in docs_of_kind("EnvoyFilter", include_generated=True) if d.body["metadata"]["name"] == "openrouter-guard"}


def test_every_openrouter_host_is_routed_through_the_egress_gateway_with_tls_origination():
    se = one("ServiceEntry", "openrouter")["spec"]
    assert se["location"] == "MESH_EXTERNAL" and se["resolution"] == "DNS"
    assert [p["number"] for p in se["ports"]] == [80], "only plain HTTP may be registered (no TLS passthrough)"
    assert se["ports"][0]["protocol"] == "HTTP" and se["ports"][0]["targetPort"] == 443
    assert tuple(se["hosts"]) == im.OPENROUTER_HOSTS
    gw = one("Gateway", "openrouter-egress")["spec"]
    assert gw["selector"] == EGRESS_SELECTOR
    (server,) = gw["servers"]
    assert server["tls"]["mode"] == "ISTIO_MUTUAL", "the gateway must see the caller's mesh identity"
    assert server["hosts"] == [f"istio-system/{h}" for h in se["hosts"]]
    egress_dr = one("DestinationRule", "egressgateway-openrouter")["spec"]
    assert egress_dr["host"] == EGRESS_SERVICE == im.GATEWAY_SERVICE
    subsets = {s["name"]: s for s in egress_dr["subsets"]}
    for port in se["ports"]:
        for host in se["hosts"]:
            vs = [d.body["spec"] for d in docs_of_kind("VirtualService") if d.body["spec"]["hosts"] == [host]]
            assert len(vs) == 1, f"one VirtualService for {host}"
            vs = vs[0]
            assert set(vs["gateways"]) == {"mesh", GATEWAY_REF}
            by_gateway = {tuple(m["gateways"]): r for r in vs["http"] for m in r["match"]}
            mesh = by_gateway[("mesh",)]["route"]
            assert [r["destination"]["host"] for r in mesh] == [EGRESS_SERVICE]
            subset = subsets[mesh[0]["destination"]["subset"]]
            (pls,) = subset["trafficPolicy"]["portLevelSettings"]
            assert pls["port"]["number"] == mesh[0]["destination"]["port"]["number"] == server["port"]["number"]
            assert pls["tls"]["mode"] == "ISTIO_MUTUAL" and f"istio-system/{pls['tls']['sni']}" in server["hosts"]
            out_route = by_gateway[(GATEWAY_REF,)]
            assert out_route["name"] == im.GATEWAY_ROUTE_NAME, "the EnvoyFilter's HTTP_ROUTE patch names this route"
            out = out_route["route"]
            assert [(r["destination"]["host"], r["destination"]["port"]["number"]) for r in out] == [(host, port["number"])]
            dr = [d.body["spec"] for d in docs_of_kind("DestinationRule") if d.body["spec"]["host"] == host]
            assert len(dr) == 1, f"one TLS-origination DestinationRule for {host}"
            assert dr[0]["exportTo"] == ["."], "only the gateway's namespace may originate TLS to OpenRouter"
            (tls_pls,) = dr[0]["trafficPolicy"]["portLevelSettings"]
            assert tls_pls["port"]["number"] == port["number"]
            tls = tls_pls["tls"]
            assert (tls["mode"], tls["sni"], tls["subjectAltNames"]) == ("SIMPLE", host, [host])
            assert tls.get("insecureSkipVerify") is False


def test_the_filter_knows_the_clusters_and_hosts_istio_routes_openrouter_traffic_to():
    se = one("ServiceEntry", "openrouter")["spec"]
    want_clusters = {f"outbound|{p['number']}||{h}" for p in se["ports"] for h in se["hosts"]}
    configs = _plugin_configs()
    assert configs
    for where, cfg in configs.items():
        assert set(cfg["clusters"]) == want_clusters, where
        assert set(cfg["hosts"]) == set(se["hosts"]), where


def test_the_policy_is_the_projects_default_policy():
    default = json.loads((ROOT / "envoy" / "policy.default.json").read_text())
    for where, cfg in _plugin_configs().items():
        # The gateway's replicas share their budgets in the mesh-wide store (spend-store.yaml, test_spend_store.py).
        assert cfg["spend"].pop("store") == im.MESH_SPEND_STORE, where
        mesh = {k: v for k, v in cfg.items() if k != "clusters"}
        base = {k: v for k, v in default.items() if k != "clusters"}
        assert mesh == base, (f"{where}: the mesh policy drifted from envoy/policy.default.json (only `clusters` "
                              "and `spend.store` may differ)")


def test_the_filter_holds_headers_fails_closed_and_runs_after_authorization():
    ef = _guard_doc().body
    assert ef["spec"]["workloadSelector"]["labels"] == EGRESS_SELECTOR
    ext = _extension()
    config = ext["typed_config"]["config"]
    assert ext["typed_config"]["@type"] == "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
    assert config["allow_on_headers_stop_iteration"] is True, "without it every governed request with a body hangs"
    # Not FAIL_OPEN: Istio's agent installs deny-all when the module cannot be fetched (httpWasmFailOpen), and a
    # VM that traps is reloaded (FAIL_RELOAD), never bypassed. The same policy as plain Envoy's.
    assert config["failure_policy"] == ec.wasm_typed_config(ec.EnvoyConfig())["config"]["failure_policy"]
    assert config["failure_policy"] in ("FAIL_CLOSED", "FAIL_RELOAD")
    remote = config["vm_config"]["code"]["remote"]
    assert remote["http_uri"]["uri"].startswith("oci://") and "@sha256:" in remote["http_uri"]["uri"], "pinned by digest"
    assert remote["http_uri"]["uri"].endswith("@sha256:" + remote["sha256"])
    assert config["vm_config"]["environment_variables"]["key_values"][im.PULL_POLICY_ENV] == "IfNotPresent"
    http = [p for p in _patches() if p["applyTo"] == "HTTP_FILTER" and p["patch"]["operation"] == "INSERT_BEFORE"]
    names = [p["patch"]["value"]["name"] for p in http]
    # Applied in order, each just before the router: the chain ends ... RBAC ... guard, header removal, key, router.
    assert names == [ext["name"], "envoy.filters.http.header_mutation", "envoy.filters.http.credential_injector"]
    assert all(p["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"] == "envoy.filters.http.router"
               for p in http)
    guard = http[0]
    assert guard["match"]["context"] == "GATEWAY" and guard["match"]["listener"]["portNumber"] == _egress_gateway_target_port()
    assert "sni" not in guard["match"]["listener"]["filterChain"], "every chain of the port: no chain without the filter"
    discovery = guard["patch"]["value"]["config_discovery"]
    assert discovery["config_source"]["ads"] == {} and discovery["config_source"]["initial_fetch_timeout"] == "0s"
    assert discovery["type_urls"] == [ext["typed_config"]["@type"]]
    assert "default_config" not in discovery, "no fallback filter: the listener waits for the real one"


def test_everything_on_the_gateway_selects_the_same_pods():
    selectors = {
        "Gateway": one("Gateway", "openrouter-egress")["spec"]["selector"],
        "AuthorizationPolicy": one("AuthorizationPolicy", "openrouter-egress-callers")["spec"]["selector"]["matchLabels"],
        "EnvoyFilter": one("EnvoyFilter", "openrouter-guard")["spec"]["workloadSelector"]["labels"],
        "Telemetry": one("Telemetry", "openrouter-egress-logs")["spec"]["selector"]["matchLabels"],
        "NetworkPolicy": one("NetworkPolicy", "openrouter-egressgateway")["spec"]["podSelector"]["matchLabels"],
    }
    assert all(s == EGRESS_SELECTOR == im.GATEWAY_LABELS for s in selectors.values()), selectors
    assert EGRESS_SELECTOR != {"istio": "egressgateway"}, "a dedicated gateway, not the mesh's shared one"
    values = yaml.safe_load((HELM_DIR / "egressgateway-values.yaml").read_text())
    assert values["service"]["type"] == "ClusterIP"
    # istio/gateway labels its pods istio=<release name without "istio-">; the docs install it as
    # istio-openrouter-egress, which is also the Service the VirtualServices route to.
    assert EGRESS_SERVICE.split(".")[0] == "istio-openrouter-egress"
    docs = (ROOT / "docs" / "deploy-istio.md").read_text()
    assert "helm upgrade --install istio-openrouter-egress istio/gateway" in docs


def test_authorization_allows_only_governed_openrouter_calls_and_pins_restricted_namespaces():
    ap = one("AuthorizationPolicy", "openrouter-egress-callers")["spec"]
    assert ap["action"] == "ALLOW"
    cfg = im.mesh_policy()
    hosts = set(cfg["hosts"])
    pinned = {ns: p for ns, p in im.workload_namespaces().items()}
    for rule in ap["rules"]:
        assert rule["from"] and all(set(f["source"]) == {"namespaces"} for f in rule["from"])
        ops = {}
        for to in rule["to"]:
            op = to["operation"]
            assert {h.removesuffix(":80") for h in op["hosts"]} == hosts
            (method,) = op["methods"]
            ops[method] = tuple(op["paths"])
            assert not any(seg in p for p in op["paths"] for seg in ("/keys", "/credits", "/auth", "/key"))
        # In step with plain Envoy's routes (tools/envoy_config.py): the same operations, one list.
        assert ops == {"POST": ec.INFERENCE_ENDPOINTS, "GET": ec.READ_ONLY_ENDPOINTS}
        (ns,) = rule["from"][0]["source"]["namespaces"]
        if pinned[ns] is None:
            assert "when" not in rule
        else:
            assert rule["when"] == [{"key": f"request.headers[{cfg['profile_header']}]", "values": [pinned[ns]]}]
            assert pinned[ns] in cfg["profiles"]
    assert "restricted" in pinned.values()


def test_mesh_wide_registry_only_is_opt_in_and_providers_are_merged():
    istiod = yaml.safe_load((HELM_DIR / "istiod-values.yaml").read_text())
    assert "outboundTrafficPolicy" not in istiod["meshConfig"], "mesh-wide REGISTRY_ONLY must be opt-in"
    opt_in = yaml.safe_load((HELM_DIR / "istiod-values-registry-only.yaml").read_text())
    assert opt_in == {"meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}}
    assert istiod["pilot"]["env"]["PILOT_SCOPE_GATEWAY_TO_NAMESPACE"] == "true"
    current = {"meshConfig": {"accessLogFile": "/dev/stdout", "extensionProviders": [
        {"name": "otel", "opentelemetry": {"service": "otel.svc", "port": 4317}}]}, "pilot": {"resources": {"cpu": 1}}}
    merged = im.merge_istiod_values(current, istiod)
    assert [p["name"] for p in merged["meshConfig"]["extensionProviders"]] == ["otel", "openrouter-guard-audit"]
    assert merged["meshConfig"]["accessLogFile"] == "/dev/stdout" and merged["pilot"]["resources"] == {"cpu": 1}
    assert im.merge_istiod_values(merged, istiod) == merged, "merging twice changes nothing"
    clash = {"meshConfig": {"extensionProviders": [{"name": "openrouter-guard-audit", "envoyOtelAls": {}}]}}
    with pytest.raises(ValueError):
        im.merge_istiod_values(clash, istiod)


def test_workload_sidecars_are_registry_only_and_see_the_openrouter_service():
    sidecars = [d.body for d in docs_of_kind("Sidecar")]
    assert {s["metadata"]["namespace"] for s in sidecars} == set(im.workload_namespaces())
    for sc in sidecars:
        spec = sc["spec"]
        assert spec["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"
        assert "workloadSelector" not in spec, "namespace-wide"
        (egress,) = spec["egress"]
        assert "istio-system/*" in egress["hosts"], "the ServiceEntry and VirtualServices live in istio-system"
    assert one("ServiceEntry", "openrouter")["spec"]["exportTo"] == ["*"]


def test_credentials_are_injected_after_the_policy_and_only_for_openrouter():
    (patch,) = [p for p in _patches() if p["patch"].get("value", {}).get("name") == "envoy.filters.http.credential_injector"]
    assert patch["applyTo"] == "HTTP_FILTER"
    match = patch["match"]
    assert match["context"] == "GATEWAY"
    assert match["listener"]["portNumber"] == _egress_gateway_target_port()
    chain = match["listener"]["filterChain"]
    assert chain["sni"] == "openrouter.ai", "scoped to the OpenRouter filter chain of the gateway"
    assert chain["filter"]["subFilter"]["name"] == "envoy.filters.http.router"
    assert patch["patch"]["operation"] == "INSERT_BEFORE", "just before the router: after the filter"
    value = patch["patch"]["value"]
    tc = value["typed_config"]
    assert tc["overwrite"] is True and tc["allow_request_without_credential"] is False
    generic = tc["credential"]["typed_config"]
    assert generic["header"] == "Authorization"
    path = generic["credential"]["sds_config"]["path_config_source"]["path"]
    values = yaml.safe_load((HELM_DIR / "egressgateway-values.yaml").read_text())
    (mount,) = values["volumeMounts"]
    assert Path(path).parent == Path(mount["mountPath"]) and mount["readOnly"] is True
    (vol,) = [v for v in values["volumes"] if v["name"] == mount["name"]]
    assert vol["secret"]["secretName"] == "openrouter-credential"
    # A client x-api-key never travels next to the injected key (removed after the filter has seen it).
    (hm,) = [p["patch"]["value"] for p in _patches() if p["patch"].get("value", {}).get("name") == "envoy.filters.http.header_mutation"]
    removed = {m.get("remove") for m in hm["typed_config"]["mutations"]["request_mutations"]}
    assert {"x-api-key", "x-forwarded-client-cert", "x-forwarded-for"} <= removed
    # the key itself is nowhere in the repository's manifests
    for d in all_docs():
        assert "sk-or-" not in json.dumps(d.body), d.id


def test_audit_log_provider_is_declared_for_the_telemetry_resource():
    tel = one("Telemetry", "openrouter-egress-logs")["spec"]
    names = {p["name"] for al in tel["accessLogging"] for p in al["providers"]}
    istiod = yaml.safe_load((HELM_DIR / "istiod-values.yaml").read_text())
    declared = {p["name"]: p for p in istiod["meshConfig"]["extensionProviders"]}
    assert names - {"envoy"} <= set(declared)
    fmt = declared["openrouter-guard-audit"]["envoyFileAccessLog"]["logFormat"]["text"]
    assert fmt == "%FILTER_STATE(wasm.audit:PLAIN)%\n"


def test_the_template_carries_the_fail_closed_placeholder_digest():
    config = _extension()["typed_config"]["config"]
    assert config["vm_config"]["code"]["remote"]["sha256"] == PLACEHOLDER_SHA256, (
        "the committed EnvoyFilter is the template: `make oci` stamps the real digest into deploy/istio/generated/")


def test_the_gateway_survives_a_drain_and_its_metrics_port_is_open():
    values = yaml.safe_load((HELM_DIR / "egressgateway-values.yaml").read_text())
    assert values["autoscaling"]["enabled"] and values["autoscaling"]["minReplicas"] >= 2
    assert values["podDisruptionBudget"] == {"minAvailable": 1}
    gw = one("NetworkPolicy", "openrouter-egressgateway")["spec"]
    open_ports = {pt["port"] for r in gw["ingress"] if "from" not in r for pt in r["ports"]}
    assert {15020, 15021, 15090} <= open_ports, "scrape (15020, the chart's annotation), health and Envoy stats"
