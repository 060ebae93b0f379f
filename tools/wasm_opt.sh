#!/usr/bin/env bash
# The .wasm post-pass of `make build`: Binaryen's `wasm-opt -O3` over the module rustc wrote, into the shipped
# module. It makes the code section ~13 % smaller (rustc's LTO output still carries what Binaryen's whole-module
# passes remove: dead stores, redundant locals, duplicate functions) at the same opt-level, so the 1 MiB budget keeps
# room for features (docs/design.md, "Size").
#   tools/wasm_opt.sh RAW OUT      optimise RAW into OUT, unless OUT is already newer than RAW
# wasm-opt comes pinned from npm (the `binaryen` package: Binaryen compiled to wasm, run by Node), installed once
# into .cache/binaryen; WASM_OPT=/path/to/wasm-opt uses another (the output then differs: say so in a report).
set -euo pipefail
cd "$(dirname "$0")/.."

raw=${1:?usage: tools/wasm_opt.sh RAW OUT}
out=${2:?usage: tools/wasm_opt.sh RAW OUT}
BINARYEN="binaryen@132.0.0"
dir=.cache/binaryen

if [[ -f "$out" && "$out" -nt "$raw" ]]; then
  exit 0
fi

wasm_opt=${WASM_OPT:-}
if [[ -z "$wasm_opt" ]]; then
  wasm_opt="$dir/node_modules/.bin/wasm-opt"
  if [[ ! -x "$wasm_opt" || "$(cat "$dir/.pin" 2>/dev/null)" != "$BINARYEN" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm </dev/null
      else
        echo "wasm_opt: npm (Node.js) is needed to install $BINARYEN" >&2
        exit 1
      fi
    fi
    echo "wasm_opt: installing $BINARYEN into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --silent "$BINARYEN" </dev/null
    echo "$BINARYEN" >"$dir/.pin"
  fi
fi

# The features rustc 1.95 enables for wasm32-wasip1 (`rustc --print cfg --target wasm32-wasip1`), no more: Binaryen
# must not introduce an instruction the runtime was not promised (V8 in Envoy, Wasmtime in the ABI tests).
features=(--enable-bulk-memory --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int
          --enable-reference-types --enable-sign-ext)
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# tools/size_report.sh only: WASM_OPT_ARGS (passes run first) and WASM_OPT_NAMES=1 (keep the name section, `-g`).
extra=(${WASM_OPT_ARGS:-})
[[ -n "${WASM_OPT_NAMES:-}" ]] && extra+=(-g)
"$wasm_opt" "${extra[@]}" -O3 "${features[@]}" "$raw" -o "$tmp"
mv "$tmp" "$out"
