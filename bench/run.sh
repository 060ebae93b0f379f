#!/usr/bin/env bash
# `make bench` body (after `setup build`): installs the load generator, builds the benchmark helpers, runs
# bench/bench.py. Env knobs: see bench/bench.py (BENCH_SECONDS, BENCH_QUICK=1, BENCH_ONLY, BENCH_PROFILE=0, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if [[ "${BENCH_PROFILE:-1}" != "0" ]] && ! command -v valgrind >/dev/null 2>&1; then need_apt+=(valgrind); fi
if ((${#need_apt[@]})); then
  echo "bench: installing ${need_apt[*]} (apt)"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v wrk >/dev/null 2>&1 || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 2; }

echo "bench: building bench/upstream (fake upstream + latency client)"
cargo build --quiet --profile tools -p bench-tools
echo "bench: building bench/floor (the floor filter, wasm32-wasip1, release profile and wasm-opt -O3 like the filter)"
cargo build --quiet --target wasm32-wasip1 --release -p bench-floor
# The same post-pass as the shipped filter (`make build`), so the two modules compare like with like.
bash tools/wasm_opt.sh "${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/bench_floor.wasm" "${CARGO_TARGET_DIR:-target}/bench_floor.wasm"
echo "bench: building bench/hotpath (native request-path harness)"
if ! cargo build --quiet --profile tools -p bench-hotpath; then
  echo "bench: bench/hotpath did not build; continuing without native profiling" >&2
  rm -f "${CARGO_TARGET_DIR:-target}/tools/bench-hotpath"
fi

PY=${PY:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python3
cmd="make bench"
for v in BENCH_QUICK BENCH_SECONDS BENCH_CONNECTIONS BENCH_CONCURRENCY BENCH_REQUESTS BENCH_ONLY BENCH_PROFILE BENCH_PERF; do
  [[ -n "${!v:-}" ]] && cmd="$v=${!v} $cmd"
done
BENCH_COMMAND="$cmd" exec "$PY" bench/bench.py
