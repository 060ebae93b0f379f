"""A one-request HTTP/1.1 client for 127.0.0.1 (http.client, exact headers, optional chunked body) and its answer.

The end-to-end tests send through it (tests/e2e/conftest.py `http`); tests/e2e/wire.py has the byte-exact
HTTP/1.1 and HTTP/2 connections.
"""
from __future__ import annotations

import dataclasses
import http.client as httpclient
import json
import uuid
from typing import Any, Iterable

HTTP_TIMEOUT = 30.0


@dataclasses.dataclass
class Resp:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    rid: str  # the x-request-id the request carried

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def error_reason(self) -> str | None:
        """`error.reason` of the filter's JSON error body, or None."""
        try:
            doc = self.json()
        except ValueError:
            return None
        err = doc.get("error") if isinstance(doc, dict) else None
        return err.get("reason") if isinstance(err, dict) else None


def http_request(port: int, method: str, path: str, body: bytes | str | dict[str, Any] | list[Any] | None = None, *,
                 headers: dict[str, str] | None = None, host: str | None = "openrouter.ai",
                 chunks: Iterable[bytes] | None = None, content_type: str | None = "application/json",
                 timeout: float = HTTP_TIMEOUT) -> Resp:
    """One HTTP/1.1 request to 127.0.0.1:port. A dict/list body is JSON-encoded; `chunks` sends it chunked.

    Adds a unique x-request-id unless given; `host=None` keeps http.client's own Host (127.0.0.1:port).
    """
    hdrs = {k: v for k, v in (headers or {}).items()}
    lower = {k.lower() for k in hdrs}
    rid = hdrs.get("x-request-id") or f"e2e-{uuid.uuid4()}"
    if "x-request-id" not in lower:
        hdrs["x-request-id"] = rid
    if host is not None and "host" not in lower:
        hdrs["Host"] = host
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if (body is not None or chunks is not None) and content_type and "content-type" not in lower:
        hdrs["Content-Type"] = content_type
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        skip_host = "host" in {k.lower() for k in hdrs}
        conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        if chunks is not None:
            hdrs.setdefault("Transfer-Encoding", "chunked")
        elif body is not None and "content-length" not in lower:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if chunks is not None:
            for c in chunks:
                if c:
                    conn.send(b"%x\r\n%s\r\n" % (len(c), c))
            conn.send(b"0\r\n\r\n")
        elif body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, list(r.getheaders()), data, rid)
    finally:
        conn.close()


