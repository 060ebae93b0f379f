#!/usr/bin/env python3
"""Deterministic OpenRouter chat/completions request bodies for the benchmark.

Sizes are exact byte counts; bodies are realistic chat JSON (a system prompt, then alternating user and
assistant turns of English-like prose). `pii=True` plants an entity every ~100 bytes of prose: e-mail
addresses, phone numbers, Luhn-valid card numbers, IBANs, IP addresses and API keys (OpenRouter, OpenAI,
AWS, GitHub) - all of which the default policy redacts. Standard library only.

CLI: python3 bench/bodies.py OUT_DIR  -> writes <size>_<clean|pii>_<json|sse>.json for every scenario.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

MODEL = "anthropic/claude-3.5-sonnet"
SIZES = {"1KB": 1024, "10KB": 10 * 1024, "100KB": 100 * 1024, "1MB": 1000 * 1024}  # 1MB stays under max_body_bytes (1 MiB)

WORDS = (
    "the a an of to and in for on with as by at from that this these those it its our their your we they you "
    "report quarter revenue growth customer team project budget forecast analysis summary meeting schedule "
    "product release feature request review contract invoice payment account policy security compliance risk "
    "design system service latency throughput database migration deployment rollout incident postmortem "
    "please could would should will can may might must need want help explain describe compare list draft "
    "write improve shorten rewrite translate check verify confirm update include remove consider suggest "
    "important clear short detailed concise formal friendly internal external annual monthly weekly daily "
    "region market segment partner vendor supplier manager engineer analyst director office headquarters "
    "because although while when before after during until unless however therefore meanwhile also still"
).split()

SYSTEM = ("You are a careful assistant for an enterprise team. Answer precisely, cite the figures you use, "
          "keep a neutral tone and never invent numbers that are not in the material provided.")


def _luhn_complete(prefix: str, length: int, rnd: random.Random) -> str:
    digits = prefix + "".join(rnd.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def _iban_de(rnd: random.Random) -> str:
    bban = "".join(rnd.choice("0123456789") for _ in range(18))
    num = int(bban + "131400")  # D=13 E=14, check digits 00
    check = 98 - num % 97
    s = f"DE{check:02d}{bban}"
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def _entity(rnd: random.Random, i: int) -> str:
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    kind = i % 9
    if kind == 0:
        first = rnd.choice(["jane", "omar", "li", "maria", "sven", "aiko", "raj", "chloe"])
        return f"{first}.{rnd.choice(['doe', 'smith', 'chen', 'garcia'])}{rnd.randint(1, 99)}@{rnd.choice(['acme-corp.com', 'mail.example.org', 'contoso.net'])}"
    if kind == 1:
        return f"+1 ({rnd.randint(201, 989)}) 555-{rnd.randint(100, 199):04d}"
    if kind == 2:
        card = _luhn_complete(rnd.choice(["4", "51"]), 16, rnd)
        return " ".join(card[i:i + 4] for i in range(0, 16, 4))
    if kind == 3:
        return "sk-or-v1-" + "".join(rnd.choice("0123456789abcdef") for _ in range(64))
    if kind == 4:
        return "AKIA" + "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    if kind == 5:
        return _iban_de(rnd)
    if kind == 6:
        return f"10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
    if kind == 7:
        return "ghp_" + "".join(rnd.choice(alnum) for _ in range(36))
    return "sk-proj-" + "".join(rnd.choice(alnum) for _ in range(48))


def _prose(rnd: random.Random, n_chars: int, pii: bool, counter: list[int]) -> str:
    out: list[str] = []
    size = 0
    since = 0
    sentence_left = rnd.randint(8, 18)
    cap = True
    while size < n_chars:
        if pii and since >= 100:
            w = rnd.choice(["contact", "card", "key", "reach", "account", "token"]) + " " + _entity(rnd, counter[0])
            counter[0] += 1
            since = 0
        else:
            w = rnd.choice(WORDS)
        if cap:
            w = w[:1].upper() + w[1:]
            cap = False
        sentence_left -= 1
        if sentence_left == 0:
            w += rnd.choice([".", ".", ".", "?", "!"])
            sentence_left = rnd.randint(8, 18)
            cap = True
        elif rnd.random() < 0.06:
            w += ","
        out.append(w)
        size += len(w) + 1
        since += len(w) + 1
    return " ".join(out)


def chat_body(size: int, *, pii: bool, stream: bool, seed: int = 1) -> bytes:
    """A chat/completions request of exactly `size` bytes (compact JSON, ASCII prose)."""
    rnd = random.Random(f"{size}-{pii}-{seed}")
    counter = [0]
    head = {"model": MODEL, "stream": stream, "max_tokens": 1024, "temperature": 0.7}
    messages: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]

    def encode(msgs: list[dict[str, str]]) -> bytes:
        return json.dumps({**head, "messages": msgs}, separators=(",", ":")).encode()

    base = len(encode(messages))
    if base > size:
        raise ValueError(f"size {size} too small")
    role = "user"
    while len(encode(messages)) < size:
        n = min(rnd.randint(300, 4000), size)  # turn length in characters
        planted = pii and (role == "user" or rnd.random() < 0.3)  # assistants repeat some of it
        messages.append({"role": role, "content": _prose(rnd, n, planted, counter)})
        role = "assistant" if role == "user" else "user"
    # Trim the last turn to hit the exact size (prose is ASCII without escapes: 1 char = 1 byte).
    excess = len(encode(messages)) - size
    last = messages[-1]["content"]
    if excess > len(last) - 1:
        messages.pop()
        # room for a new turn: {"role":"user","content":""} + comma = 30 bytes
        messages.append({"role": role, "content": ""})
        need = size - len(encode(messages))
        messages[-1]["content"] = _prose(rnd, need + 20, False, counter)[:need].rstrip() if need > 0 else ""
        while len(encode(messages)) < size:
            messages[-1]["content"] += "."
    else:
        messages[-1]["content"] = last[: len(last) - excess]
    out = encode(messages)
    # A trailing space would be harmless, but keep prose tidy; the exact size is what matters.
    assert len(out) == size, (len(out), size)
    return out


def scenarios() -> list[tuple[str, int, bool, bool]]:
    """(name, size, pii, stream) for every benchmark scenario."""
    out = []
    for label, size in SIZES.items():
        for pii in (False, True):
            for stream in (False, True):
                out.append((f"{label}/{'pii' if pii else 'clean'}/{'sse' if stream else 'json'}", size, pii, stream))
    return out


def file_name(name: str) -> str:
    return name.replace("/", "_") + ".json"


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "bench-bodies")
    out.mkdir(parents=True, exist_ok=True)
    for name, size, pii, stream in scenarios():
        (out / file_name(name)).write_bytes(chat_body(size, pii=pii, stream=stream))
    print(f"wrote {len(scenarios())} bodies to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
