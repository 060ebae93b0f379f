"""Child processes: started so that they die with us, stopped with a grace period, waited for by bounded polling."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from typing import IO, Any, Callable, Mapping, Sequence, TypeVar

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1

Target = int | IO[Any] | None


def wait_until(pred: Callable[[], T], timeout: float, interval: float = 0.02) -> T:
    """Polls pred() until it returns something truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when we die, even by SIGKILL (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def spawn(cmd: Sequence[str], *, stdout: Target = subprocess.DEVNULL, stderr: Target = subprocess.DEVNULL,
          env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Starts `cmd` in its own session (a Ctrl-C of ours is not its), stdin closed, killed when we die."""
    return subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            env=None if env is None else dict(env), start_new_session=True,
                            preexec_fn=_die_with_parent)


def stop_process(proc: subprocess.Popen[Any], grace: float = 10.0, *, group: bool = False, kill: bool = False) -> None:
    """SIGTERM, then SIGKILL if `proc` is still running after `grace` seconds; nothing if it has exited.
    group=True signals its whole process group (a child started in its own session, e.g. `make run`'s Envoy);
    kill=True sends SIGKILL at once (a crash: no clean shutdown), then waits up to `grace` seconds."""
    if proc.poll() is not None:
        return

    def send(sig: int) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    if kill:
        send(signal.SIGKILL)
        proc.wait(timeout=grace)
        return
    send(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=grace)
