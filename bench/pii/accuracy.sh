#!/usr/bin/env bash
# PII engine accuracy on the labeled generator (bench/pii/gen.rs): per-entity recall/precision
# and the decoy false-positive rate. With PII_PRESIDIO=1 (or presidio-analyzer importable), also
# scores Microsoft Presidio's pattern recognizers on the same cases (no spaCy model needed).
#   bench/pii/accuracy.sh [--per-entity N] [--decoys N] [--seed S] [--show N]
set -euo pipefail
cd "$(dirname "$0")/../.."
tgt=${CARGO_TARGET_DIR:-target}
cargo build -q --release --example pii_accuracy
dump=$(mktemp --suffix=.jsonl)
trap 'rm -f "$dump"' EXIT
"$tgt"/release/examples/pii_accuracy "$@" --dump "$dump"

py=${PII_PY:-}
if [[ -z "$py" ]]; then
  for c in .venv/bin/python /tmp/pii-bench-venv/bin/python python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c "import presidio_analyzer" 2>/dev/null; then py=$c; break; fi
  done
fi
if [[ -z "$py" && "${PII_PRESIDIO:-0}" == 1 ]]; then
  [[ -x /tmp/pii-bench-venv/bin/python ]] || python3 -m venv /tmp/pii-bench-venv
  py=/tmp/pii-bench-venv/bin/python
  "$py" -m pip install -q presidio-analyzer
fi
if [[ -n "$py" ]]; then
  echo
  "$py" bench/pii/presidio_compare.py "$dump"
else
  echo "(presidio comparison skipped: set PII_PRESIDIO=1 to pip-install presidio-analyzer)"
fi
