#!/usr/bin/env bash
# `make size-report`: where the bytes of the shipped .wasm go, by function and by crate. Builds the filter as
# `make build` does (same profile, flags and wasm-opt -O3) but with its function names kept (rustc's `strip`
# off, Binaryen's `-g`), into target/size-report/, then prints twiggy's top functions, its monomorphisation
# copies and a per-crate sum (tools/size_by_crate.py). The names-kept module is larger than the shipped one
# (its name section); code and data are the same. twiggy is installed once into .cache/cargo-tools.
#   tools/size_report.sh [N]     N rows of each table (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."

rows=${1:-20}
dir=target/size-report
raw=$dir/wasm32-wasip1/release/openrouter_guard.wasm
named=$dir/openrouter_guard.named.wasm
twiggy=.cache/cargo-tools/bin/twiggy
if [[ ! -x $twiggy ]]; then
  cargo install twiggy --version 0.8.0 --locked --root .cache/cargo-tools
fi

cargo_home=${CARGO_HOME:-$HOME/.cargo}
RUSTFLAGS="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$PWD=/openrouter-guard" \
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --target wasm32-wasip1 --release --target-dir $dir
# std's DWARF is dropped first (it is not in the shipped module and makes -O3 slow); names stay.
WASM_OPT_ARGS="--strip-dwarf" WASM_OPT_NAMES=1 bash tools/wasm_opt.sh "$raw" "$named"

echo "== top $rows items (bytes; the name section and data segments included) =="
"$twiggy" top -n "$rows" "$named"
echo "== monomorphisation copies (top $rows generics) =="
"$twiggy" monos -m "$rows" -n 4 "$named"
echo "== by crate =="
"$twiggy" top -n 100000 -f csv "$named" | python3 tools/size_by_crate.py "$rows"
