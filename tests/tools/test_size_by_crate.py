"""tools/size_by_crate.py (`make size-report`): twiggy's rows summed by crate, the filter's code by module."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    ("custom section '.debug_str'", 900),
    ('"function names" subsection', 80),
    ("openrouter_guard::core::policy::Policy::from_json::h8ac3ab3684198b8e", 600),
    ("openrouter_guard::core::policy::header_name::h1", 40),
    ("<openrouter_guard::wasm::http::Guard as proxy_wasm::traits::HttpContext>::on_http_request_headers::hf4", 200),
    ("regex_lite::hir::parse::Parser::parse_inner::h7c", 110),
    ("alloc::collections::btree::map::BTreeMap<K,V,A>::insert::h65", 30),
    ("<core[9f8d08631ff90aa5]::num::dec2flt::decimal_seq::DecimalSeq>::left_shift", 5),
    ('data segment ".rodata.5"', 300),
]


def test_rows_are_summed_by_crate_and_module_without_custom_sections() -> None:
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["Name", "ShallowSize", "ShallowSizePercent", "RetainedSize", "RetainedSizePercent"])
    w.writerows((name, size, 1, "", "") for name, size in ROWS)
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "size_by_crate.py"), "10"], input=text.getvalue(),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    got = {line.split()[-1]: int(line.split()[0].replace(",", "")) for line in out[1:-1]}
    assert got == {"openrouter_guard::core::policy": 640, "segments>": 300, "openrouter_guard::wasm::http": 200,
                   "regex_lite": 110, "alloc::collections": 30, "core::num": 5}
    assert out[-1].split()[0] == "1,285"
