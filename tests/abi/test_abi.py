"""The built .wasm through the proxy-wasm ABI, without Envoy (fake_host.py): every callback order Envoy uses,
random header bytes, random callback orders and sizes, and host calls that fail. Whatever happens: no trap, at
most one local reply, exactly one audit record per governed stream, and nothing forwarded that the policy refuses
(fail closed). Seeds are fixed: a failure names its case and reproduces.
"""
from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest
import wasmtime

from fake_host import CONTINUE, PAUSE, Host, Stream

EMAIL = "jane.doe.abi@example.org"
POLICY = {
    "hosts": ["openrouter.ai"],
    "profile_header": "x-data-classification",
    "default_profile": "main",
    "user_header": "x-user-id",
    "profiles": {"main": {
        "models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"deny": "*"}],
        "provider": {"order": ["anthropic"], "allow_fallbacks": False, "data_collection": "deny"},
        "max_tokens": 1000,
        "pii": {"builtin_defaults": False, "entities": {"EMAIL": "redact", "US_SSN": "block"}},
    }},
}
ALLOWED = json.dumps({"model": "anthropic/claude-3.5-sonnet",
                      "messages": [{"role": "user", "content": f"Mail {EMAIL} today"}]}).encode()
DENIED = json.dumps({"model": "openai/gpt-oss-20b:free", "messages": [{"role": "user", "content": "hi"}]}).encode()
BLOCKED = json.dumps({"model": "anthropic/claude-3.5-sonnet",
                      "messages": [{"role": "user", "content": "SSN 536-90-4471"}]}).encode()
MALFORMED = b'{"model": "anthropic/claude-3.5-sonnet", "messages": ['
BODIES = {"allowed": ALLOWED, "denied": DENIED, "blocked": BLOCKED, "malformed": MALFORMED}


def head(host: bytes = b"openrouter.ai", extra: list[tuple[bytes, bytes]] | None = None,
         body: bool = True) -> list[tuple[bytes, bytes]]:
    h = [(b":method", b"POST"), (b":path", b"/api/v1/chat/completions"), (b":authority", host),
         (b"x-request-id", b"abi-1")]
    if body:
        h.append((b"content-type", b"application/json"))
    return h + (extra or [])


@pytest.fixture(scope="module")
def vm() -> Host:
    h = Host(json.dumps(POLICY).encode())
    assert h.configured
    return h


def finish(s: Stream) -> dict[str, Any] | None:
    """Ends the stream like Envoy (log, then done/delete); returns its one audit record (None if ungoverned)."""
    s.log()
    s.done()
    recs = s.state.audit
    assert len(recs) <= 1, f"{len(recs)} audit records"
    return json.loads(recs[0]) if recs else None


def check_fail_closed(s: Stream, rec: dict[str, Any] | None) -> None:
    """Nothing the policy refuses was forwarded; the record agrees with what happened."""
    st = s.state
    assert st.replies <= 1, "more than one local reply"
    if st.forwarded is not None and rec is not None:
        assert st.local_reply is None
        assert EMAIL.encode() not in st.forwarded and b":free" not in st.forwarded
        assert b"536-90-4471" not in st.forwarded
        assert rec["decision"] == "allow", rec
    if rec is not None and rec["decision"] != "allow":
        assert st.forwarded is None or st.forwarded == b"<streamed>" and "filter_bypassed" in rec["reasons"]


# ---------------------------------------------------------------------------------------------- Envoy's orders


FRAMINGS = ["one_data", "two_data", "empty_final", "trailers"]


