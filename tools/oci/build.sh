#!/usr/bin/env bash
# Builds an OCI image layout of the filter that Istio's agent can pull (`oci://` urls), without a container
# daemon, with umoci; then renders the deployable EnvoyFilter pinned to the image's digest.
#
#   tools/oci/build.sh            (or: make oci)
#
# Environment (all optional):
#   WASM            the module to package        (default target/openrouter_guard.wasm)
#   OCI_OUT         the OCI image layout to write (default out/oci; replaced as a whole)
#   OCI_TAG         the tag inside the layout    (default: version from Cargo.toml)
#   OCI_REPO        registry/repository the gateway pulls from (default registry.example.com/platform/openrouter-guard)
#   GENERATED_DIR   where the stamped EnvoyFilter goes (default deploy/istio/generated)
#   PYTHON          interpreter with PyYAML for tools/istio_manifests.py (default .venv/bin/python, else python3)
#   SOURCE_DATE_EPOCH  timestamp written into the image (default 0): same module + same tag = same digest
#
# Image variant: Istio's "compat" variant (solo-io/wasm spec-compat.md): one layer of media type
# application/vnd.oci.image.layer.v1.tar+gzip holding exactly `plugin.wasm`, manifest annotation
# module.wasm.image/variant=compat. See docs/oci.md for why this one and not the wasm media type.
#
# The digest: for an oci:// url Istio's agent compares the remote `sha256` with the digest of the image
# MANIFEST it pulled (pkg/wasm/imagefetcher.go: img.Digest()), not with the module's sha256 (that is
# the rule only for http(s):// urls). So the manifest digest is stamped, and the url names the image by it
# (oci://REPO@sha256:DIGEST): a re-pushed tag cannot change what the gateway runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

WASM=${WASM:-target/openrouter_guard.wasm}
OCI_OUT=${OCI_OUT:-out/oci}
OCI_TAG=${OCI_TAG:-$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)}
OCI_REPO=${OCI_REPO:-registry.example.com/platform/openrouter-guard}
GENERATED_DIR=${GENERATED_DIR:-deploy/istio/generated}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
PYTHON=${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}

die() { echo "oci: $*" >&2; exit 1; }

ensure_umoci() {
  command -v umoci >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "oci: installing umoci (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci >&2
  fi
  command -v umoci >/dev/null 2>&1 || die "umoci not found; install it (Debian/Ubuntu: apt-get install umoci)"
}

[[ -n "$OCI_TAG" ]] || die "could not read the version from Cargo.toml; set OCI_TAG"
[[ "$OCI_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || die "invalid tag: $OCI_TAG"
[[ -f "$WASM" ]] || die "$WASM not found: build it first (make build)"
[[ "$(head -c 4 "$WASM" | od -An -tx1 | tr -d ' \n')" == "0061736d" ]] || die "$WASM is not a wasm module"
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number of seconds"
ensure_umoci

created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
rootless=()
[[ $(id -u) -eq 0 ]] || rootless=(--rootless)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Empty layout + empty image, then one layer made by umoci from a bundle whose rootfs holds only
#    plugin.wasm. (`umoci repack` from an unpacked bundle, not `umoci insert`: umoci 0.4.7's insert
#    writes a truncated tar, without padding or end-of-archive blocks.)
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:$OCI_TAG"
umoci unpack "${rootless[@]}" --image "$layout:$OCI_TAG" "$work/bundle" >/dev/null
install -m 0644 "$WASM" "$work/bundle/rootfs/plugin.wasm"
touch -h -d "@$SOURCE_DATE_EPOCH" "$work/bundle/rootfs/plugin.wasm" "$work/bundle/rootfs"
umoci repack "${rootless[@]}" --image "$layout:$OCI_TAG" \
  --history.created "$created" --history.created_by "tools/oci/build.sh: plugin.wasm" \
  --history.comment "openrouter-guard wasm module" "$work/bundle"

# 2. Fixed timestamps, the wasm platform and the annotations Istio and registries read.
umoci config --image "$layout:$OCI_TAG" --no-history \
  --created "$created" --os wasip1 --architecture wasm \
  --config.label "org.opencontainers.image.title=openrouter-guard" \
  --config.label "org.opencontainers.image.version=$OCI_TAG" \
  --manifest.annotation "module.wasm.image/variant=compat" \
  --manifest.annotation "org.opencontainers.image.title=openrouter-guard" \
  --manifest.annotation "org.opencontainers.image.version=$OCI_TAG" \
  --manifest.annotation "org.opencontainers.image.created=$created"
umoci gc --layout "$layout"
chmod -R a+rX "$layout"

manifest_digest=$(python3 - "$layout" "$OCI_TAG" <<'PY'
import json, sys
layout, tag = sys.argv[1], sys.argv[2]
index = json.load(open(f"{layout}/index.json"))
refs = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
if len(refs) != 1:
    sys.exit(f"expected one manifest tagged {tag}, found {len(refs)}")
print(refs[0]["digest"].removeprefix("sha256:"))
PY
)
[[ "$manifest_digest" =~ ^[0-9a-f]{64}$ ]] || die "bad manifest digest: $manifest_digest"
module_sha256=$(sha256sum "$WASM" | cut -d' ' -f1)

# 3. Publish the layout in one step (no half-written layout for a concurrent reader).
mkdir -p "$(dirname "$OCI_OUT")"
rm -rf "$OCI_OUT.tmp"
mv "$layout" "$OCI_OUT.tmp"
rm -rf "$OCI_OUT"
mv "$OCI_OUT.tmp" "$OCI_OUT"

# 4. The deployable EnvoyFilter, pinned to this image (tools/istio_manifests.py renders it like the template).
mkdir -p "$GENERATED_DIR"
printf '# Written by tools/oci/build.sh: never commit; run `make oci` to refresh.\n*\n' >"$GENERATED_DIR/.gitignore"
"$PYTHON" tools/istio_manifests.py --image "oci://$OCI_REPO@sha256:$manifest_digest" --sha256 "$manifest_digest" \
  -o "$GENERATED_DIR" || die "could not render the EnvoyFilter"

echo "oci: $OCI_OUT:$OCI_TAG manifest sha256:$manifest_digest (module sha256:$module_sha256)"
echo "oci: stamped $GENERATED_DIR/envoyfilter-openrouter-guard.yaml (url oci://$OCI_REPO@sha256:$manifest_digest)"
echo "oci: push with: skopeo copy --preserve-digests oci:$OCI_OUT:$OCI_TAG docker://$OCI_REPO:$OCI_TAG"
