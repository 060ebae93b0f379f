"""The Kubernetes core objects of deploy/istio (Namespace, Deployment, Service, ServiceAccount, NetworkPolicy,
PodDisruptionBudget, ValidatingAdmissionPolicy, ...) against the Kubernetes API's own OpenAPI schemas, strict
(unknown fields rejected), from the kubernetes-validate package (tools/setup.sh pins it). The Istio kinds are
checked against Istio's CRD schemas in test_manifests.py."""
from __future__ import annotations

import copy
from typing import Any, Callable

import kubernetes_validate
import pytest

from deploy_checks import ISTIO_GROUPS, Doc, all_docs

# The oldest Kubernetes the manifests claim: ValidatingAdmissionPolicy v1 is 1.30 (admission-workload-namespaces.yaml).
KUBERNETES_VERSION = "1.30"
K8S_DOCS = [d for d in all_docs() if d.group not in ISTIO_GROUPS]


def k8s_errors(body: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{'.'.join(map(str, e.path)) or '$'}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"no Kubernetes {KUBERNETES_VERSION} schema: {e.message}"]
    return []


@pytest.mark.parametrize("doc", K8S_DOCS, ids=lambda d: d.id)
def test_kubernetes_object_is_valid_against_the_api_schema(doc: Doc) -> None:
    assert k8s_errors(doc.body) == [], doc.id


def test_every_kind_the_store_needs_is_checked() -> None:
    kinds = {d.body["kind"] for d in K8S_DOCS}
    assert {"Namespace", "Deployment", "Service", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget",
            "ValidatingAdmissionPolicy"} <= kinds


def _first(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(d.body for d in K8S_DOCS if d.body["kind"] == kind))


def _container(b: dict[str, Any]) -> dict[str, Any]:
    return b["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("kind,mutate,expect", [
    ("Deployment", lambda b: _container(b)["securityContext"].update(readOnlyRootFilesystm=True), "readOnlyRootFilesystm"),
    ("Deployment", lambda b: b["spec"].update(replicas="2"), "'2'"),
    ("Deployment", lambda b: _container(b).pop("name"), "name"),
    ("Service", lambda b: b["spec"]["ports"][0].update(targetport=1), "targetport"),
    ("ServiceAccount", lambda b: b.update(automountServiceAccountToken="no"), "'no'"),
    ("NetworkPolicy", lambda b: b["spec"].update(podselector={}), "podselector"),
    ("PodDisruptionBudget", lambda b: b["spec"].update(minAvailabe=1), "minAvailabe"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_api_schema_check_rejects_a_broken_object(kind: str, mutate: Callable[[dict[str, Any]], None],
                                                      expect: str) -> None:
    body = _first(kind)
    assert k8s_errors(body) == [], "the unmodified object must be valid for this negative test to mean anything"
    mutate(body)
    errors = k8s_errors(body)
    assert errors and any(expect in e for e in errors), errors
