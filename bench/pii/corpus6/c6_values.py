"""Value makers of corpus 6: every labelled value is drawn at random and checked by its own rule before use.

Phones: libphonenumber's metadata for the region (a number of the region's mobile or fixed-line plan, re-drawn
until `is_valid_number`); cards: a real issuer range, the scheme's length, Luhn; IBANs: the country's BBAN shape
and length, ISO 7064 mod 97-10; US SSNs: the SSA's rules; IP addresses: global or private unicast (never
loopback, unspecified or the documentation ranges, which are decoys here); secrets: each vendor's published
shape with random bodies (GitHub tokens carry their CRC-32 check, as real ones do)."""
from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
import zlib

import phonenumbers
from phonenumbers import PhoneNumberFormat as PNF
from phonenumbers import PhoneNumberType as PNT

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

# ---------------------------------------------------------------- phones


def phone_number(rng: random.Random, region: str, mobile: bool) -> phonenumbers.PhoneNumber:
    """A valid number of `region`'s plan: the example number's first 1-3 digits, the rest random."""
    ex = phonenumbers.example_number_for_type(region, PNT.MOBILE if mobile else PNT.FIXED_LINE)
    if ex is None:
        ex = phonenumbers.example_number(region)
    if ex is None:
        raise KeyError(region)
    nsn = phonenumbers.national_significant_number(ex)
    for _ in range(400):
        keep = rng.randint(1, min(3, len(nsn) - 4))
        cand = nsn[:keep] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - keep))
        n = phonenumbers.parse("+" + str(ex.country_code) + cand, None)
        if phonenumbers.is_valid_number(n) and phonenumbers.region_code_for_number(n) == region:
            return n
    return ex


def phone_text(rng: random.Random, n: phonenumbers.PhoneNumber, style: str) -> str:
    """One written form of `n`: national, international, E.164, 00-prefixed, or national re-punctuated."""
    nat = phonenumbers.format_number(n, PNF.NATIONAL)
    intl = phonenumbers.format_number(n, PNF.INTERNATIONAL)
    if style == "intl":
        return intl
    if style == "e164":
        return phonenumbers.format_number(n, PNF.E164)
    if style == "00":
        return "00" + intl[1:]
    if style == "intl_dash":
        return intl.replace(" ", "-").replace("-", " ", 1)
    if style == "nat_compact":
        return "".join(ch for ch in nat if ch.isdigit())
    if style == "nat_dash":
        return nat.replace("(", "").replace(") ", "-").replace(" ", "-")
    if style == "nat_dot":
        return nat.replace("(", "").replace(") ", ".").replace(" ", ".").replace("-", ".")
    return nat


PHONE_STYLES = ["nat", "nat", "intl", "intl", "e164", "00", "intl_dash", "nat_compact", "nat_dash", "nat_dot"]


def phone(rng: random.Random, region: str, style: str = "") -> str:
    n = phone_number(rng, region, rng.random() < 0.65)
    return phone_text(rng, n, style or rng.choice(PHONE_STYLES))


def phone_valid(value: str, region: str) -> bool:
    d = "".join(ch for ch in value if ch.isdigit())
    try:
        if value.lstrip().startswith("+"):
            n = phonenumbers.parse("+" + d, None)
        elif d.startswith("00"):
            n = phonenumbers.parse("+" + d[2:], None)
        else:
            n = phonenumbers.parse(d, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n)


# ---------------------------------------------------------------- cards

# (scheme, issuer prefixes as (low, high) on the leading digits, lengths)
SCHEMES = [
    ("visa", [(4, 4)], [16, 16, 16, 13, 19]),
    ("mastercard", [(51, 55), (2221, 2720)], [16]),
    ("amex", [(34, 34), (37, 37)], [15]),
    ("discover", [(6011, 6011), (644, 649), (65, 65)], [16]),
    ("jcb", [(3528, 3589)], [16]),
    ("unionpay", [(62, 62)], [16, 19]),
    ("diners", [(36, 36), (300, 305)], [14]),
]


