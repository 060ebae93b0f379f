# openrouter-guard — every entry point. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
WASM        := target/wasm32-wasip1/release/openrouter_guard.wasm
WASM_TARGET := wasm32-wasip1
# Size budget for the .wasm (bytes): 1 MiB, room for numbering-plan data (issue 14).
WASM_BUDGET := 1048576
# The `harness` package and the tools/ modules are imported by name (pyproject.toml says the same to pytest).
export PYTHONPATH := $(CURDIR):$(CURDIR)/tools

.PHONY: help setup build size lint unit e2e abi test run bench fuzz soak accuracy oci deploy-check verify-audit clean

help:
	@echo "make run    - build the filter and start Envoy with it on 127.0.0.1:10000 (UPSTREAM=..., PORT=..., POLICY=...)"
	@echo "make test   - clippy, unit tests, wasm build, end-to-end tests through real Envoy"
	@echo "make bench  - filter vs plain Envoy benchmark and redaction throughput"

## setup: Rust wasm target + project-local virtualenv with a pinned Envoy and the test tools.
setup:
	@bash tools/setup.sh

# Reproducible: same compiler (rustc 1.95.0, the toolchain CI uses) and no machine path reaches the .wasm (panic
# locations of dependencies name their source files): $CARGO_HOME and this checkout are remapped.
CARGO_HOME_DIR := $(or $(CARGO_HOME),$(HOME)/.cargo)
WASM_RUSTFLAGS := --remap-path-prefix=$(CARGO_HOME_DIR)=/cargo --remap-path-prefix=$(CURDIR)=/openrouter-guard
build: setup-rust
	RUSTFLAGS="$(WASM_RUSTFLAGS)" cargo build --target $(WASM_TARGET) --release
	@ls -l $(WASM) | awk '{print "wasm size: " $$5 " bytes"}'

.PHONY: setup-rust
setup-rust:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

size: build
	@s=$$(stat -c %s $(WASM)); echo "wasm: $$s bytes (budget $(WASM_BUDGET))"; test $$s -le $(WASM_BUDGET)

lint: setup-rust
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) --lib -- -D warnings
	@! grep -rn "proxy_wasm" src/core || (echo "src/core must not use proxy_wasm" && false)

unit:
	cargo test

## tools-test: Python tests of the repository's tools (generated tables reproducible, audit verifier, Faker PII corpus).
.PHONY: tools-test
tools-test: setup
	$(PYTEST) tests/tools $(PYTEST_ARGS)

# ---- end-to-end (real Envoy + real .wasm + fake OpenRouter on 127.0.0.1) ----
# PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS="-k sse"; ENVOY_BIN picks another Envoy.
# tests/no_skip.py turns a skipped test into a failure: everything must run from the repository + make setup.
PYTEST      := PYTHONPATH=tests:$(PYTHONPATH) $(PY) -m pytest -q -p no:cacheprovider -p no_skip -rs
e2e: setup build build-test-hooks
	$(PYTEST) tests/e2e $(PYTEST_ARGS)

## build-test-hooks: the filter with test-only hooks (a VM trap, an undecided forward) for tests/e2e/test_failure.py,
## in its own target dir so the shipped .wasm never has them.
.PHONY: build-test-hooks
build-test-hooks: setup-rust
	cargo build --target $(WASM_TARGET) --release --features test-hooks --target-dir target/test-hooks

## abi: the built .wasm under a fake proxy-wasm host (wasmtime), no Envoy: callback orders, random header bytes,
## random callback orders and sizes, failing host calls (tests/abi).
.PHONY: abi
abi: setup build
	$(PYTEST) tests/abi $(PYTEST_ARGS)

test: lint unit tools-test size e2e abi deploy-check

# ---- deployment (Istio): OCI image of the filter, manifest and image checks ----
## oci: out/oci (OCI layout, Istio "compat" variant) + deploy/istio/generated/ (the EnvoyFilter pinned to its digest).
oci: build
	bash tools/oci/build.sh

deploy-check: setup build
	$(PYTEST) tests/deploy $(PYTEST_ARGS)

# ---- soak and fault injection (real Envoy + real .wasm, 127.0.0.1; not part of `make test`; docs/soak.md) ----
## soak: >= 100k mixed requests, then leaks/audit/RSS/VM checks (SOAK_REQUESTS, SOAK_CONCURRENCY, SOAK_QUICK=1).
.PHONY: faults
soak: setup build
	$(PY) soak/soak.py

## faults: upstream resets/5xx/slowness, client aborts, buffer limits, reload under load; PASS/FAIL table.
faults: setup build
	$(PY) soak/faults.py

# ---- run ----
run: setup build
	$(PY) tools/run_envoy.py

## verify-audit: check an audit log's hash chains (LOG=path, default out/audit.log; the key out/audit.key when
## present, AUDIT_KEY=path otherwise; STATS=Envoy /stats file or URL for the chain-end checkpoints).
LOG ?= out/audit.log
AUDIT_KEY ?= out/audit.key
verify-audit:
	python3 tools/verify_audit.py $(if $(wildcard $(AUDIT_KEY)),--key-file $(AUDIT_KEY)) $(if $(STATS),--stats $(STATS)) $(LOG)

# ---- benchmark: plain Envoy vs Envoy + filter -> bench/RESULTS.md (never fails on timing) ----
# BENCH_QUICK=1 for a ~1-minute smoke run; other knobs in bench/bench.py.
bench: setup build
	bash bench/run.sh
	bash bench/pii/run.sh --quick

# ---- fuzzing (nightly + cargo-fuzz, installed when missing); see docs/fuzzing.md ----
# FUZZ_SECONDS per target (default 60); FUZZ_TARGETS narrows the run.
fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) bash fuzz/run.sh

## accuracy: PII recall and decoys kept on two labelled corpora (the Rust generator and the Faker corpus,
## two seeds), with Presidio's pattern recognizers on the same data (PII_PRESIDIO=0 skips them).
accuracy: setup
	bash bench/pii/accuracy.sh

## bench-pii: PII engine MB/s natively and compiled to wasm32-wasip1 (under wasmtime).
bench-pii: setup
	bash bench/pii/run.sh

## envoy-config: regenerate the committed static config envoy/envoy.yaml.
envoy-config: setup
	$(PY) tools/envoy_config.py --example -o envoy/envoy.yaml

clean:
	cargo clean
	rm -rf $(VENV)
