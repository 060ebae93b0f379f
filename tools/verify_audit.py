#!/usr/bin/env python3
"""Verify the hash chains in an openrouter-guard audit log (one JSON record per line).

Usage: python3 tools/verify_audit.py [--allow-partial-start] [--quiet] LOGFILE|-

Each governed record carries "chain" (a per-worker-VM id), "seq" (1, 2, 3... per chain) and
"prev" (hex SHA-256 of the previous line of the same chain, exactly as written, without its
newline; 64 zeros for seq 1). See docs/audit-chain.md.

Problems reported (line number, chain, kind):
  gap           records missing before this one (a deleted line, or a log that starts mid-chain)
  edited        "prev" does not match the hash of the chain's previous line: that line (or this
                one's "prev") was changed
  reordered     seq lower than one already seen, not seen before: lines were moved
  duplicate seq a seq already seen in this chain (a replayed or copied line)
  bad json      a line that looks like a record but does not parse, or bad chain fields

Lines that are not JSON objects with a "chain" field (e.g. "-" for requests the filter did not
govern) are skipped and counted. The last record of a chain has no successor to vouch for it:
deleting or editing it cannot be seen from the file alone, so the last seq of each chain is
printed, to compare with the filter's sealed-records counter.

Exit status: 0 clean, 1 problems found, 2 usage or I/O error. Python 3 standard library only.
"""

import argparse
import hashlib
import json
import re
import sys

GENESIS = "0" * 64
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
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
    def __init__(self, allow_partial_start=False):
        self.allow_partial_start = allow_partial_start
        self.chains = {}
        self.skipped = 0
        self.problems = []  # (line_no, chain_id or None, kind, detail)

    def problem(self, line_no, chain, kind, detail):
        self.problems.append((line_no, chain.chain_id if chain else None, kind, detail))
        if chain:
            chain.problems += 1

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
        digest = hashlib.sha256(raw).hexdigest()
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
            print(f"line {line_no}: chain {chain_id or '?'}: {kind}: {detail}", file=out)
        sealed = sum(c.last_seq for c in self.chains.values())
        print(f"{len(self.chains)} chains, {sum(c.records for c in self.chains.values())} records, "
              f"{self.skipped} lines skipped, {len(self.problems)} problems; "
              f"sum of last seqs {sealed} (compare with the sealed-records counter; "
              f"a deleted last line of a chain is visible only there)", file=out)
        return 1 if self.problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify openrouter-guard audit hash chains.")
    parser.add_argument("logfile", help="access log file, or - for stdin")
    parser.add_argument("--allow-partial-start", action="store_true",
                        help="accept chains that start after seq 1 (a rotated log)")
    parser.add_argument("--quiet", action="store_true", help="print problems and totals only")
    args = parser.parse_args(argv)
    verifier = Verifier(allow_partial_start=args.allow_partial_start)
    try:
        stream = sys.stdin.buffer if args.logfile == "-" else open(args.logfile, "rb")
        with stream:
            for line_no, raw in enumerate(stream, start=1):
                verifier.feed(line_no, raw)
    except OSError as err:
        print(f"verify_audit: {err}", file=sys.stderr)
        return 2
    return verifier.report(sys.stdout, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
