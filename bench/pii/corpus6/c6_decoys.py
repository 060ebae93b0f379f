"""Hard decoys of corpus 6: values that look like an entity and are none. A redactor that removes one damages
the prompt and protects nobody. Each maker draws until its value is *not* an item by the rule of the entity
it imitates (a number-shaped decoy is no valid phone of the document's region and no Luhn-valid card).

`doc_reserved` holds the values standards set aside for documentation and fiction: RFC 5737's 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, RFC 3849's 2001:db8::/32, and NANP's 555-0100..555-0199 (reserved for
fiction by the NANPA). No person can be reached at one, so keeping them is right; they are a kind of their own
so that an engine which redacts them anyway (harmless but lossy) shows it in one row, not in every row."""
from __future__ import annotations

import random
import string
import uuid

from c6_values import BBAN, bban, card_digits, group, iban_check, luhn_ok, phone_valid, rand

DECOY_KINDS = ["version", "build_no", "order_no", "tracking_no", "invoice_no", "timestamp", "price", "isbn", "ean_upc",
               "uuid", "hash", "coordinates", "postal_code", "luhn_invalid", "iban_bad_check", "placeholder",
               "doc_reserved", "loopback", "invalid_phone", "mac_address"]
# kinds whose value is digits and separators: never a valid phone of the region, never a Luhn-valid card
NUMERIC_KINDS = {"build_no", "order_no", "invoice_no", "isbn", "ean_upc", "postal_code", "timestamp"}

PRICE = {"PL": ("{} zł", ",", " "), "SE": ("{} kr", ",", " "), "DK": ("kr. {}", ",", "."), "FI": ("{} €", ",", " "),
         "NO": ("kr {}", ",", " "), "TR": ("₺{}", ",", "."), "IL": ("₪{}", ".", ","), "TH": ("฿{}", ".", ","),
         "VN": ("{} ₫", ",", "."), "UA": ("{} грн", ",", " "), "RO": ("{} lei", ",", "."), "GR": ("{} €", ",", "."),
         "KR": ("₩{}", ".", ","), "TW": ("NT${}", ".", ","), "ID": ("Rp {}", ",", "."), "AU": ("A${}", ".", ","),
         "AR": ("$ {}", ",", "."), "CA": ("{} $", ",", " ")}
NO_CENTS = {"VN", "KR", "ID"}


def card_like(v: str) -> bool:
    d = "".join(ch for ch in v if ch.isdigit())
    return 12 <= len(d) <= 19 and luhn_ok(d)


def fails_items(v: str, region: str) -> bool:
    return not phone_valid(v, region) and not card_like(v)


def price(rng: random.Random, region: str) -> str:
    fmt, dec, thou = PRICE[region]
    n = rng.choice([rng.randint(1, 999), rng.randint(1000, 99999), rng.randint(100000, 9999999)])
    s = f"{n:,}".replace(",", thou)
    if region not in NO_CENTS:
        s += dec + f"{rng.randint(0, 99):02d}"
    return fmt.format(s)


def timestamp(rng: random.Random) -> str:
    y, mo, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][mo - 1]
    return rng.choice([
        f"{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{rng.randint(0, 999):03d}Z",
        f"{d:02d}.{mo:02d}.{y} {h:02d}:{mi:02d}",
        f"{y}/{mo:02d}/{d:02d} {h:02d}:{mi:02d}:{s:02d}",
        f"{d:02d}/{mon}/{y}:{h:02d}:{mi:02d}:{s:02d} +0000",
        f"{y}{mo:02d}{d:02d}T{h:02d}{mi:02d}{s:02d}Z",
        f"{d}-{mon}-{y % 100:02d}",
        f"{y}年{mo}月{d}日",
        f"{rng.randint(1_600_000_000, 1_790_000_000)}{rng.randint(100, 999)}",
    ])


def ean13(rng: random.Random, prefix: str) -> str:
    body = prefix + rand(rng, string.digits, 12 - len(prefix))
    s = sum(int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(body))
    return body + str((10 - s % 10) % 10)


def upc_a(rng: random.Random) -> str:
    body = rand(rng, string.digits, 11)
    s = sum(int(x) * (3 if i % 2 == 0 else 1) for i, x in enumerate(body))
    return body + str((10 - s % 10) % 10)


