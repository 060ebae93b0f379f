"""The tampering matrix (issue 12 item 4): a REAL Envoy writes a keyed audit log (HMAC under a key it gets from its
environment, one chain per worker, requests over HTTP/1.1 and HTTP/2), its chain-head checkpoints are read from its
admin /stats, and every kind of tampering — delete, edit, reorder, duplicate, append, truncate, a new chain, a chain
from another Envoy — makes `tools/verify_audit.py --key-file --stats` fail, naming what it found. Also: the key is
nowhere in Envoy's config dump or output."""
from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from envoys import EnvoyFactory, make_config
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, chains_of, chat, send, verify

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "p",
    "profiles": {"p": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}]}},
}
N = 24
WRONG_KEY = b"an attacker's key, not the audit key"


def run_traffic(env: Envoy, n: int) -> list[bytes]:
    """n governed requests (half HTTP/2, some denied) from parallel clients; returns the audit file's lines."""
    def one(i: int) -> str:
        model = "meta-llama/llama-3-70b" if i % 5 == 4 else "anthropic/claude-3.5-sonnet"
        r = send("h2" if i % 2 else "h1", env.port, "POST", CHAT, chat(model))
        assert r.status in (200, 403)
        return r.rid

    with ThreadPoolExecutor(max_workers=6) as pool:
        rids = list(pool.map(one, range(n)))
    for rid in rids:
        assert env.wait_logged(rid), rid
    assert wait_until(lambda: len(env.audit_records()) >= n, 5.0)
    return env.audit_path.read_bytes().splitlines()


