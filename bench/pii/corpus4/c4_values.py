"""Value makers of corpus 4: every labelled value is made here and is valid by its own rule
(phonenumbers' is_valid_number, Luhn with a real issuer prefix, SSA area/group/serial rules,
IBAN mod 97, IP grammar, the published shape of each credential); decoys are made here too and
are invalid or harmless by construction (Luhn-invalid numbers, numbers no numbering plan accepts,
placeholders, loopback addresses, versions, ids, hashes).

Written without reading the detector or the other corpora's generators."""
from __future__ import annotations

import base64
import hashlib
import json
import random
import string

import phonenumbers
from phonenumbers import PhoneNumberFormat as PNF
from phonenumbers import PhoneNumberType as PNT

ALNUM = string.ascii_letters + string.digits
UPPER_NUM = string.ascii_uppercase + string.digits
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"

# Regions whose numbers, IBANs and e-mail domains a document mixes in besides its own.
OTHER_REGIONS = ["US", "GB", "DE", "FR", "NL", "AT", "ES", "IT", "SE", "DK", "PT", "IN", "AU"]


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# ---------------------------------------------------------------- phone numbers

def _national_digits(rng: random.Random, region: str, mobile: bool) -> phonenumbers.PhoneNumber | None:
    """A random valid number of `region`: the example number's leading digits, random tail."""
    kind = PNT.MOBILE if mobile else PNT.FIXED_LINE
    ex = phonenumbers.example_number_for_type(region, kind)
    if ex is None:
        ex = phonenumbers.example_number(region)
    if ex is None:
        return None
    nsn = phonenumbers.national_significant_number(ex)
    keep = max(1, min(3, len(nsn) - 5))
    for _ in range(60):
        digits = nsn[:keep] + rand(rng, string.digits, len(nsn) - keep)
        p = phonenumbers.PhoneNumber(country_code=ex.country_code, national_number=int(digits))
        if digits.startswith("0") or not phonenumbers.is_valid_number_for_region(p, region):
            continue
        t = phonenumbers.number_type(p)
        if t in (PNT.MOBILE, PNT.FIXED_LINE, PNT.FIXED_LINE_OR_MOBILE):
            return p
    return ex


def _regroup(national: str, sep: str) -> str:
    return national.replace(" ", sep).replace("-", sep) if sep != " " else national.replace("-", " ")


def phone_styles(p: phonenumbers.PhoneNumber, region: str) -> dict[str, str]:
    intl = phonenumbers.format_number(p, PNF.INTERNATIONAL)
    nat = phonenumbers.format_number(p, PNF.NATIONAL)
    e164 = phonenumbers.format_number(p, PNF.E164)
    cc = str(p.country_code)
    rest = intl[len(cc) + 2:]
    s = {
        "intl": intl,
        "national": nat,
        "e164": e164,
        "intl_dash": "+" + cc + "-" + rest.replace(" ", "-"),
        "intl_00": "00" + cc + " " + rest,
        "national_compact": "".join(ch for ch in nat if ch.isdigit()),
        "tel_uri": "tel:" + "+" + cc + "-" + rest.replace(" ", "-"),
    }
    if "(" not in nat:
        s["national_dots"] = _regroup(nat, ".")
        s["national_dash"] = _regroup(nat, "-")
    if region in ("CH", "BE", "DE", "AT", "GB", "IE", "NL", "IT") and phonenumbers.national_significant_number(p)[:1] != "0":
        s["intl_paren0"] = "+" + cc + " (0)" + rest
    if cc == "1":
        area = nat[1:4]
        s["nanp_dash"] = area + "-" + nat[6:]
        s["nanp_dots"] = area + "." + nat[6:].replace("-", ".")
        s["nanp_1"] = "1-" + area + "-" + nat[6:]
        s["national_compact"] = area + nat[6:].replace("-", "")
    return s


