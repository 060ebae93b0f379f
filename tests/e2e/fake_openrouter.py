"""A fake OpenRouter on 127.0.0.1 that records every request exactly as received.

Answers like https://openrouter.ai/api/v1: a JSON chat completion (with `X-Generation-Id`), or an SSE stream when
the request body has `"stream": true`. Tests script the next responses with `FakeOpenRouter.script(Script(...))`:
error statuses, served model/provider, SSE write sizes, a mid-stream error chunk, a connection reset mid-stream,
slow answers, slow streams and bodies, truncated bodies, compressed bodies when the client allows them (or always).
`sent_bodies` has every response body as sent, before any content coding. Standard library only (zstandard for zstd
bodies). Never prints request content.
"""
from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import socketserver
import struct
import threading
import time
from typing import Any

INFERENCE_SUFFIXES = ("/chat/completions", "/completions", "/responses", "/messages", "/embeddings", "/rerank")


@dataclasses.dataclass
class Recorded:
    """One request as the upstream received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]  # original case and order
    body: bytes  # de-chunked when chunked
    chunked: bool
    http_version: str

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass
class Script:
    """How to answer one request. Defaults give a normal successful answer."""

    status: int = 200
    # Error answer (`{"error": {...}}`) when status >= 400 and `body` is None.
    error_message: str = "scripted error"
    # Raw body to send instead of the generated one (bytes, or a JSON-able value).
    body: Any = None
    model: str | None = None  # served model; default: the requested one
    provider: str = "Anthropic"
    content: str = "Hello from the fake upstream."
    usage: dict[str, Any] | None = None
    # None: stream when the request says "stream": true; True/False forces it.
    stream: bool | None = None
    # SSE write pattern: "event" (one write per event), "byte" (1-byte writes), "large" (one write in all).
    sse_split: str = "event"
    # Send an error chunk (finish_reason "error") after the first content chunk and end the stream.
    error_mid_stream: bool = False
    # `error.code` of that chunk: OpenRouter sends a number or a string such as "server_error".
    mid_stream_error_code: Any = 502
    # Reset the connection (RST) after the first content chunk.
    reset_mid_stream: bool = False
    delay: float = 0.0  # seconds before the response headers
    # Extra response headers. Values are written as Latin-1 bytes (http.server), so "Caf\u00e9" sends the byte 0xE9:
    # the non-UTF-8 response-header mode of the framing matrix (test_framing.py).
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # Seconds between SSE writes (a slow stream a client can walk away from).
    event_delay: float = 0.0
    # Non-streaming answers: send the first half of the body, wait this long, then the rest.
    body_delay: float = 0.0
    # Non-streaming answers: send the headers and the first half of the body, then reset (RST).
    truncate_body: bool = False
    # Reset the connection (RST) after reading the request, before any response byte.
    reset_before_headers: bool = False
    # False: no `X-Generation-Id` header (the generation id is then only in the body's `id`).
    generation_id_header: bool = True
    # Answer with every `mask` placeholder (`[EMAIL_1]`) found in the request, in order of first appearance:
    # the content becomes "Echo: [EMAIL_1] [PHONE_1]" (a model that uses the placeholders it was given).
    echo_placeholders: bool = False
    # Exact SSE content deltas (one event each) instead of splitting `content` at spaces; non-streaming
    # answers send them joined.
    content_pieces: list[str] | None = None
    # Tool-call arguments: one tool call whose `arguments` arrive in these pieces (one event each on a stream;
    # joined in `message.tool_calls` otherwise).
    tool_args: list[str] | None = None
    # Non-streaming answers: compress the body in this coding ("gzip", "deflate", "zstd", or any other token, sent
    # as is) when the request's Accept-Encoding allows it, like a CDN-fronted API; with `compress_always`, whatever
    # the request allowed (an upstream that ignores Accept-Encoding).
    compress: str | None = None
    compress_always: bool = False
    # End the answer with these HTTP/1.1 chunked trailers (non-streaming answers are then sent chunked, in two
    # chunks): with the cluster's `enable_trailers`, Envoy's last body callback has no end of stream and the
    # trailers end the response.
    trailers: dict[str, str] | None = None
    # Streams: the last event (`data: [DONE]`) lacks its closing blank line (an upstream that ends mid-event).
    sse_open_end: bool = False
    # A stream of exactly these byte strings (one write each, split as `sse_split` says) instead of the generated
    # events, whatever the request asked: odd framing, odd JSON, mislabelled streams (with `headers`' Content-Type).
    raw_events: list[bytes] | None = None
    # Send no Content-Type header at all.
    no_content_type: bool = False


def accepts(accept_encoding: str | None, coding: str) -> bool:
    """Whether an Accept-Encoding value allows `coding` (RFC 9110 12.5.3: q=0 refuses; `*` stands for the rest)."""
    if accept_encoding is None:
        return False  # like OpenRouter's CDN: compress only what the client asked for
    allowed: dict[str, float] = {}
    for item in accept_encoding.split(","):
        token, _, params = item.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if token.strip():
            allowed[token.strip().lower()] = q
    q = allowed.get(coding, allowed.get("*", 0.0))
    return q > 0


def encode(coding: str, body: bytes) -> bytes:
    """`body` in a content coding; an unknown token gets the body unchanged (the header still claims it)."""
    import gzip
    import zlib

    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(write_checksum=True).compress(body)
    return body


def _usage(script: Script) -> dict[str, Any]:
    if script.usage is not None:
        return script.usage
    return {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19, "cost": 0.000123}


class FakeOpenRouter:
    """A threaded HTTP/1.1 server on 127.0.0.1:<free port>."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """tls=(certfile, keyfile) serves HTTPS (ALPN http/1.1) and records the SNI names in `sni_seen`."""
        self._lock = threading.Lock()
        self.sni_seen: list[str | None] = []
        self._requests: list[Recorded] = []
        self._scripts: list[Script] = []
        self._gen = 0
        self.errors: list[str] = []  # exception class names only (never content)
        self.headers_seen = 0  # requests whose headers arrived (counted before their body is read)
        self._sent: list[bytes] = []  # response bodies, as sent (de-chunked), recorded before sending
        # GET …/models answers (status, body) when set (the price refresh's model list, tests/e2e/model_list.py).
        self.models_answer: tuple[int, bytes] | None = None
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if tls:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            ctx.set_alpn_protocols(["http/1.1"])
            ctx.sni_callback = lambda sslobj, name, c: self.sni_seen.append(name)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openrouter", daemon=True)

    # -- lifecycle
    def start(self) -> FakeOpenRouter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test API
    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._sent.clear()
            self.errors.clear()
            self.headers_seen = 0
            self.models_answer = None

    def script(self, *scripts: Script) -> None:
        """Queue answers for the next requests (first in, first used); unscripted requests get Script()."""
        with self._lock:
            self._scripts.extend(scripts)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def sent_bodies(self) -> list[bytes]:
        """The response bodies sent so far (de-chunked), in order; each is recorded before its first byte
        goes out. A reset stream records only what went out before the reset."""
        with self._lock:
            return list(self._sent)

    def wait_requests(self, n: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests
            if len(reqs) >= n or time.monotonic() > deadline:
                return reqs
            time.sleep(0.01)

    # -- internals used by the handler
    def _record(self, rec: Recorded) -> Script:
        with self._lock:
            self._requests.append(rec)
            return self._scripts.pop(0) if self._scripts else Script()

    def _record_sent(self, body: bytes) -> None:
        with self._lock:
            self._sent.append(body)

    def _next_gen_id(self) -> str:
        with self._lock:
            self._gen += 1
            return f"gen-{int(time.time())}-fake{self._gen:06d}"


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # no tracebacks with content
        import sys

        exc = sys.exc_info()[1]
        owner = getattr(self.RequestHandlerClass, "owner", None)
        if owner is not None and exc is not None:
            owner.errors.append(type(exc).__name__)


class _Reset(Exception):
    """Raised after the connection was reset on purpose."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openrouter"
    sys_version = ""
    timeout = 60
    owner: FakeOpenRouter

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # silence; never log requests
        pass

    # Every method goes through one place.
    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> tuple[bytes, bool]:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunk size")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:  # trailers until the blank line
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            return bytes(out), True
                out += self.rfile.read(size)
                self.rfile.readline(3)  # CRLF after the chunk data
        n = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(n) if n else b""), False

    def _serve(self) -> None:
        with self.owner._lock:
            self.owner.headers_seen += 1
        body, chunked = self._read_body()
        rec = Recorded(self.command, self.path, list(self.headers.items()), body, chunked, self.request_version)
        script = self.owner._record(rec)
        if script.delay:
            time.sleep(script.delay)
        if script.reset_before_headers:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        try:
            self._answer(rec, script)
        except _Reset:
            self.close_connection = True

    def _send(self, status: int, headers: dict[str, str], body: bytes, script: Script | None = None) -> None:
        plain = body
        if script is not None and script.no_content_type:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if script is not None and script.compress and (
                script.compress_always or accepts(self.headers.get("Accept-Encoding"), script.compress)):
            body = encode(script.compress, body)
            headers = {**headers, "Content-Encoding": script.compress, "Vary": "Accept-Encoding"}
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if script is not None and script.trailers and self.command != "HEAD":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.owner._record_sent(plain)
            half = len(body) // 2
            for part in (p for p in (body[:half], body[half:]) if p):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self._end_chunked(script)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        half = len(body) // 2
        if script is not None and script.truncate_body:
            self.owner._record_sent(body[:half])
            self.wfile.write(body[:half])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            raise _Reset()
        self.owner._record_sent(plain)
        if script is not None and script.body_delay:
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(script.body_delay)
            self.wfile.write(body[half:])
        else:
            self.wfile.write(body)

    def _answer(self, rec: Recorded, script: Script) -> None:
        try:
            req = json.loads(rec.body) if rec.body else {}
        except ValueError:
            req = {}
        if not isinstance(req, dict):
            req = {}
        gen_id = self.owner._next_gen_id()
        model = script.model or (req.get("model") if isinstance(req.get("model"), str) else None) or "openai/gpt-4o"
        headers = {"X-Generation-Id": gen_id, **script.headers}
        if not script.generation_id_header:
            headers = {k: v for k, v in headers.items() if k.lower() != "x-generation-id"}
        if script.echo_placeholders:
            tags = list(dict.fromkeys(re.findall(r"\[[A-Z][A-Z0-9_]*_[1-9][0-9]*\]", rec.body.decode("utf-8", "replace"))))
            script = dataclasses.replace(script, content="Echo: " + " ".join(tags))

        if script.body is not None:
            raw = script.body if isinstance(script.body, bytes) else json.dumps(script.body).encode()
            self._send(script.status, {"Content-Type": "application/json", **headers}, raw, script)
            return
        if script.status >= 400:
            err = {"error": {"code": script.status, "message": script.error_message,
                             "metadata": {"provider_name": script.provider}}}
            self._send(script.status, {"Content-Type": "application/json", **headers}, json.dumps(err).encode(),
                       script)
            return
        path = rec.path.split("?", 1)[0]
        models = self.owner.models_answer
        if rec.method == "GET" and models is not None and path.endswith("/models"):
            self._send(models[0], {"Content-Type": "application/json", **headers}, models[1], script)
            return
        if rec.method == "GET":
            listing = {"data": [{"id": "anthropic/claude-3.5-sonnet"}, {"id": "openai/gpt-4o"}]}
            self._send(200, {"Content-Type": "application/json", **headers}, json.dumps(listing).encode(), script)
            return
        stream = script.stream if script.stream is not None else req.get("stream") is True
        if stream or script.raw_events is not None:
            self._stream(gen_id, model, script, headers)
            return
        created = int(time.time())
        if path.endswith("/embeddings"):
            doc: dict[str, Any] = {"object": "list", "model": model, "provider": script.provider,
                                   "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                                   "usage": _usage(script)}
        else:
            doc = {
                "id": gen_id, "object": "chat.completion", "created": created, "model": model,
                "provider": script.provider,
                "choices": [{"index": 0, "finish_reason": "stop", "native_finish_reason": "stop",
                             "message": {"role": "assistant", "content": "".join(script.content_pieces)
                                         if script.content_pieces is not None else script.content}}],
                "usage": _usage(script),
            }
            if script.tool_args is not None:
                doc["choices"][0]["message"]["tool_calls"] = [{"id": "call_1", "type": "function", "function": {
                    "name": "send", "arguments": "".join(script.tool_args)}}]
        self._send(200, {"Content-Type": "application/json", **headers}, json.dumps(doc).encode(), script)

    def _stream(self, gen_id: str, model: str, script: Script, headers: dict[str, str]) -> None:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            doc = {"id": gen_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "provider": script.provider,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return b"data: " + json.dumps(doc).encode() + b"\n\n"

        words = script.content.split(" ")
        if script.content_pieces is not None:
            words = [p for p in script.content_pieces]
        events: list[bytes | str] = [b": OPENROUTER PROCESSING\n\n", chunk({"role": "assistant", "content": ""})]
        events.append(chunk({"content": words[0]}))
        if script.error_mid_stream:
            events.append(chunk({"content": ""}, "error",
                                error={"code": script.mid_stream_error_code,
                                       "message": "provider error mid-stream"}))
        elif script.reset_mid_stream:
            events.append("RESET")
        else:
            sep = "" if script.content_pieces is not None else " "
            events += [chunk({"content": sep + w}) for w in words[1:]]
            for i, piece in enumerate(script.tool_args or []):
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if i == 0:
                    call.update({"id": "call_1", "type": "function"})
                    call["function"]["name"] = "send"
                events.append(chunk({"tool_calls": [call]}))
            events.append(chunk({}, "stop"))
            usage_doc = {"id": gen_id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "provider": script.provider, "choices": [], "usage": _usage(script)}
            events.append(b"data: " + json.dumps(usage_doc).encode() + b"\n\n")
            events.append(b"data: [DONE]\n\n")

        if script.raw_events is not None:
            events = list(script.raw_events)
        if script.sse_open_end and isinstance(events[-1], bytes):
            events[-1] = events[-1].rstrip(b"\n")
        sent = b"".join(e for e in (events[:events.index("RESET")] if "RESET" in events else events)
                        if isinstance(e, bytes))
        self.owner._record_sent(sent)
        self.send_response(script.status)
        for k, v in {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **headers}.items():
            if not (script.no_content_type and k.lower() == "content-type"):
                self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def write(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        if script.sse_split == "large":
            pending = b"".join(e for e in events if isinstance(e, bytes))
            if pending:
                write(pending)
        for n, ev in enumerate(events):
            if n and script.event_delay and script.sse_split != "large":
                time.sleep(script.event_delay)
            if ev == "RESET":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                raise _Reset()
            if script.sse_split == "large":
                continue
            assert isinstance(ev, bytes)
            if script.sse_split == "byte":
                for i in range(len(ev)):
                    write(ev[i:i + 1])
            else:
                write(ev)
        self._end_chunked(script)

    def _end_chunked(self, script: Script) -> None:
        """The last chunk, with the script's trailers if any."""
        tail = b"".join(f"{k}: {v}\r\n".encode() for k, v in (script.trailers or {}).items())
        self.wfile.write(b"0\r\n" + tail + b"\r\n")
        self.wfile.flush()


def main() -> None:  # manual use: python3 tests/e2e/fake_openrouter.py
    with FakeOpenRouter() as fake:
        print(f"fake OpenRouter on {fake.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
