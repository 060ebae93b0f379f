"""The filter's Envoy stats, read back from the admin interface after a known mix of traffic.

One dedicated Envoy for the module (nothing else talks to it), so every counter has an exact expected value:
`/stats/prometheus` with the labels the shipped `stats_tags` produce, and `/stats` with the raw
`wasmcustom.` names. The histogram is written on Envoy's stats flush (every 5 s): polled, bounded.
"""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from envoys import EnvoyFactory
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, SECRET_EMAIL, chat

ORDER = {"order": ["anthropic"], "allow_fallbacks": False}
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "m",
    "profiles": {
        "m": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": dict(ORDER)},
        "e": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": dict(ORDER), "enforce_served": True},
    },
}
MODEL = "anthropic/claude-3.5-sonnet"
BIG_USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": 0.0042}
E = {"x-data-classification": "e"}

# What the traffic below must produce, exactly (the fake's default usage is 12 / 7 tokens, $0.000123).
EXPECTED: dict[str, dict[tuple[tuple[str, str], ...], int]] = {
    "openrouter_guard_requests_total": {
        (("decision", "allow"), ("profile", "m")): 9,
        (("decision", "deny"), ("profile", "m")): 2,
        (("decision", "reject"), ("profile", "m")): 1,
        (("decision", "deny"), ("profile", "e")): 1,
    },
    "openrouter_guard_denials_total": {
        (("reason", "model_denied"),): 2,
        (("reason", "invalid_json"),): 1,
        (("reason", "served_unapproved"),): 1,
    },
    "openrouter_guard_prompt_tokens_total": {(("profile", "m"),): 3 * 100 + 4 * 12, (("profile", "e"),): 12},
    "openrouter_guard_completion_tokens_total": {(("profile", "m"),): 3 * 20 + 4 * 7, (("profile", "e"),): 7},
    "openrouter_guard_cost_microdollars_total": {(("profile", "m"),): 3 * 4200 + 4 * 123, (("profile", "e"),): 123},
    "openrouter_guard_provider_verification_failures_total": {
        (("profile", "m"), ("reason", "not_in_order")): 1,
        (("profile", "m"), ("reason", "model_denied")): 1,
        (("profile", "e"), ("reason", "not_in_order")): 1,
    },
    "openrouter_guard_parse_failures_total": {(("kind", "request"),): 1, (("kind", "response"),): 1},
    "openrouter_guard_redactions_total": {(("entity", "EMAIL"), ("action", "redact")): 1},
    "openrouter_guard_audit_records_total": {(): 13},
}
GOVERNED_REQUESTS = 13
SAMPLE = re.compile(r"^(openrouter_guard_\w+)\{([^}]*)\} (\S+)$")


def prometheus(env: Envoy) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """openrouter_guard_* samples of /stats/prometheus: name -> {labels (in order) -> value}."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for line in env._admin_get("/stats/prometheus").splitlines():
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = tuple((k, v.strip('"')) for k, _, v in (p.partition("=") for p in m.group(2).split(",") if p))
        out.setdefault(m.group(1), {})[labels] = float(m.group(3))
    return out


@pytest.fixture(scope="module")
def menv(envoy_factory: EnvoyFactory, fake_server: FakeOpenRouter) -> Envoy:
    """The module's Envoy, after the known traffic; every request waited for until Envoy logged it."""
    env = envoy_factory(POLICY)
    fake = fake_server
    fake.reset()

    def send(body: Any, script: Script | None = None, headers: dict[str, str] | None = None, status: int = 200,
             **kw: Any) -> None:
        if script is not None:
            fake.script(script)
        r = env.http("POST", CHAT, body, headers=headers, **kw)
        assert r.status == status, (r.status, r.body[:200])
        assert env.wait_logged(r.rid), f"Envoy never logged {r.rid}"

    for _ in range(3):  # allow m: 3 x (100, 20, 4200)
        send(chat(MODEL), Script(usage=BIG_USAGE))
    send(chat(MODEL, stream=True))  # allow m, SSE: (12, 7, 123)
    send(chat("openai/gpt-4o"), status=403)  # deny m, model_denied
    send(chat("meta-llama/llama-3-70b"), status=403)  # deny m, model_denied
    send(b'{"model": "anthropic/claude-3.5-sonnet", "messages": [', status=400)  # reject m, invalid_json
    send(chat(MODEL), Script(provider="DeepInfra"))  # allow m, flagged not_in_order: (12, 7, 123)
    send(chat(MODEL), Script(model="openai/gpt-4o"))  # allow m, flagged model_denied: (12, 7, 123)
    send(chat(MODEL), Script(body=b"{not json"))  # allow m, response parse failure, no usage
    send({"model": MODEL, "messages": [{"role": "user", "content": f"mail {SECRET_EMAIL}"}]})  # allow m, EMAIL
    assert SECRET_EMAIL.encode() not in fake.requests[-1].body, "default PII config must redact the email"
    send(chat(MODEL), Script(status=429), status=429)  # allow m, upstream error, no usage
    send(chat(MODEL), Script(provider="DeepInfra"), headers=E, status=502)  # allow e, withheld: (12, 7, 123)
    # Not governed: counts nowhere.
    r = env.http("GET", "/passthrough/anything", host="example.com")
    assert r.status == 200
    # Every governed request but the 3 refused ones reached the upstream, plus the ungoverned one.
    assert len(fake.requests) == GOVERNED_REQUESTS - 3 + 1
    assert wait_until(lambda: len(env.audit_records()) >= GOVERNED_REQUESTS, 5.0)
    return env


