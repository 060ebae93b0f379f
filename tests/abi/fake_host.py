"""A fake proxy-wasm host: runs the BUILT openrouter_guard.wasm under wasmtime, without Envoy.

It implements the `env.proxy_*` imports the module uses, with Envoy 1.40's semantics where they matter (buffers
replace only a prefix or append, NotFound for absent headers/properties, local replies recorded), and records every
call. Imports the filter should never call are stubs that record the call and answer Unimplemented (12).
Every callback is driven by the test: `stream.request_headers(...)`, `.request_body(...)`, `.request_trailers()`,
`.response_headers(...)`, `.response_body(...)`, `.response_trailers(...)`, `.log()`, `.done()`; a trap surfaces as `wasmtime.Trap`.

A tiny model of Envoy decides what the upstream would have received: a request is forwarded when the callback that
ends it returns Continue (0) with no local reply, and its body is then the host's request buffer.
"""
from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path
from typing import Any, Callable

import wasmtime

ROOT = Path(__file__).resolve().parents[2]
WASM = Path(os.environ.get("GUARD_WASM", str(ROOT / "target" / "openrouter_guard.wasm")))
# One compilation per module file (and fuel setting).
_COMPILED: dict[tuple[str, bool], tuple[wasmtime.Engine, wasmtime.Module]] = {}
FUEL = 10**15  # with `fuel=True`: far more than any test spends; `Host.fuel_used()` counts down from it

OK, NOT_FOUND, BAD_ARGUMENT, CAS_MISMATCH, UNIMPLEMENTED = 0, 1, 2, 8, 12
CONTINUE, PAUSE = 0, 1
REQ_HEADERS, REQ_TRAILERS, RESP_HEADERS, RESP_TRAILERS = 0, 1, 2, 3
REQ_BODY, RESP_BODY, PLUGIN_CONFIG = 0, 1, 7


