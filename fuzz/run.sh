#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints executions and findings per target.
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  space-separated subset (default: all targets in Cargo.toml)
#   FUZZ_JOBS     libFuzzer -jobs/-workers per target (default 1)
# Regression inputs (fuzz/regressions/) are replayed by `cargo test --manifest-path fuzz/Cargo.toml`,
# not fed to the fuzzer: an unfixed one would stop its target at start-up.
# Installs the nightly toolchain and cargo-fuzz when missing. Findings land in
# fuzz/artifacts/<target>/; minimise one with `cargo +nightly fuzz tmin -s none <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
ALL=$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' Cargo.toml | grep -v -e '^openrouter' -e '^guard_fuzz$')
TARGETS=${FUZZ_TARGETS:-$ALL}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# No sanitizer: the guard is safe Rust, and ASan would slow every execution several times.
# The default (non -O) build keeps debug assertions and overflow checks on.
cargo +nightly fuzz build -s none

dict_for() {
  case $1 in
    json_parse|policy_config|request_raw|request_structured) echo "-dict=dicts/json.dict" ;;
    pii_scan) echo "-dict=dicts/text.dict" ;;
    sse_chunking) echo "-dict=dicts/sse.dict" ;;
  esac
}

mkdir -p target/logs
summary=()
failed=0
for t in $TARGETS; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  log="target/logs/$t.log"
  echo "== $t: ${FUZZ_SECONDS}s"
  set +e
  cargo +nightly fuzz run -s none "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    $( [ "$FUZZ_JOBS" -gt 1 ] && echo "-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS" ) $(dict_for "$t") >"$log" 2>&1
  rc=$?
  set -e
  execs=$(awk '/^stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log")
  rate=$(awk '/^stat::average_exec_per_sec/ {s += $2} END {print s + 0}' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(find "corpus/$t" -type f | wc -l)
  found=$(( $(find "artifacts/$t" -type f | wc -l) - before ))
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  [ "$found" -gt 0 ] && failed=1
  summary+=("$(printf '%-20s %12s execs %8s/s  cov %6s  corpus %6s  findings %s' "$t" "$execs" "$rate" "${cov:-?}" "$corpus" "$found")")
  if [ "$found" -gt 0 ]; then
    grep -m1 -A3 -E "panicked at|ERROR: libFuzzer" "$log" | sed 's/^/    /' || true
    ls -t "artifacts/$t" | head -3 | sed "s|^|    artifacts/$t/|"
  fi
done

echo
echo "== fuzz summary (${FUZZ_SECONDS}s per target; logs in fuzz/target/logs/)"
printf '%s\n' "${summary[@]}"
exit $failed
