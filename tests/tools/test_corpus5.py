"""bench/pii/corpus5: the fifth PII corpus (written blind) is a function of its seed, every label is an
exact span of its document, every labelled value is valid by its own rule (libphonenumber for the
document's country, Luhn and a real issuer range, SSA rules, IBAN mod 97 and registry length, IP
grammar, each credential's shape) and every decoy is what its kind says, so a miss or a lost decoy in
`report.py --corpus c5` is the engine's, not the generator's. The rules are written again here, not
imported from the generator."""

import base64
import importlib
import ipaddress
import json
import os
import pathlib
import re
import subprocess
import sys
import unicodedata
import uuid

import phonenumbers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "bench" / "pii" / "corpus5"
c5 = importlib.import_module("corpus5")

N = len(c5.LOCALES) * len(c5.GENRES)  # every locale x genre once
REGIONS = sorted({loc.split("_")[1] for loc in c5.LOCALES})

# IBAN registry lengths (SWIFT IBAN registry), for every country the corpus may draw
IBAN_LEN = {"AE": 23, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CR": 22, "CY": 28,
            "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
            "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
            "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
            "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
            "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29,
            "VG": 24, "XK": 20}
# issuer identification ranges of the schemes the corpus draws: (low, high) on the leading digits
IIN = [(4, 4), (51, 55), (2221, 2720), (34, 34), (37, 37), (6011, 6011), (644, 649), (65, 65), (3528, 3589), (62, 62),
       (36, 36), (300, 305), (38, 38), (9792, 9792), (2200, 2204), (5085, 5089), (6070, 6070), (6521, 6522), (6759, 6759), (5018, 5018),
       (5020, 5020), (6304, 6304)]
SECRET_RE = {
    "AWS_ACCESS_KEY": r"(AKIA|ASIA)[A-Z2-7]{16}",
    "AWS_SECRET_KEY": r"[A-Za-z0-9/+]{40}",
    "GITHUB_TOKEN": r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    "SLACK_TOKEN": r"xox[bp]-[0-9]+-[0-9]+(-[0-9]+)?-[A-Za-z0-9]+|xoxe\.xoxp-1-[A-Za-z0-9]{100,}|xapp-1-A[A-Z0-9]+-[0-9]+-[0-9a-f]{64}",
    "STRIPE_KEY": r"(sk|rk)_(live|test)_[A-Za-z0-9]{24,99}",
    "OPENAI_KEY": r"sk-(proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}",
    "OPENROUTER_KEY": r"sk-or-v1-[0-9a-f]{64}",
    "ANTHROPIC_KEY": r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
    "GOOGLE_API_KEY": r"AIza[A-Za-z0-9_-]{35}",
    "BEARER_TOKEN": r"[A-Za-z0-9._-]{40,}",
}


@pytest.fixture(scope="module")
def corpus():
    return c5.corpus(7, N)


def luhn(d: str) -> bool:
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch) * (2 if i % 2 else 1)
        s += x - 9 if x > 9 else x
    return s % 10 == 0


def fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))


def phone_ok(value: str, region: str) -> bool:
    v = fold(value)
    d = "".join(c for c in v if c.isdigit())
    try:
        if v.startswith("+"):
            n = phonenumbers.parse("+" + d, None)
        elif d.startswith("00"):
            n = phonenumbers.parse("+" + d[2:], None)
        elif region == "ID" and d.startswith("62"):  # wa.me style: country code without +
            n = phonenumbers.parse("+" + d, None)
        else:
            n = phonenumbers.parse(d, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n)


def iban_ok(v: str) -> bool:
    s = v.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", s) or IBAN_LEN.get(s[:2]) != len(s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def card_ok(v: str) -> bool:
    d = fold(v).replace(" ", "").replace("-", "")
    return d.isdigit() and 13 <= len(d) <= 19 and luhn(d) and any(lo <= int(d[:len(str(lo))]) <= hi for lo, hi in IIN)


def ssn_ok(v: str) -> bool:
    m = re.fullmatch(r"(\d{3})([- ]?)(\d{2})\2(\d{4})", v)
    return m is not None and m[1] not in ("000", "666") and m[1][0] != "9" and m[3] != "00" and m[4] != "0000"


