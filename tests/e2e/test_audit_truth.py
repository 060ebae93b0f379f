"""What the audit record (and Envoy's own logs) may carry, through the real Envoy over HTTP/1.1 and HTTP/2
(issue 12):

- no client-controlled text in clear: PII planted in every client-controlled header, path part and body field
  never reaches an audit line, Envoy's operator log or Envoy's application log (only grammar-checked values,
  the trusted user header, or hashes do);
- requests refused in the header step still say who asked and under which profile, and are counted under it;
- usage figures from the upstream are bounded: an absurd or negative figure is recorded as suspect text, counted,
  and never reaches the token or cost counters.
"""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from harness.client import Resp
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, chat, send

MARK = "piisweep7c1"
EMAIL = f"alice.{MARK}@example.com"
USER = "alice-e2e"  # the trusted user header: recorded as sent, by design
MAX_BODY = 4096
POLICY: dict[str, Any] = {
    "hosts": ["openrouter.ai"],
    "clusters": ["openrouter"],
    "default_profile": "team",
    "profile_header": "x-data-classification",
    "user_header": "x-user-id",
    "unknown_endpoints": "reject",
    "max_body_bytes": MAX_BODY,
    "profiles": {
        "team": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}]},
        "locked": {"models": [{"allow": "anthropic/*"}], "reject_client_keys": True},
    },
}
PROTOS = ["h1", "h2"]


def hashed(raw: str) -> str:
    return "sha256-" + hashlib.sha256(raw.encode()).hexdigest()


def record_of(envoy: Envoy, resp: Resp, mark: int) -> dict[str, Any]:
    """The one audit record of `resp`, found by the request id as recorded (hashed when it was not a plain id)."""
    rid = resp.rid if all(c.isalnum() or c in "._-" for c in resp.rid) and len(resp.rid) <= 128 else hashed(resp.rid)
    assert envoy.wait_logged(rid), f"Envoy never logged request {rid}"
    recs = wait_until(lambda: [r for r in envoy.audit_records(mark) if r.get("request_id") == rid], 2.0)
    assert recs and len(recs) == 1, f"expected one audit record for {rid}, got {recs}"
    return recs[0]


# ---------------------------------------------------------------------------------------------- PII sweep


def pii_requests() -> list[tuple[str, str, str, Any, dict[str, str], int]]:
    """(name, method, path, body, headers, expected status): PII in every client-controlled place."""
    every_header = {
        "user-agent": f"agent {EMAIL}", "referer": f"http://x/{EMAIL}", "cookie": f"s={EMAIL}",
        "x-custom": EMAIL, "accept-language": EMAIL, "x-forwarded-client": EMAIL,
    }
    body = chat(user=EMAIL, metadata={"email": EMAIL}, stop=[EMAIL], tools=[], transforms=[], seed=1)
    body["messages"] = [{"role": "user", "content": EMAIL, "name": MARK}]
    body["provider"] = {"order": ["anthropic"], "ignore": [EMAIL]}
    return [
        ("allowed", "POST", f"{CHAT}?q={EMAIL}", body, every_header, 200),
        # `;parameters` are refused by the path normaliser (400 invalid_path): recorded only as a hash.
        ("param-path", "POST", f"{CHAT};{EMAIL}?q={EMAIL}", body, every_header, 400),
        ("denied", "POST", CHAT, {**body, "model": "meta-llama/llama-3-70b"}, every_header, 403),
        ("model", "POST", CHAT, {**body, "model": EMAIL}, {}, 400),
        ("models", "POST", CHAT, {**body, "models": ["anthropic/x", EMAIL]}, {}, 400),
        ("preset", "POST", CHAT, {**body, "preset": EMAIL}, {}, 400),
        ("bad-json", "POST", CHAT, '{"model":"' + EMAIL + '", ', {}, 400),
        ("profile", "POST", CHAT, body, {"x-data-classification": EMAIL}, 400),
        ("extra-segment", "POST", f"{CHAT}/{EMAIL}", body, {}, 404),
        ("preset-path", "POST", f"/api/v1/presets/{EMAIL}/chat/completions", body, {}, 400),
        ("content-type", "POST", CHAT, body, {"content-type": f"text/{EMAIL}"}, 415),
        ("encoding", "POST", CHAT, body, {"content-encoding": EMAIL}, 415),
        ("key", "POST", CHAT, body, {"x-data-classification": "locked", "authorization": f"Bearer {EMAIL}"}, 403),
        ("escaped-path", "POST", "/api/v1/chat%2Fcompletions%3B" + EMAIL.replace("@", "%40"), body, {}, 400),
    ]


