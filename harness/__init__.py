"""The one way to run the filter for tests, the benchmark and the soak: a real Envoy with a rendered config.

    harness.proc      wait_until (bounded polling), spawn (a child that dies with its parent), stop_process
    harness.admin     Envoy's admin interface: GET/POST, ready, listener port, one stats parser
    harness.envoy     Envoy: render (tools/envoy_config.py, the one renderer), start, wait ready, stop; logs, audit
    harness.upstream  a fake upstream binary that prints `PORT <n>` (the Rust soak and bench upstreams)
    harness.stores    the mesh-wide budget store's processes: a throw-away redis-server, the rate-limit service (rls/)
    harness.stream_timing  the benches' timing of streamed chats: TTFB, two profiles taking turns, what one adds

Importable with the repository root and tools/ on the path: pyproject.toml sets it for pytest, the Makefile
exports it (PYTHONPATH) for the scripts it runs. Standard library only (plus tools/envoy_config.py).
"""
