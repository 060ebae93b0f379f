"""Per-team OpenRouter keys (issue 16 (b), docs/spend.md "OpenRouter's per-key credit limits"): Envoy rendered with
`team_keys` gives each team its own cluster towards OpenRouter with its own credential_injector and SDS secret, and
routes by the trusted team header, so OpenRouter enforces each team's credit limit across every proxy. The fake
upstream receives team A's key for team A and team B's for team B, never the client's Authorization; a request
with no team, or a team without a key, is answered by Envoy (403 team_key_missing) and reaches no upstream; the
audit record names the team, never a key. Over HTTP/1.1 and HTTP/2."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import envoy_config as ec
from envoys import EnvoyFactory
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, SECRET_KEY, assert_local_reply, send
from harness.envoy import Envoy

PROTOS = ["h1", "h2"]
KEYS = {"alpha": "sk-or-v1-" + "a1" * 32, "beta": "sk-or-v1-" + "b2" * 32}
CLIENT_KEY = SECRET_KEY
POLICY: dict[str, Any] = {
    # Every team cluster is governed by the filter.
    "clusters": ["openrouter", *(ec.team_cluster(t) for t in KEYS)],
    "default_profile": "p",
    "profiles": {"p": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100}},
    "spend": {"team_header": "x-team-id"},
}


@pytest.fixture(scope="module")
def envoy(envoy_factory: EnvoyFactory, tmp_path_factory: pytest.TempPathFactory) -> Envoy:
    secrets = tmp_path_factory.mktemp("team-secrets")
    files: dict[str, Path | str] = {}
    for team, key in KEYS.items():
        d = secrets / team  # one watched directory per secret
        d.mkdir(mode=0o700)
        files[team] = d / "key.yaml"
        ec.write_file(Path(files[team]), ec.secret_resource_text(key, ec.team_secret_name(team)), private=True)
    return envoy_factory(POLICY, team_keys=files, team_header="x-team-id")


def body() -> dict[str, Any]:
    return {"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("proto", PROTOS)
def test_each_team_reaches_openrouter_with_its_own_key_and_never_the_clients(envoy: Envoy, fake: FakeOpenRouter,
                                                                           audit_for, proto: str) -> None:
    for team, key in [("alpha", KEYS["alpha"]), ("beta", KEYS["beta"]), ("alpha", KEYS["alpha"])]:
        fake.reset()
        r = send(proto, envoy.port, "POST", CHAT, body(),
                 headers={"x-team-id": team, "authorization": "Bearer " + CLIENT_KEY, "x-api-key": CLIENT_KEY})
        assert r.status == 200, r.body[:300]
        [up] = fake.requests
        assert up.header_all("authorization") == ["Bearer " + key], team
        assert up.header("x-api-key") is None and up.header("x-team-id") is None
        assert CLIENT_KEY not in json.dumps(up.headers) and CLIENT_KEY.encode() not in up.body
        [rec] = audit_for(r)
        assert rec["team"] == team and rec["decision"] == "allow", rec
        text = json.dumps(rec)
        assert all(k not in text for k in KEYS.values()) and CLIENT_KEY not in text
    # The model list (a GET) goes with the team's key too.
    fake.reset()
    r = send(proto, envoy.port, "GET", "/api/v1/models", headers={"x-team-id": "beta"}, content_type=None)
    assert r.status == 200 and fake.requests[0].header_all("authorization") == ["Bearer " + KEYS["beta"]]


@pytest.mark.parametrize("proto", PROTOS)
def test_a_request_without_a_team_key_is_refused_by_envoy_and_reaches_nobody(envoy: Envoy, fake: FakeOpenRouter,
                                                                             proto: str) -> None:
    for headers in ({}, {"x-team-id": "gamma"}, {"x-team-id": "Alpha "}, {"authorization": "Bearer " + CLIENT_KEY}):
        fake.reset()
        r = send(proto, envoy.port, "POST", CHAT, body(), headers=headers)
        assert_local_reply(r, 403, "team_key_missing")
        assert fake.requests == [] and fake.headers_seen == 0, headers
    assert all(k not in envoy.stderr_text() for k in KEYS.values())


@pytest.mark.parametrize("proto", PROTOS)
def test_a_client_cannot_pick_another_teams_key_with_the_routing_header(envoy: Envoy, fake: FakeOpenRouter,
                                                                       proto: str) -> None:
    # The route header is Envoy's copy of the trusted team header, written over whatever the client sent.
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, body(),
             headers={"x-team-id": "beta", ec.TEAM_ROUTE_HEADER: "alpha"})
    assert r.status == 200 and fake.requests[0].header_all("authorization") == ["Bearer " + KEYS["beta"]]
    assert fake.requests[0].header(ec.TEAM_ROUTE_HEADER) is None
    fake.reset()
    r = send(proto, envoy.port, "POST", CHAT, body(), headers={ec.TEAM_ROUTE_HEADER: "alpha"})
    assert_local_reply(r, 403, "team_key_missing")
    assert fake.requests == []
