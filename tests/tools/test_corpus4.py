"""bench/pii/corpus4: the fourth PII corpus (written blind) is a function of its seed, every label is an
exact span of its document, every labelled value is valid by its own rule (libphonenumber, Luhn and a
real issuer prefix, SSA rules, IBAN mod 97, IP grammar, each credential's shape) and every decoy is
what its kind says (Luhn-invalid, valid as a phone nowhere, loopback, ...), so a miss or a lost decoy
in `report.py --corpus c4` is the engine's, not the generator's. The checks below are written again
here, not imported from the generator."""

import base64
import importlib
import ipaddress
import json
import pathlib
import re
import sys
import uuid

import phonenumbers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "bench" / "pii" / "corpus4"
c4 = importlib.import_module("corpus4")

N = len(c4.LOCALES) * len(c4.GENRES)  # every locale x genre once
REGIONS = sorted(set(c4.REGION.values()) | {"US", "GB", "DE", "FR", "NL", "AT", "ES", "IT", "SE", "DK", "PT", "IN", "AU"})


@pytest.fixture(scope="module")
def corpus():
    return c4.corpus(7, N)


def luhn(d: str) -> bool:
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch) * (2 if i % 2 else 1)
        s += x - 9 if x > 9 else x
    return s % 10 == 0


