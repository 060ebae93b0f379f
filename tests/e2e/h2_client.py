"""A minimal HTTP/2 (h2c, prior knowledge) client on the `h2` package: one request per connection, any header
values (spaces, `;`, `@`), bounded by a socket timeout. Used where a test must send the same request over
HTTP/1.1 and HTTP/2."""
from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import h2.config
import h2.connection
import h2.events

from conftest import Resp

TIMEOUT = 30.0


def h2_request(port: int, method: str, path: str, body: bytes | str | dict | list | None = None, *,
               headers: dict[str, str] | None = None, host: str = "openrouter.ai",
               content_type: str | None = "application/json") -> Resp:
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    rid = hdrs.setdefault("x-request-id", f"e2e-{uuid.uuid4()}")
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if body is not None and content_type and "content-type" not in hdrs:
        hdrs["content-type"] = content_type
    if body is not None and "content-length" not in hdrs:
        hdrs["content-length"] = str(len(body))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                                  validate_outbound_headers=False))
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        pseudo = [(":method", method), (":path", path), (":scheme", "http"), (":authority", host)]
        conn.send_headers(sid, pseudo + list(hdrs.items()), end_stream=not body)
        if body:
            # Respect the peer's flow-control window (bodies in these tests are small).
            conn.send_data(sid, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        status, resp_headers, data, done = 0, [], bytearray(), False
        for _ in range(10_000):  # bounded: every iteration reads at least one byte or ends
            chunk = sock.recv(65536)
            if not chunk:
                break
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    resp_headers = [(k if isinstance(k, str) else k.decode(), v if isinstance(v, str) else v.decode())
                                    for k, v in ev.headers]
                    status = int(dict(resp_headers)[":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                    done = True
            sock.sendall(conn.data_to_send())
            if done:
                break
        return Resp(status, resp_headers, bytes(data), rid)
    finally:
        sock.close()


def send(proto: str, port: int, method: str, path: str, body: Any = None, **kw: Any) -> Resp:
    """The same request over HTTP/1.1 (`h1`) or HTTP/2 (`h2`)."""
    if proto == "h2":
        return h2_request(port, method, path, body, **kw)
    from conftest import http_request
    return http_request(port, method, path, body, **kw)
