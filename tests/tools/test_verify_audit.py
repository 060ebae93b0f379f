"""tools/verify_audit.py against lines sealed by the real Rust chain code
(examples/audit_chain_demo.rs: two interleaved chains plus `-` lines)."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERIFY = ROOT / "tools" / "verify_audit.py"
PER_CHAIN = 6
CHAIN_A, CHAIN_B = "0123456789abcdef", "fedcba9876543210"


@pytest.fixture(scope="session")
def demo_lines():
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--example", "audit_chain_demo", "--", str(PER_CHAIN)],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout
    lines = out.splitlines(keepends=True)
    assert sum(1 for line in lines if line.startswith(b"{")) == 2 * PER_CHAIN
    return lines


def verify(tmp_path, lines, *args):
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(lines))
    run = subprocess.run([sys.executable, str(VERIFY), *args, str(log)],
                         capture_output=True, text=True)
    return run.returncode, run.stdout


def index_of(lines, chain, seq):
    for i, line in enumerate(lines):
        if line.startswith(b"{"):
            rec = json.loads(line)
            if rec["chain"] == chain and rec["seq"] == seq:
                return i
    raise LookupError((chain, seq))


def problems(stdout):
    return [line for line in stdout.splitlines() if line.startswith("line ")]


def test_it_accepts_an_untouched_log_and_reports_each_chain(tmp_path, demo_lines):
    code, out = verify(tmp_path, demo_lines)
    assert code == 0, out
    assert problems(out) == []
    assert f"chain {CHAIN_A}: {PER_CHAIN} records, seq 1..{PER_CHAIN}" in out
    assert f"chain {CHAIN_B}: {PER_CHAIN} records, seq 1..{PER_CHAIN}" in out
    skipped = sum(1 for line in demo_lines if line.strip() == b"-")
    assert skipped > 0 and f"{skipped} lines skipped" in out
    assert f"sum of last seqs {2 * PER_CHAIN}" in out


def test_it_accepts_crlf_line_ends(tmp_path, demo_lines):
    code, out = verify(tmp_path, [line.replace(b"\n", b"\r\n") for line in demo_lines])
    assert code == 0, out


def test_it_detects_a_deleted_line_as_a_gap(tmp_path, demo_lines):
    lines = list(demo_lines)
    del lines[index_of(lines, CHAIN_A, 3)]
    code, out = verify(tmp_path, lines)
    assert code == 1
    [p] = problems(out)
    assert f"chain {CHAIN_A}: gap: seq 3 missing" in p


def test_it_detects_an_edited_line_at_the_next_line_of_its_chain(tmp_path, demo_lines):
    lines = list(demo_lines)
    i = index_of(lines, CHAIN_B, 2)
    assert b'"profile":"internal"' in lines[i]
    lines[i] = lines[i].replace(b'"profile":"internal"', b'"profile":"public"')
    code, out = verify(tmp_path, lines)
    assert code == 1
    [p] = problems(out)
    assert f"line {index_of(lines, CHAIN_B, 3) + 1}: chain {CHAIN_B}: edited" in p
    assert f"line {i + 1} (seq 2)" in p


def test_it_detects_two_swapped_lines_of_one_chain(tmp_path, demo_lines):
    lines = list(demo_lines)
    i, j = index_of(lines, CHAIN_A, 2), index_of(lines, CHAIN_A, 4)
    lines[i], lines[j] = lines[j], lines[i]
    code, out = verify(tmp_path, lines)
    assert code == 1
    kinds = {p.split(": ")[2] for p in problems(out)}
    assert {"gap", "reordered"} <= kinds


def test_it_detects_a_duplicated_line(tmp_path, demo_lines):
    lines = list(demo_lines)
    lines.append(lines[index_of(lines, CHAIN_B, 1)])
    code, out = verify(tmp_path, lines)
    assert code == 1
    [p] = problems(out)
    assert "duplicate seq" in p


def test_it_reports_a_truncated_record_as_bad_json(tmp_path, demo_lines):
    lines = list(demo_lines)
    i = index_of(lines, CHAIN_A, 5)
    lines[i] = lines[i][:80] + b"\n"
    code, out = verify(tmp_path, lines)
    assert code == 1
    kinds = [p.split(": ")[2] for p in problems(out)]
    assert kinds[0] == "bad json" and "gap" in kinds


def test_it_cannot_see_a_deleted_last_line_but_reports_the_lower_last_seq(tmp_path, demo_lines):
    lines = list(demo_lines)
    del lines[index_of(lines, CHAIN_B, PER_CHAIN)]
    code, out = verify(tmp_path, lines)
    assert code == 0
    assert f"chain {CHAIN_B}: {PER_CHAIN - 1} records, seq 1..{PER_CHAIN - 1}" in out
    assert f"sum of last seqs {2 * PER_CHAIN - 1}" in out


def test_it_flags_a_log_starting_mid_chain_unless_told_it_was_rotated(tmp_path, demo_lines):
    lines = list(demo_lines)
    del lines[: index_of(lines, CHAIN_A, 3)]
    code, out = verify(tmp_path, lines)
    assert code == 1 and "chain starts at seq 3" in out
    code, out = verify(tmp_path, lines, "--allow-partial-start")
    assert code == 0, out


def test_it_exits_2_on_a_missing_file(tmp_path):
    run = subprocess.run([sys.executable, str(VERIFY), str(tmp_path / "nope.log")],
                         capture_output=True, text=True)
    assert run.returncode == 2


def test_it_reads_checkpoints_from_envoy_text_stats_and_prometheus_output(tmp_path, demo_lines):
    import verify_audit

    text = tmp_path / "stats.txt"
    text.write_text(f"wasmcustom.openrouter_guard_audit_chain_last_seq.chain.{CHAIN_A}: {PER_CHAIN}\n"
                    f"wasmcustom.openrouter_guard_audit_records_total: {2 * PER_CHAIN}\n"
                    f"wasmcustom.openrouter_guard_audit_chain_last_seq.chain.{CHAIN_B}: {PER_CHAIN}\n")
    prom = tmp_path / "stats.prom"
    prom.write_text("# TYPE envoy_openrouter_guard_audit_chain_last_seq gauge\n"
                    f'envoy_openrouter_guard_audit_chain_last_seq{{chain="{CHAIN_A}"}} {PER_CHAIN}\n'
                    f'envoy_openrouter_guard_audit_chain_last_seq{{chain="{CHAIN_B}"}} {PER_CHAIN + 2}\n')
    assert verify_audit.read_checkpoints(str(text)) == {CHAIN_A: PER_CHAIN, CHAIN_B: PER_CHAIN}
    code, out = verify(tmp_path, demo_lines, "--stats", str(text))
    assert code == 0 and "checked against 2 checkpoints" in out, out
    code, out = verify(tmp_path, demo_lines, "--stats", str(prom))
    assert code == 1 and f"end: chain {CHAIN_B}: truncated: seq {PER_CHAIN + 1}..{PER_CHAIN + 2} missing" in out, out


def test_it_refuses_a_short_key(tmp_path, demo_lines):
    key = tmp_path / "k"
    key.write_text("short\n")
    code, _ = verify(tmp_path, demo_lines, "--key-file", str(key))
    assert code == 2


def test_with_a_key_unkeyed_demo_lines_are_unauthenticated(tmp_path, demo_lines):
    key = tmp_path / "k"
    key.write_text("k" * 32)
    code, out = verify(tmp_path, demo_lines, "--key-file", str(key))
    assert code == 1 and "unauthenticated" in out


def test_it_reads_checkpoints_from_an_admin_interface_on_a_unix_socket(tmp_path, demo_lines):
    import http.server
    import socketserver
    import threading

    body = (f"wasmcustom.openrouter_guard_audit_chain_last_seq.chain.{CHAIN_A}: {PER_CHAIN}\n"
            f"wasmcustom.openrouter_guard_audit_chain_last_seq.chain.{CHAIN_B}: {PER_CHAIN - 1}\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(socketserver.UnixStreamServer):
        def get_request(self):
            sock, _ = super().get_request()
            return sock, ("local", 0)

    sock = tmp_path / "admin.sock"
    with Server(str(sock), Handler) as server:
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        try:
            code, out = verify(tmp_path, demo_lines, "--stats", f"unix:{sock}")
        finally:
            server.shutdown()
    assert code == 1 and f"end: chain {CHAIN_B}: beyond checkpoint" in out, out
