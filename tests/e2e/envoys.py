"""Envoys for the end-to-end tests: the filter's config for a policy (make_config) and a factory that starts one
Envoy per distinct config and stops them all (EnvoyFactory, behind conftest's `envoy_factory` fixture)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import envoy_config as ec
from fake_openrouter import FakeOpenRouter

from harness.envoy import Envoy

WASM = Path(os.environ.get("GUARD_WASM", str(ec.DEFAULT_WASM)))
DEFAULT_POLICY: dict[str, Any] = json.loads(ec.DEFAULT_POLICY.read_text())


def make_config(fake: FakeOpenRouter, policy: dict[str, Any] | None = None, **options: Any) -> ec.EnvoyConfig:
    # restrict_endpoints off: the filter is tested on any path (test_deploy_envoy.py tests the restriction).
    opts: dict[str, Any] = {"upstream": fake.url, "passthrough": True, "wasm": WASM, "restrict_endpoints": False}
    opts.update(options)
    return ec.EnvoyConfig(port=0, admin_port=0, policy=policy, **opts)


class EnvoyFactory:
    """Starts Envoys on demand, one per distinct config, and stops them all at the end."""

    def __init__(self, fake: FakeOpenRouter, basedir: Path) -> None:
        self.fake = fake
        self.basedir = basedir
        self._cache: dict[str, Envoy] = {}
        self._all: list[Envoy] = []

    def __call__(self, policy: dict[str, Any] | None = None, *, expect_ready: bool = True, cache: bool = True,
                 **options: Any) -> Envoy:
        cfg = make_config(self.fake, policy, **options)
        key = json.dumps([cfg.policy_json(), sorted((k, str(v)) for k, v in options.items())])
        if cache and expect_ready and key in self._cache:
            return self._cache[key]
        env = Envoy(cfg, self.basedir / f"envoy{len(self._all)}")
        self._all.append(env)
        env.start(expect_ready=expect_ready)
        if cache and expect_ready:
            self._cache[key] = env
        return env

    def stop_all(self) -> None:
        for env in self._all:
            env.stop()