def make_phone(rng: random.Random, region: str, style: str | None = None, mobile: bool | None = None) -> str:
    """A valid number of `region` written the way people write it (style picked when None)."""
    if mobile is None:
        mobile = rng.random() < 0.6
    for _ in range(10):
        p = _national_digits(rng, region, mobile)
        if p is None:
            region = "GB"
            continue
        styles = phone_styles(p, region)
        if style is None or style not in styles:
            weights = {"intl": 30, "national": 30, "e164": 8, "intl_dash": 4, "intl_00": 4, "national_compact": 6,
                       "national_dots": 4, "national_dash": 4, "intl_paren0": 6, "nanp_dash": 10, "nanp_dots": 4,
                       "nanp_1": 3}
            names = [k for k in styles if k in weights]
            pick = rng.choices(names, [weights[k] for k in names])[0]
        else:
            pick = style
        v = styles[pick]
        if phone_valid(v, region):
            return v
    raise AssertionError(f"no valid number for {region}")


def phone_valid(v: str, region: str) -> bool:
    """The labelled value's own rule: libphonenumber parses it (LaTeX `~` and tel: URIs as written) to a valid number."""
    try:
        p = phonenumbers.parse(v.replace("~", " "), region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(p) and not p.extension


def invalid_phone(rng: random.Random, region: str) -> str:
    """Written like a number of `region` (same grouping, same length) but with leading digits that no
    numbering plan of ours assigns: libphonenumber finds it valid nowhere."""
    regions = ["CA", "US", "IE", "NZ", "ZA", "BE", "CH", "MX", "BR", "CZ", "HU", "RO", "GR", "FI", "NO", "PL", "GB",
               "DE", "FR"] + OTHER_REGIONS
    for _ in range(400):
        v = make_phone(rng, region, style=rng.choice(["intl", "national", "e164"]))
        digits = [i for i, ch in enumerate(v) if ch.isdigit()]
        skip = len(str(phonenumbers.parse(v, region).country_code)) if v.startswith("+") else 0
        if v.startswith("0"):
            skip = 1
        if len(digits) < skip + 6:
            continue
        k = digits[skip + rng.randint(0, 1)]
        w = v[:k] + rng.choice(string.digits.replace(v[k], "")) + v[k + 1:]
        if not any(phone_valid(w, r) for r in regions):
            return w
    raise AssertionError(f"no invalid number found for {region}")


# ---------------------------------------------------------------- cards

# (prefixes, lengths): real issuer ranges.
CARD_ISSUERS: list[tuple[str, list[str], list[int], int]] = [
    ("visa", ["4"], [16, 16, 16, 13, 19], 40),
    ("mastercard", [str(x) for x in range(51, 56)] + [str(x) for x in range(2221, 2721, 7)], [16], 30),
    ("amex", ["34", "37"], [15], 8),
    ("discover", ["6011", "65"] + [str(x) for x in range(644, 650)], [16], 4),
    ("jcb", [str(x) for x in range(3528, 3590, 3)], [16], 3),
    ("diners", ["36", "300", "301", "305", "38"], [14], 2),
    ("unionpay", ["62"], [16, 19], 3),
    ("maestro", ["6759", "5018", "5020", "6304"], [16, 18, 19], 3),
    ("elo", ["636368", "438935", "504175", "451416", "627780", "506699"], [16], 3),
    ("hipercard", ["606282"], [16], 2),
]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    for c in string.digits:
        if luhn_ok(body + c):
            return body + c
    raise AssertionError("unreachable")


def card_digits(rng: random.Random) -> tuple[str, str]:
    name, prefixes, lengths, _ = rng.choices(CARD_ISSUERS, [w for *_, w in CARD_ISSUERS])[0]
    pre = rng.choice(prefixes)
    n = rng.choice(lengths)
    return name, luhn_complete(pre + rand(rng, string.digits, n - len(pre) - 1))


def group_card(d: str, style: str) -> str:
    if style == "compact":
        return d
    sep = {"space": " ", "dash": "-"}[style]
    if len(d) in (14, 15):  # Diners 4-6-4, Amex 4-6-5
        parts = [d[:4], d[4:10], d[10:]]
    else:
        parts = [d[i:i + 4] for i in range(0, len(d), 4)]
    return sep.join(parts)


def make_card(rng: random.Random, style: str | None = None) -> str:
    _, d = card_digits(rng)
    return group_card(d, style or rng.choices(["space", "compact", "dash"], [55, 35, 10])[0])


def luhn_invalid(rng: random.Random) -> str:
    _, d = card_digits(rng)
    while True:
        last = rng.choice(string.digits)
        if not luhn_ok(d[:-1] + last):
            d = d[:-1] + last
            break
    if len(d) != 16:
        d = luhn_complete("4" + rand(rng, string.digits, 14))[:-1]
        d += next(c for c in string.digits if not luhn_ok(d + c))
    return group_card(d, rng.choice(["space", "compact", "dash"]))


def card_valid(v: str) -> bool:
    d = "".join(ch for ch in v if ch.isdigit())
    if not (12 <= len(d) <= 19 and luhn_ok(d)):
        return False
    return any(d.startswith(p) and len(d) in ls for _, ps, ls, _ in CARD_ISSUERS for p in ps)


# ---------------------------------------------------------------- US SSN

def make_ssn(rng: random.Random, style: str = "dash") -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    g = rng.randint(1, 99)
    s = rng.randint(1, 9999)
    sep = {"dash": "-", "space": " ", "bare": ""}[style]
    return f"{area:03d}{sep}{g:02d}{sep}{s:04d}"


def ssn_valid(v: str) -> bool:
    d = "".join(ch for ch in v if ch.isdigit())
    if len(d) != 9:
        return False
    a, g, s = int(d[:3]), int(d[3:5]), int(d[5:])
    return 0 < a < 900 and a != 666 and g > 0 and s > 0


# ---------------------------------------------------------------- IBAN

# country -> BBAN layout: n digits, a upper letters, c upper alphanumerics (ISO 13616 registry lengths).
IBAN_LAYOUT = {
    "BE": "12n", "CH": "5n12c", "LI": "5n12c", "IE": "4a14n", "BR": "23n1a1c", "CZ": "20n", "HU": "24n",
    "RO": "4a16c", "GR": "7n16c", "FI": "14n", "NO": "11n", "PL": "24n", "DE": "18n", "FR": "10n11c2n",
    "NL": "4a10n", "ES": "20n", "IT": "1a10n12c", "PT": "21n", "GB": "4a14n", "AT": "16n", "LU": "3n13c",
    "DK": "14n", "SE": "20n", "SK": "20n", "SI": "15n", "HR": "17n", "BG": "4a6n8c", "EE": "16n", "LT": "16n",
    "LV": "4a13c", "MT": "4a5n18c", "CY": "8n16c", "SA": "2n18c", "AE": "3n16n", "TR": "5n1n16c", "IL": "19n",
    "MC": "10n11c2n", "IS": "22n", "SM": "1a10n12c",
}


def _layout(spec: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    num = ""
    for ch in spec:
        if ch.isdigit():
            num += ch
        else:
            out.append((int(num), ch))
            num = ""
    return out


def iban_check(country: str, bban: str) -> str:
    s = bban + country + "00"
    n = int("".join(str(int(ch, 36)) for ch in s))
    return f"{98 - n % 97:02d}"


def iban_valid(v: str) -> bool:
    s = v.replace(" ", "").replace("-", "").upper()
    if len(s) < 15 or s[:2] not in IBAN_LAYOUT:
        return False
    want = 4 + sum(n for n, _ in _layout(IBAN_LAYOUT[s[:2]]))
    if len(s) != want or not s.isalnum():
        return False
    return int("".join(str(int(ch, 36)) for ch in s[4:] + s[:4])) % 97 == 1


def make_iban(rng: random.Random, country: str, style: str | None = None) -> str:
    bban = ""
    for n, kind in _layout(IBAN_LAYOUT[country]):
        if kind == "n":
            bban += rand(rng, string.digits, n)
        elif kind == "a":
            bban += rand(rng, string.ascii_uppercase, n)
        else:  # mostly digits, as real account numbers are
            bban += "".join(rng.choice(UPPER_NUM) if rng.random() < 0.04 else rng.choice(string.digits) for _ in range(n))
    compact = country + iban_check(country, bban) + bban
    style = style or rng.choices(["print", "compact"], [65, 35])[0]
    if style == "compact":
        return compact
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


# ---------------------------------------------------------------- IP addresses

def make_ipv4(rng: random.Random, private: bool | None = None) -> str:
    if private is None:
        private = rng.random() < 0.45
    if private:
        return rng.choice([
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        ])
    while True:
        a = rng.randint(1, 223)
        if a not in (10, 127, 172, 192, 0, 100, 169):
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def make_ipv6(rng: random.Random) -> str:
    groups = [rng.choice(["2001", "2a02", "2a01", "2600", "2804", "2c0f", "2406"])] + [
        f"{rng.randint(0, 0xFFFF):x}" for _ in range(7)]
    form = rng.choices(["full", "compressed", "linklocal", "mapped"], [25, 55, 12, 8])[0]
    if form == "full":
        return ":".join(groups)
    if form == "compressed":  # "::" stands for two or more zero groups (RFC 5952)
        k = rng.randint(2, 4)
        return ":".join(groups[:k]) + "::" + ":".join(groups[-rng.randint(1, 6 - k):])
    if form == "linklocal":
        return "fe80::" + ":".join(f"{rng.randint(0x100, 0xFFFF):x}" for _ in range(4))
    return "::ffff:" + make_ipv4(rng, private=False)


def make_ip(rng: random.Random) -> str:
    return make_ipv6(rng) if rng.random() < 0.22 else make_ipv4(rng)


def ip_valid(v: str) -> bool:
    import ipaddress
    try:
        a = ipaddress.ip_address(v)
    except ValueError:
        return False
    return not a.is_loopback and not a.is_unspecified


# ---------------------------------------------------------------- secrets

def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_secret(rng: random.Random, entity: str) -> str:
    if entity == "AWS_ACCESS_KEY":
        return rng.choice(["AKIA", "AKIA", "AKIA", "ASIA"]) + rand(rng, string.ascii_uppercase + "234567", 16)
    if entity == "AWS_SECRET_KEY":
        while True:
            v = rand(rng, B64, 40)
            if any(c.isupper() for c in v) and any(c.islower() for c in v) and any(c.isdigit() for c in v):
                return v
    if entity == "GITHUB_TOKEN":
        if rng.random() < 0.25:
            return "github_pat_11" + rand(rng, UPPER_NUM, 20) + "_" + rand(rng, ALNUM, 59)
        return rng.choice(["ghp_", "ghp_", "gho_", "ghs_", "ghu_"]) + rand(rng, ALNUM, 36)
    if entity == "SLACK_TOKEN":
        p = rng.choice(["xoxb", "xoxb", "xoxp", "xoxa"])
        return (f"{p}-{rng.randint(10**10, 10**13 - 1)}-{rng.randint(10**10, 10**13 - 1)}-" + rand(rng, ALNUM, 24))
    if entity == "STRIPE_KEY":
        return rng.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"]) + rand(rng, ALNUM, rng.choice([24, 99]))
    if entity == "OPENAI_KEY":
        if rng.random() < 0.6:
            return "sk-proj-" + rand(rng, ALNUM + "-_", 74) + "T3BlbkFJ" + rand(rng, ALNUM + "-_", 74)
        return "sk-" + rand(rng, ALNUM, 20) + "T3BlbkFJ" + rand(rng, ALNUM, 20)
    if entity == "OPENROUTER_KEY":
        return "sk-or-v1-" + rand(rng, "0123456789abcdef", 64)
    if entity == "ANTHROPIC_KEY":
        return "sk-ant-api03-" + rand(rng, ALNUM + "-_", 93) + "AA"
    if entity == "GOOGLE_API_KEY":
        return "AIza" + rand(rng, ALNUM + "-_", 35)
    if entity == "JWT":
        hdr = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"},
                                separators=(",", ":")).encode())
        claims = {"sub": str(rng.randint(10**5, 10**9)), "iat": rng.randint(1_600_000_000, 1_800_000_000),
                  "exp": rng.randint(1_800_000_000, 1_900_000_000), "scope": rng.choice(["read", "read write", "admin"])}
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{hdr}.{body}.{b64url(rng.randbytes(rng.choice([32, 64])))}"
    if entity == "PRIVATE_KEY":
        kind = rng.choice(["RSA ", "EC ", "OPENSSH ", ""])
        raw = base64.b64encode(rng.randbytes(rng.choice([121, 240, 400]))).decode()
        lines = [raw[i:i + 64] for i in range(0, len(raw), 64)]
        return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"
    if entity == "BEARER_TOKEN":
        return rand(rng, B64URL, rng.choice([32, 40, 64]))
    raise ValueError(entity)