CHAIN_GAUGE = "openrouter_guard_audit_chain_last_seq"


def test_prometheus_counters_have_exact_values_and_labels(menv: Envoy) -> None:
    got = {name: samples for name, samples in prometheus(menv).items()
           if not name.startswith(("openrouter_guard_filter_duration_us", CHAIN_GAUGE))}
    assert got == EXPECTED


def test_chain_head_gauges_sum_to_the_sealed_records(menv: Envoy) -> None:
    """One checkpoint gauge per audit chain (one chain per worker, --concurrency 2), labelled with its id, at the
    chain's last seq: together they count every sealed record."""
    gauges = prometheus(menv)[CHAIN_GAUGE]
    assert 1 <= len(gauges) <= 2 and all(len(lbl) == 1 and lbl[0][0] == "chain" for lbl in gauges), gauges
    assert sum(gauges.values()) == GOVERNED_REQUESTS
    last: dict[str, int] = {}
    for rec in menv.audit_records():
        last[rec["chain"]] = max(last.get(rec["chain"], 0), rec["seq"])
    assert {lbl[0][1]: v for lbl, v in gauges.items()} == last


def test_raw_stat_names_carry_the_labels_in_the_name(menv: Envoy) -> None:
    raw = {}
    for line in menv._admin_get("/stats?filter=openrouter_guard").splitlines():
        k, _, v = line.partition(": ")
        if k.startswith("wasmcustom.") and v.strip().isdigit() and not k.startswith("wasmcustom." + CHAIN_GAUGE):
            raw[k] = int(v)
    expected = {}
    for name, samples in EXPECTED.items():
        for labels, value in samples.items():
            expected["wasmcustom." + name + "".join(f".{k}.{v}" for k, v in labels)] = value
    assert raw == expected


def test_redactions_counter_counts_a_planted_email_under_the_default_pii_config(menv: Envoy) -> None:
    assert prometheus(menv)["openrouter_guard_redactions_total"] == {(("entity", "EMAIL"), ("action", "redact")): 1}
    [rec] = [r for r in menv.audit_records() if r["redactions"]]
    assert rec["redactions"] == {"EMAIL": {"redact": 1}} and SECRET_EMAIL not in json.dumps(rec)


def test_nothing_failed_closed(menv: Envoy) -> None:
    assert "openrouter_guard_fail_closed_total" not in prometheus(menv)
    assert not any(k.startswith("wasmcustom.openrouter_guard_fail_closed_total") for k in menv.stats())


def test_audit_counter_matches_the_audit_file(menv: Envoy) -> None:
    recs = menv.audit_records()
    assert len(recs) == GOVERNED_REQUESTS
    assert menv.stats()["wasmcustom.openrouter_guard_audit_records_total"] == len(recs)
    by_decision: dict[tuple[str, str], int] = {}
    for rec in recs:
        key = (rec["decision"], rec["profile"])
        by_decision[key] = by_decision.get(key, 0) + 1
    assert {((("decision", d), ("profile", p))): n for (d, p), n in by_decision.items()} == \
        EXPECTED["openrouter_guard_requests_total"]
    assert sum(r["prompt_tokens"] or 0 for r in recs if r["profile"] == "m") == \
        EXPECTED["openrouter_guard_prompt_tokens_total"][(("profile", "m"),)]


def test_filter_duration_histogram_is_published(menv: Envoy) -> None:
    """One observation per governed request; shows up at the next stats flush (5 s), so poll, bounded."""
    def count() -> float | None:
        return prometheus(menv).get("openrouter_guard_filter_duration_us_count", {}).get(())

    assert wait_until(lambda: count() == GOVERNED_REQUESTS, 15.0, 0.25), f"histogram count {count()}"
    samples = prometheus(menv)
    buckets = samples["openrouter_guard_filter_duration_us_bucket"]
    assert buckets[(("le", "+Inf"),)] == GOVERNED_REQUESTS
    values = [v for _, v in sorted(((float(lbl[0][1]), v) for lbl, v in buckets.items()))]
    assert values == sorted(values), "buckets must be cumulative"
    assert samples["openrouter_guard_filter_duration_us_sum"][()] > 0
    raw = menv._admin_get("/stats?filter=openrouter_guard_filter_duration_us")
    assert "wasmcustom.openrouter_guard_filter_duration_us: P0(" in raw
