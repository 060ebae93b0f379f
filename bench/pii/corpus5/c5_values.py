"""Value makers of corpus 5: every labelled value is valid by its own rule (libphonenumber, Luhn and a
real issuer range, SSA rules, IBAN mod 97 and registry length, IP grammar, each credential's shape);
every decoy is what its kind says. Written without reading the detector or the other corpora.

Each maker takes a `random.Random` and returns a string; nothing here keeps state.
"""
from __future__ import annotations

import base64
import json
import random
import string

import phonenumbers
from phonenumbers import PhoneNumberFormat as PNF
from phonenumbers import PhoneNumberType as PNT

# ---- phone numbers --------------------------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789-+()", "０１２３４５６７８９－＋（）")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _random_number(rng: random.Random, region: str, mobile: bool) -> phonenumbers.PhoneNumber:
    """A random number valid for `region` (mobile or fixed line): the example number's first digits
    kept, the rest drawn until libphonenumber calls it valid (bounded; the example itself last)."""
    ex = phonenumbers.example_number_for_type(region, PNT.MOBILE if mobile else PNT.FIXED_LINE)
    if ex is None:
        ex = phonenumbers.example_number(region)
    if ex is None:
        raise ValueError(f"libphonenumber has no example number for {region}")
    nsn = phonenumbers.national_significant_number(ex)
    for keep in (1, 2, 3, 4):
        for _ in range(60):
            cand = nsn[:keep] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - keep))
            n = phonenumbers.parse("+" + str(ex.country_code) + cand, None)
            if phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) == phonenumbers.number_type(ex):
                return n
    return ex


def phone(rng: random.Random, region: str, spoken: bool = False, abroad: bool = False) -> str:
    """A valid number of `region` written the way people there write it (`abroad`: written for a
    reader in another country, so always with its country code)."""
    n = _random_number(rng, region, rng.random() < 0.7)
    nat = phonenumbers.format_number(n, PNF.NATIONAL)
    intl = phonenumbers.format_number(n, PNF.INTERNATIONAL)
    e164 = phonenumbers.format_number(n, PNF.E164)
    cc = str(n.country_code)
    nsn = phonenumbers.national_significant_number(n)
    digits_nat = "".join(c for c in nat if c.isdigit())
    if spoken:  # digits as speech recognition writes them: groups, sometimes comma-separated
        groups = [g for g in nat.replace("-", " ").replace("(", "").replace(")", "").split() if g]
        if abroad:
            groups = ["+" + cc] + [g for g in intl.replace("-", " ").split()[1:] if g]
        return rng.choice([" ", " ", " ", ", ", "-"]).join(groups)
    forms = [nat, nat, intl, intl, e164, digits_nat,
             nat.replace(" ", "-"), intl.replace(" ", "-"), "00" + cc + " " + intl.split(" ", 1)[1],
             "+" + cc + " " + nsn]
    extra = {
        "JP": [f"{digits_nat[:-8]}({digits_nat[-8:-4]}){digits_nat[-4:]}"],
        "AT": [nat.replace(" ", "/", 1), f"+43 (0){intl.split(' ', 1)[1]}"],
        "TR": [f"0 ({digits_nat[1:4]}) {digits_nat[4:7]} {digits_nat[7:9]} {digits_nat[9:]}" if len(digits_nat) == 11 else nat],
        "CA": [nat.replace("(", "").replace(") ", "-"), nat.replace("(", "").replace(") ", ".").replace("-", "."),
               "1-" + nat.replace("(", "").replace(") ", "-")],
        "VN": [nat.replace(" ", ".")],
        "CN": [nat.replace(" ", "-"), "+86-" + nsn],
        "SE": [digits_nat[:3] + "-" + digits_nat[3:] if digits_nat.startswith("07") else nat],
        "DK": [f"+45 {nsn[:4]} {nsn[4:]}"],
        "IN": [f"+91-{nsn}", "0" + nsn],
        "ID": ["62" + nsn, f"+62 {nsn[:3]}-{nsn[3:7]}-{nsn[7:]}"],
        "PH": ["0" + nsn, f"+63 {nsn[:3]} {nsn[3:6]} {nsn[6:]}"],
        "AR": [nat.replace(" 15-", " 15 "), intl.replace("+54 9 ", "+549 ")],
    }.get(region, [])
    if abroad:
        return rng.choice([f for f in forms if f.startswith(("+", "00"))])
    return rng.choice(forms + extra * 2)