def send(s: Stream, body: bytes, framing: str) -> None:
    if s.request_headers(head(), False) != PAUSE:
        return
    parts = [body] if framing == "one_data" else [body[: len(body) // 2], body[len(body) // 2:]]
    for i, p in enumerate(parts):
        last = i == len(parts) - 1 and framing in ("one_data", "two_data")
        if s.request_body(p, last) == PAUSE and s.state.local_reply is not None:
            return
    if framing == "empty_final":
        s.request_body(b"", True)
    elif framing == "trailers":
        s.request_trailers([(b"x-checksum", b"1"), (b"x-\xff", b"\xe9")])


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("decision", list(BODIES))
def test_every_framing_decides_once_and_forwards_only_what_is_allowed(vm: Host, framing: str, decision: str) -> None:
    s = vm.stream()
    send(s, BODIES[decision], framing)
    if s.state.forwarded is not None:
        s.response_headers([(b":status", b"200"), (b"content-type", b"application/json")], False)
        s.response_body(b'{"id":"gen-1","model":"anthropic/claude-3.5-sonnet","provider":"Anthropic"}', True)
    rec = finish(s)
    assert rec is not None
    check_fail_closed(s, rec)
    if decision == "allowed":
        assert s.state.forwarded is not None
        fwd = json.loads(s.state.forwarded)
        assert fwd["provider"]["order"] == ["anthropic"] and fwd["max_tokens"] == 1000
        assert rec["decision"] == "allow" and s.state.local_reply is None
        if framing == "trailers":
            assert s.state.maps[1] == [] and "request_trailers_dropped" in rec["reasons"]
    else:
        assert s.state.forwarded is None and s.state.local_reply is not None
        assert rec["decision"] in ("deny", "reject")
    assert vm.unexpected == []


def test_bodyless_request_is_decided_on_its_headers(vm: Host) -> None:
    s = vm.stream()
    assert s.request_headers(head(body=False), True) == PAUSE  # a chat call without a body names no model
    rec = finish(s)
    assert rec is not None and s.state.local_reply is not None
    assert s.state.local_reply[0] == 400 and rec["reasons"][-1] == "model_missing"
    s = vm.stream()
    h = [(k, v) for k, v in head(body=False) if k != b":path"] + [(b":path", b"/api/v1/models")]
    assert s.request_headers(h, True) == CONTINUE
    rec = finish(s)
    assert rec is not None and rec["decision"] == "allow"


def test_a_vm_without_a_policy_refuses_every_request_with_500_as_the_core_decides() -> None:
    # Envoy creates no stream after a failed on_configure; if one comes anyway, the core's refusal
    # (core/stream/no_policy.rs) is applied: 500 `no_policy` and an error line, never a pass.
    vm = Host(json.dumps({**POLICY, "profiles": {"main": {"models": [], "no_such_field": 1}}}).encode())
    assert not vm.configured
    for _ in range(2):
        s = vm.stream()
        assert s.request_headers(head(), False) == PAUSE
        assert s.state.local_reply is not None and s.state.local_reply[0] == 500
        assert json.loads(s.state.local_reply[1])["error"]["reason"] == "no_policy"
        assert s.state.forwarded is None
    assert sum("no policy loaded; request refused" in m for _, m in vm.logs) == 2, vm.logs
    assert vm.unexpected == []


def test_hold_watch_answers_a_stream_envoy_never_hands_the_body(vm: Host) -> None:
    s = vm.stream()
    s.state.properties[(b"request", b"total_size")] = struct.pack("<Q", 300)
    assert s.request_headers(head(), False) == PAUSE
    s.state.properties[(b"request", b"total_size")] = struct.pack("<Q", 300 + len(ALLOWED))  # Envoy got the body
    vm.tick()
    assert s.state.local_reply is None, "one tick is not enough to call it stuck"
    vm.tick()
    assert s.state.local_reply is not None and s.state.local_reply[0] == 503
    assert json.loads(s.state.local_reply[1])["error"]["reason"] == "headers_not_held"
    assert any("allow_on_headers_stop_iteration" in m for _, m in vm.logs), vm.logs
    s.response_headers([(b":status", b"503")], True)  # the reply passes back through the filter
    rec = finish(s)
    assert rec["decision"] == "error" and rec["status"] == 503 and rec["reasons"][-1] == "headers_not_held"
    assert s.state.replies == 1


def test_held_stream_without_body_bytes_is_left_alone(vm: Host) -> None:
    s = vm.stream()
    s.state.properties[(b"request", b"total_size")] = struct.pack("<Q", 300)
    s.request_headers(head(), False)
    for _ in range(4):
        vm.tick()
    assert s.state.local_reply is None  # a slow client is not a missing flag
    s.request_body(ALLOWED, True)
    assert s.state.forwarded is not None
    finish(s)


# ---------------------------------------------------------------------------------------------- fuzzing


def rand_bytes(r: random.Random, n: int) -> bytes:
    pool = [b"a", b"Z", b"-", b" ", b":", b"\xe9", b"\xff", b"\xc3", b"\x80", b"\x00", b"\t", b"\xf0\x9f\x98"]
    return b"".join(r.choice(pool) for _ in range(n))


def rand_headers(r: random.Random, governed: bool) -> list[tuple[bytes, bytes]]:
    h = head(b"openrouter.ai" if governed else r.choice([b"example.com", b"openrouter.ai\xe9", b"\xff"]))
    for _ in range(r.randint(0, 6)):
        name = r.choice([b"x-title", b"x-request-id", b"content-type", b"x-data-classification", b"x-user-id",
                         b"authorization", b"content-length", b"x-" + rand_bytes(r, 3), b":path"])
        h.append((name, rand_bytes(r, r.randint(0, 12))))
    r.shuffle(h)
    return h


@pytest.mark.parametrize("seed", range(8))
def test_random_header_bytes_never_trap_and_fail_closed(vm: Host, seed: int) -> None:
    r = random.Random(seed)
    for _ in range(40):
        governed = r.random() < 0.7
        s = vm.stream()
        a = s.request_headers(rand_headers(r, governed), False)
        if a == PAUSE and s.state.local_reply is None:
            s.request_body(r.choice(list(BODIES.values())), True)
        rec = finish(s)
        check_fail_closed(s, rec)
        if s.state.local_reply is not None:
            assert json.loads(s.state.local_reply[1])["error"]["reason"]
    assert vm.unexpected == []


CALLBACKS = ["headers", "headers_eos", "body", "body_eos", "trailers", "resp_headers", "resp_body", "tick"]


@pytest.mark.parametrize("seed", range(12))
def test_random_callback_orders_and_sizes_never_trap(vm: Host, seed: int) -> None:
    """Orders Envoy would not produce, too: response headers before the request was decided (the filter lost
    control: the response must be replaced), body after trailers, repeated callbacks, log without anything."""
    r = random.Random(1000 + seed)
    for _ in range(25):
        s = vm.stream()
        body = r.choice(list(BODIES.values()))
        decided_before_response = None
        # Every stream starts with its request headers (Envoy creates the context for them); after that, anything.
        for i in range(r.randint(1, 8)):
            cb = r.choice(["headers", "headers_eos"]) if i == 0 else r.choice(CALLBACKS)
            if cb.startswith("headers"):
                s.request_headers(head(extra=[(b"x-title", rand_bytes(r, 4))]), cb == "headers_eos")
            elif cb.startswith("body"):
                cut = r.randint(0, len(body))
                s.request_body(body[:cut], cb == "body_eos")
            elif cb == "trailers":
                s.request_trailers([(b"x-t", rand_bytes(r, 3))])
            elif cb == "resp_headers":
                if decided_before_response is None:
                    decided_before_response = s.released or s.state.local_reply is not None
                s.response_headers([(b":status", r.choice([b"200", b"\xe9", b"502"])),
                                    (b"content-type", r.choice([b"application/json", b"text/event-stream",
                                                                b"\xff"]))], r.random() < 0.3)
                if not decided_before_response and s.state.maps[0]:
                    # undecided when the response came: it must not reach the client as is
                    assert s.state.local_reply is not None or s.state.reset
            elif cb == "resp_body":
                s.response_body(rand_bytes(r, r.randint(0, 40)), r.random() < 0.5)
            else:
                vm.tick()
        rec = finish(s)
        check_fail_closed(s, rec)
    assert vm.unexpected == []


FAILABLE = ["proxy_get_header_map_pairs", "proxy_get_header_map_value", "proxy_get_buffer_bytes",
            "proxy_set_buffer_bytes", "proxy_replace_header_map_value", "proxy_remove_header_map_value",
            "proxy_get_property", "proxy_set_property", "proxy_send_local_response", "proxy_log",
            "proxy_define_metric", "proxy_get_current_time_nanoseconds"]


@pytest.mark.parametrize("failing", FAILABLE)
def test_host_call_failures_fail_closed_without_a_trap(failing: str) -> None:
    """Each host call the filter makes answering BadArgument (the SDK's wrappers panic on that): no trap, and an
    allowed body is either forwarded as decided or refused — never forwarded unread."""
    vm = Host(json.dumps(POLICY).encode())
    vm.failing = {failing}
    for body in (ALLOWED, DENIED):
        s = vm.stream()
        if s.request_headers(head(), False) == PAUSE and s.state.local_reply is None:
            s.request_body(body, True)
        s.log()
        s.done()
        st = s.state
        if st.forwarded is not None:
            assert EMAIL.encode() not in st.forwarded
            assert b":free" not in st.forwarded


def test_a_trap_is_what_these_tests_would_see() -> None:
    """The harness really reports a trap (so 'no trap' above means something)."""
    vm = Host(json.dumps(POLICY).encode())
    with pytest.raises(wasmtime.Trap):
        vm.call("proxy_on_request_headers", 999_999, 0, 0)  # unknown context id: the SDK dispatcher panics


LIMITED = {**POLICY, "spend": {"limits": [{"name": "daily", "window": "day", "unit": "requests", "max": 1}]}}


def test_a_budget_is_kept_in_shared_data_and_refuses_with_retry_after() -> None:
    """One request per day: the first is forwarded and its reservation turned into a charge in `on_log`; the second
    gets 429 with Retry-After; nothing stays reserved."""
    vm = Host(json.dumps(LIMITED).encode())
    statuses = []
    for _ in range(2):
        s = vm.stream()
        assert s.request_headers(head(), False) == PAUSE
        s.request_body(ALLOWED, True)
        if s.state.forwarded is not None:
            s.state.properties[(b"upstream", b"address")] = b"127.0.0.1:443"  # Envoy sets it once connected
        rec = finish(s)
        statuses.append(s.state.local_reply[0] if s.state.local_reply else 200)
    assert statuses == [200, 429]
    assert s.state.local_reply is not None and rec is not None
    assert dict(s.state.local_reply[2]).get(b"retry-after", b"").isdigit()
    assert rec["spend"]["limits"][0]["outcome"] == "over"
    [(key, (value, _))] = vm.shared.items()
    assert key == b"openrouter_guard/limit/daily" and value.endswith(b" 1 0"), value
    assert vm.unexpected == []


@pytest.mark.parametrize("failing", ["proxy_get_shared_data", "proxy_set_shared_data"])
def test_a_failing_store_fails_closed_by_default(failing: str) -> None:
    vm = Host(json.dumps(LIMITED).encode())
    vm.failing = {failing}
    s = vm.stream()
    assert s.request_headers(head(), False) == PAUSE
    s.request_body(ALLOWED, True)
    rec = finish(s)
    assert s.state.local_reply is not None and rec is not None
    assert s.state.forwarded is None and s.state.local_reply[0] == 503
    assert rec["decision"] == "error" and rec["reasons"][-1] == "limit_store_failed", rec


MAIN: dict[str, Any] = POLICY["profiles"]["main"]  # type: ignore[index]
PRICED = {**POLICY, "profiles": {"main": {**MAIN, "max_cost_per_request": 0.05}},
          "spend": {"prices_refresh": {"cluster": "openrouter_models", "interval_s": 60, "max_age_s": 120}}}


@pytest.mark.parametrize("stored", [True, False])
def test_a_worker_uses_the_list_another_worker_stored_before_its_own_tick(stored: bool) -> None:
    """Another worker fetched the model list and stored it in shared data; this VM has not ticked since. Its next
    cost-guarded request reads the stored list (priced and forwarded) instead of refusing `prices_stale` until its
    tick; with nothing stored it is refused 503 prices_stale."""
    vm = Host(json.dumps(PRICED).encode())
    assert vm.configured
    if stored:
        listed = {"data": [{"id": "anthropic/claude-3.5-sonnet", "context_length": 200000,
                            "pricing": {"prompt": "0.000003", "completion": "0.000015"}}]}
        vm.shared[b"openrouter_guard/prices/body"] = (json.dumps(listed).encode(), 1)
        vm.shared[b"openrouter_guard/prices/fetched_at"] = (str(vm.time_ns).encode(), 2)
        vm.next_cas = 2
    s = vm.stream()
    assert s.request_headers(head(), False) == PAUSE
    s.request_body(ALLOWED, True)
    rec = finish(s)
    assert rec is not None
    if stored:
        assert s.state.local_reply is None and s.state.forwarded is not None, rec
        assert 0.015 <= rec["spend"]["cost_max_usd"] < 0.02, rec["spend"]
    else:
        assert s.state.local_reply is not None and s.state.local_reply[0] == 503, rec
        assert rec["reasons"][-1] == "prices_stale", rec
    assert vm.unexpected == []
