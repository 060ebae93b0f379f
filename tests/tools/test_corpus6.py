"""bench/pii/corpus6: the sixth PII corpus (written blind) is a function of its seed, every label is an exact
span of its document, every labelled value passes its own validity rule (libphonenumber for the document's
region, Luhn and an issuer range, SSA rules, IBAN mod 97 and registry length, IP grammar and scope, each
credential's shape and entropy) and every decoy fails the rule of the entity it imitates, so a miss or a lost
decoy in `report.py --corpus c6` is the redactor's, not the generator's. The rules are written again here,
not imported from the generator."""
from __future__ import annotations

import base64
import binascii
import importlib
import ipaddress
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import uuid
from collections import Counter

import phonenumbers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "bench" / "pii" / "corpus6"
c6 = importlib.import_module("corpus6")

N = len(c6.LOCALES) * len(c6.GENRES)  # every locale x genre once

IBAN_LEN = {"PL": 28, "SE": 24, "DK": 18, "FI": 18, "NO": 15, "TR": 26, "IL": 23, "UA": 29, "RO": 24, "GR": 27,
            "DE": 22, "FR": 27, "GB": 22, "NL": 18, "ES": 24, "IT": 27, "CH": 21, "BE": 16, "AT": 20, "LT": 20}
# issuer ranges (leading digits) and the lengths each scheme issues
CARD_RANGES = [((4, 4), (13, 16, 19)), ((51, 55), (16,)), ((2221, 2720), (16,)), ((34, 34), (15,)), ((37, 37), (15,)),
               ((6011, 6011), (16,)), ((644, 649), (16,)), ((65, 65), (16,)), ((3528, 3589), (16,)),
               ((62, 62), (16, 19)), ((36, 36), (14,)), ((300, 305), (14,))]
SECRET_SHAPE = {
    "AWS_ACCESS_KEY": r"(AKIA|ASIA)[A-Z2-7]{16}",
    "AWS_SECRET_KEY": r"[A-Za-z0-9/+]{40}",
    "GITHUB_TOKEN": r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    "SLACK_TOKEN": r"xoxb-\d{10,14}-\d{10,14}-[A-Za-z0-9]{24}|xoxp-\d{10,14}-\d{10,14}-\d{10,14}-[0-9a-f]{32}",
    "STRIPE_KEY": r"(sk|rk)_(live|test)_[A-Za-z0-9]{24}([A-Za-z0-9]{75})?",
    "OPENAI_KEY": r"sk-(proj-[A-Za-z0-9_-]{74}T3BlbkFJ[A-Za-z0-9_-]{74}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
    "OPENROUTER_KEY": r"sk-or-v1-[0-9a-f]{64}",
    "ANTHROPIC_KEY": r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
    "GOOGLE_API_KEY": r"AIza[A-Za-z0-9_-]{35}",
    "BEARER_TOKEN": r"[A-Za-z0-9]{20,40}[._-][A-Za-z0-9_-]{16,40}",
}
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


@pytest.fixture(scope="module")
def corpus():
    return c6.corpus(7, N)


@pytest.fixture(scope="module")
def wide(corpus):
    return corpus + c6.corpus(7, 2 * N, start=N)


def region(doc: dict) -> str:
    return doc["locale"].split("_")[1]


def luhn(d: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch) * (2 if i % 2 else 1)
        total += x - 9 if x > 9 else x
    return total % 10 == 0


def phone_ok(value: str, reg: str) -> bool:
    d = re.sub(r"\D", "", value)
    try:
        if value.startswith("+"):
            n = phonenumbers.parse("+" + d, None)
        elif d.startswith("00"):
            n = phonenumbers.parse("+" + d[2:], None)
        else:
            n = phonenumbers.parse(d, reg)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n)


