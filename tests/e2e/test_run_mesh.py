"""`make run-mesh` (tools/run_mesh.py): redis-server, the rate-limit service and two Envoys with the filter, started
as the target starts them (free 127.0.0.1 ports, the fake OpenRouter as upstream): a user's budget is shared by both
Envoys and kept in Redis; one signal stops all four. HTTP/1.1 and HTTP/2."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import yaml

import envoy_config as ec
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, assert_local_reply, chat, send
from harness.ports import free_ports
from harness.proc import wait_until
from run_mesh import port_free

LIMIT = {"name": "mesh-requests", "per": ["user"], "window": "minute", "unit": "requests", "max": 3}


def redis_dbsize(port: int) -> int:
    """Keys in the Redis at `port` (RESP DBSIZE)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
        reply = s.recv(64)
    assert reply.startswith(b":"), reply
    return int(reply[1:].strip())


def test_make_run_mesh_starts_two_envoys_that_share_one_budget_in_redis(fake: FakeOpenRouter, tmp_path: Path) -> None:
    policy = json.loads(ec.DEFAULT_POLICY.read_text())
    policy["spend"]["limits"] = [LIMIT]
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    envoy0, envoy1, rls, redis = free_ports(4)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "OPENROUTER_API_KEY_FILE")}
    env.update(PORTS=f"{envoy0} {envoy1}", RLS_PORT=str(rls), REDIS_PORT=str(redis), ADMIN_PORT="0",
               POLICY=str(tmp_path / "policy.json"), UPSTREAM=fake.url, OUT_DIR=str(tmp_path / "mesh"))
    log = tmp_path / "run-mesh.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(ec.ROOT / "tools" / "run_mesh.py")], env=env,
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
    try:
        assert wait_until(lambda: proc.poll() is not None or b"run-mesh: ready" in log.read_bytes(), 180), \
            log.read_text(errors="replace")[-3000:]
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        rendered = json.loads((tmp_path / "mesh" / "policy.json").read_text())
        assert rendered["spend"]["store"] == {"kind": "rls", "cluster": ec.RLS_CLUSTER}
        for i in (0, 1):
            boot = yaml.safe_load((tmp_path / "mesh" / f"envoy{i}" / "envoy.yaml").read_text())
            (cluster,) = [c for c in boot["static_resources"]["clusters"] if c["name"] == ec.RLS_CLUSTER]
            (lb,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
            assert lb["endpoint"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": rls}
        headers = {"x-data-classification": "public", "x-user-id": "mesh-user"}
        fake.script(*[Script() for _ in range(3)])
        got = [send(proto, port, "POST", CHAT, chat(), headers=headers).status
               for port, proto in ((envoy0, "h1"), (envoy1, "h2"), (envoy0, "h2"))]
        assert got == [200, 200, 200]
        for port, proto in ((envoy1, "h1"), (envoy0, "h2")):
            r = send(proto, port, "POST", CHAT, chat(), headers=headers)
            assert "mesh-requests" in assert_local_reply(r, 429, "limit_exceeded")["message"]
        assert len(fake.requests) == 3
        assert redis_dbsize(redis) > 0, "the counters are in Redis"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    # One signal stopped every process: all four ports are free again.
    assert wait_until(lambda: all(port_free(p) for p in (envoy0, envoy1, rls, redis)), 30)

