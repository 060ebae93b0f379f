#!/usr/bin/env python3
"""Verify the hash chains in an openrouter-guard audit log (one JSON record per line).

Usage: python3 tools/verify_audit.py [--key-file KEYFILE] [--stats FILE|URL] [--allow-partial-start] [--quiet]
                                     LOGFILE|-

Each governed record carries "chain" (a per-worker-VM id), "seq" (1, 2, 3... per chain) and
"prev" (hex BLAKE2b-256 of the previous line of the same chain, exactly as written, without its
newline; 64 zeros for seq 1). See docs/audit-chain.md.

Problems reported (line number, chain, kind):
  gap           records missing before this one (a deleted line, or a log that starts mid-chain)
  edited        "prev" does not match the hash of the chain's previous line: that line (or this
                one's "prev") was changed
  reordered     seq lower than one already seen, not seen before: lines were moved
  duplicate seq a seq already seen in this chain (a replayed or copied line)
  bad json      a line that looks like a record but does not parse, or bad chain fields
With --key-file (the audit key Envoy's filter seals with, docs/audit-chain.md):
  forged        the line's "mac" is not the HMAC of the line under the key (written without the key:
                an edited, appended or invented record, or a record of another Envoy); the line is
                then ignored for the chain checks
  unauthenticated  a record without "mac"
With --stats (Envoy's /stats text or Prometheus output: a file, an http:// URL, or unix:SOCKET for an admin
interface on a unix socket; taken AFTER the log):
  truncated     the chain's last seq in the log is below the checkpoint gauge: its tail was removed
  missing chain a chain the stats know has no record in the log: it was removed whole
  unknown chain a chain the stats do not know: invented, or from another Envoy
  beyond checkpoint  records after the checkpoint: the stats were taken before the log, or forged

Lines that are not JSON objects with a "chain" field (e.g. "-" for requests the filter did not
govern) are skipped and counted. The last record of a chain has no successor to vouch for it:
deleting or editing it cannot be seen from the file alone, so the last seq of each chain is
printed, to compare with the filter's sealed-records counter.

Exit status: 0 clean, 1 problems found, 2 usage or I/O error. Python 3 standard library only.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import re
import socket
import sys
import urllib.request

GENESIS = "0" * 64


def line_hash(raw: bytes) -> str:
    """A sealed line's hash, as the next record's "prev" carries it: hex BLAKE2b with a 32-byte digest (RFC 7693;
    src/core/chain.rs line_hash)."""
    return hashlib.blake2b(raw, digest_size=32).hexdigest()
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
MAC_TAIL = re.compile(rb',"mac":"([0-9a-f]{64})"\}\Z')
MIN_KEY_LEN = 32
# The chain-head checkpoint gauge, in Envoy's text stats and in Prometheus output.
STAT_LINE = re.compile(r"openrouter_guard_audit_chain_last_seq\.chain\.([^.:\s]+): (\d+)\s*$")
PROM_LINE = re.compile(r'openrouter_guard_audit_chain_last_seq\{[^}]*chain="([^"]+)"[^}]*\} (\d+)\s*$')
# Recent seqs remembered per chain, to tell duplicates from reorderings and check their "prev".
WINDOW = 4096


class Chain:
    def __init__(self, chain_id, seq, line_no):
        self.chain_id = chain_id
        self.first_seq = seq
        self.first_line = line_no
        self.last_seq = 0
        self.last_hash = None
        self.last_line = 0
        self.records = 0
        self.problems = 0
        self.recent = {}  # seq -> (hash, line_no), at most WINDOW entries

    def remember(self, seq, digest, line_no):
        self.recent[seq] = (digest, line_no)
        if len(self.recent) > WINDOW:
            del self.recent[next(iter(self.recent))]


class Verifier:
    def __init__(self, allow_partial_start=False, key=None):
        self.allow_partial_start = allow_partial_start
        self.key = key
        self.macs_seen = 0
        self.checkpoints = None  # number of checkpoints cross-checked, once cross_check ran
        self.chains = {}
        self.skipped = 0
        self.problems = []  # (line_no, chain_id or None, kind, detail)

    def problem(self, line_no, chain, kind, detail):
        """chain: a Chain, a chain id (a line that joins no chain), or None."""
        if isinstance(chain, str):
            self.problems.append((line_no, chain, kind, detail))
            return
        self.problems.append((line_no, chain.chain_id if chain else None, kind, detail))
        if chain:
            chain.problems += 1

    def authentic(self, line_no, chain_id, raw):
        """With a key: whether the line carries the HMAC of the rest of it under the key."""
        tail = MAC_TAIL.search(raw)
        if tail:
            self.macs_seen += 1
        if self.key is None:
            return True
        if not tail:
            self.problem(line_no, chain_id, "unauthenticated", "record has no mac")
            return False
        unsigned = raw[:tail.start()] + b"}"
        want = hmac.new(self.key, unsigned, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, tail.group(1).decode()):
            self.problem(line_no, chain_id, "forged", "mac does not match: not sealed with this audit key")
            return False
        return True

    def cross_check(self, checkpoints):
        """Compares each chain's last seq with the checkpoint gauges (chain id -> seq) from Envoy's stats."""
        self.checkpoints = len(checkpoints)
        for chain_id, seq in sorted(checkpoints.items()):
            chain = self.chains.get(chain_id)
            if chain is None:
                self.problem(0, chain_id, "missing chain", f"checkpoint at seq {seq}; no record in the log")
            elif chain.last_seq < seq:
                self.problem(0, chain, "truncated", f"seq {chain.last_seq + 1}..{seq} missing at the chain's end "
                                                    f"(checkpoint at seq {seq})")
            elif chain.last_seq > seq:
                self.problem(0, chain, "beyond checkpoint", f"seq {seq + 1}..{chain.last_seq} after the checkpoint "
                                                            f"(seq {seq})")
        for chain_id, chain in self.chains.items():
            if chain_id not in checkpoints:
                self.problem(0, chain, "unknown chain", "no checkpoint in the stats: invented, or another Envoy's")

    def feed(self, line_no, raw):
        """Checks one line (bytes, with or without its line end)."""
        raw = raw.rstrip(b"\n")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = raw.strip()
        if not text.startswith(b"{"):
            self.skipped += 1
            return
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if b'"chain"' in raw:
                self.problem(line_no, None, "bad json", "record does not parse")
            else:
                self.skipped += 1
            return
        if not isinstance(record, dict) or "chain" not in record:
            self.skipped += 1
            return
        chain_id, seq, prev = record.get("chain"), record.get("seq"), record.get("prev")
        if (
            not isinstance(chain_id, str)
            or not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq < 1
            or not isinstance(prev, str)
            or not HEX64.match(prev)
        ):
            self.problem(line_no, self.chains.get(chain_id) if isinstance(chain_id, str) else None,
                         "bad json", "chain, seq or prev missing or malformed")
            return
        if not self.authentic(line_no, chain_id, raw):
            return
        digest = line_hash(raw)
        chain = self.chains.get(chain_id)
        if chain is None:
            chain = self.chains[chain_id] = Chain(chain_id, seq, line_no)
            if seq == 1:
                if prev != GENESIS:
                    self.problem(line_no, chain, "edited", "seq 1 must have prev = 64 zeros")
            elif not self.allow_partial_start:
                self.problem(line_no, chain, "gap",
                             f"chain starts at seq {seq}: seq 1..{seq - 1} missing")
        elif seq <= chain.last_seq:
            if seq in chain.recent:
                _, first = chain.recent[seq]
                self.problem(line_no, chain, "duplicate seq", f"seq {seq} already at line {first}")
            else:
                self.problem(line_no, chain, "reordered",
                             f"seq {seq} after seq {chain.last_seq} (line {chain.last_line})")
                before = chain.recent.get(seq - 1)
                if before and before[0] != prev:
                    self.problem(line_no, chain, "edited",
                                 f"prev does not match line {before[1]} (seq {seq - 1})")
                chain.remember(seq, digest, line_no)
            chain.records += 1
            return
        elif seq > chain.last_seq + 1:
            missing = (f"seq {chain.last_seq + 1}" if seq == chain.last_seq + 2
                       else f"seq {chain.last_seq + 1}..{seq - 1}")
            self.problem(line_no, chain, "gap",
                         f"{missing} missing after line {chain.last_line}")
        elif prev != chain.last_hash:
            self.problem(line_no, chain, "edited",
                         f"prev does not match line {chain.last_line} (seq {chain.last_seq}): "
                         f"one of the two lines was changed")
        chain.records += 1
        chain.last_seq, chain.last_hash, chain.last_line = seq, digest, line_no
        chain.remember(seq, digest, line_no)

    def report(self, out, quiet=False):
        if not quiet:
            for chain in self.chains.values():
                print(f"chain {chain.chain_id}: {chain.records} records, seq {chain.first_seq}.."
                      f"{chain.last_seq} (lines {chain.first_line}..{chain.last_line}), "
                      f"{chain.problems} problems", file=out)
        for line_no, chain_id, kind, detail in self.problems:
            where = f"line {line_no}" if line_no else "end"
            print(f"{where}: chain {chain_id or '?'}: {kind}: {detail}", file=out)
        if self.key is None:
            print("no --key-file: macs not checked; anyone who can write the file can forge records "
                  f"({self.macs_seen} records carry a mac)", file=out)
        sealed = sum(c.last_seq for c in self.chains.values())
        print(f"{len(self.chains)} chains, {sum(c.records for c in self.chains.values())} records, "
              f"{self.skipped} lines skipped, {len(self.problems)} problems; "
              f"sum of last seqs {sealed} " + (
                  f"(chain ends checked against {self.checkpoints} checkpoints)" if self.checkpoints is not None else
                  "(no --stats: a removed chain end is not seen; compare with the sealed-records counter)"), file=out)
        return 1 if self.problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify openrouter-guard audit hash chains.")
    parser.add_argument("logfile", help="access log file, or - for stdin")
    parser.add_argument("--allow-partial-start", action="store_true",
                        help="accept chains that start after seq 1 (a rotated log)")
    parser.add_argument("--quiet", action="store_true", help="print problems and totals only")
    parser.add_argument("--key-file", help="file holding the audit key (OPENROUTER_GUARD_AUDIT_KEY); checks every mac")
    parser.add_argument("--stats", help="Envoy /stats output (file, http:// URL of the admin /stats, or unix:SOCKET), taken "
                                        "after the log: checks every chain's end against its checkpoint gauge")
    args = parser.parse_args(argv)
    key = None
    checkpoints = None
    try:
        if args.key_file:
            with open(args.key_file, "rb") as f:
                key = f.read().strip()
            if len(key) < MIN_KEY_LEN:
                print(f"verify_audit: {args.key_file}: the audit key must be at least {MIN_KEY_LEN} bytes",
                      file=sys.stderr)
                return 2
        if args.stats:
            checkpoints = read_checkpoints(args.stats)
    except OSError as err:
        print(f"verify_audit: {err}", file=sys.stderr)
        return 2
    verifier = Verifier(allow_partial_start=args.allow_partial_start, key=key)
    try:
        stream = sys.stdin.buffer if args.logfile == "-" else open(args.logfile, "rb")
        with stream:
            for line_no, raw in enumerate(stream, start=1):
                verifier.feed(line_no, raw)
    except OSError as err:
        print(f"verify_audit: {err}", file=sys.stderr)
        return 2
    if checkpoints is not None:
        verifier.cross_check(checkpoints)
    return verifier.report(sys.stdout, quiet=args.quiet)


def _get_unix(sock_path, path):
    """GET `path` from an admin interface listening on a unix socket (make run's default)."""
    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            self.sock.connect(sock_path)

    conn = UnixConnection("localhost", timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        if resp.status >= 400:
            raise OSError(f"{sock_path}: GET {path}: HTTP {resp.status}")
        return body
    finally:
        conn.close()


def read_checkpoints(source):
    """chain id -> last seq, from Envoy's text /stats or Prometheus output (a file or an http:// URL)."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as resp:
            text = resp.read().decode("utf-8", "replace")
    elif source.startswith("unix:"):
        text = _get_unix(source[len("unix:"):], "/stats?filter=openrouter_guard_audit_chain_last_seq")
    else:
        with open(source, encoding="utf-8", errors="replace") as f:
            text = f.read()
    out = {}
    for line in text.splitlines():
        m = STAT_LINE.search(line) or PROM_LINE.search(line)
        if m:
            out[m.group(1)] = max(out.get(m.group(1), 0), int(m.group(2)))
    return out


if __name__ == "__main__":
    sys.exit(main())
