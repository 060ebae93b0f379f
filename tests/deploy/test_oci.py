"""The OCI image of the filter (tools/oci/build.sh, `make oci`): a layout Istio can pull, built
deterministically, whose digest is the one stamped into the deployable EnvoyFilter.

Istio's rule, from pkg/wasm (cache.go, imagefetcher.go, convert.go, release 1.30): for an oci:// url the remote
`sha256` of an ECDS Wasm config is compared with the digest of the image MANIFEST (go-containerregistry's img.Digest()), then the
module is extracted from the image's last layer: for the "compat" variant a gzip'd tar of media type
application/vnd.oci.image.layer.v1.tar+gzip, in which the first entry whose base name is plugin.wasm is
the module. For http(s):// urls `sha256` is the module's own sha256; file:// urls ignore it.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deploy_checks import ISTIO_DIR, ROOT, cel_check, crd_schema, require_schemas, schema_label

from harness.ports import PortTaken, start_on_free_port
from harness.proc import stop_process

WASM = Path(os.environ.get("GUARD_WASM", ROOT / "target" / "openrouter_guard.wasm"))
BUILD = ROOT / "tools" / "oci" / "build.sh"
REPO = "registry.test/platform/openrouter-guard"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
TEMPLATE = "envoyfilter-openrouter-guard.yaml"
APT_TIMEOUT = 600
BUILD_TIMEOUT = 300


def cargo_version() -> str:
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("no version in Cargo.toml")


def can_apt_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure_tool(binary: str, package: str) -> None:
    """Installs a Debian package when its binary is missing, only as root with apt; otherwise skips."""
    if shutil.which(binary):
        return
    if not can_apt_install():
        pytest.skip(f"{binary} is not installed and this is not root with apt-get (apt-get install {package})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=APT_TIMEOUT, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, timeout=APT_TIMEOUT, env=env,
                   capture_output=True)
    assert shutil.which(binary), f"apt-get installed {package} but {binary} is still missing"


def run_build(out: Path, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k not in ("OCI_TAG", "SOURCE_DATE_EPOCH")}
    full_env = dict(inherited, WASM=str(WASM), OCI_OUT=str(out / "oci"), GENERATED_DIR=str(out / "generated"),
                    OCI_REPO=REPO)
    full_env.update(env)
    return subprocess.run(["bash", str(BUILD)], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Layout:
    """Read access to an OCI image layout directory."""

    def __init__(self, path: Path):
        self.path = path
        self.index = json.loads((path / "index.json").read_text())

    def blob(self, digest: str) -> bytes:
        algo, _, hexd = digest.partition(":")
        assert algo == "sha256", digest
        return (self.path / "blobs" / "sha256" / hexd).read_bytes()

    def resolve(self, descriptor: dict[str, Any]) -> bytes:
        data = self.blob(descriptor["digest"])
        assert len(data) == descriptor["size"], f"{descriptor['digest']}: size {len(data)} != {descriptor['size']}"
        assert "sha256:" + sha256(data) == descriptor["digest"], f"{descriptor['digest']}: content does not match"
        return data

    def tagged(self, tag: str) -> dict[str, Any]:
        refs = [m for m in self.index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
        assert len(refs) == 1, f"expected one manifest tagged {tag}: {self.index}"
        return refs[0]


def istio_extract_compat(layers: list[tuple[str, bytes]]) -> bytes:
    """What Istio's extractOCIStandardImage does with the image's layers (media type, compressed bytes)."""
    media_type, blob = layers[-1]
    assert media_type == OCI_LAYER_GZIP, f"invalid media type {media_type} (expect {OCI_LAYER_GZIP})"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        for member in tar:
            if os.path.basename(member.name) == "plugin.wasm":
                f = tar.extractfile(member)
                assert f is not None, "plugin.wasm is not a regular file"
                data = f.read()
                assert data[:4] == b"\0asm" and len(data) >= 8, "not a Wasm binary (Istio's isValidWasmBinary)"
                return data
    raise AssertionError("plugin.wasm not found in the archive")


@pytest.fixture(scope="module")
def wasm_bytes() -> bytes:
    assert WASM.is_file(), f"{WASM} is missing: run `make build` first (make deploy-check does)"
    return WASM.read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory, wasm_bytes) -> Path:
    if not shutil.which("umoci") and not can_apt_install():
        pytest.skip("umoci is not installed and this is not root with apt-get (apt-get install umoci)")
    out = tmp_path_factory.mktemp("oci-a")
    res = run_build(out)
    assert res.returncode == 0, f"tools/oci/build.sh failed:\n{res.stdout}\n{res.stderr}"
    assert shutil.which("umoci"), "build.sh must have installed umoci"
    return out


@pytest.fixture(scope="module")
def layout(built) -> Layout:
    return Layout(built / "oci")


@pytest.fixture(scope="module")
def manifest(layout) -> dict[str, Any]:
    return json.loads(layout.resolve(layout.tagged(cargo_version())))


# ---------------------------------------------------------------- the layout is consistent

def test_layout_marker_and_index_are_oci(layout):
    assert json.loads((layout.path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert layout.index["schemaVersion"] == 2
    assert [m["mediaType"] for m in layout.index["manifests"]] == [OCI_MANIFEST]
    assert layout.tagged(cargo_version())["mediaType"] == OCI_MANIFEST


def test_every_blob_is_named_by_its_sha256_and_every_blob_is_referenced(layout, manifest):
    blobs = {p.name: p.read_bytes() for p in (layout.path / "blobs" / "sha256").iterdir()}
    for name, data in blobs.items():
        assert sha256(data) == name, f"blob {name} has sha256 {sha256(data)}"
    referenced = {layout.tagged(cargo_version())["digest"], manifest["config"]["digest"]}
    referenced |= {layer["digest"] for layer in manifest["layers"]}
    assert {"sha256:" + n for n in blobs} == referenced, "dangling or missing blobs"


def test_manifest_is_the_compat_variant_with_one_gzip_layer(layout, manifest):
    assert manifest["schemaVersion"] == 2
    assert manifest.get("mediaType", OCI_MANIFEST) == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == OCI_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_GZIP]
    assert manifest["annotations"]["module.wasm.image/variant"] == "compat"
    assert manifest["annotations"]["org.opencontainers.image.version"] == cargo_version()
    for desc in [manifest["config"], *manifest["layers"]]:
        layout.resolve(desc)  # digest and size of each descriptor match the blob


def test_config_describes_the_layer(layout, manifest):
    config = json.loads(layout.resolve(manifest["config"]))
    (layer,) = manifest["layers"]
    uncompressed = gzip.decompress(layout.resolve(layer))
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + sha256(uncompressed)]}
    assert (config["os"], config["architecture"]) == ("wasip1", "wasm")
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert all(h["created"] == "1970-01-01T00:00:00Z" for h in config.get("history", []))


def test_layer_holds_exactly_plugin_wasm_equal_to_the_built_module(layout, manifest, wasm_bytes):
    (layer,) = manifest["layers"]
    raw = gzip.decompress(layout.resolve(layer))
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        members = tar.getmembers()  # reads to the end-of-archive marker: a truncated tar fails here
        assert [(m.name.lstrip("./"), m.type) for m in members] == [("plugin.wasm", tarfile.REGTYPE)]
        (m,) = members
        assert (m.uid, m.gid, m.mode & 0o777, m.mtime) == (0, 0, 0o644, 0)
        f = tar.extractfile(m)
        assert f is not None and f.read() == wasm_bytes
    assert len(raw) % 512 == 0 and raw[-1024:] == b"\0" * 1024, "tar must end with two zero blocks"


def test_istio_extracts_the_module_from_the_image(layout, manifest, wasm_bytes):
    layers = [(d["mediaType"], layout.resolve(d)) for d in manifest["layers"]]
    assert istio_extract_compat(layers) == wasm_bytes


def test_a_real_oci_tool_reads_the_layout(built, layout):
    ensure_tool("skopeo", "skopeo")
    ref = f"oci:{built / 'oci'}:{cargo_version()}"
    raw = subprocess.run(["skopeo", "inspect", "--raw", ref], check=True, capture_output=True, timeout=60).stdout
    assert "sha256:" + sha256(raw) == layout.tagged(cargo_version())["digest"]


# ---------------------------------------------------------------- the EnvoyFilter carries the digest Istio checks

def generated(built: Path, name: str = TEMPLATE) -> tuple[str, dict[str, Any]]:
    text = (built / "generated" / name).read_text()
    return text, yaml.safe_load(text)


def remote_code(doc: dict[str, Any]) -> dict[str, Any]:
    (ext,) = [p["patch"]["value"] for p in doc["spec"]["configPatches"] if p["applyTo"] == "EXTENSION_CONFIG"]
    return ext["typed_config"]["config"]["vm_config"]["code"]["remote"]


def test_generated_envoyfilter_pins_the_image_manifest_digest(built, layout, wasm_bytes):
    _, doc = generated(built)
    digest = layout.tagged(cargo_version())["digest"].removeprefix("sha256:")
    remote = remote_code(doc)
    assert remote["http_uri"]["uri"] == f"oci://{REPO}@sha256:{digest}", "referenced by digest, not by tag"
    assert remote["sha256"] == digest, "for oci:// Istio compares sha256 with the manifest digest"
    assert remote["sha256"] != sha256(wasm_bytes), "the module's sha256 is the value for https:// only"


def test_generated_envoyfilter_differs_from_its_template_only_in_url_and_digest(built):
    _, doc = generated(built)
    template = yaml.safe_load((ISTIO_DIR / TEMPLATE).read_text())
    for d in (doc, template):
        remote = remote_code(d)
        remote.pop("sha256")
        remote["http_uri"].pop("uri")
    assert doc == template


def test_generated_envoyfilter_is_valid_against_the_crd_schema(built):
    root = require_schemas()
    _, body = generated(built)
    schema = crd_schema(str(root), schema_label(), "networking.istio.io", "v1alpha3", "EnvoyFilter")
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]
    violated, unknown = cel_check(schema, body)
    assert not errors and not violated and not unknown, errors + violated + unknown


def test_generated_directory_is_never_committed(built):
    ignore = (built / "generated" / ".gitignore").read_text().splitlines()
    assert "*" in ignore


# ---------------------------------------------------------------- the build is reproducible and careful

def test_the_build_is_reproducible(built, tmp_path):
    res = run_build(tmp_path)
    assert res.returncode == 0, res.stderr
    for sub in ("oci", "generated"):
        a = {p.relative_to(built / sub): p.read_bytes() for p in (built / sub).rglob("*") if p.is_file()}
        b = {p.relative_to(tmp_path / sub): p.read_bytes() for p in (tmp_path / sub).rglob("*") if p.is_file()}
        assert a == b, f"two builds of the same module differ in {sub}/"


def test_a_different_tag_gives_a_different_digest(built, layout, tmp_path):
    res = run_build(tmp_path, OCI_TAG="9.9.9-test")
    assert res.returncode == 0, res.stderr
    other = Layout(tmp_path / "oci").tagged("9.9.9-test")["digest"]
    assert other != layout.tagged(cargo_version())["digest"]
    _, doc = generated(tmp_path)
    assert remote_code(doc)["sha256"] == other.removeprefix("sha256:")
    assert remote_code(doc)["http_uri"]["uri"].endswith("@" + other)


def test_the_build_refuses_what_is_not_a_wasm_module(built, tmp_path):
    fake = tmp_path / "not.wasm"
    fake.write_bytes(b"#!/bin/sh\necho hi\n")
    res = run_build(tmp_path, WASM=str(fake))
    assert res.returncode != 0 and "not a wasm module" in res.stderr
    assert not (tmp_path / "oci").exists(), "nothing may be published on failure"


# ---------------------------------------------------------------- pushed to a registry, the digest survives

@pytest.fixture
def local_registry(tmp_path):
    """A Docker distribution registry on 127.0.0.1 (Debian's docker-registry), stopped at the end."""
    if not shutil.which("docker-registry") and Path("/run/systemd/system").is_dir():
        # Under systemd the package would also start a registry service on :5000: not for a test to do.
        pytest.skip("docker-registry is not installed (apt-get install docker-registry, then stop its service)")
    ensure_tool("docker-registry", "docker-registry")
    log_path = tmp_path / "registry.log"

    def start(port: int) -> tuple[int, subprocess.Popen[bytes]]:
        """The registry on `port` (it cannot bind port 0 and say which it got: harness/ports.py), up or raised."""
        cfg = tmp_path / "registry.yml"
        cfg.write_text(yaml.safe_dump({
            "version": 0.1, "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}},
            "http": {"addr": f"127.0.0.1:{port}"},
        }))
        with log_path.open("wb") as log:
            proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:  # bounded by the deadline
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return port, proc
            except OSError:
                time.sleep(0.1)
        stop_process(proc)
        if "address already in use" in log_path.read_text(errors="replace"):
            raise PortTaken(port)
        raise AssertionError(f"registry did not start in 20 s: {log_path.read_text(errors='replace')[-2000:]}")

    port, proc = start_on_free_port(start)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(proc)


def registry_get(url: str, accept: str | None = None) -> tuple[bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read(), {k.lower(): v for k, v in r.headers.items()}


def test_pushed_image_is_served_with_the_stamped_digest_and_yields_the_module(
    built, layout, local_registry, wasm_bytes
):
    ensure_tool("skopeo", "skopeo")
    tag = cargo_version()
    dest = f"docker://{local_registry}/platform/openrouter-guard:{tag}"
    res = subprocess.run(
        ["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
         f"oci:{built / 'oci'}:{tag}", dest],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    base = f"http://{local_registry}/v2/platform/openrouter-guard"
    raw, headers = registry_get(f"{base}/manifests/{tag}", accept=OCI_MANIFEST)
    _, doc = generated(built)
    # What Istio's fetcher computes (img.Digest(): sha256 of the manifest bytes the registry serves).
    assert sha256(raw) == remote_code(doc)["sha256"]
    assert headers["docker-content-digest"] == "sha256:" + remote_code(doc)["sha256"]
    # The digest reference the EnvoyFilter names resolves to the same manifest.
    by_digest, _ = registry_get(f"{base}/manifests/sha256:{remote_code(doc)['sha256']}", accept=OCI_MANIFEST)
    assert by_digest == raw
    manifest = json.loads(raw)
    layers = [(d["mediaType"], registry_get(f"{base}/blobs/{d['digest']}")[0]) for d in manifest["layers"]]
    assert istio_extract_compat(layers) == wasm_bytes
