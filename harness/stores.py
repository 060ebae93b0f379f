"""The processes of the mesh-wide budget store (docs/spend.md, "Mesh-wide store") for tests and the benchmark: a
throw-away redis-server and the rate-limit service (rls/, `make build-rls`), each on a free 127.0.0.1 port,
started with `spawn` (they die with us) and stopped with SIGKILL (a crash, as the restart tests want)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TypeVar

import envoy_config as ec

from harness.proc import spawn, stop_process

RLS_BIN = ec.ROOT / "target" / "tools" / "openrouter-guard-rls"


def free_port() -> int:
    """A port the kernel had free a moment ago (for a process that must come back on the same port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    """A throw-away redis-server on a free port; `aof`: with an append-only file in `workdir`, fsynced at every write
    (so a SIGKILL loses nothing; deployments use everysec). Its log goes to `workdir`/redis.log."""

    def __init__(self, workdir: Path, aof: bool = False) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server missing: `make setup` installs it (apt)"
        self.exe, self.workdir, self.port, self.aof = exe, workdir, free_port(), aof
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/"

    def start(self) -> None:
        with open(self.workdir / "redis.log", "ab") as log:
            self.proc = spawn(
                [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.workdir),
                 *(["--appendonly", "yes", "--appendfsync", "always"] if self.aof else ["--appendonly", "no"])],
                stdout=log, stderr=subprocess.STDOUT)
        for _ in range(100):  # bounded: redis-server is up in milliseconds
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

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
        self.redis_url, self.port = redis_url, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        assert RLS_BIN.exists(), f"{RLS_BIN} missing: `make build-rls` (make e2e builds it)"
        store = ["--redis", self.redis_url] if self.redis_url else []
        self.proc = spawn([str(RLS_BIN), "--listen", self.address, *store], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode(errors="replace")  # bounded: it prints this line or exits
        assert "listening on" in line, line

    def stop(self) -> None:
        """SIGKILL: the service keeps nothing of its own when it counts in Redis."""
        if self.proc is not None:
            stop_process(self.proc, grace=10.0, kill=True)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


Service = TypeVar("Service", Redis, Rls)


@contextmanager
def running(service: Service) -> Iterator[Service]:
    """`service` started for the block and stopped when it ends, whatever the outcome."""
    service.start()
    try:
        yield service
    finally:
        service.stop()