def luhn_ok(d: str) -> bool:
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch) * (2 if i % 2 else 1)
        s += x - 9 if x > 9 else x
    return s % 10 == 0


def luhn_digit(body: str) -> str:
    for c in string.digits:
        if luhn_ok(body + c):
            return c
    raise AssertionError(body)


def card_digits(rng: random.Random) -> tuple[str, str]:
    scheme, ranges, lengths = rng.choice(SCHEMES)
    lo, hi = rng.choice(ranges)
    pre = str(rng.randint(lo, hi))
    n = rng.choice(lengths)
    body = pre + "".join(rng.choice(string.digits) for _ in range(n - 1 - len(pre)))
    return scheme, body + luhn_digit(body)


def group(d: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for s in sizes:
        out.append(d[i:i + s])
        i += s
    if i < len(d):
        out.append(d[i:])
    return sep.join(out)


def card(rng: random.Random) -> str:
    scheme, d = card_digits(rng)
    sep = rng.choice([" ", " ", "-", ""])
    if scheme == "amex":
        return group(d, [4, 6, 5], sep)
    if scheme == "diners":
        return group(d, [4, 6, 4], sep)
    return group(d, [4] * (len(d) // 4), sep)


# ---------------------------------------------------------------- IBANs

# BBAN shapes (SWIFT IBAN registry): n digits, a upper-case letters, c upper-case letters or digits
BBAN = {"PL": "24n", "SE": "20n", "DK": "14n", "FI": "14n", "NO": "11n", "TR": "5n1n16c", "IL": "19n",
        "UA": "6n19c", "RO": "4a16c", "GR": "7n16c", "DE": "18n", "FR": "10n11c2n", "GB": "4a14n", "NL": "4a10n",
        "ES": "20n", "IT": "1a10n12c", "CH": "5n12c", "BE": "12n", "AT": "16n", "LT": "16n"}


def iban_check(country: str, bban: str) -> str:
    r = bban + country + "00"
    return f"{98 - int(''.join(str(int(ch, 36)) for ch in r)) % 97:02d}"


def iban_ok(v: str) -> bool:
    s = v.replace(" ", "").replace("-", "").upper()
    r = s[4:] + s[:4]
    return r.isalnum() and int("".join(str(int(ch, 36)) for ch in r)) % 97 == 1


def bban(rng: random.Random, country: str) -> str:
    out, num = [], ""
    for ch in BBAN[country]:
        if ch.isdigit():
            num += ch
            continue
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}[ch]
        out.append("".join(rng.choice(pool) for _ in range(int(num))))
        num = ""
    b = "".join(out)
    if country == "TR":  # the reserved digit after the bank code is 0
        b = b[:5] + "0" + b[6:]
    return b


def iban(rng: random.Random, country: str) -> str:
    b = bban(rng, country)
    s = country + iban_check(country, b) + b
    style = rng.random()
    if style < 0.45:
        return s
    if style < 0.95:
        return group(s, [4] * (len(s) // 4), " ")
    return group(s, [4] * (len(s) // 4), " ").lower()


# ---------------------------------------------------------------- SSN, IP


def ssn(rng: random.Random, sep: str = "-") -> str:
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            break
    return f"{a:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


def ip4(rng: random.Random) -> str:
    while True:
        r = rng.random()
        if r < 0.2:
            a = ipaddress.ip_address(f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        elif r < 0.3:
            a = ipaddress.ip_address(f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        else:
            a = ipaddress.ip_address(rng.randint(0x01000000, 0xDFFFFFFF))
        if (a.is_global or a.is_private) and not a.is_loopback and not a.is_link_local and not a.is_unspecified \
                and not any(a in n for n in DOC_NETS) and str(a).split(".")[-1] not in ("0", "255"):
            return str(a)


def ip6(rng: random.Random) -> str:
    prefix = rng.choice([0x2A02, 0x2A01, 0x2001, 0x2600, 0x2404, 0x2405, 0x2C0F, 0x2803])
    while True:
        hi = (prefix << 112) | (rng.getrandbits(48) << 64)
        lo = rng.getrandbits(64) if rng.random() < 0.6 else rng.getrandbits(16)
        a = ipaddress.IPv6Address(hi | lo)
        if a.is_global and not any(a in n for n in DOC_NETS):
            return str(a)


# ---------------------------------------------------------------- secrets


def rand(rng: random.Random, pool: str, n: int) -> str:
    return "".join(rng.choice(pool) for _ in range(n))


def b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def github_token(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "github_pat_" + rand(rng, ALNUM, 22) + "_" + rand(rng, ALNUM, 59)
    body = rand(rng, ALNUM, 30)
    return rng.choice(["ghp_", "ghp_", "gho_", "ghs_", "ghu_"]) + body + b62(zlib.crc32(body.encode()), 6)


def slack_token(rng: random.Random) -> str:
    ids = f"{rng.randint(10**9, 10**13)}-{rng.randint(10**9, 10**13)}"
    if rng.random() < 0.5:
        return "xoxb-" + ids + "-" + rand(rng, ALNUM, 24)
    return "xoxp-" + ids + f"-{rng.randint(10**9, 10**13)}-" + rand(rng, "0123456789abcdef", 32)


def jwt(rng: random.Random) -> str:
    h = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}, separators=(",", ":")).encode())
    now = rng.randint(1_700_000_000, 1_790_000_000)
    claims = {"sub": rand(rng, string.digits, 9), "iat": now, "exp": now + 3600, "scope": rng.choice(["read", "read write", "admin"])}
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{h}.{p}.{b64url(rng.randbytes(32))}"


def private_key(rng: random.Random, indent: str = "") -> str:
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = base64.b64encode(rng.randbytes(rng.choice([121, 228, 420]))).decode()
    lines = [f"-----BEGIN {label}-----"] + [body[i:i + 64] for i in range(0, len(body), 64)] + [f"-----END {label}-----"]
    return ("\n" + indent).join(lines)


def secret(rng: random.Random, kind: str) -> str:
    if kind == "AWS_ACCESS_KEY":
        return rng.choice(["AKIA", "AKIA", "ASIA"]) + rand(rng, string.ascii_uppercase + "234567", 16)
    if kind == "AWS_SECRET_KEY":
        while True:
            v = rand(rng, ALNUM + "/+", 40)
            if any(c.isupper() for c in v) and any(c.islower() for c in v) and any(c.isdigit() for c in v):
                return v
    if kind == "GITHUB_TOKEN":
        return github_token(rng)
    if kind == "SLACK_TOKEN":
        return slack_token(rng)
    if kind == "STRIPE_KEY":
        return rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + rand(rng, ALNUM, rng.choice([24, 99]))
    if kind == "OPENAI_KEY":
        if rng.random() < 0.6:
            return "sk-proj-" + rand(rng, ALNUM + "_-", 74) + "T3BlbkFJ" + rand(rng, ALNUM + "_-", 74)
        return "sk-" + rand(rng, ALNUM, 20) + "T3BlbkFJ" + rand(rng, ALNUM, 20)
    if kind == "OPENROUTER_KEY":
        return "sk-or-v1-" + rng.randbytes(32).hex()
    if kind == "ANTHROPIC_KEY":
        return "sk-ant-api03-" + rand(rng, ALNUM + "_-", 93) + "AA"
    if kind == "GOOGLE_API_KEY":
        return "AIza" + rand(rng, ALNUM + "_-", 35)
    if kind == "JWT":
        return jwt(rng)
    if kind == "PRIVATE_KEY":
        return private_key(rng)
    if kind == "BEARER_TOKEN":
        return rand(rng, ALNUM, rng.randint(20, 40)) + rng.choice([".", "_", "-"]) + rand(rng, ALNUM + "-_", rng.randint(16, 40))
    raise KeyError(kind)
