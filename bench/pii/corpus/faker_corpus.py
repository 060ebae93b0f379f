#!/usr/bin/env python3
"""Second, independent labelled PII corpus: documents as people paste them, built with Faker.

Written apart from the engine and its Rust generator (`bench/pii/gen.rs`): the values come from
Faker's locale providers and from the public formats of each credential type, phone numbers are
kept only when libphonenumber (`phonenumbers`) calls them valid for the locale's country, and the
labels are the exact spans the generator wrote, never anything the engine found.

Every document has a locale, a genre and two label lists:
  items  - values that must not reach the upstream: {start, end, entity, value}
  decoys - look-alikes that must survive: {start, end, kind, value}
Offsets are Python string (code point) offsets; text[start:end] == value always holds. A value
is written in its surface form for the genre (JSON-escaped inside JSON, a `\\n`-joined PEM inside
a log line, ...), which is what a scanner sees.

  python3 bench/pii/corpus/faker_corpus.py --seed 1 --docs 4000 --out corpus.jsonl
"""
from __future__ import annotations

import argparse
import datetime
import base64
import hashlib
import json
import random
import string
import sys

import phonenumbers
from faker import Faker

LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "pt_BR", "en_IN", "ja_JP"]
REGION = {"en_US": "US", "en_GB": "GB", "fr_FR": "FR", "de_DE": "DE", "es_ES": "ES", "it_IT": "IT",
          "nl_NL": "NL", "pt_BR": "BR", "en_IN": "IN", "ja_JP": "JP"}
GENRES = ["csv", "tsv", "markdown_table", "json_records", "yaml_records", "web_log", "app_log",
          "email_letter", "chat", "support_ticket", "code", "config"]
SECRETS = ["OPENROUTER_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
           "GITHUB_TOKEN", "SLACK_TOKEN", "GOOGLE_API_KEY", "STRIPE_KEY", "JWT", "PRIVATE_KEY",
           "BEARER_TOKEN"]
# On by default in the filter; PERSON and ADDRESS are opt-in there and reported apart.
DEFAULT_TYPES = ["EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS"] + SECRETS
OPT_IN_TYPES = ["PERSON", "ADDRESS"]
TYPES = DEFAULT_TYPES + OPT_IN_TYPES
DECOY_KINDS = ["version", "placeholder_secret", "order_number", "tracking_number", "invoice_number",
               "timestamp", "date", "price", "isbn", "uuid", "hash", "invalid_card", "invalid_iban",
               "invalid_ssn", "loopback_ip", "model_id", "customer_id"]

# Fixed bounds: Faker's relative dates ("-1y") would change the corpus from day to day.
T0 = datetime.datetime(2023, 1, 1)
T1 = datetime.datetime(2026, 6, 30)

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
UPPER32 = string.ascii_uppercase + "234567"

# Words people put before a value, per language (column headers, labels, "Tel.:").
LANG = {"en_US": "en", "en_GB": "en", "en_IN": "en", "fr_FR": "fr", "de_DE": "de", "es_ES": "es",
        "it_IT": "it", "nl_NL": "nl", "pt_BR": "pt", "ja_JP": "ja"}
