#!/usr/bin/env bash
# PII engine throughput, native and wasm32-wasip1 (under wasmtime via Python), as one table.
#   bench/pii/run.sh            full run (~1 s per corpus per target)
#   bench/pii/run.sh --quick    smaller corpora, shorter timing
# Python: $PII_PY, else .venv/bin/python, else a venv in /tmp; wasmtime is pip-installed if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
tgt=${CARGO_TARGET_DIR:-target}
ARGS=("$@")

py=${PII_PY:-}
if [[ -z "$py" ]]; then
  if [[ -x .venv/bin/python ]]; then py=.venv/bin/python; else
    [[ -x /tmp/pii-bench-venv/bin/python ]] || python3 -m venv /tmp/pii-bench-venv
    py=/tmp/pii-bench-venv/bin/python
  fi
fi
"$py" -c "import wasmtime" 2>/dev/null || "$py" -m pip install -q wasmtime

rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build -q --release -p bench-pii --bin pii_bench
cargo build -q --release --target wasm32-wasip1 -p bench-pii --bin pii_bench

native=$(mktemp); wasm=$(mktemp)
trap 'rm -f "$native" "$wasm"' EXIT
"$tgt"/release/pii_bench "${ARGS[@]}" >"$native"
"$py" bench/pii/wasm_run.py "$tgt"/wasm32-wasip1/release/pii_bench.wasm "${ARGS[@]}" >"$wasm"

head -1 "$native"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs) x $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %12s %12s %8s %9s\n' corpus/config "native MB/s" "wasm MB/s" "wasm %" findings
join <(awk '/^RESULT/{print $2, $3, $4}' "$native" | sort) <(awk '/^RESULT/{print $2, $3}' "$wasm" | sort) |
  awk '{printf "%-30s %12.1f %12.1f %7.0f%% %9d\n", $1, $2, $4, 100*$4/$2, $3}'
