"""Wire-level HTTP clients for the framing matrix: every byte and frame is the test's choice.

H1Conn: one keep-alive HTTP/1.1 connection; header values are bytes (Latin-1 as Python clients send them); bodies
        by content-length, chunked (optionally with trailers), or after `Expect: 100-continue`.
H2Conn: one HTTP/2 cleartext connection with prior knowledge (the `h2` package); headers, DATA frames and
        trailers exactly as given, several streams in turn on the same connection (so on the same Envoy worker).
Every read is bounded by a timeout; a response is (status, headers as bytes pairs, body).
"""
from __future__ import annotations

import dataclasses
import socket
import time
from typing import Iterable, Sequence

import h2.config
import h2.connection
import h2.events

TIMEOUT = 20.0
Header = tuple[bytes, bytes]


def _b(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode("latin-1")


@dataclasses.dataclass
class WireResp:
    status: int
    headers: list[Header]
    body: bytes
    reset: bool = False  # the stream was reset (HTTP/2) or the connection closed before a full response

    def header(self, name: str) -> bytes | None:
        n = name.lower().encode()
        return next((v for k, v in self.headers if k.lower() == n), None)


class H1Conn:
    """One HTTP/1.1 keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.closed = False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> H1Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("connection closed")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self) -> WireResp:
        while True:
            status_line = self._line()
            status = int(status_line.split(b" ")[1])
            headers: list[Header] = []
            while True:
                line = self._line()
                if not line:
                    break
                k, _, v = line.partition(b":")
                headers.append((k.strip().lower(), v.strip()))
            if status != 100:
                break
        hmap = dict(headers)
        body = b""
        if hmap.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exact(size)
                self._line()
        elif b"content-length" in hmap:
            body = self._exact(int(hmap[b"content-length"]))
        return WireResp(status, headers, body)

    def request(self, method: str, path: str, headers: Sequence[tuple[str | bytes, str | bytes]],
                body: bytes | None = None, *, framing: str = "length", chunks: Iterable[bytes] | None = None,
                trailers: Sequence[tuple[str, bytes]] = (), expect_continue: bool = False) -> WireResp:
        """framing: "length" (content-length), "chunked" (chunks, then optional trailers), "none" (no body)."""
        lines = [b"%s %s HTTP/1.1" % (_b(method), _b(path))]
        lines += [_b(k) + b": " + _b(v) for k, v in headers]
        if framing == "length":
            lines.append(b"content-length: %d" % len(body or b""))
        elif framing == "chunked":
            lines.append(b"transfer-encoding: chunked")
            if trailers:
                lines.append(b"trailer: " + b", ".join(_b(k) for k, _ in trailers))
        if expect_continue:
            lines.append(b"expect: 100-continue")
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        if expect_continue:
            # Envoy answers 100 Continue itself; wait for it (bounded) before sending the body.
            first = self._line()
            assert b" 100" in first, first
            while self._line():
                pass
        if framing == "length" and body:
            self.sock.sendall(body)
        elif framing == "chunked":
            for c in (chunks if chunks is not None else [body or b""]):
                if c:
                    self.sock.sendall(b"%x\r\n%s\r\n" % (len(c), c))
            tail = b"".join(_b(k) + b": " + v + b"\r\n" for k, v in trailers)
            self.sock.sendall(b"0\r\n" + tail + b"\r\n")
        return self.read_response()


class H2Conn:
    """One HTTP/2 cleartext (prior knowledge) connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        cfg = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                        validate_outbound_headers=False, validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self._pending: list[h2.events.Event] = []
        self._flush()

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self._flush()
        except Exception:
            pass
        self.sock.close()

    def __enter__(self) -> H2Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method: str, path: str, authority: str | bytes,
                headers: Sequence[tuple[str | bytes, str | bytes]] = (), *, data: Sequence[bytes] = (),
                trailers: Sequence[tuple[str, bytes]] = (), end_on_headers: bool = False,
                empty_final_data: bool = False) -> WireResp:
        """Sends HEADERS (END_STREAM when end_on_headers), each DATA frame of `data`, then either trailers
        (END_STREAM on them), an empty DATA frame with END_STREAM (empty_final_data), or END_STREAM on the
        last DATA frame. Returns the response of this stream."""
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(b":method", _b(method)), (b":scheme", b"http"), (b":authority", _b(authority)),
                (b":path", _b(path))] + [(_b(k).lower(), _b(v)) for k, v in headers]
        self.conn.send_headers(sid, hdrs, end_stream=end_on_headers)
        self._flush()
        if not end_on_headers:
            frames = list(data)
            for i, chunk in enumerate(frames):
                last = i == len(frames) - 1 and not trailers and not empty_final_data
                self._send_data(sid, chunk, last)
            if trailers:
                self.conn.send_headers(sid, [(_b(k).lower(), v) for k, v in trailers], end_stream=True)
            elif empty_final_data or not frames:
                self.conn.send_data(sid, b"", end_stream=True)
            self._flush()
        return self._response(sid)

    def _send_data(self, sid: int, chunk: bytes, end_stream: bool) -> None:
        """One DATA frame when the flow-control windows allow it (the usual case); a chunk larger than the
        window goes as several frames, reading the peer's WINDOW_UPDATEs in between (bounded by the timeout).
        Events read while waiting are kept for `_response`."""
        deadline = time.monotonic() + self.timeout
        while True:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if len(chunk) <= room:
                self.conn.send_data(sid, chunk, end_stream=end_stream)
                self._flush()
                return
            if room > 0:
                self.conn.send_data(sid, chunk[:room])
                self._flush()
                chunk = chunk[room:]
                continue
            if time.monotonic() >= deadline:
                raise TimeoutError(f"flow-control window of stream {sid} stayed closed for {self.timeout}s")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed while sending a request body")
            self._pending.extend(self.conn.receive_data(data))
            self._flush()

    def _response(self, sid: int) -> WireResp:
        status, body = 0, b""
        headers: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + self.timeout
        pending, self._pending = self._pending, []
        while time.monotonic() < deadline:
            if pending:
                events, pending = pending, []
            else:
                data = self.sock.recv(65536)
                if not data:
                    return WireResp(status, headers, body, reset=True)
                events = self.conn.receive_data(data)
            for ev in events:
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    headers = [(bytes(k), bytes(v)) for k, v in ev.headers]
                    status = int(dict(headers).get(b":status", b"0"))
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    self._flush()
                    return WireResp(status, headers, body)
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    self._flush()
                    return WireResp(status, headers, body, reset=True)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return WireResp(status, headers, body, reset=True)
            self._flush()
        raise TimeoutError(f"no complete response on stream {sid} within {self.timeout}s")
