"""OpenRouter plugins through real Envoy, over HTTP/1.1 and HTTP/2 (docs/configuration.md, docs/spend.md): a profile
whose provider routing restricts where prompts go refuses plugins (and `:online`) it does not list, since they send
prompt content to processors no provider field governs (Exa, Mistral OCR); the cost guard prices plugins from
`spend.plugin_prices` and refuses an unpriced one. Asserted on what the upstream received and on the audit record."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from guard_helpers import CHAT, assert_rejected, forwarded, send

PROTOS = ["h1", "h2"]
SONNET = "anthropic/claude-3.5-sonnet"
PDF = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n% a record\n").decode()
POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "open",
    "profiles": {
        "open": {"models": [{"allow": "anthropic/*"}]},
        # Pinned to two providers with ZDR: no plugin unless listed.
        "restricted": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100,
                       "provider": {"only": ["amazon-bedrock", "anthropic"], "zdr": True}},
        "restricted_text": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100,
                            "provider": {"only": ["anthropic"], "zdr": True},
                            "plugins": [{"id": "file-parser", "engine": "pdf-text"}]},
        "guarded": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100, "max_cost_per_request": 0.1},
    },
    "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15}],
              "plugin_prices": [{"id": "web", "engine": "exa", "per_result": 0.004},
                                {"id": "web", "per_result": 0.004},
                                {"id": "file-parser", "engine": "pdf-text"}]},
}


def body(*plugins: dict[str, Any], model: str = SONNET) -> dict[str, Any]:
    b: dict[str, Any] = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "summarise"}, {"type": "file", "file": {"filename": "r.pdf", "file_data": PDF}}]}]}
    if plugins:
        b["plugins"] = list(plugins)
    return b


def profile(name: str) -> dict[str, str]:
    return {"x-data-classification": name}


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("prof,b", [
    ("restricted", body({"id": "file-parser", "pdf": {"engine": "mistral-ocr"}})),
    ("restricted", body({"id": "web", "engine": "exa", "max_results": 10})),
    ("restricted", body({"id": "file-parser", "pdf": {"engine": "pdf-text"}})),
    ("restricted", body(model=SONNET + ":online")),
    ("restricted", body({"id": "web"})),
    ("restricted_text", body({"id": "file-parser", "pdf": {"engine": "mistral-ocr"}})),
    ("restricted_text", body({"id": "file-parser"})),
    ("restricted_text", body(model=SONNET + ":online")),
    ("restricted_text", {**body(), "plugins": {"id": "web"}}),
], ids=["ocr", "exa", "pdf-text-unlisted", "online", "web-default", "listed-id-other-engine", "no-engine",
        "online-listed-profile", "malformed"])
def test_a_pinned_profile_refuses_plugins_it_does_not_list(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                           proto: str, prof: str, b: dict[str, Any]) -> None:
    r = send(proto, envoy.port, "POST", CHAT, b, headers=profile(prof))
    rec = assert_rejected(envoy, fake, audit_for, r, 403, "plugin_denied")
    assert rec["profile"] == prof, rec


@pytest.mark.parametrize("proto", PROTOS)
def test_a_listed_plugin_engine_and_an_unrestricted_profile_are_forwarded(envoy: Envoy, fake: FakeOpenRouter,
                                                                          audit_for, proto: str) -> None:
    b = body({"id": "file-parser", "pdf": {"engine": "pdf-text"}})
    r = send(proto, envoy.port, "POST", CHAT, b, headers=profile("restricted_text"))
    assert r.status == 200, r.body[:300]
    _, sent = forwarded(fake)
    assert sent["plugins"] == b["plugins"] and sent["provider"]["only"] == ["anthropic"], sent
    assert audit_for(r)[0]["decision"] == "allow"
    fake.reset()
    b = body({"id": "web", "engine": "exa"}, model=SONNET + ":online")
    r = send(proto, envoy.port, "POST", CHAT, b, headers=profile("open"))
    assert r.status == 200, r.body[:300]
    _, sent = forwarded(fake)
    assert sent["plugins"] == b["plugins"] and sent["model"] == SONNET + ":online"


@pytest.mark.parametrize("proto", PROTOS)
def test_the_cost_guard_prices_web_search_results(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                  proto: str) -> None:
    """$4 per 1,000 Exa results: 100 results are $0.40, over the $0.10 guard (402); 10 are $0.04 and fit."""
    def search(n: int) -> dict[str, Any]:
        return {"model": SONNET, "max_tokens": 100, "plugins": [{"id": "web", "engine": "exa", "max_results": n}],
                "messages": [{"role": "user", "content": "latest news"}]}
    r = send(proto, envoy.port, "POST", CHAT, search(100), headers=profile("guarded"))
    rec = assert_rejected(envoy, fake, audit_for, r, 402, "cost_limit_exceeded", decision="deny")
    assert rec["spend"]["cost_max_usd"] >= 0.40, rec["spend"]
    r = send(proto, envoy.port, "POST", CHAT, search(10), headers=profile("guarded"))
    assert r.status == 200, r.body[:300]
    raw, sent = forwarded(fake)
    assert sent["plugins"] == search(10)["plugins"]
    [rec] = audit_for(r)
    tokens = len(raw) * 3 + 100 * 15  # micro-USD of the token worst case
    assert rec["spend"]["cost_max_usd"] == pytest.approx((tokens + 40_000) / 1e6), rec["spend"]
    # `:online` is a web search with OpenRouter's default engine and 5 results: $0.02 with the engine-less entry.
    fake.reset()
    online = {"model": SONNET + ":online", "max_tokens": 100, "messages": [{"role": "user", "content": "news"}]}
    r = send(proto, envoy.port, "POST", CHAT, online, headers=profile("guarded"))
    assert r.status == 200, r.body[:300]
    raw, _ = forwarded(fake)
    [rec] = audit_for(r)
    assert rec["spend"]["cost_max_usd"] == pytest.approx((len(raw) * 3 + 100 * 15 + 20_000) / 1e6), rec["spend"]


@pytest.mark.parametrize("proto", PROTOS)
def test_the_cost_guard_refuses_an_unpriced_plugin(envoy: Envoy, fake: FakeOpenRouter, audit_for,
                                                   proto: str) -> None:
    for plugin in ({"id": "file-parser", "pdf": {"engine": "mistral-ocr"}}, {"id": "web", "engine": "native"}):
        fake.reset()
        r = send(proto, envoy.port, "POST", CHAT, body(plugin), headers=profile("guarded"))
        rec = assert_rejected(envoy, fake, audit_for, r, 403, "price_missing")
        assert rec["spend"]["cost_max_usd"] is None, json.dumps(rec["spend"])