def email_ok(v: str) -> bool:
    atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
    return bool(re.fullmatch(rf"{atom}(\.{atom})*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{{2,}}", v))


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def check_item(entity: str, value: str, region: str) -> bool:
    if entity == "EMAIL":
        return email_ok(value)
    if entity == "PHONE":
        return phone_ok(value, region)
    if entity == "CREDIT_CARD":
        return card_ok(value)
    if entity == "US_SSN":
        return ssn_ok(value)
    if entity == "IBAN":
        return iban_ok(value)
    if entity == "IP_ADDRESS":
        ip = ipaddress.ip_address(value)
        return not ip.is_loopback and not ip.is_unspecified
    if entity == "JWT":
        h, p, s = value.split(".")
        return b64url_json(h)["typ"] == "JWT" and "sub" in b64url_json(p) and len(s) > 20
    if entity == "PRIVATE_KEY":
        lines = value.split("\n")
        pre = lines[-1][:lines[-1].find("-----END")]  # a patch's "+" or YAML's indent, the same on every line
        assert all(ln.startswith(pre) for ln in lines[1:]), value[:80]
        lines = [lines[0]] + [ln[len(pre):] for ln in lines[1:]]
        m = re.fullmatch(r"-----BEGIN ([A-Z ]+)-----", lines[0])
        return m is not None and lines[-1] == f"-----END {m[1]}-----" and len(base64.b64decode("".join(lines[1:-1]))) > 100
    return bool(re.fullmatch(SECRET_RE[entity], value))


def test_deterministic_per_seed(corpus):
    again = c5.corpus(7, N)
    assert corpus == again
    assert c5.corpus(8, 40) != corpus[:40]


def test_deterministic_across_processes():
    code = "import json, corpus5; print(json.dumps(corpus5.corpus(3, 30)))"
    outs = []
    for hs in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hs, PYTHONPATH=str(DIR))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=300)
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0]) == c5.corpus(3, 30)


def test_every_span_is_its_value(corpus):
    for d in corpus:
        for x in d["items"] + d["decoys"]:
            assert d["text"][x["start"]:x["end"]] == x["value"], (d["genre"], x)


def test_every_item_valid_by_its_rule(corpus):
    bad = [(d["genre"], d["locale"], it["entity"], it["value"][:80]) for d in corpus for it in d["items"]
           if not check_item(it["entity"], it["value"], d["locale"].split("_")[1])]
    assert not bad


def test_every_decoy_is_what_its_kind_says(corpus):
    for d in corpus:
        for dc in d["decoys"]:
            k, val = dc["kind"], dc["value"]
            digits = "".join(ch for ch in val.replace("O", "0").replace("l", "1") if ch.isdigit())  # OCR'd decoys
            if k == "luhn_invalid":
                assert len(digits) == 16 and not luhn(digits), val
            elif k == "invalid_phone":
                assert not any(phone_ok(val, r) for r in REGIONS), val
            elif k == "loopback":
                host = val.split(":8080")[0]
                assert host == "localhost" or ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified, val
            elif k == "uuid":
                assert str(uuid.UUID(val)) == val.lower()
            elif k == "isbn":
                assert len(digits) == 13 and sum(int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(digits)) % 10 == 0, val
            elif k == "issn":
                s = val.replace("-", "")
                assert (sum(int(x) * w for x, w in zip(s[:7], range(8, 1, -1), strict=True)) + (10 if s[7] == "X" else int(s[7]))) % 11 == 0, val
            elif k in ("git_sha", "hash"):
                assert re.fullmatch(r"(sha256:|md5 )?[0-9a-f]{7,64}", val), val
            elif k == "masked_card":
                assert re.search(r"[*X]{4}", val), val
            elif k == "otp_code":
                assert re.fullmatch(r"\d{6}", val), val
            assert not any(val in it["value"] for it in d["items"]), (k, val)


def test_no_decoy_overlaps_an_item(corpus):
    for d in corpus:
        spans = [(it["start"], it["end"]) for it in d["items"]]
        for dc in d["decoys"]:
            for m in re.finditer(re.escape(dc["value"]), d["text"]):
                assert all(m.end() <= a or m.start() >= b for a, b in spans), (d["genre"], dc)


def test_every_cell_type_and_decoy_kind_present(corpus):
    assert {(d["locale"], d["genre"]) for d in corpus} == {(loc, g) for loc in c5.LOCALES for g in c5.GENRES}
    wide = corpus + c5.corpus(7, N, start=N)
    assert {it["entity"] for d in wide for it in d["items"]} == set(c5.TYPES)
    assert {dc["kind"] for d in wide for dc in d["decoys"]} == set(c5.DECOY_KINDS)
    assert set(c5.GENRE_ABBR) == set(c5.GENRES) and set(c5.DEFAULT_TYPES) <= set(c5.TYPES)