def mod97(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    return int("".join(str(int(ch, 36)) for ch in s[4:] + s[:4])) % 97 == 1


def valid_phone_somewhere(v: str) -> bool:
    for r in REGIONS:
        try:
            p = phonenumbers.parse(v.replace("~", " "), r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(p) and not p.extension:
            return True
    return False


CARD_PREFIX = re.compile(r"^(4|5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|6011|64[4-9]|65|35(2[89]|[3-8]\d)"
                         r"|36|30[0-5]|38|62|6759|5018|5020|6304|636368|438935|504175|451416|627780|506699|606282)")
IBAN_LEN = {"BE": 16, "CH": 21, "LI": 21, "IE": 22, "BR": 29, "CZ": 24, "HU": 28, "RO": 24, "GR": 27, "FI": 18, "NO": 15,
            "PL": 28, "DE": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "PT": 25, "GB": 22, "AT": 20, "LU": 20, "DK": 18,
            "SE": 24, "SK": 24, "SI": 19, "HR": 21, "BG": 22, "EE": 20, "LT": 20, "LV": 21, "MT": 31, "CY": 28, "SA": 24,
            "AE": 23, "TR": 26, "IL": 23, "MC": 27, "IS": 26, "SM": 27}


def check_item(entity: str, v: str) -> bool:
    digits = "".join(ch for ch in v if ch.isdigit())
    if entity == "EMAIL":
        return re.fullmatch(r"[a-z0-9._+-]+@[^\s@]+\.[a-z]{2,}", v) is not None
    if entity == "PHONE":
        return valid_phone_somewhere(v)
    if entity == "CREDIT_CARD":
        return 12 <= len(digits) <= 19 and luhn(digits) and CARD_PREFIX.match(digits) is not None and re.fullmatch(
            r"[\d -]+", v) is not None
    if entity == "US_SSN":
        area, grp, ser = int(digits[:3]), int(digits[3:5]), int(digits[5:])
        return (len(digits) == 9 and re.fullmatch(r"\d{3}([- ]?)\d{2}\1\d{4}", v) is not None and 0 < area < 900
                and area != 666 and grp > 0 and ser > 0)
    if entity == "IBAN":
        s = v.replace(" ", "")
        return IBAN_LEN.get(s[:2]) == len(s) and mod97(v)
    if entity == "IP_ADDRESS":
        ip = ipaddress.ip_address(v)
        return not ip.is_loopback and not ip.is_unspecified
    if entity == "AWS_ACCESS_KEY":
        return re.fullmatch(r"(AKIA|ASIA)[A-Z2-7]{16}", v) is not None
    if entity == "AWS_SECRET_KEY":
        return re.fullmatch(r"[A-Za-z0-9+/]{40}", v) is not None
    if entity == "GITHUB_TOKEN":
        return re.fullmatch(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_11[A-Z0-9]{20}_[A-Za-z0-9]{59}", v) is not None
    if entity == "SLACK_TOKEN":
        return re.fullmatch(r"xox[bpa]-\d{10,13}-\d{10,13}-[A-Za-z0-9]{24}", v) is not None
    if entity == "STRIPE_KEY":
        return re.fullmatch(r"(sk|rk)_(live|test)_[A-Za-z0-9]{24,99}", v) is not None
    if entity == "OPENAI_KEY":
        return re.fullmatch(r"sk-(proj-)?[A-Za-z0-9_-]+T3BlbkFJ[A-Za-z0-9_-]+", v) is not None
    if entity == "OPENROUTER_KEY":
        return re.fullmatch(r"sk-or-v1-[0-9a-f]{64}", v) is not None
    if entity == "ANTHROPIC_KEY":
        return re.fullmatch(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA", v) is not None
    if entity == "GOOGLE_API_KEY":
        return re.fullmatch(r"AIza[A-Za-z0-9_-]{35}", v) is not None
    if entity == "JWT":
        h, p, sig = v.split(".")
        hdr = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        return "alg" in hdr and len(sig) >= 43
    if entity == "PRIVATE_KEY":
        # as written: plain, `\n`-escaped (JSON, .env) or indented (YAML block)
        return re.fullmatch(r"-----BEGIN ((RSA|EC|OPENSSH) )?PRIVATE KEY-----(\n|\\n|\n    )[A-Za-z0-9+/=\\\n ]+"
                            r"-----END ((RSA|EC|OPENSSH) )?PRIVATE KEY-----", v) is not None
    if entity == "BEARER_TOKEN":
        return re.fullmatch(r"[A-Za-z0-9_-]{32,64}", v) is not None
    raise AssertionError(entity)


def test_same_seed_same_corpus_other_seed_other_corpus():
    a, b, c = c4.corpus(3, 40), c4.corpus(3, 40), c4.corpus(4, 40)
    assert a == b
    assert [d["text"] for d in a] != [d["text"] for d in c]


def test_every_span_is_its_value(corpus):
    for d in corpus:
        for x in d["items"] + d["decoys"]:
            assert d["text"][x["start"]:x["end"]] == x["value"], (d["genre"], x)


def test_every_labelled_value_is_valid_by_its_own_rule(corpus):
    bad = [(d["genre"], it["entity"], it["value"]) for d in corpus for it in d["items"]
           if not check_item(it["entity"], it["value"])]
    assert not bad, bad[:10]


def test_decoys_are_what_their_kind_says(corpus):
    for d in corpus:
        for dc in d["decoys"]:
            k, v = dc["kind"], dc["value"]
            digits = "".join(ch for ch in v if ch.isdigit())
            if k == "luhn_invalid":
                assert len(digits) >= 12 and not luhn(digits), v
            elif k == "invalid_phone":
                assert not valid_phone_somewhere(v), v
            elif k == "loopback":
                assert v == "localhost" or ipaddress.ip_address(v).is_loopback or ipaddress.ip_address(v).is_unspecified
            elif k == "uuid":
                assert str(uuid.UUID(v)) == v
            elif k == "isbn":
                assert sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits)) % 10 == 0 and len(digits) == 13
            elif k == "git_sha":
                assert re.fullmatch(r"[0-9a-f]{7}|[0-9a-f]{40}", v), v
            elif k == "version":
                assert re.fullmatch(r"\d+(\.\d+){2,3}", v), v
            elif k == "epoch_ms":
                assert len(v) == 13 and v.isdigit()


def test_decoys_never_overlap_items(corpus):
    for d in corpus:
        spans = [(it["start"], it["end"]) for it in d["items"]]
        for dc in d["decoys"]:
            for m in re.finditer(re.escape(dc["value"]), d["text"]):
                assert not any(m.start() < e and s < m.end() for s, e in spans), (d["genre"], dc)


def test_every_locale_genre_type_and_decoy_kind_is_there(corpus):
    assert {(d["locale"], d["genre"]) for d in corpus} == {(lo, g) for lo in c4.LOCALES for g in c4.GENRES}
    assert {it["entity"] for d in corpus for it in d["items"]} == set(c4.TYPES)
    assert {dc["kind"] for d in corpus for dc in d["decoys"]} == set(c4.DECOY_KINDS)
    assert set(c4.GENRE_ABBR) == set(c4.GENRES)


def test_same_corpus_in_another_process_with_another_hash_seed():
    """No set or dict order of strings (randomised per process) reaches the output."""
    import os
    import subprocess
    outs = []
    for h in ("1", "2"):
        p = subprocess.run([sys.executable, str(DIR / "corpus4.py"), "--seed", "5", "--docs", "40", "--jsonl"],
                           capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": h})
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    assert outs[0].count("\n") == 40
