"""Policy rollout without a restart: the wasm filter's config delivered by ECDS from a file (`ecds_file`).

Replacing the file atomically (rename) makes Envoy build the new filter config and use it for new streams; the
switch drops no request. A policy the filter refuses (on_configure fails) is rejected by Envoy, counted in
extension_config_discovery.http_filter.openrouter_guard.{config_fail,update_rejected}, logged with the JSON path,
and the previous policy keeps serving.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

import envoy_config as ec
from envoys import DEFAULT_POLICY, WASM, EnvoyFactory, make_config
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, chat

MODEL_X = "google/gemini-2.5-pro"  # allowed by the default policy's `public` profile
PUBLIC = {"x-data-classification": "public"}
STAT = f"extension_config_discovery.http_filter.{ec.ECDS_FILTER_NAME}."

POLICY_A = DEFAULT_POLICY
POLICY_B = copy.deepcopy(DEFAULT_POLICY)
POLICY_B["profiles"]["public"]["models"].insert(0, {"deny": "google/*"})
# A typo the filter refuses (unknown field), in an otherwise valid policy.
POLICY_BAD = copy.deepcopy(POLICY_B)
POLICY_BAD["profiles"]["public"]["provider"]["allow_fallback"] = True


def _push(fake: FakeOpenRouter, path: Path, policy: dict[str, Any] | None = None, policy_text: str | None = None,
          **options: Any) -> str:
    """Writes the ECDS file for this policy atomically; returns its version_info."""
    cfg = make_config(fake, policy, policy_text=policy_text, ecds_file=path, **options)
    ec.write_file(path, ec.filter_resource_text(cfg))
    return ec.filter_resource(cfg)["version_info"]


def _stats_text(env: Envoy) -> dict[str, str]:
    out = {}
    for line in env._admin_get("/stats").splitlines():
        k, _, v = line.partition(": ")
        if k.startswith(STAT):
            out[k[len(STAT):]] = v.strip().strip('"')
    return out


def _counter(env: Envoy, name: str) -> int:
    return int(_stats_text(env).get(name, "0"))


def _ecds_path(env: Envoy) -> Path:
    """The file the Envoy of `reloadable` reads its filter config from (ECDS)."""
    assert env.cfg.ecds_file is not None
    return Path(env.cfg.ecds_file)


@pytest.fixture
def reloadable(envoy_factory: EnvoyFactory, fake: FakeOpenRouter, tmp_path: Path) -> Iterator[Envoy]:
    path = tmp_path / "xds" / "openrouter_guard.yaml"
    _push(fake, path, POLICY_A)
    env = envoy_factory(POLICY_A, ecds_file=path, cache=False)
    yield env
    env.stop()


def test_policy_change_rolls_out_without_restart_and_without_failed_requests(reloadable: Envoy,
                                                                           fake: FakeOpenRouter) -> None:
    env = reloadable
    pid, port = env.proc.pid, env.port
    assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).status == 200
    assert _counter(env, "update_success") == 1

    # Requests on two threads across the switch: each is the old answer (200) or the new one (403
    # model_denied), never a 5xx, a reset or anything else.
    seen: list[tuple[float, int, str | None]] = []  # (when the request started, status, error.reason)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set() and len(seen) < 20000:
            started = time.monotonic()
            try:
                r = env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC, timeout=10)
                seen.append((started, r.status, r.error_reason()))
            except OSError as e:
                seen.append((started, -1, type(e).__name__))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        assert wait_until(lambda: len(seen) >= 50, 10)
        pushed = time.monotonic()  # taken before the rename: later requests may already see B
        version_b = _push(fake, _ecds_path(env), POLICY_B)
        assert wait_until(lambda: _counter(env, "update_success") == 2, 10), _stats_text(env)
        switched = time.monotonic()
        n = len(seen)
        assert wait_until(lambda: len(seen) >= n + 50 and time.monotonic() > switched + 1.5, 10)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
    outcomes = Counter((status, reason) for _, status, reason in seen)
    assert set(outcomes) <= {(200, None), (403, "model_denied")}, outcomes
    assert outcomes[(200, None)] >= 50 and outcomes[(403, "model_denied")] >= 50, outcomes
    # Started before the push: old policy only. Started once Envoy reported the update (plus a moment for the
    # workers, which get the new config posted to their event loops): new only.
    assert all(s == 200 for t, s, _ in seen if t < pushed)
    late = [s for t, s, _ in seen if t > switched + 1.0]
    assert late and all(s == 403 for s in late)
    # Same process, same listener: no restart, no drain.
    assert env.proc.pid == pid and env.proc.poll() is None and env.port == port
    assert _stats_text(env)["version_text"] == version_b
    # Upstream received only requests that were allowed.
    assert len(fake.requests) == 1 + outcomes[(200, None)]  # + the first request


def test_invalid_policy_is_rejected_and_the_previous_one_keeps_serving(reloadable: Envoy, fake: FakeOpenRouter) -> None:
    env = reloadable
    version_b = _push(fake, _ecds_path(env), POLICY_B)
    assert wait_until(lambda: _counter(env, "update_success") == 2, 10)
    assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).error_reason() == "model_denied"

    _push(fake, _ecds_path(env), POLICY_BAD)
    assert wait_until(lambda: _counter(env, "config_fail") == 1, 10), _stats_text(env)
    stats = _stats_text(env)
    assert stats["update_rejected"] == "1" and stats["update_success"] == "2" and stats["version_text"] == version_b
    log = env.stderr_text()
    assert "invalid configuration at profiles.public.provider.allow_fallback" in log
    assert "Filesystem config update rejected: Unable to create Wasm plugin openrouter_guard" in log
    # Policy B still governs: X denied, Claude allowed, nothing 5xx.
    fake.reset()
    assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).error_reason() == "model_denied"
    assert env.http("POST", CHAT, chat("anthropic/claude-3.5-sonnet"), headers=PUBLIC).status == 200
    assert len(fake.requests) == 1

    # Not JSON at all: rejected the same way. Then a good policy is accepted again.
    _push(fake, _ecds_path(env), policy_text="not json")
    assert wait_until(lambda: _counter(env, "config_fail") == 2, 10)
    assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).error_reason() == "model_denied"
    _push(fake, _ecds_path(env), POLICY_A)
    assert wait_until(lambda: _counter(env, "update_success") == 3, 10)
    assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).status == 200


def test_push_policy_command_validates_before_it_swaps(envoy_factory: EnvoyFactory, fake: FakeOpenRouter,
                                                       tmp_path: Path) -> None:
    # `run_envoy.py push-policy FILE`: Envoy's own validation (loads the .wasm, runs on_configure) first, so a
    # bad policy never reaches the running Envoy; a good one is swapped in atomically.
    out_dir = tmp_path / "out"
    path = out_dir / "xds" / "openrouter_guard.yaml"
    _push(fake, path, POLICY_A)
    env = envoy_factory(POLICY_A, ecds_file=path, cache=False)
    try:
        run = [sys.executable, str(ec.ROOT / "tools" / "run_envoy.py"), "push-policy"]
        penv = dict(os.environ, OUT_DIR=str(out_dir), UPSTREAM=fake.url, WASM=str(WASM))
        bad, good = tmp_path / "bad.json", tmp_path / "good.json"
        bad.write_text(json.dumps(POLICY_BAD))
        good.write_text(json.dumps(POLICY_B))
        before = path.read_bytes()
        p = subprocess.run(run + [str(bad)], env=penv, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 1, p.stderr[-2000:]
        assert "refused; the running policy is unchanged" in p.stderr
        assert "allow_fallback" in p.stderr
        assert path.read_bytes() == before and _counter(env, "update_attempt") == 1
        p = subprocess.run(run + [str(good)], env=penv, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr[-2000:]
        assert wait_until(lambda: _counter(env, "update_success") == 2, 10)
        assert env.http("POST", CHAT, chat(MODEL_X), headers=PUBLIC).error_reason() == "model_denied"
        assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temporary file behind
    finally:
        env.stop()


def test_envoy_with_an_invalid_initial_policy_fails_closed(envoy_factory: EnvoyFactory, fake: FakeOpenRouter,
                                                          tmp_path: Path) -> None:
    # No accepted filter config at all: Envoy serves, but the filter slot answers 500 (NFCF); nothing is forwarded.
    path = tmp_path / "xds" / "openrouter_guard.yaml"
    _push(fake, path, policy_text='{"profiles": 1}')
    env = envoy_factory(POLICY_A, ecds_file=path, cache=False)
    try:
        r = env.http("POST", CHAT, chat())
        assert r.status == 500
        assert fake.headers_seen == 0
        assert _counter(env, "config_fail") == 1
    finally:
        env.stop()


def test_ecds_render_shape() -> None:
    cfg = ec.EnvoyConfig(ecds_file="/tmp/x/openrouter_guard.yaml")
    doc = ec.build(cfg)
    hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = hcm["http_filters"][0]
    assert wasm["name"] == ec.ECDS_FILTER_NAME and "typed_config" not in wasm
    src = wasm["config_discovery"]["config_source"]["path_config_source"]
    assert src == {"path": "/tmp/x/openrouter_guard.yaml", "watched_directory": {"path": "/tmp/x"}}
    assert wasm["config_discovery"]["type_urls"] == [ec.WASM_TYPE_URL]
    assert "default_config" not in wasm["config_discovery"]  # fail closed until a policy is accepted
    assert doc["node"] == ec.NODE
    res = ec.filter_resource(cfg)["resources"][0]
    assert res["name"] == ec.ECDS_FILTER_NAME
    assert res["typed_config"]["config"]["failure_policy"] == "FAIL_RELOAD"
    assert res["typed_config"] == ec.build(ec.EnvoyConfig())["static_resources"]["listeners"][0][
        "filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["typed_config"]
