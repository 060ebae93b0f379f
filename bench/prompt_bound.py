#!/usr/bin/env python3
"""How far the spend guard's prompt bound (body bytes) is from real token counts (docs/spend.md "The worst case").

Not a pass/fail test: prints a table. The prompt bound is the bytes of the body sent upstream; this counts the real
tokens of the same text with OpenAI's BPE encodings o200k_base (GPT-4o, GPT-4.1, o-series) and cl100k_base (GPT-4,
GPT-3.5), from npm's `gpt-tokenizer` (pure JavaScript, the encodings ship inside the package: works offline), run by
Node and installed pinned into .cache/gpt-tokenizer on first use (like tools/wasm_opt.sh's Binaryen).

    .venv/bin/python bench/prompt_bound.py [--docs N]      # or: make bench-prompt-bound

Samples (deterministic):
  pii <locale>   bench/pii/corpus5 documents (18 genres of pasted business text, 21 locales), grouped by language
  pii <genre>    the same documents grouped by genre (call transcripts, SQL output, HAR, git patches, ...)
  prose <loc>    Faker's locale text (`text()`): sentences of random words from the locale's word list
  docs           this repository's README.md and docs/*.md: real English prose (Markdown)
  code           this repository's own source files (Rust, Python, shell, YAML), one sample per file
  tool schemas   OpenAI-style `tools` arrays (JSON Schema function definitions), compact JSON
  chat body ...  whole /chat/completions bodies as SDKs send them, a system + user message (a corpus5 document):
                 `JSON.stringify` (compact, UTF-8: the JS SDK) and `json.dumps` default (", " separators,
                 \\uXXXX escapes for non-ASCII); tokens = content tokens + OpenAI's chat framing (3 per message + 3)
  adversarial    random code points from many scripts and emoji: the worst text for the bound
Per group: n samples and bytes/token (how many times the bound overestimates) min, median, p99 for each encoding.
`tokens > bytes` counts samples where the bound would be below the real count (the bound's safety: must be 0).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import corpus5  # bench/pii/corpus5/corpus5.py (Faker-based, deterministic per seed), on the Makefile's PYTHONPATH

ROOT = Path(__file__).resolve().parent.parent

PIN = "gpt-tokenizer@3.0.1"
CACHE = ROOT / ".cache" / "gpt-tokenizer"
ENCODINGS = ("o200k_base", "cl100k_base")
NODE_COUNT = """
const encs = %s.map(n => require('gpt-tokenizer/encoding/' + n));
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => { buf += d; });
process.stdin.on('end', () => {
  const out = buf.split('\\n').filter(l => l.length > 0)
    .map(l => { const t = JSON.parse(l); return encs.map(e => e.encode(t, {allowedSpecial: 'all'}).length); });
  process.stdout.write(JSON.stringify(out));
});
"""


def ensure_tokenizer() -> None:
    pin = CACHE / ".pin"
    if (CACHE / "node_modules" / "gpt-tokenizer").is_dir() and pin.is_file() and pin.read_text().strip() == PIN:
        return
    if shutil.which("npm") is None:
        sys.exit("prompt_bound: npm (Node.js) is needed to install " + PIN)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(CACHE), "--no-save", "--no-audit", "--no-fund", "--silent", PIN],
                   check=True, stdin=subprocess.DEVNULL)
    pin.write_text(PIN + "\n")


def count_tokens(texts: list[str]) -> list[list[int]]:
    """Token counts per text, one per encoding in ENCODINGS (one Node process for all)."""
    env = dict(os.environ, NODE_PATH=str(CACHE / "node_modules"))
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    res = subprocess.run(["node", "-e", NODE_COUNT % json.dumps(list(ENCODINGS))], input=stdin, capture_output=True,
                         text=True, check=True, env=env)
    counts: list[list[int]] = json.loads(res.stdout)
    if len(counts) != len(texts):
        sys.exit(f"prompt_bound: {len(counts)} counts for {len(texts)} texts")
    return counts


LANG = {"en_AU": "English", "en_SG": "English", "en_PH": "English", "ja_JP": "Japanese", "ko_KR": "Korean",
        "zh_CN": "Chinese", "zh_TW": "Chinese", "ar_AE": "Arabic", "tr_TR": "Turkish", "sv_SE": "Swedish",
        "da_DK": "Danish", "pt_PT": "Portuguese", "es_AR": "Spanish", "es_CO": "Spanish", "de_AT": "German",
        "fr_CA": "French", "he_IL": "Hebrew", "th_TH": "Thai", "vi_VN": "Vietnamese", "id_ID": "Indonesian",
        "hi_IN": "Hindi"}
# Locales with their own Faker word list (others fall back to Latin lorem ipsum).
PROSE_LOCALES = ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "cs_CZ", "ru_RU", "uk_UA", "el_GR",
                 "ar_AA", "fa_IR", "he_IL", "bn_BD", "th_TH", "vi_VN", "ja_JP", "zh_CN", "zh_TW")
CODE_SUFFIXES = (".rs", ".py", ".sh", ".yaml", ".yml", ".toml", ".lua")


def tool_schemas(rng: random.Random, n: int) -> list[str]:
    """`tools` arrays as agents send them: 1-12 functions, nested object/array/enum parameters."""
    verbs = ["get", "search", "create", "update", "delete", "list", "send", "book", "run", "fetch", "summarize"]
    nouns = ["weather", "invoice", "customer", "ticket", "calendar_event", "flight", "sql_query", "file", "email",
             "repository", "order", "shipment", "payment", "document"]
    kinds = ["string", "integer", "number", "boolean"]

    def prop(depth: int) -> dict[str, object]:
        r = rng.random()
        if depth < 2 and r < 0.15:
            return {"type": "object", "description": "Nested settings for the operation.",
                    "properties": {f"field_{i}": prop(depth + 1) for i in range(rng.randint(1, 4))}}
        if depth < 2 and r < 0.3:
            return {"type": "array", "items": prop(depth + 1), "description": "A list of values, in order."}
        if r < 0.45:
            return {"type": "string", "enum": rng.sample(["asc", "desc", "celsius", "fahrenheit", "draft", "final",
                                                          "low", "medium", "high", "pending", "done"], 3)}
        return {"type": rng.choice(kinds), "description": rng.choice([
            "The identifier of the record, as returned by the list call.", "Maximum number of results to return.",
            "ISO 8601 date, e.g. 2026-12-03.", "Free-text query; supports quoted phrases.",
            "City and country, e.g. Paris, France.", "Whether to include archived items."])}

    out = []
    for _ in range(n):
        tools = []
        for _ in range(rng.randint(1, 12)):
            props = {f"{rng.choice(nouns)}_{i}": prop(0) for i in range(rng.randint(1, 8))}
            tools.append({"type": "function", "function": {
                "name": f"{rng.choice(verbs)}_{rng.choice(nouns)}",
                "description": "Use this when the user asks about it. Returns JSON; never invent identifiers.",
                "parameters": {"type": "object", "properties": props,
                               "required": rng.sample(sorted(props), rng.randint(0, len(props)))}}})
        out.append(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
    return out


def adversarial(rng: random.Random, n: int) -> list[str]:
    ranges = [(0x21, 0x7E), (0xA1, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF)]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(50, 2000)):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=756, help="corpus5 documents (378 locale x genre cells; default 2 each)")
    a = ap.parse_args()
    ensure_tokenizer()
    rng = random.Random("prompt_bound")

    # (group, text whose tokens are counted, bytes of the bound, tokens counted apart (chat: system prompt, framing))
    samples: list[tuple[list[str], str, int, list[int]]] = []
    none = [0] * len(ENCODINGS)
    docs = corpus5.corpus(1, a.docs)
    for d in docs:
        text = d["text"]
        samples.append(([f"pii {LANG.get(d['locale'], d['locale'])}", f"pii genre {d['genre']}", "pii (all)"], text,
                        len(text.encode()), none))
    from faker import Faker
    for loc in PROSE_LOCALES:
        fake = Faker(loc)
        fake.seed_instance(7)
        for _ in range(20):
            t = fake.text(max_nb_chars=2000)
            samples.append(([f"prose {loc}"], t, len(t.encode()), none))
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        t = p.read_text()
        samples.append((["docs (English prose, Markdown)"], t, len(t.encode()), none))
    for p in sorted(ROOT.glob("**/*")):
        rel = p.relative_to(ROOT).parts
        if p.suffix in CODE_SUFFIXES and p.is_file() and rel[0] in ("src", "rls", "tests", "tools", "bench", "harness",
                                                                     "deploy", "examples"):
            t = p.read_text(errors="replace")
            if t:
                samples.append(([f"code {p.suffix}", "code (all)"], t, len(t.encode()), none))
    for t in tool_schemas(rng, 200):
        samples.append((["tool schemas (JSON)"], t, len(t.encode()), none))
    system = "You are a helpful assistant. Answer in the user's language; be concise."
    chat_extra = [c + 3 * 2 + 3 for c in count_tokens([system])[0]]
    for d in docs:
        body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "system", "content": system},
                                                            {"role": "user", "content": d["text"]}],
                "max_tokens": 1000}
        compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        dumps = json.dumps(body)
        samples.append((["chat body, JSON.stringify"], d["text"], len(compact.encode()), chat_extra))
        samples.append((["chat body, json.dumps (ASCII escapes)"], d["text"], len(dumps.encode()), chat_extra))
    for t in adversarial(rng, 200):
        samples.append((["adversarial (random code points)"], t, len(t.encode()), none))

    counts = count_tokens([s[1] for s in samples])
    groups: dict[str, list[list[float]]] = {}
    unsafe = [0] * len(ENCODINGS)
    for (names, _text, nbytes, extra), cs in zip(samples, counts, strict=True):
        ratios = []
        for e, c in enumerate(cs):
            toks = max(c + extra[e], 1)
            if toks > nbytes:
                unsafe[e] += 1
            ratios.append(nbytes / toks)
        for g in names:
            groups.setdefault(g, []).append(ratios)

    def stats(v: list[float]) -> str:
        v = sorted(v)
        p99 = v[min(len(v) - 1, round(0.99 * (len(v) - 1)))]
        return f"{v[0]:.2f} | {statistics.median(v):.2f} | {p99:.2f}"

    print(f"prompt bound (body bytes) / real tokens, {len(samples)} samples; tokenizer npm {PIN}\n")
    print("| sample | n | o200k min | median | p99 | cl100k min | median | p99 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for g in sorted(groups, key=lambda g: (g.split(" ")[0] != "pii", g.startswith("pii genre"), g)):
        rows = groups[g]
        cols = " | ".join(stats([r[e] for r in rows]) for e in range(len(ENCODINGS)))
        print(f"| {g} | {len(rows)} | {cols} |")
    print("\nsamples with more tokens than bytes (bound below the real count): "
          + ", ".join(f"{n} {u}" for n, u in zip(ENCODINGS, unsafe, strict=True)))
    return 1 if any(unsafe) else 0


if __name__ == "__main__":
    sys.exit(main())
