#!/usr/bin/env python3
"""Sums twiggy's `top -f csv` rows (stdin) by crate (the filter's own code by `core::<module>` / `wasm::<module>`),
data segments apart, custom sections (names) left out. Usage: twiggy top -n 100000 -f csv M.wasm | size_by_crate.py [N]"""
from __future__ import annotations

import collections
import csv
import re
import sys

_PATH = re.compile(r"^<?&?(?:mut )?([A-Za-z_]\w*)(?:\[[0-9a-f]+\])?(?:::([A-Za-z_]\w*))?(?:::([A-Za-z_]\w*))?")


def group(name: str) -> str | None:
    """The row's crate (and module for the filter, std's crates), or None for a custom section."""
    if name.startswith("custom section") or name.endswith("subsection"):
        return None
    if name.startswith("data segment"):
        return "<data segments>"
    m = _PATH.match(name)
    if not m:
        return "<other>"
    first, second, third = m.groups()
    if first == "openrouter_guard":
        return "::".join(p for p in ("openrouter_guard", second, third) if p)
    if first in ("core", "alloc", "std") and second:
        return f"{first}::{second}"
    return first


def main(argv: list[str]) -> int:
    rows = int(argv[0]) if argv else 20
    sums: collections.Counter[str] = collections.Counter()
    for row in csv.DictReader(sys.stdin):
        g = group(row["Name"])
        if g is not None:
            sums[g] += int(row["ShallowSize"])
    total = sum(sums.values())
    print(f"{'bytes':>9}  {'%':>5}  crate / module")
    for g, n in sums.most_common(rows):
        print(f"{n:>9,}  {100 * n / total:5.1f}  {g}")
    print(f"{total:>9,}  100.0  code + data (without names)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
