"""The audit hash chain as a real Envoy writes it: one chain per worker VM (`--concurrency 2`: two chains),
verified by `tools/verify_audit.py`, and tampering (a deleted line, an edited field, a replayed line, swapped
lines, a cut chain end) detected by it or by the sealed-records counter."""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from envoys import EnvoyFactory
from harness.envoy import Envoy
from harness.proc import wait_until
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, chains_of, chat, verify

GENESIS = "0" * 64
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "p",
    "profiles": {"p": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}]}},
}
N = 40  # governed requests; each on its own connection, from parallel clients, so both workers get some


@pytest.fixture(scope="module")
def chained(envoy_factory: EnvoyFactory, fake_server: FakeOpenRouter) -> tuple[Envoy, list[bytes]]:
    """A fresh Envoy (its chains start at seq 1 in its own file) after N governed requests and a few
    ungoverned ones; returns it and the raw lines of its audit file."""
    env = envoy_factory(POLICY)
    fake_server.reset()

    def one(i: int) -> tuple[str, int]:
        if i % 5 == 4:
            r = env.http("POST", CHAT, chat("meta-llama/llama-3-70b"))  # denied: audited too
        else:
            r = env.http("POST", CHAT, chat(stream=i % 3 == 0))
        return r.rid, r.status

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(N)))
        ungoverned = list(pool.map(lambda _: env.http("GET", "/passthrough/x", host="example.com").status, range(4)))
    assert ungoverned == [200] * 4
    assert sorted({s for _, s in results}) == [200, 403]
    for rid, _ in results:
        assert env.wait_logged(rid), f"Envoy never logged {rid}"
    assert wait_until(lambda: len(env.audit_records()) >= N, 5.0)
    lines = env.audit_path.read_bytes().splitlines()
    assert len(lines) == N, f"{len(lines)} audit lines for {N} governed requests"
    return env, lines


def tampered(tmp_path: Path, lines: list[bytes], name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(b"".join(line + b"\n" for line in lines))
    return p


def middle_of_a_chain(lines: list[bytes]) -> int:
    """Index of a record that has a successor in its chain (so its deletion or edit is visible)."""
    longest = max(chains_of(lines).values(), key=len)
    assert len(longest) >= 3
    return longest[len(longest) // 2]


# ---------------------------------------------------------------------------------------------- as written


def test_every_line_is_sealed_and_each_chain_counts_from_one(chained) -> None:
    env, lines = chained
    chains = chains_of(lines)
    assert len(chains) == 2, f"expected one chain per worker (--concurrency 2), got {len(chains)}"
    for chain_id, idxs in chains.items():
        assert len(chain_id) == 16 and all(c in "0123456789abcdef" for c in chain_id)
        prev = GENESIS
        for expected_seq, i in enumerate(idxs, start=1):
            line = lines[i]
            assert line.startswith(b'{"chain":"%s","seq":%d,"prev":"' % (chain_id.encode(), expected_seq)), line[:120]
            rec = json.loads(line)
            assert list(rec)[:3] == ["chain", "seq", "prev"]
            assert rec["seq"] == expected_seq and rec["prev"] == prev, (chain_id, expected_seq)
            prev = hashlib.blake2b(line, digest_size=32).hexdigest()
    assert len({json.loads(line)["request_id"] for line in lines}) == len(lines), "one line per request"


def test_verifier_accepts_the_log_and_reports_both_chains(chained) -> None:
    env, lines = chained
    p = verify(env.audit_path)
    assert p.returncode == 0, p.stdout + p.stderr
    chains = chains_of(lines)
    for chain_id, idxs in chains.items():
        assert f"chain {chain_id}: {len(idxs)} records, seq 1..{len(idxs)}" in p.stdout, p.stdout
        assert f"chain {chain_id}: {len(idxs)} records" in p.stdout
    assert f"2 chains, {N} records, 0 lines skipped, 0 problems; sum of last seqs {N}" in p.stdout, p.stdout


def test_sum_of_last_seqs_equals_the_sealed_records_counter(chained) -> None:
    env, lines = chained
    last: dict[str, int] = {}
    for line in lines:
        rec = json.loads(line)
        last[rec["chain"]] = max(last.get(rec["chain"], 0), rec["seq"])
    counter = env.stats()["wasmcustom.openrouter_guard_audit_records_total"]
    assert sum(last.values()) == counter == N


# ---------------------------------------------------------------------------------------------- tampered copies


def test_a_deleted_line_is_a_gap(chained, tmp_path: Path) -> None:
    _, lines = chained
    victim = middle_of_a_chain(lines)
    chain_id, seq = json.loads(lines[victim])["chain"], json.loads(lines[victim])["seq"]
    p = verify(tampered(tmp_path, lines[:victim] + lines[victim + 1:], "deleted.log"))
    assert p.returncode == 1, p.stdout
    assert f"chain {chain_id}: gap: seq {seq} missing" in p.stdout, p.stdout


@pytest.mark.parametrize("field,old,new", [("status", b'"status":200,', b'"status":201,'),
                                           ("decision", b'"decision":"deny"', b'"decision":"allow"')])
def test_an_edited_field_is_detected(chained, tmp_path: Path, field: str, old: bytes, new: bytes) -> None:
    _, lines = chained
    chains = chains_of(lines)
    # A record with a successor in its chain that has the field value to change.
    victim = next(i for idxs in chains.values() for i in idxs[:-1] if old in lines[i])
    edited = list(lines)
    edited[victim] = lines[victim].replace(old, new, 1)
    assert json.loads(edited[victim])[field] != json.loads(lines[victim])[field]
    p = verify(tampered(tmp_path, edited, "edited.log"))
    assert p.returncode == 1, p.stdout
    assert ": edited: prev does not match line %d" % (victim + 1) in p.stdout, p.stdout
    assert "gap" not in p.stdout


def test_a_replayed_line_is_a_duplicate_seq(chained, tmp_path: Path) -> None:
    _, lines = chained
    victim = middle_of_a_chain(lines)
    p = verify(tampered(tmp_path, lines + [lines[victim]], "replayed.log"))
    assert p.returncode == 1 and "duplicate seq" in p.stdout, p.stdout


def test_swapped_lines_of_one_chain_are_detected(chained, tmp_path: Path) -> None:
    _, lines = chained
    idxs = max(chains_of(lines).values(), key=len)
    a, b = idxs[1], idxs[2]
    swapped = list(lines)
    swapped[a], swapped[b] = lines[b], lines[a]
    p = verify(tampered(tmp_path, swapped, "swapped.log"))
    assert p.returncode == 1 and "gap" in p.stdout and "reordered" in p.stdout, p.stdout


def test_a_cut_chain_end_is_seen_only_by_the_counter(chained, tmp_path: Path) -> None:
    env, lines = chained
    last_of_a_chain = max(chains_of(lines).values(), key=len)[-1]
    cut = lines[:last_of_a_chain] + lines[last_of_a_chain + 1:]
    p = verify(tampered(tmp_path, cut, "cut.log"))
    assert p.returncode == 0, p.stdout  # the documented limit of the file alone
    counter = env.stats()["wasmcustom.openrouter_guard_audit_records_total"]
    assert f"sum of last seqs {counter - 1} " in p.stdout, p.stdout