@pytest.fixture(scope="module")
def logs(envoy_factory: EnvoyFactory, fake_server: FakeOpenRouter,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This Envoy's log, key and stats; another Envoy's (own key) log."""
    fake_server.reset()
    env = envoy_factory(POLICY, cache=False)
    lines = run_traffic(env, N)
    other = envoy_factory(POLICY, cache=False)
    other_lines = run_traffic(other, 6)
    d = tmp_path_factory.mktemp("tamper")
    stats = d / "stats.txt"
    stats.write_text(env._admin_get("/stats"))
    assert len(lines) == N and len(chains_of(lines)) == 2
    return {"env": env, "lines": lines, "other": other, "other_lines": other_lines, "stats": stats,
            "key": env.audit_key_path}


def longest(lines: list[bytes]) -> list[int]:
    return max(chains_of(lines).values(), key=len)


def seal(line_without_mac: bytes, key: bytes = WRONG_KEY) -> bytes:
    """What an attacker without the audit key can do: a well-formed line with a mac under some other key."""
    tag = hmac.new(key, line_without_mac, hashlib.sha256).hexdigest().encode()
    return line_without_mac[:-1] + b',"mac":"' + tag + b'"}'


def unsigned(line: bytes) -> bytes:
    return line[:line.rindex(b',"mac":"')] + b"}"


def forged_record(chain: str, seq: int, prev: str, template: bytes) -> bytes:
    body = json.loads(unsigned(template))
    body.update({"chain": chain, "seq": seq, "prev": prev, "decision": "allow", "request_id": f"forged-{seq}"})
    return seal(json.dumps(body, separators=(",", ":")).encode())


# ---------------------------------------------------------------------------------------------- tamperings


def delete_middle(lg: dict[str, Any]) -> list[bytes]:
    lines = lg["lines"]
    victim = longest(lines)[len(longest(lines)) // 2]
    return lines[:victim] + lines[victim + 1:]


def delete_last(lg: dict[str, Any]) -> list[bytes]:
    lines = lg["lines"]
    victim = longest(lines)[-1]
    return lines[:victim] + lines[victim + 1:]


def delete_chain(lg: dict[str, Any]) -> list[bytes]:
    gone = set(longest(lg["lines"]))
    return [line for i, line in enumerate(lg["lines"]) if i not in gone]


def edit_middle(lg: dict[str, Any]) -> list[bytes]:
    lines = list(lg["lines"])
    victim = next(i for i in longest(lines)[1:-1] if b'"decision":"deny"' in lines[i] or b'"status":200,' in lines[i])
    lines[victim] = lines[victim].replace(b'"decision":"deny"', b'"decision":"allow"').replace(b'"status":200,',
                                                                                             b'"status":201,')
    return lines


def edit_last(lg: dict[str, Any]) -> list[bytes]:
    lines = list(lg["lines"])
    victim = longest(lines)[-1]
    lines[victim] = lines[victim].replace(b'"seq":', b'"user":"mallory","seq":')
    return lines


def edit_and_rechain(lg: dict[str, Any]) -> list[bytes]:
    """Edit a record and recompute every later prev of its chain (defeats a plain hash chain)."""
    lines = list(lg["lines"])
    idxs = longest(lines)
    start = idxs[1]
    prev = None
    for i in idxs[1:]:
        rec = json.loads(unsigned(lines[i]))
        if i == start:
            rec["decision"] = "deny" if rec["decision"] == "allow" else "allow"
        else:
            rec["prev"] = prev
        lines[i] = seal(json.dumps(rec, separators=(",", ":")).encode())
        prev = hashlib.blake2b(lines[i], digest_size=32).hexdigest()
    return lines


def reorder(lg: dict[str, Any]) -> list[bytes]:
    lines = list(lg["lines"])
    a, b = longest(lines)[1], longest(lines)[2]
    lines[a], lines[b] = lines[b], lines[a]
    return lines


def duplicate(lg: dict[str, Any]) -> list[bytes]:
    lines = lg["lines"]
    return lines + [lines[longest(lines)[1]]]


def append_forged(lg: dict[str, Any]) -> list[bytes]:
    lines = lg["lines"]
    last = lines[longest(lines)[-1]]
    rec = json.loads(last)
    return lines + [forged_record(rec["chain"], rec["seq"] + 1, hashlib.blake2b(last, digest_size=32).hexdigest(), last)]


def append_unsigned(lg: dict[str, Any]) -> list[bytes]:
    lines = lg["lines"]
    last = lines[longest(lines)[-1]]
    rec = json.loads(last)
    return lines + [unsigned(forged_record(rec["chain"], rec["seq"] + 1, hashlib.blake2b(last, digest_size=32).hexdigest(), last))]


def truncate_line(lg: dict[str, Any]) -> list[bytes]:
    lines = list(lg["lines"])
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return lines


def truncate_file(lg: dict[str, Any]) -> list[bytes]:
    return lg["lines"][:-5]


def new_chain(lg: dict[str, Any]) -> list[bytes]:
    template, out, prev = lg["lines"][0], [], "0" * 64
    for seq in (1, 2, 3):
        line = forged_record("00000000deadbeef", seq, prev, template)
        out.append(line)
        prev = hashlib.blake2b(line, digest_size=32).hexdigest()
    return lg["lines"] + out


def other_envoy_chain(lg: dict[str, Any]) -> list[bytes]:
    return lg["lines"] + lg["other_lines"]


def other_envoy_log(lg: dict[str, Any]) -> list[bytes]:
    return lg["other_lines"]


# (tampering, the problem kinds the verifier must report with --key-file and --stats)
MATRIX: list[tuple[Callable[[dict[str, Any]], list[bytes]], set[str]]] = [
    (delete_middle, {"gap"}),
    (delete_last, {"truncated"}),
    (delete_chain, {"missing chain"}),
    (edit_middle, {"forged", "gap"}),
    (edit_last, {"forged", "truncated"}),
    (edit_and_rechain, {"forged"}),
    (reorder, {"gap", "reordered"}),
    (duplicate, {"duplicate seq"}),
    (append_forged, {"forged"}),
    (append_unsigned, {"unauthenticated"}),
    (truncate_line, {"bad json", "truncated"}),
    (truncate_file, {"truncated"}),
    (new_chain, {"forged"}),
    (other_envoy_chain, {"forged"}),
    (other_envoy_log, {"forged", "missing chain"}),
]


def kinds(stdout: str) -> set[str]:
    out = set()
    for line in stdout.splitlines():
        if line.startswith(("line ", "end: ")) and ": chain " in line:
            out.add(line.split(": ")[2])
    return out


def test_the_untampered_log_verifies_with_key_and_checkpoints(logs: dict[str, Any]) -> None:
    p = verify(logs["env"].audit_path, "--key-file", logs["key"], "--stats", logs["stats"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"2 chains, {N} records, 0 lines skipped, 0 problems" in p.stdout, p.stdout
    # Straight from the admin interface too.
    p = verify(logs["env"].audit_path, "--key-file", logs["key"], "--stats", f"http://{logs['env'].admin}/stats")
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("tamper,expected", MATRIX, ids=[t.__name__ for t, _ in MATRIX])
def test_every_tampering_is_detected(logs: dict[str, Any], tmp_path: Path, tamper, expected: set[str]) -> None:
    path = tmp_path / "tampered.log"
    path.write_bytes(b"".join(line + b"\n" for line in tamper(logs)))
    p = verify(path, "--key-file", logs["key"], "--stats", logs["stats"])
    assert p.returncode == 1, p.stdout + p.stderr
    assert expected <= kinds(p.stdout), p.stdout


@pytest.mark.parametrize("tamper", [new_chain, other_envoy_chain], ids=["new_chain", "other_envoy_chain"])
def test_checkpoints_alone_catch_invented_and_foreign_chains(logs: dict[str, Any], tmp_path: Path, tamper) -> None:
    path = tmp_path / "tampered.log"
    path.write_bytes(b"".join(line + b"\n" for line in tamper(logs)))
    p = verify(path, "--stats", logs["stats"])
    assert p.returncode == 1 and "unknown chain" in kinds(p.stdout), p.stdout


def test_the_key_alone_cannot_see_a_removed_tail_the_checkpoints_can(logs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "cut.log"
    path.write_bytes(b"".join(line + b"\n" for line in delete_last(logs)))
    assert verify(path, "--key-file", logs["key"]).returncode == 0  # the documented limit of the file + key
    assert verify(path, "--key-file", logs["key"], "--stats", logs["stats"]).returncode == 1


def test_every_line_carries_a_valid_mac_and_the_key_is_nowhere_in_envoys_config_or_output(logs: dict[str, Any]) -> None:
    env: Envoy = logs["env"]
    key = logs["key"].read_bytes().strip()
    for line in logs["lines"]:
        assert line.endswith(b'"}') and b',"mac":"' in line
        want = hmac.new(key, unsigned(line), hashlib.sha256).hexdigest().encode()
        assert line.endswith(b',"mac":"' + want + b'"}')
    dump = env._admin_get("/config_dump")
    assert "OPENROUTER_GUARD_AUDIT_KEY" in dump, "the key is delivered by name (host_env_keys)"
    for text in (dump, env.stderr_text(), env.stdout_text(), env.audit_path.read_text(), env._admin_get("/stats")):
        assert key.decode() not in text


def test_a_short_audit_key_stops_the_filter_and_is_never_printed(fake_server: FakeOpenRouter, tmp_path: Path) -> None:
    env = Envoy(make_config(fake_server, POLICY), tmp_path / "short")
    env.audit_key = "too-short-key-7d2e"
    try:
        env.start(expect_ready=False)
        assert wait_until(lambda: env.proc is not None and env.proc.poll() is not None, 30.0), "Envoy kept running"
        log = env.stderr_text()
        assert "OPENROUTER_GUARD_AUDIT_KEY: the audit key must be at least 32 bytes" in log, env.log_tail()
        assert "too-short-key-7d2e" not in log + env.stdout_text()
    finally:
        env.stop()


def test_without_a_key_lines_carry_no_mac_and_envoy_warns(fake_server: FakeOpenRouter, tmp_path: Path) -> None:
    env = Envoy(make_config(fake_server, POLICY), tmp_path / "unkeyed")
    env.audit_key = None
    try:
        env.start()
        lines = run_traffic(env, 2)
        assert all(b'"mac":' not in line for line in lines)
        assert "OPENROUTER_GUARD_AUDIT_KEY not set" in env.stderr_text()
        key = tmp_path / "k"
        key.write_text("k" * 32)
        p = verify(env.audit_path, "--key-file", key)
        assert p.returncode == 1 and kinds(p.stdout) == {"unauthenticated"}, p.stdout
    finally:
        env.stop()