def phone_valid(value: str, region: str) -> bool:
    """The rule a PHONE label obeys, for the tests: valid per libphonenumber for `region` (or as
    written, with + or 00), after folding full-width and Arabic-Indic digits and separators."""
    import unicodedata
    v = unicodedata.normalize("NFKC", value).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    v = v.replace("tel:", "")
    digits = "".join(c for c in v if c.isdigit())
    try:
        if v.lstrip().startswith("+"):
            n = phonenumbers.parse("+" + digits, None)
        elif digits.startswith("00") and not digits.startswith("000"):
            n = phonenumbers.parse("+" + digits[2:], None)
        elif region == "ID" and digits.startswith("62"):
            n = phonenumbers.parse("+" + digits, None)
        else:
            n = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n)


# ---- payment cards --------------------------------------------------------------------------------

def luhn_ok(d: str) -> bool:
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch) * (2 if i % 2 else 1)
        s += x - 9 if x > 9 else x
    return s % 10 == 0


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for c in string.digits:
        if luhn_ok(body + c):
            return body + c
    raise AssertionError("unreachable: one check digit always fits")


# scheme -> (prefixes, lengths); real issuer identification ranges
SCHEMES: dict[str, tuple[list[str], list[int]]] = {
    "visa": (["4"], [16, 16, 16, 13]),
    "mastercard": ([str(p) for p in range(51, 56)] + ["2221", "2300", "2500", "2720"], [16]),
    "amex": (["34", "37"], [15]),
    "discover": (["6011", "644", "649", "65"], [16]),
    "jcb": ([str(p) for p in range(3528, 3590, 7)], [16]),
    "unionpay": (["62", "6212", "6250"], [16, 19]),
    "diners": (["36", "300", "305", "38"], [14]),
    "troy": (["9792"], [16]),
    "mir": (["2200", "2204"], [16]),
    "rupay": (["6521", "6522", "5085", "5089", "6070"], [16]),
    "maestro": (["6759", "5018", "5020", "6304"], [16, 19]),
}
CARD_PREFIXES = sorted({p for ps, _ in SCHEMES.values() for p in ps})


def card(rng: random.Random, scheme: str | None = None) -> str:
    """A Luhn-valid number of a real scheme, grouped as printed on that scheme's cards or typed."""
    scheme = scheme or rng.choices(list(SCHEMES), [30, 25, 8, 5, 7, 8, 3, 3, 2, 4, 5])[0]
    prefixes, lengths = SCHEMES[scheme]
    n = _luhn_complete(rng.choice(prefixes), rng.choice(lengths), rng)
    r = rng.random()
    if len(n) == 15 or len(n) == 14:
        g = [n[:4], n[4:10], n[10:]]
    elif len(n) == 19:
        g = [n[:4], n[4:8], n[8:12], n[12:16], n[16:]]
    elif len(n) == 13:
        g = [n]
    else:
        g = [n[i:i + 4] for i in range(0, 16, 4)]
    if r < 0.25:
        return n
    return rng.choice([" ", " ", "-", " "]).join(g)


# ---- US social security numbers -----------------------------------------------------------------

def ssn(rng: random.Random, form: str = "") -> str:
    while True:  # bounded in practice: 2 of 900 areas rejected
        area = rng.randint(1, 899)
        if area != 666:
            break
    s = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    form = form or rng.choice(["dash", "dash", "dash", "space", "bare"])
    return {"dash": f"{s[:3]}-{s[3:5]}-{s[5:]}", "space": f"{s[:3]} {s[3:5]} {s[5:]}", "bare": s}[form]