def encode_pairs(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = struct.pack("<I", len(pairs))
    for k, v in pairs:
        out += struct.pack("<II", len(k), len(v))
    for k, v in pairs:
        out += k + b"\0" + v + b"\0"
    return out


def decode_pairs(b: bytes) -> list[tuple[bytes, bytes]]:
    (n,) = struct.unpack_from("<I", b, 0)
    sizes = [struct.unpack_from("<II", b, 4 + 8 * i) for i in range(n)]
    p, out = 4 + 8 * n, []
    for kl, vl in sizes:
        k = b[p:p + kl]
        p += kl + 1
        v = b[p:p + vl]
        p += vl + 1
        out.append((k, v))
    return out


@dataclasses.dataclass
class StreamState:
    maps: dict[int, list[tuple[bytes, bytes]]] = dataclasses.field(
        default_factory=lambda: {REQ_HEADERS: [], REQ_TRAILERS: [], RESP_HEADERS: [], RESP_TRAILERS: []})
    buffers: dict[int, bytearray] = dataclasses.field(default_factory=lambda: {REQ_BODY: bytearray(),
                                                                               RESP_BODY: bytearray()})
    properties: dict[tuple[bytes, ...], bytes] = dataclasses.field(default_factory=dict)
    local_reply: tuple[int, bytes, list[tuple[bytes, bytes]]] | None = None
    replies: int = 0
    reset: bool = False
    audit: list[bytes] = dataclasses.field(default_factory=list)
    forwarded: bytes | None = None  # what the upstream received (model of Envoy)



def _func(export: object) -> wasmtime.Func:
    """An export that must be a function (wasmtime types exports as a union of every extern kind)."""
    assert isinstance(export, wasmtime.Func), f"not a function: {export!r}"
    return export

class Host:
    """One VM: the module instantiated with the fake imports, its root context configured with `policy`.
    `fuel=True` counts the wasm operators executed (wasmtime fuel: about one per instruction; bench/hostcalls.py
    uses it as a deterministic measure of the filter's own work)."""

    def __init__(self, policy: bytes, wasm: Path = WASM, *, fuel: bool = False) -> None:
        key = (str(wasm), fuel)
        if key not in _COMPILED:
            config = wasmtime.Config()
            config.consume_fuel = fuel
            engine = wasmtime.Engine(config)
            _COMPILED[key] = (engine, wasmtime.Module.from_file(engine, str(wasm)))
        self.engine, self.module = _COMPILED[key]
        self.store = wasmtime.Store(self.engine)
        if fuel:
            self.store.set_fuel(FUEL)
        self.fuel = fuel
        self.store.set_wasi(wasmtime.WasiConfig())
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.calls: list[str] = []
        self.logs: list[tuple[int, str]] = []
        self.metrics: dict[int, tuple[str, int]] = {}
        self.metric_values: dict[str, int] = {}
        self.unexpected: list[str] = []
        self.shared: dict[bytes, tuple[bytes, int]] = {}
        self.next_cas = 0
        self.failing: set[str] = set()  # imports that answer BadArgument (host-failure fuzzing)
        self.streams: dict[int, StreamState] = {}
        self.current = 1
        self.plugin_config = policy
        self.tick_ms = 0
        self.time_ns = 1_800_000_000_000_000_000
        for imp in self.module.imports:
            if imp.module != "env" or imp.name is None or not isinstance(imp.type, wasmtime.FuncType):
                continue
            fn = getattr(self, "_" + imp.name, None)
            self.linker.define_func("env", imp.name, imp.type, self._wrap(imp.name, fn, len(imp.type.results)),
                                    access_caller=True)
        self.instance = self.linker.instantiate(self.store, self.module)
        ex = self.instance.exports(self.store)
        memory = ex["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        self.exports = ex
        _func(ex["_initialize"])(self.store)
        self.root = 1
        self.call("proxy_on_context_create", self.root, 0)
        assert self.call("proxy_on_vm_start", self.root, 0) == 1
        self.configured = self.call("proxy_on_configure", self.root, len(policy)) == 1
        self.next_id = 2

    def fuel_used(self) -> int:
        """Wasm operators executed so far (only with `fuel=True`)."""
        return FUEL - self.store.get_fuel() if self.fuel else 0

    # ------------------------------------------------------------------------------------------ plumbing
    def call(self, name: str, *args: int) -> Any:
        return _func(self.exports[name])(self.store, *args)

    def _wrap(self, name: str, fn: Callable[..., Any] | None, nresults: int) -> Callable[..., Any]:
        def stub(caller: wasmtime.Caller, *args: Any) -> Any:
            self.calls.append(name)
            if name in self.failing and nresults:
                return BAD_ARGUMENT  # the host refuses the call: the filter must fail closed, never trap
            if fn is None:
                self.unexpected.append(name)
                return UNIMPLEMENTED if nresults else None
            return fn(caller, *args)
        return stub

    def _read(self, caller: wasmtime.Caller, ptr: int, size: int) -> bytes:
        return bytes(self.memory.read(caller, ptr, ptr + size)) if size else b""

    def _write_u32(self, caller: wasmtime.Caller, ptr: int, value: int) -> None:
        self.memory.write(caller, struct.pack("<I", value), ptr)

    def _return_bytes(self, caller: wasmtime.Caller, data: bytes, ret_ptr: int, ret_size: int) -> int:
        addr = _func(caller["proxy_on_memory_allocate"])(caller, len(data))
        if data:
            self.memory.write(caller, data, addr)
        self._write_u32(caller, ret_ptr, addr)
        self._write_u32(caller, ret_size, len(data))
        return OK

    def st(self) -> StreamState:
        return self.streams.setdefault(self.current, StreamState())

    # ------------------------------------------------------------------------------------------ imports
    def _proxy_log(self, caller, level, ptr, size):
        self.logs.append((level, self._read(caller, ptr, size).decode("utf-8", "replace")))
        return OK

    def _proxy_get_current_time_nanoseconds(self, caller, ret):
        self.time_ns += 1000
        self.memory.write(caller, struct.pack("<Q", self.time_ns), ret)
        return OK

    def _proxy_set_tick_period_milliseconds(self, caller, ms):
        self.tick_ms = ms
        return OK

    def _proxy_set_effective_context(self, caller, ctx):
        if ctx != self.root and ctx not in self.streams:
            return BAD_ARGUMENT
        self.current = ctx
        return OK

    def _proxy_get_header_map_pairs(self, caller, map_type, ret_ptr, ret_size):
        m = self.st().maps.get(map_type)
        if m is None:
            return BAD_ARGUMENT
        return self._return_bytes(caller, encode_pairs(m), ret_ptr, ret_size)

    def _proxy_get_header_map_value(self, caller, map_type, kp, ks, ret_ptr, ret_size):
        key = self._read(caller, kp, ks).lower()
        m = self.st().maps.get(map_type)
        if m is None:
            return BAD_ARGUMENT
        for k, v in m:
            if k.lower() == key:
                return self._return_bytes(caller, v, ret_ptr, ret_size)
        return NOT_FOUND

    def _proxy_replace_header_map_value(self, caller, map_type, kp, ks, vp, vs):
        key, value = self._read(caller, kp, ks).lower(), self._read(caller, vp, vs)
        m = self.st().maps.setdefault(map_type, [])
        m[:] = [(k, v) for k, v in m if k.lower() != key] + [(key, value)]
        return OK

    def _proxy_remove_header_map_value(self, caller, map_type, kp, ks):
        key = self._read(caller, kp, ks).lower()
        m = self.st().maps.setdefault(map_type, [])
        m[:] = [(k, v) for k, v in m if k.lower() != key]
        return OK

    def _proxy_get_property(self, caller, pp, ps, ret_ptr, ret_size):
        path = tuple(self._read(caller, pp, ps).split(b"\0"))
        v = self.st().properties.get(path)
        if v is None:
            return NOT_FOUND
        return self._return_bytes(caller, v, ret_ptr, ret_size)

    def _proxy_set_property(self, caller, pp, ps, vp, vs):
        path = tuple(self._read(caller, pp, ps).split(b"\0"))
        value = self._read(caller, vp, vs)
        if path == (b"audit",):
            self.st().audit.append(value)
        self.st().properties[path] = value
        return OK

    def _proxy_get_buffer_bytes(self, caller, kind, start, max_size, ret_ptr, ret_size):
        if kind == PLUGIN_CONFIG:
            data = self.plugin_config
        else:
            buf = self.st().buffers.get(kind)
            if buf is None:
                return NOT_FOUND
            data = bytes(buf)
        if start > len(data):
            return BAD_ARGUMENT
        return self._return_bytes(caller, data[start:start + max_size], ret_ptr, ret_size)

    def _proxy_set_buffer_bytes(self, caller, kind, start, size, dp, ds):
        buf = self.st().buffers.get(kind)
        if buf is None:
            return NOT_FOUND
        data = self._read(caller, dp, ds)
        # Envoy's Buffer::copyFrom: start 0 drains `size` bytes and prepends the data (replace all when
        # size >= length, replace a prefix, or prepend when size is 0); start at or past the end appends.
        if start == 0:
            buf[:size] = data
        elif start >= len(buf):
            buf += data
        else:
            return BAD_ARGUMENT
        return OK

    def _proxy_send_local_response(self, caller, status, dp, ds, bp, bs, hp, hs, grpc):
        s = self.st()
        s.local_reply = (status, self._read(caller, bp, bs), decode_pairs(self._read(caller, hp, hs)) if hs else [])
        s.replies += 1
        return OK

    def _proxy_close_stream(self, caller, stream_type):
        self.st().reset = True
        return OK

    def _proxy_define_metric(self, caller, kind, np_, ns, ret):
        name = self._read(caller, np_, ns).decode()
        mid = len(self.metrics) + 1
        self.metrics[mid] = (name, kind)
        self._write_u32(caller, ret, mid)
        return OK

    def _proxy_increment_metric(self, caller, mid, by):
        name = self.metrics.get(mid, ("?", 0))[0]
        self.metric_values[name] = self.metric_values.get(name, 0) + by
        return OK

    def _proxy_record_metric(self, caller, mid, value):
        return OK

    # Shared data with proxy-wasm-cpp-host's CAS semantics: one counter for every write; `set` on a missing key, or
    # with CAS 0, always writes; otherwise a CAS that is not the key's current one is CAS_MISMATCH.
    def _proxy_get_shared_data(self, caller, kp, ks, ret_ptr, ret_size, ret_cas):  # noqa: ANN001
        entry = self.shared.get(self._read(caller, kp, ks))
        if entry is None:
            return NOT_FOUND
        self._write_u32(caller, ret_cas, entry[1])
        return self._return_bytes(caller, entry[0], ret_ptr, ret_size)

    def _proxy_set_shared_data(self, caller, kp, ks, vp, vs, cas):  # noqa: ANN001
        key = self._read(caller, kp, ks)
        entry = self.shared.get(key)
        if entry is not None and cas and cas != entry[1]:
            return CAS_MISMATCH
        self.next_cas += 1
        self.shared[key] = (self._read(caller, vp, vs), self.next_cas)
        return OK

    # ------------------------------------------------------------------------------------------ streams
    def stream(self) -> Stream:
        sid = self.next_id
        self.next_id += 1
        self.streams[sid] = StreamState()
        self.current = sid
        self.call("proxy_on_context_create", sid, self.root)
        return Stream(self, sid)

    def tick(self) -> None:
        self.current = self.root
        self.call("proxy_on_tick", self.root)


class Stream:
    """One HTTP stream; each method is one callback, returning the filter's action."""

    def __init__(self, host: Host, sid: int) -> None:
        self.host = host
        self.sid = sid
        self.released = False  # the request moved on past the filter (Envoy model)

    @property
    def state(self) -> StreamState:
        return self.host.streams[self.sid]

    def _call(self, name: str, *args: int) -> Any:
        self.host.current = self.sid
        return self.host.call(name, self.sid, *args)

    def _release_if(self, action: int, end: bool) -> int:
        if action == CONTINUE and end and not self.released and self.state.local_reply is None:
            self.released = True
            self.state.forwarded = bytes(self.state.buffers[REQ_BODY])
        return action

    def request_headers(self, headers: list[tuple[bytes, bytes]], end_stream: bool) -> int:
        self.state.maps[REQ_HEADERS] = list(headers)
        a = self._call("proxy_on_request_headers", len(headers), int(end_stream))
        if a == CONTINUE and not end_stream and self.state.local_reply is None:
            self.released = True  # headers went on before the body: the body follows unheld
            self.state.forwarded = b"<streamed>"
        return self._release_if(a, end_stream)

    def request_body(self, chunk: bytes, end_stream: bool) -> int:
        self.state.buffers[REQ_BODY] += chunk
        a = self._call("proxy_on_request_body", len(self.state.buffers[REQ_BODY]), int(end_stream))
        return self._release_if(a, end_stream)

    def request_trailers(self, trailers: list[tuple[bytes, bytes]]) -> int:
        self.state.maps[REQ_TRAILERS] = list(trailers)
        a = self._call("proxy_on_request_trailers", len(trailers))
        return self._release_if(a, True)

    def response_headers(self, headers: list[tuple[bytes, bytes]], end_stream: bool) -> int:
        self.state.maps[RESP_HEADERS] = list(headers)
        return self._call("proxy_on_response_headers", len(headers), int(end_stream))

    def response_body(self, chunk: bytes, end_stream: bool) -> int:
        self.state.buffers[RESP_BODY][:] = chunk
        return self._call("proxy_on_response_body", len(chunk), int(end_stream))

    def response_trailers(self, trailers: list[tuple[bytes, bytes]], buffered: bytes | None) -> int:
        """Envoy 1.40: a body the filter buffered (StopIterationAndBuffer) is readable and replaceable in the
        trailers callback (`buffered`, the whole body); after a Continue the body buffer is gone (None)."""
        self.state.maps[RESP_TRAILERS] = list(trailers)
        if buffered is None:
            self.state.buffers.pop(RESP_BODY, None)
        else:
            self.state.buffers[RESP_BODY] = bytearray(buffered)
        return self._call("proxy_on_response_trailers", len(trailers))

    def log(self) -> None:
        self._call("proxy_on_log")

    def done(self) -> None:
        self._call("proxy_on_done")
        self._call("proxy_on_delete")
