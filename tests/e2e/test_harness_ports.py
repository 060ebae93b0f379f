"""The harness's ports and store start-up (harness/ports.py, harness/stores.py): a dead port refuses and cannot be
taken, a start that finds its port taken is retried on a fresh one (bounded), a service that hangs without printing
its address is stopped and reported instead of hanging the run. Needs no .wasm."""
from __future__ import annotations

import errno
import socket
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import harness.ports as ports
import harness.stores as stores
from harness.ports import PortTaken, dead_port, free_ports, start_on_free_port
from harness.stores import Redis, Rls, running


def test_a_dead_port_refuses_connections_and_no_one_else_can_bind_it() -> None:
    with dead_port() as port:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.socket() as other, pytest.raises(OSError) as e:
            other.bind(("127.0.0.1", port))
        assert e.value.errno == errno.EADDRINUSE


def test_free_ports_are_distinct() -> None:
    got = free_ports(8)
    assert len(set(got)) == 8 and all(p > 0 for p in got)


def test_a_start_that_finds_its_port_taken_is_retried_on_a_fresh_port_a_bounded_number_of_times() -> None:
    tried: list[int] = []

    def taken_twice(port: int) -> int:
        tried.append(port)
        if len(tried) < ports.ATTEMPTS:
            raise PortTaken(port)
        return port

    assert start_on_free_port(taken_twice) == tried[-1] and len(tried) == ports.ATTEMPTS

    def always_taken(port: int) -> int:
        tried.append(port)
        raise PortTaken(port)

    tried.clear()
    with pytest.raises(PortTaken):
        start_on_free_port(always_taken)
    assert len(tried) == ports.ATTEMPTS


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on (what another worker's process would hold)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_redis_whose_port_was_taken_meanwhile_starts_on_another(
        listening: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    picks = iter([listening])
    real = ports.free_port
    monkeypatch.setattr(ports, "free_port", lambda: next(picks, None) or real())
    with running(Redis(tmp_path)) as redis:
        assert redis.port != listening
        assert redis.cli("ping") == ["PONG"]
    assert "Address already in use" in (tmp_path / "redis.log").read_text()


def test_a_rate_limit_service_that_hangs_silently_is_stopped_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "silent-rls"
    fake.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\nexec sleep 600\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(stores, "RLS_BIN", fake)
    monkeypatch.setattr(stores, "START_SECONDS", 1.0)
    service = Rls(None)
    with pytest.raises(AssertionError, match="did not start"):
        service.start()
    assert service.proc is None
    pid = (tmp_path / "pid").read_text().strip()
    state = subprocess.run(["ps", "-o", "stat=", "-p", pid], capture_output=True, text=True, timeout=10).stdout
    assert state.strip() == "", f"the hung service {pid} still runs: {state}"
