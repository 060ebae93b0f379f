#!/usr/bin/env python3
"""Run a wasm32-wasip1 command module (e.g. the pii_bench example) under wasmtime-py.

usage: wasm_run.py MODULE.wasm [ARGS...]
"""
import sys

import wasmtime


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    wasi = wasmtime.WasiConfig()
    wasi.argv = [path] + sys.argv[2:]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    module = wasmtime.Module.from_file(engine, path)
    # The crate's proxy-wasm adapter imports `env::proxy_*` host calls; a benchmark never makes
    # them, so each is stubbed with a function that traps if it ever is called.
    for imp in module.imports:
        if imp.module == "env" and imp.name is not None and isinstance(imp.type, wasmtime.FuncType):
            name = imp.name

            def trap(*_args, _name=name):
                raise wasmtime.WasmtimeError(f"host call {_name} is not available in this runner")

            linker.define_func("env", name, imp.type, trap)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
    except wasmtime.ExitTrap as e:
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