def iban_ok(v: str) -> bool:
    s = re.sub(r"[ -]", "", v).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", s) or IBAN_LEN.get(s[:2]) != len(s):
        return False
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def card_ok(v: str) -> bool:
    d = re.sub(r"[ -]", "", v)
    return d.isdigit() and luhn(d) and any(
        lo <= int(d[:len(str(lo))]) <= hi and len(d) in lens for (lo, hi), lens in CARD_RANGES)


def ssn_ok(v: str) -> bool:
    m = re.fullmatch(r"(\d{3})([- ])(\d{2})\2(\d{4})", v)
    return m is not None and m[1] not in ("000", "666") and m[1] < "900" and m[3] != "00" and m[4] != "0000"


def email_ok(v: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}", v))


def ip_ok(v: str) -> bool:
    a = ipaddress.ip_address(v)
    return not (a.is_loopback or a.is_unspecified or a.is_link_local or a.is_multicast or any(a in n for n in DOC_NETS))


def entropy_bits(s: str) -> float:
    c = Counter(s)
    return -sum(k / len(s) * math.log2(k / len(s)) for k in c.values()) * len(s)


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def secret_ok(entity: str, v: str) -> bool:
    if entity == "JWT":
        h, p, s = v.split(".")
        return b64url_json(h)["typ"] == "JWT" and "sub" in b64url_json(p) and len(base64.urlsafe_b64decode(s + "=")) == 32
    if entity == "PRIVATE_KEY":
        lines = v.split("\n")
        m = re.fullmatch(r"-----BEGIN ([A-Z ]+)-----", lines[0])
        return m is not None and lines[-1] == f"-----END {m[1]}-----" and len(base64.b64decode("".join(lines[1:-1]))) > 100
    if not re.fullmatch(SECRET_SHAPE[entity], v):
        return False
    if entity == "GITHUB_TOKEN" and v.startswith("gh"):  # the last six characters: base62 CRC-32 of the first thirty
        n, out = binascii.crc32(v[4:34].encode()), ""
        while n:
            n, r = divmod(n, 62)
            out = B62[r] + out
        return v[34:] == out.rjust(6, "0")
    body = re.sub(r"^(sk-or-v1-|sk-ant-api03-|sk-proj-|sk-|(sk|rk)_(live|test)_|AKIA|ASIA|AIza|xox[bp]-)", "", v)
    return entropy_bits(body) > 3.0 * len(body)  # random, not a placeholder (a 64-symbol alphabet gives ~5.5)


def item_ok(entity: str, value: str, reg: str) -> bool:
    return {"EMAIL": email_ok, "IBAN": iban_ok, "CREDIT_CARD": card_ok, "US_SSN": ssn_ok, "IP_ADDRESS": ip_ok}.get(
        entity, lambda v: phone_ok(v, reg) if entity == "PHONE" else secret_ok(entity, v))(value)


def test_deterministic_per_seed(corpus):
    assert c6.corpus(7, N) == corpus
    assert c6.corpus(8, 30) != corpus[:30]
    assert c6.corpus(7, 5, start=40) == corpus[40:45]


def test_deterministic_across_processes():
    code = "import json, corpus6; print(json.dumps(corpus6.corpus(3, 40)))"
    outs = []
    for hs in ("0", "977"):
        env = dict(os.environ, PYTHONHASHSEED=hs, PYTHONPATH=str(DIR))
        outs.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                                   timeout=300).stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0]) == c6.corpus(3, 40)


def test_every_span_is_its_value(wide):
    for d in wide:
        for x in d["items"] + d["decoys"]:
            assert d["text"][x["start"]:x["end"]] == x["value"], (d["genre"], x)


def test_every_item_passes_its_rule(wide):
    bad = [(d["genre"], d["locale"], it["entity"], it["value"][:60]) for d in wide for it in d["items"]
           if not item_ok(it["entity"], it["value"], region(d))]
    assert not bad