LABELS = {
    "EMAIL": {"en": ["email", "e-mail", "Email address", "contact_email"], "fr": ["E-mail", "Courriel", "Adresse e-mail"],
              "de": ["E-Mail", "E-Mail-Adresse"], "es": ["Correo", "Correo electrónico", "Email"],
              "it": ["Email", "Posta elettronica"], "nl": ["E-mail", "E-mailadres"], "pt": ["E-mail", "Email"],
              "ja": ["メール", "メールアドレス", "email"]},
    "PHONE": {"en": ["phone", "Phone", "tel", "mobile", "Phone number", "Cell"], "fr": ["Tél.", "Téléphone", "Portable", "Mobile"],
              "de": ["Telefon", "Tel.", "Mobil", "Handy", "Telefonnummer"], "es": ["Teléfono", "Tel.", "Móvil"],
              "it": ["Telefono", "Tel.", "Cellulare"], "nl": ["Telefoon", "Tel.", "Mobiel"], "pt": ["Telefone", "Celular", "Tel."],
              "ja": ["電話番号", "電話", "携帯", "TEL"]},
    "US_SSN": {"en": ["ssn", "SSN", "Social Security No.", "social_security_number"], "fr": ["SSN", "N° sécurité sociale (US)"],
               "de": ["SSN", "Sozialversicherungsnummer (US)"], "es": ["SSN", "Número de Seguro Social"],
               "it": ["SSN"], "nl": ["SSN"], "pt": ["SSN"], "ja": ["SSN"]},
    "CREDIT_CARD": {"en": ["card_number", "Card number", "Credit card", "cc", "PAN"], "fr": ["Numéro de carte", "Carte bancaire", "CB"],
                    "de": ["Kartennummer", "Kreditkarte"], "es": ["Número de tarjeta", "Tarjeta"],
                    "it": ["Numero carta", "Carta di credito"], "nl": ["Kaartnummer", "Creditcard"], "pt": ["Número do cartão", "Cartão"],
                    "ja": ["カード番号", "クレジットカード"]},
    "IBAN": {"en": ["iban", "IBAN", "Bank account (IBAN)"], "fr": ["IBAN", "RIB (IBAN)"], "de": ["IBAN", "Bankverbindung"],
             "es": ["IBAN", "Cuenta"], "it": ["IBAN", "Conto"], "nl": ["IBAN", "Rekeningnummer"], "pt": ["IBAN", "Conta"],
             "ja": ["IBAN", "口座"]},
    "IP_ADDRESS": {"en": ["ip", "client_ip", "IP address", "remote_addr", "host"], "fr": ["Adresse IP", "ip"], "de": ["IP-Adresse", "ip"],
                   "es": ["Dirección IP", "ip"], "it": ["Indirizzo IP", "ip"], "nl": ["IP-adres", "ip"], "pt": ["Endereço IP", "ip"],
                   "ja": ["IPアドレス", "ip"]},
    "PERSON": {"en": ["name", "Full name", "customer_name", "Contact"], "fr": ["Nom", "Nom complet", "Client"],
               "de": ["Name", "Kunde", "Ansprechpartner"], "es": ["Nombre", "Cliente"], "it": ["Nome", "Cliente"],
               "nl": ["Naam", "Klant"], "pt": ["Nome", "Cliente"], "ja": ["氏名", "名前"]},
    "ADDRESS": {"en": ["address", "Street address", "shipping_address"], "fr": ["Adresse", "Adresse postale"],
                "de": ["Adresse", "Anschrift"], "es": ["Dirección", "Domicilio"], "it": ["Indirizzo"], "nl": ["Adres"],
                "pt": ["Endereço"], "ja": ["住所"]},
}
SECRET_LABELS = {
    "OPENROUTER_KEY": ["OPENROUTER_API_KEY", "openrouter_key", "api_key"],
    "OPENAI_KEY": ["OPENAI_API_KEY", "openai_api_key", "api_key"],
    "ANTHROPIC_KEY": ["ANTHROPIC_API_KEY", "anthropic_key", "api_key"],
    "AWS_ACCESS_KEY": ["AWS_ACCESS_KEY_ID", "aws_access_key_id", "AccessKeyId"],
    "AWS_SECRET_KEY": ["AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "SecretAccessKey"],
    "GITHUB_TOKEN": ["GITHUB_TOKEN", "GH_TOKEN", "github_token", "token"],
    "SLACK_TOKEN": ["SLACK_BOT_TOKEN", "slack_token", "token"],
    "GOOGLE_API_KEY": ["GOOGLE_API_KEY", "MAPS_API_KEY", "key"],
    "STRIPE_KEY": ["STRIPE_SECRET_KEY", "stripe_key", "STRIPE_API_KEY"],
    "JWT": ["access_token", "id_token", "jwt", "token"],
    "PRIVATE_KEY": ["private_key", "PRIVATE_KEY", "ssh_key"],
    "BEARER_TOKEN": ["Authorization", "authorization"],
}
DECOY_LABELS = {
    "version": ["version", "app_version", "build"], "placeholder_secret": ["api_key", "token", "OPENAI_API_KEY"],
    "order_number": ["order_id", "Order #", "order"], "tracking_number": ["tracking", "tracking_number"],
    "invoice_number": ["invoice", "invoice_no"], "timestamp": ["created_at", "timestamp", "time"],
    "date": ["date", "dob", "due_date"], "price": ["amount", "price", "total"], "isbn": ["isbn"],
    "uuid": ["id", "request_id", "uuid"], "hash": ["sha256", "checksum", "commit"],
    "invalid_card": ["card_number", "test_card"], "invalid_iban": ["iban", "account"],
    "invalid_ssn": ["ssn", "example_ssn"], "loopback_ip": ["host", "bind", "ip"], "model_id": ["model"],
    "customer_id": ["customer_id", "account_id", "user_id"],
}


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _iban_check(country: str, bban: str) -> str:
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(num) % 97:02d}"


# ISO 13616 lengths of the IBAN countries Faker's locales produce.
IBAN_LENGTH = {"GB": 22, "FR": 27, "DE": 22, "ES": 24, "IT": 27, "NL": 18, "BR": 29}


def _iban_valid(iban: str) -> bool:
    return IBAN_LENGTH.get(iban[:2]) == len(iban) and _iban_check(iban[:2], iban[4:]) == iban[2:4]


class Doc:
    """A document under construction: text plus the spans of what was planted in it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n = 0
        self.items: list[dict] = []
        self.decoys: list[dict] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.n += len(s)

    def put(self, fact: tuple[str, str, str]) -> None:
        """Writes a fact's surface value and records its span."""
        cls, kind, value = fact
        if kind == "BEARER_TOKEN" and not (self.parts and self.parts[-1].endswith(("Bearer ", "Bearer+", "Bearer%20"))):
            self.add("Bearer ")  # the opaque value is a bearer token because of this word
        rec = {"start": self.n, "end": self.n + len(value), "value": value}
        if cls == "pii":
            rec["entity"] = kind
            self.items.append(rec)
        else:
            rec["kind"] = kind
            self.decoys.append(rec)
        self.add(value)

    def text(self) -> str:
        return "".join(self.parts)


