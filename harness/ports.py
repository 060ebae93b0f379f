"""Ports on 127.0.0.1 for processes the tests start: the one way the harness picks them.

Prefer port 0: a process that binds port 0 and reports what it got (Envoy through its admin address file, the
rate-limit service on its first line) cannot collide with anything. For a process that cannot (redis-server,
docker-registry, `make run`'s PORT), `free_port` binds port 0, reads the port and releases it: another process
(the other pytest-xdist worker, anything on the machine) can take it before ours binds it, so a start that fails
with "address in use" is retried on a fresh port by `start_on_free_port` (bounded). A port that must stay dead
(an upstream nothing listens on) comes from `dead_port`: held bound, not listening, for the block, so connections
to it are refused and no one else can take it meanwhile."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

ATTEMPTS = 3  # start_on_free_port: a second collision in a row is not a race any more


class PortTaken(Exception):
    """Raised by a start function when its port turned out to be in use (`start_on_free_port` retries)."""


def free_ports(n: int) -> list[int]:
    """`n` distinct ports the kernel had free a moment ago (bind-then-release: it can race; see the docstring)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """One port as `free_ports` picks them."""
    (port,) = free_ports(1)
    return port


@contextmanager
def dead_port() -> Iterator[int]:
    """A port nothing listens on for the block: bound (so no one else gets it) but not listening (refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def start_on_free_port(start: Callable[[int], T], attempts: int = ATTEMPTS) -> T:
    """`start(port)` on a `free_port`, again on a fresh one while it raises PortTaken (at most `attempts` tries)."""
    for _ in range(attempts - 1):
        try:
            return start(free_port())
        except PortTaken:
            continue
    return start(free_port())