def ssn_valid(v: str) -> bool:
    d = "".join(c for c in v if c.isdigit())
    return len(d) == 9 and d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


# ---- IBAN ---------------------------------------------------------------------------------------

# country -> BBAN layout: letters (a), digits (n), alphanumerics (c), in order; lengths from the registry
IBAN_LAYOUT: dict[str, str] = {
    "AE": "3n16n", "AT": "5n11n", "AZ": "4a20c", "BA": "3n3n8n2n", "BE": "3n7n2n", "BG": "4a4n2n8c",
    "BH": "4a14c", "BR": "8n5n10n1a1c", "CH": "5n12c", "CR": "4n14n", "CY": "3n5n16c", "CZ": "4n6n10n",
    "DE": "8n10n", "DK": "4n9n1n", "DO": "4c20n", "EE": "2n2n11n1n", "EG": "4n4n17n", "ES": "4n4n1n1n10n",
    "FI": "3n11n", "FO": "4n9n1n", "FR": "5n5n11c2n", "GB": "4a6n8n", "GE": "2a16n", "GI": "4a15c",
    "GL": "4n9n1n", "GR": "3n4n16c", "GT": "4c20c", "HR": "7n10n", "HU": "3n4n1n15n1n", "IE": "4a6n8n",
    "IL": "3n3n13n", "IQ": "4a3n12n", "IS": "4n2n6n10n", "IT": "1a5n5n12c", "JO": "4a4n18c", "KW": "4a22c",
    "KZ": "3n13c", "LB": "4n20c", "LI": "5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c", "MC": "5n5n11c2n",
    "MD": "2c18c", "ME": "3n13n2n", "MK": "3n10c2n", "MR": "5n5n11n2n", "MT": "4a5n18c", "MU": "4a2n2n12n3n3a",
    "NL": "4a10n", "NO": "4n6n1n", "PK": "4a16c", "PL": "8n16n", "PS": "4a21c", "PT": "4n4n11n2n", "QA": "4a21c",
    "RO": "4a16c", "RS": "3n13n2n", "SA": "2n18c", "SE": "3n16n1n", "SI": "5n8n2n", "SK": "4n6n10n",
    "SM": "1a5n5n12c", "TN": "2n3n13n2n", "TR": "5n1n16c", "UA": "6n19c", "VG": "4a16n", "XK": "4n10n2n",
}


def _bban(rng: random.Random, layout: str) -> str:
    out = []
    num = ""
    for ch in layout:
        if ch.isdigit():
            num += ch
            continue
        pool = {"a": string.ascii_uppercase, "n": string.digits, "c": string.ascii_uppercase + string.digits * 2}[ch]
        out.append("".join(rng.choice(pool) for _ in range(int(num))))
        num = ""
    return "".join(out)


def iban_mod97(s: str) -> int:
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97


def iban(rng: random.Random, country: str, form: str = "") -> str:
    bban = _bban(rng, IBAN_LAYOUT[country])
    check = 98 - iban_mod97(country + "00" + bban)
    s = f"{country}{check:02d}{bban}"
    form = form or rng.choice(["print", "print", "compact"])
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4)) if form == "print" else s


# ---- IP addresses -------------------------------------------------------------------------------

