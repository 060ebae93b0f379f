#!/usr/bin/env python3
"""Host calls and wasm instructions per request, counted exactly: the built .wasm (filter or floor) under the ABI tier's fake
proxy-wasm host (tests/abi/fake_host.py: wasmtime, every `env.proxy_*` import recorded), driven like Envoy drives
one benchmark request: request headers (as bench-latency sends them), the body in 16 KiB callbacks
(`StopIterationAndBuffer` until the end of stream), response headers, the bench-upstream answer (JSON in one
callback; SSE in two, as bench-upstream writes it), log, done.

Counted on the third request of a VM (the first ones define the metrics). Properties the fake host does not
know answer NotFound, as an Envoy without them would. Wasm work = wasmtime fuel (about one unit per wasm operator
executed inside the module; host-side work is not in it). Deterministic: no timing.

Usage: hostcalls.py [--floor FLOOR.wasm] [--filter FILTER.wasm] [--json] [--phases] [SCENARIO-SUBSTRING]
(--phases: the filter's fuel per callback too: where the work of a request goes.)
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path
from typing import Any

import bodies  # bench/bodies.py, beside this script
import fake_host  # tests/abi/fake_host.py, on the PYTHONPATH the Makefile exports

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

POLICY = ROOT / "envoy" / "policy.default.json"
# The floor after the filter's own post-pass (tools/wasm_opt.sh; bench/run.sh builds it), so both compare like with like.
FLOOR_WASM = ROOT / "target" / "bench_floor.wasm"
CHUNK = 16 * 1024

JSON_ANSWER = (b'{"id":"gen-bench-0001","provider":"Anthropic","model":"anthropic/claude-3.5-sonnet",'
               b'"object":"chat.completion","created":1735689600,"choices":[{"index":0,"logprobs":null,'
               b'"finish_reason":"stop","native_finish_reason":"end_turn","message":{"role":"assistant","content":'
               b'"Here is a short summary of the quarterly report.","refusal":null,"reasoning":null}}],'
               b'"usage":{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,"cost":0.001956}}')
WORDS = ["Here is", " a short", " summary", " of the", " quarterly", " report:", " revenue", " grew", " eight",
         " percent", " year over", " year."]


def _event(content: str, finish: str | None = None) -> bytes:
    delta = {"id": "gen-bench-0001", "provider": "Anthropic", "model": "anthropic/claude-3.5-sonnet",
             "object": "chat.completion.chunk", "created": 1735689600,
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": finish}]}
    return b"data: " + json.dumps(delta, separators=(",", ":")).encode() + b"\n\n"


def sse_answer() -> tuple[bytes, bytes]:
    """bench-upstream's stream in its two writes: a comment + the first event, then the rest."""
    first = b": OPENROUTER PROCESSING\n\n" + _event(WORDS[0])
    rest = b"".join(_event(w) for w in WORDS[1:]) + _event("", "stop") + b"data: [DONE]\n\n"
    return first, rest


class _Phases:
    """Fuel per callback of one request (`--phases`): each callback's share of the request's wasm work."""

    def __init__(self, host: fake_host.Host) -> None:
        self.host, self.last, self.fuel = host, host.fuel_used(), collections.Counter[str]()

    def mark(self, phase: str) -> None:
        now = self.host.fuel_used()
        self.fuel[phase] += now - self.last
        self.last = now


def one_request(host: fake_host.Host, body: bytes, stream: bool,
                phases: _Phases | None = None) -> tuple[collections.Counter[str], int]:
    before, fuel0 = len(host.calls), host.fuel_used()
    mark = phases.mark if phases else (lambda _phase: None)
    s = host.stream()
    mark("create")
    head = [(b":method", b"POST"), (b":path", b"/api/v1/chat/completions"), (b":authority", b"openrouter.ai"),
            (b":scheme", b"http"), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"x-request-id", b"bench-hostcalls")]
    s.request_headers(head, False)
    mark("request_headers")
    for off in range(0, len(body), CHUNK):
        end = off + CHUNK >= len(body)
        s.request_body(body[off:off + CHUNK], end)
        mark("request_body_end" if end else "request_body_buffering")
    assert s.state.local_reply is None, f"request refused: {s.state.local_reply!r}"
    if stream:
        s.response_headers([(b":status", b"200"), (b"content-type", b"text/event-stream")], False)
        mark("response_headers")
        first, rest = sse_answer()
        s.response_body(first, False)
        s.response_body(rest, True)
    else:
        s.response_headers([(b":status", b"200"), (b"content-type", b"application/json"),
                            (b"content-length", str(len(JSON_ANSWER)).encode())], False)
        mark("response_headers")
        s.response_body(JSON_ANSWER, True)
    mark("response_body")
    s.log()
    mark("log")
    s.done()
    mark("done")
    assert len(s.state.audit) == 1, "exactly one audit record per request"
    return collections.Counter(host.calls[before:]), host.fuel_used() - fuel0


def count(wasm: Path, only: str = "") -> dict[str, dict[str, Any]]:
    """scenario -> {"total": host calls, "by_call": {import: n}, "fuel": wasm operators, "phases": {callback:
    fuel}} for one module."""
    out: dict[str, dict[str, Any]] = {}
    for name, size, pii, stream in bodies.scenarios():
        if only and only not in name:
            continue
        host = fake_host.Host(POLICY.read_bytes(), wasm, fuel=True)
        assert host.configured, f"{wasm} refused the policy"
        body = bodies.chat_body(size, pii=pii, stream=stream)
        for _ in range(2):
            one_request(host, body, stream)
        phases = _Phases(host)
        c, fuel = one_request(host, body, stream, phases)
        assert not host.unexpected, host.unexpected
        assert sum(phases.fuel.values()) == fuel, "every operator is in one phase"
        out[name] = {"total": sum(c.values()), "by_call": dict(sorted(c.items())), "fuel": fuel,
                     "phases": dict(phases.fuel)}
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floor", type=Path, default=FLOOR_WASM)
    ap.add_argument("--filter", type=Path, default=fake_host.WASM)
    ap.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    ap.add_argument("--phases", action="store_true", help="the filter's fuel per callback (k ops) after each line")
    ap.add_argument("only", nargs="?", default="")
    a = ap.parse_args(argv)
    res = {"floor": count(a.floor, a.only), "filter": count(a.filter, a.only)}
    if a.json:
        print(json.dumps(res))
        return 0
    for name in res["filter"]:
        fl, fi = res["floor"][name], res["filter"][name]
        print(f"{name:18s} fuel floor {fl['fuel']:>11,} filter {fi['fuel']:>11,} (x{fi['fuel'] / fl['fuel']:.2f})  "
              f"calls floor {fl['total']:3d} filter {fi['total']:3d}  "
              + " ".join(f"{k.removeprefix('proxy_')}={v}" for k, v in fi["by_call"].items()))
        if a.phases:
            print(" " * 19 + "filter fuel per callback (k ops): "
                  + "  ".join(f"{k} {v / 1000:,.1f}" for k, v in fi["phases"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