@pytest.mark.parametrize("proto", PROTOS)
def test_no_client_controlled_value_reaches_the_audit_or_envoys_logs(envoy: Envoy, fake: FakeOpenRouter,
                                                                     proto: str) -> None:
    mark = envoy.audit_size()
    out_mark, err_mark = len(envoy.stdout_text()), len(envoy.stderr_text())
    records = []
    for i, (name, method, path, body, headers, status) in enumerate(pii_requests()):
        rid = f"ticket {EMAIL} #{i}"
        r = send(proto, envoy.port, method, path, body, headers={**headers, "x-request-id": rid})
        assert r.status == status, (name, r.status, r.body[:200])
        rec = record_of(envoy, r, mark)
        assert rec["request_id"] == hashed(rid), name
        records.append((name, rec))
    audit = envoy.audit_path.read_bytes()[mark:]
    assert audit.count(b"\n") == len(records)
    for text, where in ((audit.decode(), "audit log"), (envoy.stdout_text()[out_mark:], "Envoy stdout"),
                        (envoy.stderr_text()[err_mark:], "Envoy stderr (operator + application log)")):
        assert MARK not in text, f"planted PII reached the {where}"
        assert "example.com" not in text, f"planted PII reached the {where}"
    by_name = dict(records)
    allowed = by_name["allowed"]
    assert (allowed["path"], allowed["path_sha256"]) == (CHAT, None), allowed
    param = by_name["param-path"]
    assert (param["path"], param["path_sha256"]) == (None, hashlib.sha256(f"{CHAT};{EMAIL}".encode()).hexdigest())
    assert "invalid_path" in param["reasons"] and param["user"] is None, param
    escaped = by_name["escaped-path"]
    assert escaped["path"] is None and escaped["path_sha256"] and "invalid_path" in escaped["reasons"], escaped
    assert allowed["user"] == hashed(EMAIL) and allowed["user_source"] == "body"
    assert by_name["denied"]["user"] == hashed(EMAIL) and by_name["denied"]["decision"] == "deny"
    assert by_name["extra-segment"]["path"] is None and by_name["extra-segment"]["path_sha256"]
    assert by_name["preset-path"]["path"] == "/api/v1/presets/-/chat/completions"
    assert by_name["profile"]["profile"] is None and "unknown_profile" in by_name["profile"]["reasons"]
    # The upstream got the hashed request id, not the planted one.
    assert [q.header("x-request-id") for q in fake.requests] == [allowed["request_id"]]


# ---------------------------------------------------------------------------------------------- who, when refused


def header_refusals() -> list[tuple[str, str, Any, dict[str, str], int, str, str]]:
    big = chat(messages=[{"role": "user", "content": "x" * (MAX_BODY + 100)}])
    return [
        ("client_key_rejected", CHAT, chat(), {"x-data-classification": "locked", "authorization": "Bearer sk-x"},
         403, "deny", "locked"),
        ("unsupported_media_type", CHAT, chat(), {"content-type": "text/plain"}, 415, "reject", "team"),
        ("unsupported_encoding", CHAT, chat(), {"content-encoding": "br"}, 415, "reject", "team"),
        ("unknown_endpoint", "/api/v1/unknown", chat(), {}, 404, "reject", "team"),
        ("invalid_path", f"{CHAT};x", chat(), {}, 400, "reject", "team"),
        ("body_too_large", CHAT, big, {}, 413, "reject", "team"),
    ]


def requests_counter(envoy: Envoy, decision: str, profile: str) -> int:
    return envoy.stats().get(f"wasmcustom.openrouter_guard_requests_total.decision.{decision}.profile.{profile}", 0)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("reason,path,body,headers,status,decision,profile", header_refusals(),
                         ids=[c[0] for c in header_refusals()])