def one(rng: random.Random, kind: str, region: str, postcode: str) -> str:
    """One raw draw of `kind` (the caller re-draws number-shaped kinds that pass an item's rule)."""
    if kind == "version":
        return rng.choice([f"v{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 30)}",
                           f"{rng.randint(1, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(100, 250)}",
                           f"{rng.randint(1, 5)}.{rng.randint(0, 60)}.{rng.randint(0, 9)}-rc.{rng.randint(1, 4)}"])
    if kind == "build_no":
        return rng.choice([f"{rng.randint(2019, 2026)}.{rng.randint(1, 12)}.{rng.randint(1000, 9999)}",
                           f"{rng.randint(10000, 999999)}"])
    if kind == "order_no":
        return rng.choice([f"{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}",
                           f"{rng.randint(10**9, 10**10 - 1)}", f"SO-{rng.randint(2019, 2026)}-{rng.randint(10000, 99999)}"])
    if kind == "tracking_no":
        return rng.choice(["1Z" + rand(rng, string.ascii_uppercase + string.digits, 16),
                           rand(rng, string.ascii_uppercase, 2) + rand(rng, string.digits, 9) + rng.choice(["PL", "SE", "CN", "TW", "AU", "CA"]),
                           "JD" + rand(rng, string.digits, 18)])
    if kind == "invoice_no":
        return rng.choice([f"{rng.randint(1, 999)}/{rng.randint(1, 12):02d}/{rng.randint(2019, 2026)}",
                           f"INV-{rng.randint(100000, 999999)}", f"{rng.randint(2019, 2026)}{rng.randint(10000, 99999)}"])
    if kind == "timestamp":
        return timestamp(rng)
    if kind == "price":
        return price(rng, region)
    if kind == "isbn":
        e = ean13(rng, rng.choice(["978", "979"]))
        return rng.choice([e, f"{e[:3]}-{e[3:5]}-{e[5:9]}-{e[9:12]}-{e[12]}"])
    if kind == "ean_upc":
        return rng.choice([ean13(rng, rng.choice(["590", "73", "57", "64", "70", "869", "729", "885", "893", "482",
                                                  "594", "520", "880", "471", "899", "93", "779", "75"])), upc_a(rng)])
    if kind == "uuid":
        u = str(uuid.UUID(bytes=rng.randbytes(16), version=4))
        return u.upper() if rng.random() < 0.2 else u
    if kind == "hash":
        return rng.choice([rng.randbytes(20).hex(), rng.randbytes(32).hex(), "sha256:" + rng.randbytes(32).hex(),
                           rng.randbytes(16).hex()])
    if kind == "coordinates":
        return f"{rng.uniform(-60, 70):.6f}, {rng.uniform(-170, 170):.6f}"
    if kind == "postal_code":
        return postcode
    if kind == "luhn_invalid":
        _, d = card_digits(rng)
        d = d[:-1] + str((int(d[-1]) + rng.randint(1, 9)) % 10)
        return group(d, [4] * (len(d) // 4), rng.choice([" ", "-", ""]))
    if kind == "iban_bad_check":
        c = rng.choice(sorted(BBAN))
        b = bban(rng, c)
        bad = f"{(int(iban_check(c, b)) - 2 + rng.randint(1, 96)) % 97 + 2:02d}"  # 02..98, never the right one
        s = c + bad + b
        return group(s, [4] * (len(s) // 4), " ")
    if kind == "placeholder":
        return rng.choice(["<YOUR_API_KEY>", "sk-or-v1-" + "x" * 64, "AKIA" + "X" * 16, "${OPENROUTER_API_KEY}",
                           "ghp_" + "x" * 36, "sk_live_" + "*" * 24, "your-api-key-here", "{{ secrets.STRIPE_KEY }}",
                           "xxxx-xxxx-xxxx-xxxx", "sk-...", "%API_TOKEN%", "eyJ...", "REPLACE_ME"])
    if kind == "doc_reserved":
        return rng.choice([f"192.0.2.{rng.randint(1, 254)}", f"198.51.100.{rng.randint(1, 254)}",
                           f"203.0.113.{rng.randint(1, 254)}", f"2001:db8::{rng.randint(1, 0xffff):x}",
                           f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xff):x}",
                           f"+1 {rng.choice(['416', '514', '604', '212', '415'])} 555 01{rng.randint(0, 99):02d}"])
    if kind == "loopback":
        return rng.choice(["127.0.0.1", "::1", f"127.0.{rng.randint(0, 1)}.{rng.randint(1, 9)}", "0.0.0.0",
                           "localhost:8080", "[::1]:5432"])
    if kind == "invalid_phone":
        return rng.choice([f"+{rng.choice(['48', '46', '45', '90', '82'])} {rand(rng, string.digits, 3)} {rand(rng, string.digits, 2)}",
                           f"+999 {rand(rng, string.digits, 3)} {rand(rng, string.digits, 3)} {rand(rng, string.digits, 3)}",
                           f"000-{rand(rng, string.digits, 3)}-{rand(rng, string.digits, 4)}"])
    if kind == "mac_address":
        return ":".join(f"{b:02x}" for b in rng.randbytes(6))
    raise KeyError(kind)


def decoy(rng: random.Random, kind: str, region: str, postcode: str) -> str:
    """A decoy of `kind`, or "" when none was drawn (a postcode that reads as a phone of its region)."""
    for _ in range(1 if kind == "postal_code" else 200):
        v = one(rng, kind, region, postcode)
        if kind == "invalid_phone":
            if not phone_valid(v, region) and not phone_valid(v, "US"):
                return v
        elif kind in ("luhn_invalid", "iban_bad_check", "doc_reserved", "loopback", "placeholder") or fails_items(v, region):
            return v
    return ""