class Gen:
    """Values for one document: Faker seeded per document, plus a random.Random for choices."""

    def __init__(self, fakers: dict[str, Faker], locale: str, rng: random.Random) -> None:
        self.rng = rng
        self.locale = locale
        self.lang = LANG[locale]
        self.fakers = fakers
        self.f = fakers[locale]
        self.f.seed_instance(rng.getrandbits(63))
        self.us = fakers["en_US"]
        self.us.seed_instance(rng.getrandbits(63))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def label(self, kind: str) -> str:
        if kind in LABELS:
            return self.rng.choice(LABELS[kind][self.lang])
        if kind in SECRET_LABELS:
            return self.rng.choice(SECRET_LABELS[kind])
        return self.rng.choice(DECOY_LABELS[kind])

    # ---- PII values -------------------------------------------------------------------------
    def pii(self, kind: str) -> str:
        return getattr(self, "v_" + kind.lower())()

    def v_email(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            e = self.f.email()
        elif r < 0.7:
            e = self.f.company_email()
        elif r < 0.85:
            first = self.us.first_name().lower()
            e = f"{first}.{self.us.last_name().lower()}+{self.rng.choice(['billing', 'news', 'work', '2024'])}@{self.f.free_email_domain()}"
        else:
            e = f"{self.us.user_name()}{self.rng.randint(1, 99)}@{self.f.domain_name()}"
        return e.upper() if self.rng.random() < 0.05 else e

    def _valid_phone(self) -> phonenumbers.PhoneNumber:
        region = REGION[self.locale]
        for _ in range(40):
            raw = self.f.phone_number() if self.rng.random() < 0.5 else self._mobile(region)
            raw = raw.split("x")[0].strip()
            try:
                num = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                return num
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None, f"libphonenumber has no example mobile number for {region}"
        return example

    def _mobile(self, region: str) -> str:
        d = lambda n: self.chars(string.digits, n)  # noqa: E731
        r = self.rng
        return {
            "US": lambda: f"{r.randint(2, 9)}{d(2)}{r.randint(2, 9)}{d(6)}",
            "GB": lambda: f"07{r.choice('4579')}{d(8)}",
            "FR": lambda: f"0{r.choice('67')}{d(8)}",
            "DE": lambda: f"01{r.choice(['51', '52', '57', '60', '62', '70', '71', '72', '73', '75', '76', '77', '78', '79'])}{d(r.choice([7, 8]))}",
            "ES": lambda: f"6{d(8)}",
            "IT": lambda: f"3{r.choice(['20', '28', '30', '33', '35', '38', '40', '45', '47', '49'])}{d(7)}",
            "NL": lambda: f"06{d(8)}",
            "BR": lambda: f"{r.choice(['11', '21', '31', '41', '51', '61', '71', '81', '85', '92'])}9{r.randint(6, 9)}{d(7)}",
            "IN": lambda: f"{r.choice('6789')}{d(9)}",
            "JP": lambda: f"0{r.choice('789')}0{d(8)}",
        }[region]()

    def v_phone(self) -> str:
        """A number libphonenumber calls valid, written the way people write it."""
        region = REGION[self.locale]
        num = self._valid_phone()
        nat = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
        intl = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        digits = "".join(c for c in nat if c.isdigit())
        styles = [nat, nat, intl, intl, e164]
        if region == "FR":
            styles += [" ".join(digits[i:i + 2] for i in range(0, 10, 2)), ".".join(digits[i:i + 2] for i in range(0, 10, 2)),
                       digits, "+33 (0)" + intl[4:]]
        elif region == "DE":
            area_end = 3 if digits.startswith("01") else self.rng.choice([3, 4])
            styles += [f"{digits[:area_end]}/{digits[area_end:]}", f"{digits[:area_end]}-{digits[area_end:]}",
                       f"{digits[:area_end]} {digits[area_end:]}", "+49 (0)" + intl[4:]]
        elif region == "US":
            a, b, c = digits[:3], digits[3:6], digits[6:]
            styles += [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a}-{b}-{c}", f"+1.{a}.{b}.{c}",
                       f"1-{a}-{b}-{c}", f"+1{a}{b}{c}"]
        elif region == "GB":
            styles += [digits, f"+44 (0){intl[4:]}"]
        elif region == "IN":
            styles += [f"+91-{digits[-10:]}", f"0{digits[-10:]}", f"{digits[-10:-5]} {digits[-5:]}"]
        elif region == "BR":
            styles += [f"({digits[:2]}) {digits[2:-4]}-{digits[-4:]}"]
        elif region == "NL":
            styles += [f"{digits[:2]}-{digits[2:]}"]
        return self.rng.choice(styles)

    def v_us_ssn(self) -> str:
        s = self.us.ssn()
        return s if self.rng.random() < 0.8 else s.replace("-", self.rng.choice(["", " "]))

    def v_credit_card(self) -> str:
        kind = self.rng.choice(["visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16", "diners",
                                "maestro"])
        n = self.us.credit_card_number(kind)
        r = self.rng.random()
        if r < 0.3:
            return n
        sep = " " if r < 0.75 else "-"
        if len(n) == 15:
            return f"{n[:4]}{sep}{n[4:10]}{sep}{n[10:]}"
        if len(n) == 14:
            return f"{n[:4]}{sep}{n[4:10]}{sep}{n[10:]}"
        return sep.join(n[i:i + 4] for i in range(0, len(n), 4))

    def v_iban(self) -> str:
        iban = self.f.iban()
        if not _iban_valid(iban):  # Faker's en_IN provider writes 21-character "GB" IBANs
            iban = self.fakers[self.rng.choice(["en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"])].iban()
        r = self.rng.random()
        if r < 0.45:
            return iban
        grouped = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
        return grouped if r < 0.95 else grouped.lower()

    def v_ip_address(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return self.f.ipv4_public()
        if r < 0.75:
            return self.f.ipv4_private()
        v6 = self.f.ipv6()
        if self.rng.random() < 0.4:  # compressed form, as tools print it
            import ipaddress
            v6 = str(ipaddress.IPv6Address(v6))
        return v6

    def v_openrouter_key(self) -> str:
        return "sk-or-v1-" + self.chars("0123456789abcdef", 64)

    def v_openai_key(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return "sk-proj-" + self.chars(B64URL, 74) + "T3BlbkFJ" + self.chars(B64URL, 74)
        if r < 0.8:
            return "sk-" + self.chars(ALNUM, 20) + "T3BlbkFJ" + self.chars(ALNUM, 20)
        return "sk-svcacct-" + self.chars(B64URL, 74) + "T3BlbkFJ" + self.chars(B64URL, 74)

    def v_anthropic_key(self) -> str:
        return "sk-ant-api03-" + self.chars(B64URL, 93) + "AA"

    def v_aws_access_key(self) -> str:
        return self.rng.choice(["AKIA", "AKIA", "ASIA"]) + self.chars(UPPER32, 16)

    def v_aws_secret_key(self) -> str:
        while True:
            s = self.chars(B64, 40)
            if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s):
                return s

    def v_github_token(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            return self.rng.choice(["ghp_", "ghp_", "gho_", "ghs_", "ghu_"]) + self.chars(ALNUM, 36)
        return "github_pat_" + self.chars(ALNUM, 22) + "_" + self.chars(ALNUM, 59)

    def v_slack_token(self) -> str:
        p = self.rng.choice(["xoxb", "xoxb", "xoxp", "xoxa"])
        return f"{p}-{self.chars(string.digits, 12)}-{self.chars(string.digits, 13)}-{self.chars(ALNUM, 24)}"

    def v_google_api_key(self) -> str:
        return "AIza" + self.chars(B64URL, 35)

    def v_stripe_key(self) -> str:
        return self.rng.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"]) + self.chars(ALNUM, self.rng.choice([24, 99]))

    def v_jwt(self) -> str:
        alg = self.rng.choice(["HS256", "RS256", "ES256"])
        b = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=").decode()  # noqa: E731
        iat = self.rng.randint(1_700_000_000, 1_760_000_000)
        payload = {"sub": self.f.uuid4(), "email": self.f.email(), "iat": iat, "exp": iat + 3600}
        sig = self.chars(B64URL, {"HS256": 43, "RS256": 342, "ES256": 86}[alg])
        return f"{b({'alg': alg, 'typ': 'JWT'})}.{b(payload)}.{sig}"

    def v_private_key(self) -> str:
        label = self.rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
        body = base64.b64encode(self.rng.randbytes(self.rng.choice([121, 240, 480]))).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])

    def v_bearer_token(self) -> str:
        # The opaque value after "Bearer " (session tokens, PATs of services without a prefix).
        return self.chars(ALNUM + "-._", self.rng.choice([32, 40, 64]))

    def v_person(self) -> str:
        return self.f.name()

    def v_address(self) -> str:
        return self.f.address().replace("\n", ", ")

    # ---- decoys ------------------------------------------------------------------------------
    def decoy(self, kind: str) -> str:
        return getattr(self, "d_" + kind)()

    def d_version(self) -> str:
        r = self.rng.randint
        return self.rng.choice([f"{r(1, 30)}.{r(0, 20)}.{r(0, 20)}.{r(0, 99)}", f"{r(1, 9)}.{r(0, 40)}.{r(0, 9)}",
                                f"{r(1, 24)}.{r(0, 9)}.{r(0, 9)}.{r(0, 255)}"])

    def d_placeholder_secret(self) -> str:
        return self.rng.choice([
            "sk-or-v1-" + "x" * self.rng.choice([8, 16, 64]), "your-token-here", "xoxb-your-token-here",
            "${OPENAI_API_KEY}", "$OPENROUTER_API_KEY", "process.env.OPENAI_API_KEY", "%GITHUB_TOKEN%",
            "<YOUR_API_KEY>", "sk-...", "AKIAXXXXXXXXXXXXXXXX", "ghp_" + "x" * 36, "YOUR_STRIPE_SECRET_KEY",
            "sk-proj-REPLACE_ME", "os.environ['ANTHROPIC_API_KEY']", "{{ secrets.GITHUB_TOKEN }}",
            "sk_live_" + "X" * 24, "changeme", "<paste-your-key-here>", "AIza" + "X" * 35,
        ])

    def d_order_number(self) -> str:
        r = self.rng
        return r.choice([f"{r.randint(100000, 99999999)}", f"ORD-{r.randint(2019, 2026)}-{r.randint(100000, 999999)}",
                         f"{r.randint(100, 999)}-{r.randint(1000000, 9999999)}-{r.randint(1000000, 9999999)}",
                         f"#{r.randint(1000000, 9999999)}"])

    def d_tracking_number(self) -> str:
        r = self.rng
        return r.choice([f"1Z{self.chars(string.ascii_uppercase + string.digits, 6)}{r.randint(10, 99)}{self.chars(string.digits, 8)}",
                         "9400 " + " ".join(self.chars(string.digits, 4) for _ in range(4)) + " " + self.chars(string.digits, 2),
                         self.chars(string.digits, 12), f"JD{self.chars(string.digits, 18)}"])

    def d_invoice_number(self) -> str:
        r = self.rng
        return r.choice([f"INV-{r.randint(2019, 2026)}-{r.randint(1, 99999):05d}", f"FA{r.randint(2019, 2026)}{r.randint(1, 9999):04d}",
                         f"{r.randint(2019, 2026)}/{r.randint(1, 9999):04d}", f"RE-{r.randint(100000, 999999)}"])

    def d_timestamp(self) -> str:
        dt = self.f.date_time_between(start_date=T0, end_date=T1)
        return self.rng.choice([dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.rng.randint(0, 999):03d}Z", dt.strftime("%Y-%m-%d %H:%M:%S"),
                                dt.strftime("%d/%m/%Y %H:%M"), str(int(dt.timestamp())), str(int(dt.timestamp()) * 1000 + self.rng.randint(0, 999)),
                                dt.strftime("%d/%b/%Y:%H:%M:%S +0000")])

    def d_date(self) -> str:
        d = self.f.date_between(start_date=datetime.date(1946, 1, 1), end_date=datetime.date(2027, 1, 1))
        return self.rng.choice([d.strftime("%Y-%m-%d"), d.strftime("%d.%m.%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d/%m/%Y")])

    def d_price(self) -> str:
        v = self.rng.randint(100, 250_000_00) / 100
        us = f"{v:,.2f}"
        eu = us.replace(",", " ").replace(".", ",").replace(" ", ".")
        return self.rng.choice([f"${us}", f"{eu} €", f"€{us}", f"£{us}", f"R$ {eu}", f"¥{int(v):,}", f"₹{us}", f"{us} USD"])

    def d_isbn(self) -> str:
        return self.f.isbn13() if self.rng.random() < 0.7 else self.f.isbn10()

    def d_uuid(self) -> str:
        return self.f.uuid4()

    def d_hash(self) -> str:
        h = hashlib.sha256(self.rng.randbytes(16)).hexdigest()
        return self.rng.choice([h, h[:40], h[:32], h[:7]])

    def d_invalid_card(self) -> str:
        while True:
            n = self.us.credit_card_number(self.rng.choice(["visa16", "mastercard"]))
            bad = n[:-1] + str((int(n[-1]) + self.rng.randint(1, 9)) % 10)
            if _luhn_digit(bad[:-1]) != bad[-1]:
                break
        return bad if self.rng.random() < 0.4 else " ".join(bad[i:i + 4] for i in range(0, 16, 4))

    def d_invalid_iban(self) -> str:
        iban = self.f.iban()
        check = int(iban[2:4])
        bad = f"{iban[:2]}{(check + self.rng.randint(1, 90)) % 97 + 2:02d}{iban[4:]}"
        if _iban_check(bad[:2], bad[4:]) == bad[2:4]:
            bad = f"{iban[:2]}{(check + 1) % 97 + 2:02d}{iban[4:]}"
        return bad if self.rng.random() < 0.5 else " ".join(bad[i:i + 4] for i in range(0, len(bad), 4))

    def d_invalid_ssn(self) -> str:
        r = self.rng.randint
        return self.rng.choice([f"000-{r(10, 99)}-{r(1000, 9999)}", f"666-{r(10, 99)}-{r(1000, 9999)}",
                                f"{r(100, 665)}-00-{r(1000, 9999)}", f"{r(100, 665)}-{r(10, 99)}-0000"])

    def d_loopback_ip(self) -> str:
        return self.rng.choice(["127.0.0.1", "0.0.0.0", "::1", "127.0.0.1"])

    def d_model_id(self) -> str:
        return self.rng.choice(["openai/gpt-4o-2024-08-06", "anthropic/claude-3.5-sonnet", "meta-llama/llama-3.1-70b-instruct",
                                "google/gemini-2.0-flash-001", "mistralai/mistral-large-2411", "openai/gpt-4o-mini-2024-07-18"])

    def d_customer_id(self) -> str:
        r = self.rng
        return r.choice([f"CUST-{r.randint(1, 9999999):07d}", f"C{r.randint(10000000, 99999999)}", f"usr_{self.chars(ALNUM, 14)}",
                         f"{r.randint(10000, 999999)}"])