def ipv4(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if r < 0.35:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if r < 0.42:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if r < 0.47:
        return f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    while True:  # public unicast; a handful of draws at most
        a = rng.randint(1, 223)
        if a not in (10, 100, 127, 169, 172, 192, 198, 203):
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    """Global unicast or link-local, full or compressed (RFC 5952 lower case, some upper case)."""
    if rng.random() < 0.2:
        groups = [0xFE80, 0, 0, 0] + [rng.randint(0, 0xFFFF) for _ in range(4)]
    else:
        groups = [rng.choice([0x2001, 0x2400, 0x2404, 0x2406, 0x2a00, 0x2a02, 0x2a03, 0x2600, 0x2607, 0x2c0f, 0x2405])]
        groups += [rng.randint(0, 0xFFFF) for _ in range(7)]
        if rng.random() < 0.5:  # a run of zeros, as most real addresses have
            i = rng.randint(2, 5)
            for j in range(i, min(8, i + rng.randint(2, 3))):
                groups[j] = 0
    import ipaddress
    a = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
    r = rng.random()
    s = a.exploded if r < 0.15 else a.compressed
    return s.upper() if rng.random() < 0.1 else s


# ---- credentials ------------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def _r(rng: random.Random, pool: str, n: int) -> str:
    return "".join(rng.choice(pool) for _ in range(n))


def aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AKIA", "AKIA", "ASIA"]) + _r(rng, string.ascii_uppercase + "234567", 16)


def aws_secret(rng: random.Random) -> str:
    return _r(rng, B64, 40)


def github_token(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return "github_pat_11" + _r(rng, string.ascii_uppercase + string.digits, 20) + "_" + _r(rng, ALNUM, 59)
    return rng.choice(["ghp_", "ghp_", "gho_", "ghs_", "ghu_"]) + _r(rng, ALNUM, 36)


def slack_token(rng: random.Random) -> str:
    p = rng.choice(["xoxb", "xoxb", "xoxp", "xoxe.xoxp-1", "xapp-1"])
    if p == "xoxb":
        return f"xoxb-{rng.randint(10**10, 10**13)}-{rng.randint(10**11, 10**13)}-{_r(rng, ALNUM, 24)}"
    if p == "xoxp":
        return f"xoxp-{rng.randint(10**10, 10**13)}-{rng.randint(10**10, 10**13)}-{rng.randint(10**11, 10**13)}-{_r(rng, '0123456789abcdef', 32)}"
    if p == "xapp-1":
        return f"xapp-1-A{_r(rng, string.ascii_uppercase + string.digits, 10)}-{rng.randint(10**12, 10**13)}-{_r(rng, '0123456789abcdef', 64)}"
    return f"xoxe.xoxp-1-{_r(rng, ALNUM, 140)}"


def stripe_key(rng: random.Random) -> str:
    return rng.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"]) + _r(rng, ALNUM, rng.choice([24, 99]))


def openai_key(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "sk-proj-" + _r(rng, B64URL, 74) + "T3BlbkFJ" + _r(rng, B64URL, 74)
    if rng.random() < 0.5:
        return "sk-svcacct-" + _r(rng, B64URL, 74) + "T3BlbkFJ" + _r(rng, B64URL, 74)
    return "sk-" + _r(rng, ALNUM, 20) + "T3BlbkFJ" + _r(rng, ALNUM, 20)


def openrouter_key(rng: random.Random) -> str:
    return "sk-or-v1-" + _r(rng, "0123456789abcdef", 64)


def anthropic_key(rng: random.Random) -> str:
    return "sk-ant-api03-" + _r(rng, B64URL, 93) + "AA"


def google_key(rng: random.Random) -> str:
    return "AIza" + _r(rng, B64URL, 35)


def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(rng: random.Random, email: str = "") -> str:
    head = {"alg": rng.choice(["RS256", "HS256", "ES256"]), "typ": "JWT"}
    if rng.random() < 0.5:
        head["kid"] = _r(rng, ALNUM, 16)
    body = {"sub": str(rng.randint(10**8, 10**12)), "iat": 1764700000 + rng.randint(0, 10**6),
            "exp": 1764790000 + rng.randint(0, 10**6), "iss": rng.choice(["https://auth.example-sso.net/", "accounts.google.com", "https://login.microsoftonline.com/9188040d/v2.0"]),
            "scope": rng.choice(["openid profile", "read:orders write:orders", "api"])}
    if email:
        body["email"] = email
    sig = bytes(rng.getrandbits(8) for _ in range(rng.choice([32, 64, 256])))
    return f"{_b64u(json.dumps(head, separators=(',', ':')).encode())}.{_b64u(json.dumps(body, separators=(',', ':')).encode())}.{_b64u(sig)}"


def private_key(rng: random.Random) -> str:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
    n = {"RSA PRIVATE KEY": 1190, "PRIVATE KEY": 1220, "OPENSSH PRIVATE KEY": 380, "EC PRIVATE KEY": 160}[kind]
    raw = bytes(rng.getrandbits(8) for _ in range(n))
    b = base64.b64encode(raw).decode()
    width = 70 if kind == "OPENSSH PRIVATE KEY" else 64
    lines = [b[i:i + width] for i in range(0, len(b), width)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


def bearer_token(rng: random.Random) -> str:
    return rng.choice(["ya29.", "EAAC", "eyK", ""]) + _r(rng, B64URL, rng.choice([40, 64, 120]))


SECRET_MAKERS = {
    "AWS_ACCESS_KEY": aws_key_id, "AWS_SECRET_KEY": aws_secret, "GITHUB_TOKEN": github_token,
    "SLACK_TOKEN": slack_token, "STRIPE_KEY": stripe_key, "OPENAI_KEY": openai_key,
    "OPENROUTER_KEY": openrouter_key, "ANTHROPIC_KEY": anthropic_key, "GOOGLE_API_KEY": google_key,
    "JWT": jwt, "PRIVATE_KEY": private_key, "BEARER_TOKEN": bearer_token,
}

# ---- decoys -------------------------------------------------------------------------------------

HEX = "0123456789abcdef"


def luhn_invalid(rng: random.Random) -> str:
    """16 digits with a real-looking prefix and a wrong check digit, grouped like a card."""
    good = _luhn_complete(rng.choice(["4", "51", "53", "37", "6011", "35"]), 16, rng)
    bad = good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)
    return rng.choice([bad, " ".join(bad[i:i + 4] for i in range(0, 16, 4)), "-".join(bad[i:i + 4] for i in range(0, 16, 4))])


def invalid_phone(rng: random.Random, regions: list[str]) -> str:
    """Phone-shaped and nobody's: dummy and fictional numbers (all zeros, 123-456-7890, NANP 555),
    unassigned country codes; valid in no numbering plan of `regions` nor as an international number."""
    for _ in range(200):
        d4 = f"{rng.randint(0, 9999):04d}"
        d3 = f"{rng.randint(0, 999):03d}"
        s = rng.choice(["123-456-7890", "(555) 555-" + d4, "555-" + d4, "+999 " + d3 + " " + d4, "000-000-0000",
                        "+00 " + d3 + " " + d3 + " " + d4, "+1 (000) 000-" + d4, "0000 000 000", "+{cc} 0000 0000".format(
                            cc=rng.choice(["61", "65", "81", "82", "86", "90", "46", "45", "351", "43", "66", "84", "62", "91"])),
                        "+969 " + d3 + " " + d4 + d4, "+210 " + d3 + " " + d4, "(01) 2345 6789"])
        if not any(phone_valid(s, r) for r in regions):
            return s
    return "+00 000 000 0000"


def isbn13(rng: random.Random) -> str:
    d = "978" + "".join(rng.choice(string.digits) for _ in range(9))
    c = (10 - sum(int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(d)) % 10) % 10
    s = d + str(c)
    return rng.choice([s, f"{s[:3]}-{s[3]}-{s[4:8]}-{s[8:12]}-{s[12]}"])


def issn(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(7)]
    c = (11 - sum(x * w for x, w in zip(d, range(8, 1, -1), strict=True)) % 11) % 11
    return "".join(map(str, d[:4])) + "-" + "".join(map(str, d[4:])) + ("X" if c == 10 else str(c))


def git_sha(rng: random.Random, n: int = 40) -> str:
    return _r(rng, HEX, n)


def ocr_confuse(rng: random.Random, s: str) -> str:
    """O for 0 and l for 1 somewhere, as OCR misreads digits (only ever applied to decoys)."""
    out = list(s)
    idx = [i for i, c in enumerate(out) if c in "01"]
    for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))) if idx else []:
        out[i] = "O" if out[i] == "0" else "l"
    return "".join(out)