def test_phones_are_written_nationally_and_internationally(wide):
    phones = [it["value"] for d in wide for it in d["items"] if it["entity"] == "PHONE"]
    intl = [p for p in phones if p.startswith(("+", "00"))]
    assert 0.3 < len(intl) / len(phones) < 0.8
    for loc in c6.LOCALES:
        nat = [it["value"] for d in wide if d["locale"] == loc for it in d["items"]
               if it["entity"] == "PHONE" and not it["value"].startswith(("+", "00"))]
        assert nat, loc


def decoy_fails_its_rule(kind: str, v: str, reg: str) -> bool:
    digits = re.sub(r"\D", "", v)
    if kind == "luhn_invalid":
        return 13 <= len(digits) <= 19 and not luhn(digits)
    if kind == "iban_bad_check":
        s = v.replace(" ", "")
        return IBAN_LEN.get(s[:2]) == len(s) and not iban_ok(v)
    if kind == "invalid_phone":
        return not phone_ok(v, reg) and not phone_ok(v, "US")
    if kind == "doc_reserved":
        if v.startswith("+1"):
            return re.fullmatch(r"\+1 \d{3} 555 01\d\d", v) is not None
        return any(ipaddress.ip_address(v) in n for n in DOC_NETS)
    if kind == "loopback":
        host = v[1:v.index("]")] if v.startswith("[") else v.split(":")[0] if v.count(":") == 1 else v
        return host == "localhost" or ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    if kind == "placeholder":
        return not any(re.fullmatch(SECRET_SHAPE[e], v) and secret_ok(e, v) for e in SECRET_SHAPE)
    if kind == "uuid":
        return str(uuid.UUID(v)) == v.lower()
    if kind == "isbn":
        return len(digits) == 13 and digits[:3] in ("978", "979") and sum(
            int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(digits)) % 10 == 0
    if kind == "hash":
        return re.fullmatch(r"(sha256:)?([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})", v) is not None
    if kind == "mac_address":
        return re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", v) is not None
    if kind == "coordinates":
        lat, lon = (float(x) for x in v.split(", "))
        return -90 <= lat <= 90 and -180 <= lon <= 180
    if kind == "version":
        return re.fullmatch(r"v?\d+\.\d+\.\d+(\.\d+|-rc\.\d)?", v) is not None
    # number-shaped kinds: no valid phone of the document's region, no Luhn-valid card number
    return not phone_ok(v, reg) and not (12 <= len(digits) <= 19 and luhn(digits))


def test_every_decoy_fails_the_rule_it_imitates(wide):
    bad = [(d["locale"], dc["kind"], dc["value"]) for d in wide for dc in d["decoys"]
           if not decoy_fails_its_rule(dc["kind"], dc["value"], region(d))]
    assert not bad


def test_no_decoy_overlaps_or_contains_an_item(wide):
    for d in wide:
        spans = [(it["start"], it["end"]) for it in d["items"]]
        for dc in d["decoys"]:
            assert not any(dc["value"] in it["value"] or it["value"] in dc["value"] for it in d["items"]), dc
            for m in re.finditer(re.escape(dc["value"]), d["text"]):
                assert all(m.end() <= a or m.start() >= b for a, b in spans), (d["genre"], dc)


def test_every_cell_type_and_decoy_kind_present(corpus, wide):
    assert {(d["locale"], d["genre"]) for d in corpus} == {(loc, g) for loc in c6.LOCALES for g in c6.GENRES}
    assert len(c6.LOCALES) >= 12 and len(c6.GENRES) >= 12 and len(c6.DECOY_KINDS) >= 15
    assert {it["entity"] for d in wide for it in d["items"]} == set(c6.TYPES)
    assert {dc["kind"] for d in wide for dc in d["decoys"]} == set(c6.DECOY_KINDS)
    assert set(c6.GENRE_ABBR) == set(c6.GENRES) and set(c6.DEFAULT_TYPES) <= set(c6.TYPES)
    assert all(len(a) <= 6 for a in c6.GENRE_ABBR.values())  # report.py's columns are 7 wide