def test_refusals_in_the_header_step_record_who_and_count_under_the_profile(
        envoy: Envoy, fake: FakeOpenRouter, proto: str, reason: str, path: str, body: Any, headers: dict[str, str],
        status: int, decision: str, profile: str) -> None:
    mark = envoy.audit_size()
    before, before_none = requests_counter(envoy, decision, profile), requests_counter(envoy, decision, "none")
    r = send(proto, envoy.port, "POST", path, body, headers={**headers, "x-user-id": USER})
    assert r.status == status, r.body[:300]
    rec = record_of(envoy, r, mark)
    assert reason in rec["reasons"] and rec["decision"] == decision, rec
    assert (rec["profile"], rec["user"], rec["user_source"]) == (profile, USER, "header"), rec
    assert fake.requests == []
    assert wait_until(lambda: requests_counter(envoy, decision, profile) == before + 1, 5.0)
    assert requests_counter(envoy, decision, "none") == before_none


@pytest.mark.parametrize("proto", PROTOS)
def test_an_unknown_profile_is_null_and_counted_under_none_with_the_user_kept(envoy: Envoy, fake: FakeOpenRouter,
                                                                              proto: str) -> None:
    mark = envoy.audit_size()
    r = send(proto, envoy.port, "POST", CHAT, chat(), headers={"x-data-classification": "nope", "x-user-id": USER})
    assert r.status == 400
    rec = record_of(envoy, r, mark)
    assert (rec["profile"], rec["user"], rec["reasons"]) == (None, USER, ["unknown_profile"]), rec


# ---------------------------------------------------------------------------------------------- usage bounds


def counters(envoy: Envoy) -> dict[str, int]:
    names = {k: f"wasmcustom.openrouter_guard_{k}_total.profile.team"
             for k in ("prompt_tokens", "completion_tokens", "cost_microdollars")}
    stats = envoy.stats()
    out = {k: stats.get(v, 0) for k, v in names.items()}
    for field in ("prompt_tokens", "completion_tokens", "total_tokens", "cost"):
        out[f"suspect.{field}"] = stats.get(f"wasmcustom.openrouter_guard_usage_suspect_total.kind.{field}", 0)
    return out


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_implausible_usage_is_recorded_as_suspect_and_never_counted(envoy: Envoy, fake: FakeOpenRouter,
                                                                    proto: str, stream: bool) -> None:
    mark = envoy.audit_size()
    before = counters(envoy)
    usage = {"prompt_tokens": 2**64 - 1, "completion_tokens": 5, "total_tokens": -1, "cost": 1e300}
    fake.script(Script(usage=usage), Script(usage={"prompt_tokens": 3, "completion_tokens": 4, "cost": -0.5}))
    r1 = send(proto, envoy.port, "POST", CHAT, chat(stream=stream))
    r2 = send(proto, envoy.port, "POST", CHAT, chat(stream=stream))
    assert (r1.status, r2.status) == (200, 200)
    rec1, rec2 = record_of(envoy, r1, mark), record_of(envoy, r2, mark)
    assert (rec1["prompt_tokens"], rec1["completion_tokens"], rec1["total_tokens"], rec1["cost"]) == (None, 5, None, None)
    assert rec1["usage_suspect"] == {"prompt_tokens": str(2**64 - 1), "total_tokens": "-1", "cost": "1e+300"}, rec1
    assert (rec2["prompt_tokens"], rec2["completion_tokens"], rec2["cost"]) == (3, 4, None)
    assert rec2["usage_suspect"] == {"cost": "-0.5"}, rec2

    def delta() -> dict[str, int]:
        now = counters(envoy)
        return {k: now[k] - before[k] for k in now}

    want = {"prompt_tokens": 3, "completion_tokens": 9, "cost_microdollars": 0, "suspect.prompt_tokens": 1,
            "suspect.completion_tokens": 0, "suspect.total_tokens": 1, "suspect.cost": 2}
    assert wait_until(lambda: delta() == want, 5.0), delta()


@pytest.mark.parametrize("proto", PROTOS)
def test_plausible_usage_is_counted_and_has_no_suspect(envoy: Envoy, fake: FakeOpenRouter, proto: str) -> None:
    mark = envoy.audit_size()
    before = counters(envoy)
    fake.script(Script(usage={"prompt_tokens": 100_000_000, "completion_tokens": 0, "cost": 1000}))
    r = send(proto, envoy.port, "POST", CHAT, chat())
    rec = record_of(envoy, r, mark)
    assert (rec["prompt_tokens"], rec["cost"], rec["usage_suspect"]) == (100_000_000, 1000, None), rec
    assert wait_until(lambda: counters(envoy)["cost_microdollars"] - before["cost_microdollars"] == 1_000_000_000, 5.0)
    assert counters(envoy)["prompt_tokens"] - before["prompt_tokens"] == 100_000_000
