"""Output inspection in the built .wasm through the proxy-wasm ABI (fake_host.py), without Envoy: an SSE answer
carrying a phone number and a key, cut into response-body callbacks at random byte positions (fixed seeds). What
the filter leaves in each callback's buffer is what Envoy would send on: reassembled, every event is valid JSON,
the phone is `[PHONE]`, and with SECRETS blocked no piece of the key leaves and the stream ends with an error event
and `[DONE]`. No trap, one audit record with counts only."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from fake_host import PAUSE, RESP_BODY, Host, Stream

PHONE = "(415) 555-0132"
KEY = "sk-or-v1-" + "7c1e9a3f5b2d4068" * 4
ANSWER = f"Call the desk at {PHONE} any time. The key is {KEY} so keep it safe. Bye."


def policy(secrets: str) -> bytes:
    return json.dumps({
        "hosts": ["openrouter.ai"], "default_profile": "main",
        "profiles": {"main": {"models": [{"allow": "anthropic/*"}],
                              "output_pii": {"builtin_defaults": False,
                                             "entities": {"PHONE": "redact", "SECRETS": secrets}}}},
    }).encode()


def sse(pieces: list[str]) -> bytes:
    out = b": OPENROUTER PROCESSING\n\n"
    for p in pieces:
        ev = {"id": "gen-abi", "object": "chat.completion.chunk", "model": "anthropic/claude-3.5-sonnet",
              "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        out += b"data: " + json.dumps(ev).encode() + b"\n\n"
    return out + b"data: [DONE]\n\n"


def run(vm: Host, body: bytes, rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    s: Stream = vm.stream()
    req = json.dumps({"model": "anthropic/claude-3.5-sonnet", "stream": True,
                      "messages": [{"role": "user", "content": "Who do I call?"}]}).encode()
    head = [(b":method", b"POST"), (b":path", b"/api/v1/chat/completions"), (b":authority", b"openrouter.ai"),
            (b"content-type", b"application/json")]
    assert s.request_headers(head, False) == PAUSE
    s.request_body(req, True)
    assert s.state.forwarded is not None and s.state.local_reply is None
    s.state.properties[(b"upstream", b"address")] = b"127.0.0.1:443"
    s.response_headers([(b":status", b"200"), (b"content-type", b"text/event-stream")], False)
    sent = b""
    i = 0
    while i < len(body):
        j = min(len(body), i + rng.randint(1, 40))
        s.response_body(body[i:j], j == len(body))
        sent += bytes(s.state.buffers[RESP_BODY])
        i = j
    s.log()
    s.done()
    assert len(s.state.audit) == 1
    return sent, json.loads(s.state.audit[0])


def events(sent: bytes) -> list[Any]:
    out: list[Any] = []
    for block in sent.decode().split("\n\n"):
        data = "\n".join(line[6:] for line in block.split("\n") if line.startswith("data: "))
        if data:
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def content(evs: list[Any]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in evs if isinstance(e, dict) and e.get("choices"))


@pytest.mark.parametrize("seed", range(12))
def test_random_callback_cuts_redact_the_phone_and_flag_the_key(seed: int) -> None:
    rng = random.Random(seed)
    vm = Host(policy("flag"))
    cuts = sorted(rng.sample(range(1, len(ANSWER)), 6))
    pieces = [ANSWER[a:b] for a, b in zip([0, *cuts], [*cuts, len(ANSWER)], strict=True)]
    sent, rec = run(vm, sse(pieces), rng)
    evs = events(sent)
    assert evs[-1] == "[DONE]"
    assert content(evs) == ANSWER.replace(PHONE, "[PHONE]")
    assert b"555-0132" not in sent
    assert rec["output_findings"] == {"PHONE": {"redact": 1}, "OPENROUTER_KEY": {"flag": 1}}, rec
    assert KEY not in json.dumps(rec) and PHONE not in json.dumps(rec)
    assert vm.unexpected == []


@pytest.mark.parametrize("seed", range(12))
def test_random_callback_cuts_never_let_a_piece_of_a_blocked_key_out(seed: int) -> None:
    rng = random.Random(1000 + seed)
    vm = Host(policy("block"))
    cuts = sorted(rng.sample(range(1, len(ANSWER)), 8))
    pieces = [ANSWER[a:b] for a, b in zip([0, *cuts], [*cuts, len(ANSWER)], strict=True)]
    sent, rec = run(vm, sse(pieces), rng)
    evs = events(sent)
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["reason"] == "output_blocked", evs[-3:]
    tail = KEY[len("sk-or-v1-"):]
    text = sent.decode()
    assert "sk-or-v1" not in text and not any(tail[k:k + 8] in text for k in range(len(tail) - 7))
    before_key = ANSWER[:ANSWER.index(KEY)].replace(PHONE, "[PHONE]")
    assert before_key.startswith(content(evs)), content(evs)
    assert rec["output_findings"]["OPENROUTER_KEY"] == {"block": 1} and "output_blocked" in rec["reasons"], rec
    assert vm.unexpected == []
