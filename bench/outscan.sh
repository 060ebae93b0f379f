#!/usr/bin/env bash
# Output inspection on streams (bench/pii/src/bin/outscan_bench.rs), native and wasm32-wasip1 (under wasmtime):
# per-fragment cost, bytes held back, bytes received before the first release.
#   bench/outscan.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
tgt=${CARGO_TARGET_DIR:-target}
py=${PII_PY:-.venv/bin/python}
"$py" -c "import wasmtime" 2>/dev/null || "$py" -m pip install -q wasmtime
cargo build -q --release -p bench-pii --bin outscan_bench
cargo build -q --release --target wasm32-wasip1 -p bench-pii --bin outscan_bench
echo "## native"
"$tgt"/release/outscan_bench "$@"
echo "## wasm32-wasip1 (wasmtime)"
"$py" bench/pii/wasm_run.py "$tgt"/wasm32-wasip1/release/outscan_bench.wasm "$@"
