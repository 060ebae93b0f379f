"""Shared helpers for the deployment checks (Istio manifests, OCI image).

Nothing here talks to a cluster or to the network: the manifests are checked against Istio's own CRD
schemas (kept in the repository as test data: tests/deploy/istio-crd-schemas/, source and licence in its
SOURCE.md), against each other, and against the filter itself.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ISTIO_DIR = ROOT / "deploy" / "istio"
GENERATED_DIR = ISTIO_DIR / "generated"
HELM_DIR = ISTIO_DIR / "helm"
DEFAULT_SCHEMA_LABEL = "1.30.3"
ISTIO_GROUPS = ("networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io")


@dataclass(frozen=True)
class Doc:
    """One YAML document of a manifest file."""

    path: Path
    index: int
    body: dict[str, Any]

    @property
    def id(self) -> str:
        rel = self.path.relative_to(ROOT)
        name = self.body.get("metadata", {}).get("name", "?")
        return f"{rel}#{self.index}:{self.body.get('kind', '?')}/{name}"

    @property
    def group(self) -> str:
        return str(self.body.get("apiVersion", "")).partition("/")[0]

    @property
    def version(self) -> str:
        return str(self.body.get("apiVersion", "")).partition("/")[2]


def manifest_files(include_generated: bool = True) -> list[Path]:
    """Every Kubernetes manifest under deploy/istio (helm values files are not manifests)."""
    files = sorted(ISTIO_DIR.glob("*.yaml"))
    if include_generated and GENERATED_DIR.is_dir():
        files += sorted(GENERATED_DIR.glob("*.yaml"))
    return files


def load_docs(path: Path) -> list[Doc]:
    docs = []
    for i, body in enumerate(yaml.safe_load_all(path.read_text())):
        if body is None:
            continue
        assert isinstance(body, dict), f"{path}#{i}: a manifest document must be a mapping"
        docs.append(Doc(path, i, body))
    return docs


def all_docs(include_generated: bool = True) -> list[Doc]:
    return [d for f in manifest_files(include_generated) for d in load_docs(f)]


def docs_of_kind(kind: str, include_generated: bool = False) -> list[Doc]:
    return [d for d in all_docs(include_generated) if d.body.get("kind") == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [d.body for d in docs_of_kind(kind) if d.body["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


# ---------------------------------------------------------------- Istio CRD schemas

SCHEMA_DIR = Path(__file__).resolve().parent / "istio-crd-schemas"


def schema_root() -> Path | None:
    """$ISTIO_CRD_SCHEMAS if set (another schema set), else tests/deploy/istio-crd-schemas."""
    env = os.environ.get("ISTIO_CRD_SCHEMAS")
    candidate = Path(env) if env else SCHEMA_DIR
    return candidate if (candidate / schema_label() / "index.json").is_file() else None


def schema_label() -> str:
    return os.environ.get("ISTIO_CRD_SCHEMA_LABEL", DEFAULT_SCHEMA_LABEL)


def require_schemas() -> Path:
    root = schema_root()
    if root is None:
        pytest.fail(f"Istio CRD schemas not found (label {schema_label()}): {SCHEMA_DIR} is part of the repository; "
                    f"ISTIO_CRD_SCHEMAS/ISTIO_CRD_SCHEMA_LABEL point elsewhere", pytrace=False)
    return root


@cache
def schema_index(root: str, label: str) -> dict[str, Any]:
    return json.loads((Path(root) / label / "index.json").read_text())


# Kubernetes object metadata, as far as these manifests use it (the CRD schemas leave it to the API server).
_DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS1123_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS1123_LABEL},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}


def _strictify(node: Any) -> Any:
    """Turns a CRD's OpenAPI v3 schema into a Draft 7 JSON schema that rejects what the API server would.

    - `nullable: true` adds null to the type (and to an enum);
    - `x-kubernetes-int-or-string: true` without an explicit type becomes integer-or-string;
    - objects that list `properties` and neither set `additionalProperties` nor
      `x-kubernetes-preserve-unknown-fields` get `additionalProperties: false`. Istio's generated schemas
      leave it out, and the API server prunes unknown fields silently (or, with kubectl's default strict
      field validation, rejects them): either way a typo such as `failStrategyy` must fail here;
    - `x-kubernetes-*` markers and `format`s JSON schema does not know are left to the API server, CEL
      rules (`x-kubernetes-validations`) too: tests check the ones these manifests rely on by hand.
    """
    if isinstance(node, list):
        return [_strictify(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strictify(v) for k, v in node.items() if k != "description"}
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False):
        if "type" in out:
            t = out["type"]
            out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def crd_schema(root: str, label: str, group: str, version: str, kind: str) -> dict[str, Any]:
    """The strict Draft 7 schema for a whole object of `kind` (apiVersion, kind, metadata, spec, status)."""
    path = Path(root) / label / group / version / f"{kind}.json"
    schema = _strictify(json.loads(path.read_text()))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema.setdefault("properties", {})
    schema["properties"]["apiVersion"] = {"const": f"{group}/{version}"}
    schema["properties"]["kind"] = {"const": kind}
    schema["properties"]["metadata"] = METADATA_SCHEMA
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["additionalProperties"] = False
    return schema


# ---------------------------------------------------------------- CEL rules (x-kubernetes-validations)
# JSON schema cannot run CEL. The rules of Istio's CRDs are few and short: the ones below are transcribed
# by hand (keyed by their exact text). `cel_check` reports rules it does not know, so a rule that applies
# to something a manifest sets is never skipped silently.

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go/protobuf duration string ("600s", "1m30s", "0.5s"); ValueError otherwise."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a duration: {text!r}")
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"not a duration: {text!r}")
    return total


def _count_present(obj: dict, *keys: str) -> int:
    return sum(k in obj for k in keys)


def _url_scheme_ok(value: str) -> bool:
    schemes = {"", "http", "https", "oci", "file"}
    parsed = urlsplit(value)
    if parsed.scheme and parsed.netloc or parsed.scheme == "file":
        return parsed.scheme in schemes
    return urlsplit("http://" + value).scheme in schemes


CEL_RULES: dict[str, Callable[[Any], bool]] = {
    "duration(self) >= duration('1ms')": lambda s: parse_duration(s) >= 1e-3,
    "0 < self && self <= 65535": lambda s: 0 < s <= 65535,
    '!self.contains("*")': lambda s: "*" not in s,
    "self.size() == 0": lambda s: len(s) == 0,
    'self != "*"': lambda s: s != "*",
    'self.all(key, !key.contains("*"))': lambda s: all("*" not in k for k in s),
    "self.all(key, key.size() != 0)": lambda s: all(len(k) != 0 for k in s),
    "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "selector", "targetRef", "targetRefs") <= 1,
    # PeerAuthentication
    "has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? "
    "self.selector.matchLabels : {}).size() > 0) : true":
        lambda s: "portLevelMtls" not in s or len(s.get("selector", {}).get("matchLabels", {})) > 0,
    "self.all(key, 0 < int(key) && int(key) <= 65535)": lambda s: all(0 < int(k) <= 65535 for k in s),
    "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "workloadSelector", "targetRefs") <= 1,
    "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "workloadSelector", "endpoints") <= 1,
    "(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "tlsCertificates", "credentialNames") <= 1,
    "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "credentialName", "credentialNames") <= 1,
    "(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1":
        lambda s: _count_present(s, "credentialNames", "tlsCertificates") <= 1,
    "self.all(l1, self.exists_one(l2, l1.number == l2.number))":
        lambda s: len({p.get("number") for p in s}) == len(s),
    '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true':
        lambda s: s.get("resolution", "NONE") != "NONE" or "endpoints" not in s,
    '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
    '((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true':
        lambda s: s.get("resolution", "") != "DNS_ROUND_ROBIN" or len(s.get("endpoints", [])) <= 1,
    '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
    '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))':
        lambda s: not (any("/" in a for a in s.get("addresses", []))
                       and s.get("resolution", "NONE") not in ("STATIC", "NONE")),
    'self in ["", "HTTP", "HTTPS"]': lambda s: s in ("", "HTTP", "HTTPS"),
    "(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) &&\n"
    "!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true":
        lambda s: not _count_present(s, "serviceAccounts", "notServiceAccounts")
        or not _count_present(s, "principals", "notPrincipals", "namespaces", "notNamespaces"),
    '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)':
        lambda s: s.get("valueFrom", "") != "HOST" or "value" not in s,
    '((has(self.operation) ? self.operation : "") == "UPSERT") ? (self.value != "") : true':
        lambda s: s.get("operation", "") != "UPSERT" or s.get("value") != "",
    '((has(self.operation) ? self.operation : "") == "REMOVE") ? !has(self.value) : true':
        lambda s: s.get("operation", "") != "REMOVE" or "value" not in s,
    'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) : '
    '!has(self.waypoint)':
        lambda s: ("waypoint" in s) == (s.get("context") == "WAYPOINT"),
    'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) &&\n'
    'url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])': _url_scheme_ok,
}


def cel_check(schema: Any, value: Any, path: str = "$") -> tuple[list[str], list[str]]:
    """(violations, unknown rules) of the CEL rules that apply to `value` under `schema`."""
    errors: list[str] = []
    unknown: list[str] = []
    if not isinstance(schema, dict):
        return errors, unknown
    for rule in schema.get("x-kubernetes-validations", []):
        check = CEL_RULES.get(rule["rule"])
        if check is None:
            unknown.append(f"{path}: {rule['rule']}")
            continue
        try:
            ok = check(value)
        except (TypeError, ValueError, AttributeError) as e:
            ok = False
            rule = {**rule, "message": f"{rule.get('message', rule['rule'])} ({e})"}
        if not ok:
            errors.append(f"{path}: {rule.get('message', rule['rule'])}")
    children: list[tuple[Any, Any, str]] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            if sub is not None:
                children.append((sub, v, f"{path}.{k}"))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        children = [(schema["items"], v, f"{path}[{i}]") for i, v in enumerate(value)]
    for sub, v, p in children:
        sub_errors, sub_unknown = cel_check(sub, v, p)
        errors += sub_errors
        unknown += sub_unknown
    return errors, unknown
