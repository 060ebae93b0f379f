"""Output inspection of a credential with markup inside it (attack round 3, finding 13), through real Envoy over
HTTP/1.1 and HTTP/2: `**`, an empty HTML tag or comment, a code span or `~~` inside a key vanish when a chat UI renders
the answer, which then shows (and copies) the key whole. The filter also scans a view with such markup between token
bytes folded away, for credentials only: the key is blocked (JSON answer and stream) or redacted with its markup, and
ordinary Markdown answers reach the client unchanged. Attack round 4 (finding 3) added `_` emphasis next to punctuation,
backslash escapes (`sk\\-or\\-v1\\-…`) and character references (`&#45;`, `&#8203;`, `&zwj;`). What the client
received and the audit record are asserted."""
from __future__ import annotations

import json
from typing import Any

import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter, Script
from guard_helpers import CHAT, send

PROTOS = ["h1", "h2"]
MODEL = "anthropic/claude-3.5-sonnet"
SECRET = "sk-or-v1-" + "5e2a9c7d0b13f846" * 4
PIECES = [SECRET[:20], SECRET[20:44], SECRET[44:]]
MARKUP = {
    "bold": PIECES[0] + "**" + PIECES[1] + "**" + PIECES[2],
    "empty-tag": "<b></b>".join(PIECES),
    "comment": "<!-- -->".join(PIECES),
    "empty-code-span": "``".join(PIECES),
    "code-span": PIECES[0] + "`" + PIECES[1] + "`" + PIECES[2],
    # Attack round 4, finding 3: emphasis `_` next to punctuation, backslash escapes, character references.
    "underscore": "sk-or-v1-_" + SECRET[9:] + "_",
    "backslash-escape": SECRET.replace("-", "\\-"),
    "char-ref": SECRET.replace("-", "&#45;"),
    "invisible-ref": PIECES[0] + "&#8203;" + PIECES[1] + "&zwj;" + PIECES[2],
}

POLICY: dict[str, Any] = {
    "clusters": ["openrouter"],
    "default_profile": "out",
    "profiles": {
        "out": {
            "models": [{"allow": "anthropic/*"}],
            "output_pii": {"builtin_defaults": False, "entities": {"SECRETS": "block"}},
        },
    },
}


def ask(stream: bool) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "key?"}], "stream": stream}


def rendered(text: str) -> str:
    for m in ("**", "<b></b>", "<!-- -->", "``", "`"):
        text = text.replace(m, "")
    return text


def stream_text(body: bytes) -> str:
    out = []
    for block in body.decode().split("\n\n"):
        if block.startswith("data: {"):
            doc = json.loads(block[6:])
            if doc.get("choices"):
                out.append(doc["choices"][0].get("delta", {}).get("content") or "")
    return "".join(out)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("markup", sorted(MARKUP))
def test_a_key_with_markup_inside_is_blocked(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool, markup: str) -> None:
    fake.script(Script(content=f"Here it is: {MARKUP[markup]} — keep it safe."))
    r = send(proto, envoy.port, "POST", CHAT, ask(stream))
    [rec] = audit_for(r)
    if stream:
        assert r.status == 200
        text = stream_text(r.body)
        assert b'"output_blocked"' in r.body and r.body.endswith(b"data: [DONE]\n\n")
    else:
        assert r.status == 502 and r.json()["error"]["type"] == "output_blocked", r.body[:300]
        text = r.body.decode()
    assert not any(p in rendered(text) for p in PIECES[1:]), text
    assert rec["output_findings"] == {"OPENROUTER_KEY": {"block": 1}}, rec
    assert rec["decision"] == "deny" and "output_blocked" in rec["reasons"], rec


MARKDOWN = ("**Note:** set `OPENROUTER_API_KEY` to a key that starts with `sk-or-v1-`, never ~~commit~~ it. "
            "Use *very*careful* settings, x<sub>2</sub>y, 2**10 = 1024 and <!-- hidden -->done; a commit id "
            "**3f2a9c7d0b13f8465e2a9c7d**0b13f8465e2a9c7d0b13f846 is not a key; x.__dict__, a \\* b, "
            "AT&amp;T and snake_case_names stay.")


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_ordinary_markdown_answer_reaches_the_client_unchanged(
        envoy: Envoy, fake: FakeOpenRouter, audit_for: Any, proto: str, stream: bool) -> None:
    fake.script(Script(content=MARKDOWN))
    r = send(proto, envoy.port, "POST", CHAT, ask(stream))
    [rec] = audit_for(r)
    assert r.status == 200
    text = stream_text(r.body) if stream else r.json()["choices"][0]["message"]["content"]
    assert text == MARKDOWN
    assert rec["decision"] == "allow" and rec.get("output_findings", {}) == {}, rec
