"""A fake upstream binary that binds 127.0.0.1:0 and prints `PORT <n>` first (soak-upstream, bench-upstream)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Any, Sequence

from harness.proc import spawn, stop_process


class BinaryUpstream:
    def __init__(self, cmd: Sequence[str | Path], stderr: int | IO[Any] | None = subprocess.DEVNULL) -> None:
        self.proc = spawn([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=stderr)
        assert self.proc.stdout is not None
        words = self.proc.stdout.readline().decode().split()
        if len(words) != 2 or words[0] != "PORT" or not words[1].isdigit():
            self.stop()
            raise RuntimeError(f"{cmd[0]} did not report its port: {words!r}")
        self.port = int(words[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc, grace=5)
