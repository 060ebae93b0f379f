"""One list of client-address headers: the ones the shipped configs remove after the router
(tools/envoy_config.py STRIPPED_REQUEST_HEADERS) are the ones the filter's header scan skips
(src/core/head_pii.rs STRIPPED_BEFORE_UPSTREAM): they never reach the upstream, and every real
request's x-forwarded-for is an address the IP_ADDRESS detector would find."""

import pathlib
import re

import envoy_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_stripped_headers_match_the_filter() -> None:
    src = (ROOT / "src/core/head_pii.rs").read_text()
    m = re.search(r"const STRIPPED_BEFORE_UPSTREAM: &\[&str\] =\s*&\[(.*?)\];", src, re.S)
    assert m, "STRIPPED_BEFORE_UPSTREAM not found in src/core/head_pii.rs"
    rust = re.findall(r'"([^"]+)"', m.group(1))
    assert sorted(rust) == sorted(envoy_config.STRIPPED_REQUEST_HEADERS)
    assert envoy_config.STRIPPED_REQUEST_HEADER_PREFIX == "x-envoy-" and '"x-envoy-"' in src