SECRET_RULES = {
    "AWS_ACCESS_KEY": lambda v: len(v) == 20 and v[:4] in ("AKIA", "ASIA") and v.isalnum() and v.isupper(),
    "AWS_SECRET_KEY": lambda v: len(v) == 40 and all(c in B64 for c in v),
    "GITHUB_TOKEN": lambda v: (v[:4] in ("ghp_", "gho_", "ghs_", "ghu_") and len(v) == 40) or v.startswith("github_pat_"),
    "SLACK_TOKEN": lambda v: v[:5] in ("xoxb-", "xoxp-", "xoxa-") and v.count("-") == 3,
    "STRIPE_KEY": lambda v: v[:8] in ("sk_live_", "rk_live_", "sk_test_") and len(v) >= 32,
    "OPENAI_KEY": lambda v: v.startswith("sk-") and "T3BlbkFJ" in v,
    "OPENROUTER_KEY": lambda v: v.startswith("sk-or-v1-") and len(v) == 73,
    "ANTHROPIC_KEY": lambda v: v.startswith("sk-ant-api03-") and len(v) == 108,
    "GOOGLE_API_KEY": lambda v: v.startswith("AIza") and len(v) == 39,
    "JWT": lambda v: v.count(".") == 2 and json.loads(base64.urlsafe_b64decode(v.split(".")[0] + "==")).get("alg"),
    "PRIVATE_KEY": lambda v: v.startswith("-----BEGIN ") and v.rstrip().endswith("PRIVATE KEY-----"),
    "BEARER_TOKEN": lambda v: len(v) >= 32 and all(c in B64URL for c in v),
}


# ---------------------------------------------------------------- decoys

def isbn13(rng: random.Random) -> str:
    body = "978" + rand(rng, string.digits, 9)
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    d = body + str((10 - s % 10) % 10)
    return f"{d[:3]}-{d[3]}-{d[4:8]}-{d[8:12]}-{d[12]}"


def placeholder_key(rng: random.Random) -> str:
    return rng.choice([
        "sk-or-v1-" + "x" * rng.choice([12, 32, 64]),
        "sk-...-xxxx",
        "<YOUR_OPENROUTER_KEY>",
        "<YOUR_API_KEY>",
        "${OPENAI_API_KEY}",
        "$STRIPE_SECRET_KEY",
        "xoxb-your-bot-token",
        "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "sk_live_REPLACE_ME",
        "AKIAXXXXXXXXXXXXXXXX",
        "{{ .Values.apiKey }}",
        "changeme",
        "%OPENAI_API_KEY%",
        "sk-proj-****************************",
        "your-api-key-here",
    ])


def sha(rng: random.Random, n: int) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()[:n]