# ---- genres ------------------------------------------------------------------------------------
# A fact is (cls, kind, value): cls "pii" or "decoy". Renderers write facts into a Doc with the
# surrounding text of the genre; `esc` turns a raw value into its surface form.

def _json_esc(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)[1:-1]


def _flat(v: str) -> str:
    return v.replace("\n", "\\n")


def _facts(g: Gen, kinds: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(cls, k, g.pii(k) if cls == "pii" else g.decoy(k)) for cls, k in kinds]


def _surface(fact, esc):
    cls, k, v = fact
    return (cls, k, esc(v))


def _table_kinds(g: Gen, kinds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Tables hold one kind per column; drop duplicate columns.
    seen, out = set(), []
    for ck in kinds:
        if ck not in seen:
            seen.add(ck)
            out.append(ck)
    return out


def render_delimited(d: Doc, g: Gen, kinds, sep: str, quote_all: bool) -> None:
    cols = _table_kinds(g, kinds)
    headers = [g.label(k) for _, k in cols]
    lead = g.rng.random() < 0.5
    if lead:
        headers = ["id"] + headers
    d.add(sep.join(f'"{h}"' if quote_all else h for h in headers) + "\n")
    for row in range(g.rng.randint(2, 5)):
        if lead:
            d.add(str(1000 + row) + sep)
        for j, ck in enumerate(cols):
            cls, k, v = _facts(g, [ck])[0]
            need = quote_all or sep in v or "\n" in v or '"' in v
            if need:
                d.add('"')
                d.put((cls, k, v.replace('"', '""')))
                d.add('"')
            else:
                d.put((cls, k, v))
            d.add(sep if j < len(cols) - 1 else "\n")


def render_markdown(d: Doc, g: Gen, kinds) -> None:
    cols = _table_kinds(g, kinds)
    d.add(g.rng.choice(["Here is the table:\n\n", "", "Can you clean up this table?\n\n", "| results |\n\n"]))
    d.add("| " + " | ".join(g.label(k) for _, k in cols) + " |\n")
    d.add("|" + "|".join("---" for _ in cols) + "|\n")
    for _ in range(g.rng.randint(2, 5)):
        d.add("| ")
        for j, ck in enumerate(cols):
            fact = _surface(_facts(g, [ck])[0], lambda v: _flat(v).replace("|", "\\|"))
            d.put(fact)
            d.add(" | " if j < len(cols) - 1 else " |\n")


def render_json(d: Doc, g: Gen, kinds) -> None:
    cols = _table_kinds(g, kinds)
    keys = [g.label(k).replace(" ", "_").lower() if g.rng.random() < 0.7 else g.label(k) for _, k in cols]
    pretty = g.rng.random() < 0.6
    nrec = g.rng.randint(1, 4)
    d.add("[\n" if nrec > 1 else "")
    for r in range(nrec):
        d.add("  {" if nrec > 1 else "{")
        for j, ck in enumerate(cols):
            d.add(("\n    " if nrec > 1 else "\n  ") if pretty else ("" if j == 0 else " "))
            d.add(json.dumps(keys[j], ensure_ascii=False) + ": \"")
            d.put(_surface(_facts(g, [ck])[0], _json_esc))
            d.add('"' + ("," if j < len(cols) - 1 else ""))
        d.add(("\n  }" if nrec > 1 else "\n}") if pretty else "}")
        d.add(",\n" if r < nrec - 1 else ("\n]" if nrec > 1 else ""))
    d.add("\n")


def render_yaml(d: Doc, g: Gen, kinds) -> None:
    cols = _table_kinds(g, kinds)
    keys = [g.label(k).replace(" ", "_").lower() for _, k in cols]
    d.add(g.rng.choice(["customers:\n", "records:\n", "users:\n"]))
    for _ in range(g.rng.randint(1, 3)):
        for j, ck in enumerate(cols):
            cls, k, v = _facts(g, [ck])[0]
            d.add(("  - " if j == 0 else "    ") + keys[j] + ": ")
            if "\n" in v:
                d.add("|\n")
                ind = "      "
                d.add(ind)
                d.put((cls, k, v.replace("\n", "\n" + ind)))
                d.add("\n")
            elif g.rng.random() < 0.4 or ": " in v or v[:1] in "{[*&!%@`'\"#|>-?" or v.startswith("$"):
                d.add('"')
                d.put((cls, k, _json_esc(v)))
                d.add('"\n')
            else:
                d.put((cls, k, v))
                d.add("\n")


def render_web_log(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    ip_facts = [f for f in facts if f[1] in ("IP_ADDRESS", "loopback_ip")]
    dumps = [f for f in facts if f[1] == "PRIVATE_KEY"]  # a key block is dumped below the request lines
    other = [f for f in facts if f not in ip_facts and f not in dumps]
    lines = max(len(ip_facts), 1 + len(other) // 2)
    for i in range(lines):
        ts = g.f.date_time_between(start_date=T0, end_date=T1).strftime("%d/%b/%Y:%H:%M:%S +0000")
        if i < len(ip_facts):
            d.put(_surface(ip_facts[i], lambda v: v))
        else:
            d.add("127.0.0.1")
        d.add(f" - - [{ts}] \"{g.rng.choice(['GET', 'POST', 'GET'])} /{g.f.uri_path()}")
        params = other[2 * i:2 * i + 2] if i < lines else []
        for j, fact in enumerate(params):
            key = g.label(fact[1]).replace(" ", "_").lower()
            d.add(("?" if j == 0 else "&") + key + "=")
            space = g.rng.choice(["+", "%20"])
            enc = (lambda v, space=space: v.replace("@", "%40").replace(" ", space).replace("\n", "%0A")) if g.rng.random() < 0.3 else \
                (lambda v, space=space: _flat(v).replace(" ", space))
            d.put(_surface(fact, enc))
        d.add(f" HTTP/1.1\" {g.rng.choice([200, 200, 302, 404, 500])} {g.rng.randint(200, 90000)} \"-\" \"{g.f.user_agent()}\"\n")
    for fact in other[2 * lines:]:
        d.add("# ")
        d.put(_surface(fact, _flat))
        d.add("\n")
    for fact in dumps:
        d.add("upstream sent a key block:\n")
        d.put(fact)
        d.add("\n")


def render_app_log(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    g.rng.shuffle(facts)
    i = 0
    while i < len(facts):
        ts = g.f.date_time_between(start_date=T0, end_date=T1)
        lvl = g.rng.choice(["INFO", "WARN", "ERROR", "DEBUG"])
        style = g.rng.random()
        chunk = facts[i:i + g.rng.randint(1, 3)]
        i += len(chunk)
        if style < 0.45:  # key=value
            d.add(f"{ts.isoformat(timespec='milliseconds')}Z {lvl} {g.rng.choice(['auth', 'billing', 'api', 'worker'])}: "
                  f"{g.rng.choice(['request', 'user updated', 'payment failed', 'login'])}")
            for fact in chunk:
                d.add(f" {g.label(fact[1]).replace(' ', '_').lower()}=")
                quoted = " " in fact[2] and g.rng.random() < 0.7
                d.add('"' if quoted else "")
                d.put(_surface(fact, _flat))
                d.add('"' if quoted else "")
            d.add("\n")
        elif style < 0.75:  # JSON lines
            d.add(f'{{"ts":"{ts.isoformat()}","level":"{lvl.lower()}","msg":"{g.rng.choice(["upstream call", "retry", "user created"])}"')
            for fact in chunk:
                d.add(f',"{g.label(fact[1]).replace(" ", "_").lower()}":"')
                d.put(_surface(fact, _json_esc))
                d.add('"')
            d.add("}\n")
        else:  # free text with the value in the message, possibly across a line
            d.add(f"[{ts.strftime('%Y-%m-%d %H:%M:%S')}] {lvl} ")
            for fact in chunk:
                lead = g.rng.choice([f"{g.label(fact[1])}: ", f"{g.label(fact[1])} ", "value ", "from ", ""])
                d.add(lead)
                d.put(_surface(fact, _flat))
                d.add(g.rng.choice([" ", "; ", ", ", "\n  at handler ("+g.f.file_name()+") "]))
            d.add("\n")


SENT = {
    "en": ["My {l} is {v}.", "You can reach me at {v}.", "{l}: {v}", "Please use {v} going forward.", "It's {v}",
           "here it is {v} thanks", "{v}"],
    "fr": ["Mon {l} : {v}.", "{l} : {v}", "Vous pouvez utiliser {v}.", "appelle-moi au {v}", "C'est {v} merci"],
    "de": ["Meine {l}: {v}.", "{l}: {v}", "Bitte verwenden Sie {v}.", "erreichbar unter {v}", "das ist {v}"],
    "es": ["Mi {l} es {v}.", "{l}: {v}", "Puede usar {v}.", "es {v} gracias"],
    "it": ["Il mio {l} è {v}.", "{l}: {v}", "Può usare {v}.", "ecco {v}"],
    "nl": ["Mijn {l} is {v}.", "{l}: {v}", "Gebruik {v} alstublieft.", "het is {v}"],
    "pt": ["Meu {l} é {v}.", "{l}: {v}", "Pode usar {v}.", "segue {v} obrigado"],
    "ja": ["{l}は{v}です。", "{l}: {v}", "{l}：{v}", "こちらです {v}"],
}


def _sentence(d: Doc, g: Gen, fact) -> None:
    tpl = g.rng.choice(SENT[g.lang] + SENT["en"][:3])
    label = g.label(fact[1])
    if fact[1] == "BEARER_TOKEN":
        tpl = g.rng.choice(["Authorization: Bearer {v}", "curl -H \"Authorization: Bearer {v}\" https://api.example.com/v1/me",
                            "the header was `Bearer {v}`"])
    elif fact[1] == "PRIVATE_KEY":
        tpl = g.rng.choice(["{l}:\n{v}\n", "Here's the key:\n\n{v}\n", "```\n{v}\n```"])
    elif fact[1] == "version":
        tpl = g.rng.choice(["running version {v}", "after the upgrade to {v} it broke", "app {v} on iOS",
                            "Node {v}", "build {v}", "openai=={v}"])
    elif fact[0] == "decoy":
        tpl = g.rng.choice(["{l}: {v}", "{l} {v}", "({l} {v})", "ref {v}"])
    pre, post = tpl.split("{v}")
    d.add(pre.replace("{l}", label))
    d.put(fact)
    d.add(post.replace("{l}", label))


def render_email(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    greet = {"en": "Dear", "fr": "Bonjour", "de": "Sehr geehrte(r)", "es": "Estimado/a", "it": "Gentile", "nl": "Beste",
             "pt": "Prezado(a)", "ja": ""}[g.lang]
    d.add(f"Subject: {g.f.sentence(nb_words=5)}\n\n{greet} {g.f.last_name()},\n\n{g.f.paragraph(nb_sentences=2)}\n")
    sig = [f for f in facts if f[1] in ("PERSON", "EMAIL", "PHONE", "ADDRESS")]
    body = [f for f in facts if f not in sig]
    for fact in body:
        _sentence(d, g, fact)
        d.add(g.rng.choice([" ", "\n", "\n\n"]))
    d.add("\n" + g.rng.choice(["Best regards,", "Kind regards,", "Cordialement,", "Mit freundlichen Grüßen", "Saludos,",
                               "Cordiali saluti,", "Met vriendelijke groet,", "Atenciosamente,", "よろしくお願いします。"]) + "\n")
    for fact in sig:
        if fact[1] in ("PHONE", "EMAIL") and g.rng.random() < 0.6:
            d.add(f"{g.label(fact[1])}{g.rng.choice([': ', ' ', ' | ', ': '])}")
        d.put(_surface(fact, lambda v: v))
        d.add(g.rng.choice(["\n", " | ", "\n"]))
    d.add(f"{g.f.company()}\n")


def render_chat(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    a, b = g.f.first_name(), g.f.first_name()
    for i, fact in enumerate(facts):
        who = a if i % 2 == 0 else b
        if g.rng.random() < 0.5:
            d.add(f"[{g.rng.randint(0, 23):02d}:{g.rng.randint(0, 59):02d}] {who}: ")
        else:
            d.add(f"{who}: ")
        _sentence(d, g, _surface(fact, lambda v: v))
        d.add("\n")
        if g.rng.random() < 0.4:
            d.add(f"{b if who == a else a}: {g.rng.choice(['ok thanks', 'got it', 'merci', 'danke', 'ありがとう', 'one sec'])}\n")


def render_ticket(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    d.add(f"Ticket #{g.rng.randint(10000, 999999)} — {g.f.sentence(nb_words=4)}\nPriority: {g.rng.choice(['P1', 'P2', 'P3'])}\n"
          f"Status: open\n\nCustomer wrote:\n> {g.f.sentence()}\n")
    for fact in facts:
        if g.rng.random() < 0.5:
            d.add("> ")
            _sentence(d, g, fact)
            d.add("\n")
        else:
            d.add(f"- {g.label(fact[1])}: ")
            d.put(fact)
            d.add("\n")
    d.add("\nAgent note: " + g.f.sentence() + "\n")


def render_code(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    lang = g.rng.choice(["py", "js", "sh"])
    d.add({"py": "import os\nimport requests\n\n", "js": "const axios = require('axios');\n\n", "sh": "#!/usr/bin/env bash\nset -e\n"}[lang])
    for fact in facts:
        name = g.label(fact[1]).upper().replace(" ", "_").replace("-", "_").replace(".", "").replace("#", "")
        if not name.isascii() or not name.replace("_", "").isalnum():
            name = fact[1] if fact[0] == "pii" else "VALUE"
        if fact[1] == "BEARER_TOKEN":
            pre = {"py": 'headers = {"Authorization": "Bearer ', "js": "const headers = { Authorization: 'Bearer ",
                   "sh": 'curl -H "Authorization: Bearer '}[lang]
            post = {"py": '"}\n', "js": "' };\n", "sh": '" https://api.example.com/v1/items\n'}[lang]
            d.add(pre)
            d.put(_surface(fact, lambda v: v))
            d.add(post)
            continue
        if lang == "py":
            d.add(f'{name} = "')
            d.put(_surface(fact, _json_esc))
            d.add('"\n')
        elif lang == "js":
            d.add(f"const {name.lower()} = '")
            d.put(_surface(fact, _flat))
            d.add("';\n")
        else:
            d.add(f'export {name}="')
            d.put(_surface(fact, lambda v: v))
            d.add('"\n')
    d.add({"py": "\nresp = requests.post(URL, json=payload, timeout=10)\n", "js": "\naxios.post(url, payload);\n",
           "sh": "\n./deploy.sh\n"}[lang])


def render_config(d: Doc, g: Gen, kinds) -> None:
    facts = _facts(g, kinds)
    style = g.rng.choice(["env", "ini", "yaml", "toml"])
    if style == "ini":
        d.add(g.rng.choice(["[default]\n", "[production]\n", "[smtp]\n"]))
    elif style == "yaml":
        d.add("apiVersion: v1\nkind: Secret\nstringData:\n")
    for fact in facts:
        key = g.label(fact[1]).replace(" ", "_").replace(".", "").replace("#", "")
        if not key.isascii():
            key = fact[1].lower()
        if fact[1] == "BEARER_TOKEN":
            key, prefix = "AUTH_HEADER", "Bearer "
        else:
            prefix = ""
        if style == "env":
            d.add(f"{key.upper()}={prefix}")
            if "\n" in fact[2]:
                d.add('"')
                d.put(_surface(fact, _flat))
                d.add('"\n')
            else:
                d.put(fact)
                d.add("\n")
        elif style == "ini":
            d.add(f"{key.lower()} = {prefix}")
            d.put(_surface(fact, _flat))
            d.add("\n")
        elif style == "yaml":
            d.add(f"  {key.lower()}: ")
            if "\n" in fact[2]:
                d.add("|\n    " + prefix)
                d.put(_surface(fact, lambda v: v.replace("\n", "\n    ")))
                d.add("\n")
            else:
                d.add(f'"{prefix}')
                d.put(_surface(fact, _json_esc))
                d.add('"\n')
        else:
            d.add(f'{key.lower()} = "{prefix}')
            d.put(_surface(fact, _json_esc))
            d.add('"\n')


RENDER = {
    "csv": lambda d, g, k: render_delimited(d, g, k, g.rng.choice([",", ",", ";"]), g.rng.random() < 0.3),
    "tsv": lambda d, g, k: render_delimited(d, g, k, "\t", False),
    "markdown_table": render_markdown,
    "json_records": render_json,
    "yaml_records": render_yaml,
    "web_log": render_web_log,
    "app_log": render_app_log,
    "email_letter": render_email,
    "chat": render_chat,
    "support_ticket": render_ticket,
    "code": render_code,
    "config": render_config,
}


def _kinds_for(rng: random.Random) -> list[tuple[str, str]]:
    n_pii = rng.randint(3, 6)
    n_decoy = rng.randint(1, 3)
    kinds = [("pii", rng.choice(TYPES)) for _ in range(n_pii)] + [("decoy", rng.choice(DECOY_KINDS)) for _ in range(n_decoy)]
    rng.shuffle(kinds)
    return kinds


_FAKERS: dict[str, Faker] = {}


def _fakers() -> dict[str, Faker]:
    if not _FAKERS:
        for loc in LOCALES:
            _FAKERS[loc] = Faker(loc)
    return _FAKERS


def document(seed: int, i: int) -> dict:
    """Document `i` of the corpus for `seed`; locale and genre cycle so every cell is filled."""
    rng = random.Random(f"pii-corpus:{seed}:{i}")
    locale = LOCALES[i % len(LOCALES)]
    genre = GENRES[(i // len(LOCALES)) % len(GENRES)]
    g = Gen(_fakers(), locale, rng)
    d = Doc()
    RENDER[genre](d, g, _kinds_for(rng))
    return {"id": i, "seed": seed, "locale": locale, "genre": genre, "text": d.text(), "items": d.items, "decoys": d.decoys}


def corpus(seed: int, docs: int) -> list[dict]:
    return [document(seed, i) for i in range(docs)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    for i in range(a.docs):
        out.write(json.dumps(document(a.seed, i), ensure_ascii=False) + "\n")
    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
