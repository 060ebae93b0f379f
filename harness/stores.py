"""The processes of the mesh-wide budget store (docs/spend.md, "Mesh-wide store") for tests and the benchmark: a
throw-away redis-server and the rate-limit service (rls/, `make build-rls`), each on a 127.0.0.1 port of its own
(harness/ports.py: the service binds port 0 and prints it; redis-server cannot, so it is retried on a fresh port if
its first start finds the port taken), started with `spawn` (they die with us) and stopped with SIGKILL (a crash, as
the restart tests want). A restart comes back on the port of the first start (the Envoys' clusters point at it)."""
from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TypeVar

import envoy_config as ec

from harness.ports import PortTaken, start_on_free_port
from harness.proc import spawn, stop_process

RLS_BIN = ec.ROOT / "target" / "tools" / "openrouter-guard-rls"
START_SECONDS = 30.0  # a store that is not up by then (loaded 2-core CI: milliseconds to a few seconds) is broken


class Redis:
    """A throw-away redis-server on a free port; `aof`: with an append-only file in `workdir`, fsynced at every write
    (so a SIGKILL loses nothing; deployments use everysec). Its log goes to `workdir`/redis.log."""

    def __init__(self, workdir: Path, aof: bool = False) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server missing: `make setup` installs it (apt)"
        self.exe, self.workdir, self.port, self.aof = exe, workdir, 0, aof  # port: set by the first start
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """The first start picks a free port (retried on a fresh one if taken meanwhile); a restart reuses it."""
        if self.port:
            self._start_on(self.port)
        else:
            self.port = start_on_free_port(self._start_on)

    def _start_on(self, port: int) -> int:
        log_path = self.workdir / "redis.log"
        seen = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.proc = spawn(
                [self.exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.workdir),
                 *(["--appendonly", "yes", "--appendfsync", "always"] if self.aof else ["--appendonly", "no"])],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.proc.poll() is None:  # bounded by the deadline
            try:  # PING, not a bare connect: whoever took the port may listen too
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return port
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        with open(log_path, "rb") as log:
            log.seek(seen)
            if b"Address already in use" in log.read():
                raise PortTaken(port)
        raise AssertionError(f"redis-server did not start on 127.0.0.1:{port} (log: {log_path})")

    def stop(self) -> None:
        """SIGKILL: a crash (its append-only file, when on, is what survives)."""
        if self.proc is not None:
            stop_process(self.proc, grace=10.0, kill=True)
            self.proc = None

    def cli(self, *args: str) -> list[str]:
        """The output lines of one `redis-cli` command against this server."""
        exe = shutil.which("redis-cli")
        assert exe, "redis-cli missing: `make setup` installs it with redis-server (apt)"
        out = subprocess.run([exe, "-h", "127.0.0.1", "-p", str(self.port), *args], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        return out.splitlines()

    def counter(self, limit: str, user: str) -> tuple[dict[str, str], int, int]:
        """The counter of `limit` for `user` as the service keeps it (rls/src/redis_store.rs: the hash
        `og:{<domain>/<limit>/<window>/<key>}` with `used` and `held`, its reservations `…:r` (id -> amount) and
        `…:x` (id -> expiry)): the hash, and how many reservations each of the other two holds."""
        keys = [k for k in self.cli("--scan", "--pattern", f"og:{{*/{limit}/*{user}*}}*") if k.endswith("}")]
        assert len(keys) == 1, keys
        fields = self.cli("hgetall", keys[0])
        return (dict(zip(fields[::2], fields[1::2], strict=True)), int(self.cli("hlen", keys[0] + ":r")[0]),
                int(self.cli("zcard", keys[0] + ":x")[0]))


class Rls:
    """The rate-limit service on Redis (or in its own memory when `redis_url` is None), restartable on the same port
    (the Envoys' cluster points at it)."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url, self.port = redis_url, 0  # port: the one the first start got from the kernel
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        assert RLS_BIN.exists(), f"{RLS_BIN} missing: `make build-rls` (make e2e builds it)"
        store = ["--redis", self.redis_url] if self.redis_url else []
        self.proc = spawn([str(RLS_BIN), "--listen", self.address, *store], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
        line = first_line(self.proc, START_SECONDS)
        if "listening on 127.0.0.1:" not in line:
            self.stop()
            raise AssertionError(f"the rate-limit service did not start on {self.address}: {line!r}")
        self.port = int(line.rsplit(":", 1)[-1])

    def stop(self) -> None:
        """SIGKILL: the service keeps nothing of its own when it counts in Redis."""
        if self.proc is not None:
            stop_process(self.proc, grace=10.0, kill=True)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


def first_line(proc: subprocess.Popen[bytes], seconds: float) -> str:
    """The first line `proc` prints on its stdout pipe, or what it printed before it exited or `seconds` passed
    (bounded: a process that hangs silently does not hang the caller)."""
    assert proc.stdout is not None
    fd, got = proc.stdout.fileno(), b""
    deadline = time.monotonic() + seconds
    while b"\n" not in got and (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:  # it exited (or closed its stdout)
            break
        got += chunk
    return got.split(b"\n", 1)[0].decode(errors="replace").strip()


Service = TypeVar("Service", Redis, Rls)


@contextmanager
def running(service: Service) -> Iterator[Service]:
    """`service` started for the block and stopped when it ends, whatever the outcome."""
    service.start()
    try:
        yield service
    finally:
        service.stop()
