#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ (small, realistic inputs).

Re-run after changing a target's input format: python3 fuzz/seeds/make_seeds.py
Secrets are built at run time here too, so no key-shaped literal is committed in source form.
"""
import gzip
import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, items):
    d = os.path.join(HERE, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for data in items:
        if isinstance(data, str):
            data = data.encode()
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


CHAT = {"model": "anthropic/claude-3.5-sonnet", "messages": [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi, I'm Ann Lee, mail ann@example.com, call +44 20 7946 0958"}],
        "max_tokens": 512, "stream": True}
TOOLS = {"model": "openai/gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "lookup", "arguments": json.dumps({"email": "bob@example.org", "n": 1})}}]},
         {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
         "provider": {"order": ["openai", "anthropic"], "allow_fallbacks": True, "data_collection": "allow"}}
RESPONSES = {"model": "openai/gpt-4o-mini", "input": [{"role": "user", "content": [{"type": "input_text", "text": "card 4111 1111 1111 1111"}]}],
             "instructions": "terse", "max_output_tokens": 5000}
MESSAGES = {"model": "anthropic/claude-3-5-haiku", "system": "You are helpful", "max_tokens": 99999,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "my ssn is 219-09-9999"}]}]}
EMBED = {"model": "openai/text-embedding-3-small", "input": ["alpha", "beta 203.0.113.77"]}
RERANK = {"model": "cohere/rerank-v3.5", "query": "q", "documents": ["d1", "d2"]}
FALLBACK = {"models": ["anthropic/claude-3.5-sonnet", "meta-llama/llama-3-8b-instruct:free"], "messages": [], "user": "u-1"}

BODIES = [CHAT, TOOLS, RESPONSES, MESSAGES, EMBED, RERANK, FALLBACK]


def dumps(v, pretty=False):
    return json.dumps(v, indent=2 if pretty else None, ensure_ascii=False)


# json_parse: depth byte + JSON text.
json_docs = [dumps(b) for b in BODIES] + [
    dumps(CHAT, True),
    json.dumps(CHAT, ensure_ascii=True),
    r'{"a":"\ud83d\ude00\u00e9\n\t\"\\\/","b":[1,-0,0.5e-3,1E+2,1e400,-12345678901234567890]}',
    r'{"model":"a","mod\u0065l":"b"}',
    '[' * 40 + ']' * 40,
    ' {"k": [true, false, null, {}, []]} ',
    '"\\ud800\\udc00"',
]
write("json_parse", [bytes([60]) + d.encode() for d in json_docs])

# policy_config: shipped and test policies.
policies = [open(os.path.join(ROOT, "envoy", "policy.default.json"), "rb").read()]
policies.append(json.dumps({
    "hosts": ["openrouter.ai"], "default_profile": "p", "pseudonym_key": "0123456789abcdef0123",
    "user_header": "x-user-id", "write_user": True,
    "profiles": {"p": {"models": [{"deny": "*:free"}, {"allow": "anthropic/*"}],
                       "provider": {"order": ["anthropic"], "allow_fallbacks": False, "data_collection": "deny",
                                    "max_price": {"prompt": 1.5}, "sort": "price"},
                       "max_tokens": 100, "max_tokens_action": "reject",
                       "pii": {"entities": {"EMAIL": "hash", "SECRETS": "block", "PERSON": "redact"},
                               "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"},
                                          {"name": "ANY_ID", "pattern": "(?i)\\bid-\\w+", "action": "flag"}],
                               "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar"]}],
                               "allow": ["support@example.com"]}}}}))
write("policy_config", policies)

# request_raw: [path, profile, flags] + body.
raw = []
for i, b in enumerate(BODIES):
    path = [0, 0, 2, 3, 4, 5, 0][i]
    for prof in (0, 2, 3):
        raw.append(bytes([path, prof, 1 | 4]) + dumps(b).encode())
raw.append(bytes([6, 0, 0]) + b'{"anything":"x","model":"openai/o1"}')
raw.append(bytes([7, 1, 0]) + b'{"messages":[{"role":"user","content":"hi"}]}')
# Compressed bodies (flag 16: content-encoding gzip; 32: zstd, a fixed frame so the seed is reproducible).
raw.append(bytes([0, 0, 16]) + gzip.compress(dumps(BODIES[0]).encode(), mtime=0))
raw.append(bytes([0, 2, 32]) + bytes.fromhex(  # zstandard, level 3, with checksum
    "28b52ffd24577502007285121890296df3cac86624b269491212e65d2c7042a0cca9ee720f892131aa09fc105ae2844c2bce307439e553aa71f1f145b8fcd3c348a1bc3fb67b74b10e00091d816179a42edf0f8a460200b4c74a84"))
write("request_raw", raw)

# pii_scan: config byte, Option<(catalogue index, u16 position)>, text.
texts = [
    "Hi, I'm Ann Lee; mail ann.lee@example.com or call (415) 555-0132.",
    "Wire to DE89 3704 0044 0532 0130 00 from 10.0.0.1, card 5555-5555-5555-4444.",
    "Authorization: Bearer abcdefghijklmnop0123456789",
    "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
    "Dear Mr. Smith, ship to 1600 Amphitheatre Parkway, Mountain View, CA 94043",
    "EMP-123456 met Nightjar at Blue Heron; tkt_ab12cd34 and 12345-6789",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----",
    "v1.2.3.4 on 2024-08-06, icon@2x.png, price $1,234.56",
    "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ and j\u200bane@exa\u200bmple.com",
]
pii = []
for c in range(5):
    for i, t in enumerate(texts):
        pii.append(bytes([c, 0]) + t.encode())
        pii.append(bytes([c, 1, i * 3, 5, 0]) + t.encode())
write("pii_scan", pii)
