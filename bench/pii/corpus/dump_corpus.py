#!/usr/bin/env python3
"""Third labelled PII corpus, built unlike the other two: dumps and exports as they get pasted.

Written before the engine's third round of tuning on the Faker corpus (`faker_corpus.py`) and
never tuned against: other locales (es_ES, it_IT, nl_NL, pl_PL, pt_PT, sv_SE, da_DK, de_AT,
fr_CH, en_AU), other genres (SQL INSERT dumps, JSON-lines logs, quoted e-mail threads, HTML
tables, psql result tables, XML, forms with dot leaders, WhatsApp exports), its own value
generators (cards from real IIN ranges, IBANs computed per country, phone numbers from Faker or
libphonenumber's example numbers with a random tail, written in libphonenumber's or hand
styles), and harder numeric decoys (nine-digit customer numbers, postal codes, European prices,
build numbers, SKUs) next to the usual ones. Labels are the spans the generator wrote.

Same document schema as `faker_corpus.py` (`report.py --corpus dump` scores it):
  items  - values that must not reach the upstream: {start, end, entity, value}
  decoys - look-alikes that must survive: {start, end, kind, value}

  python3 bench/pii/corpus/dump_corpus.py --seed 1 --docs 2000 --out corpus.jsonl
"""
from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import random
import string
import sys

import phonenumbers
from faker import Faker

LOCALES = ["es_ES", "it_IT", "nl_NL", "pl_PL", "pt_PT", "sv_SE", "da_DK", "de_AT", "fr_CH", "en_AU"]
REGION = {"es_ES": "ES", "it_IT": "IT", "nl_NL": "NL", "pl_PL": "PL", "pt_PT": "PT", "sv_SE": "SE", "da_DK": "DK",
          "de_AT": "AT", "fr_CH": "CH", "en_AU": "AU"}
GENRES = ["sql", "jsonl", "email_thread", "html_table", "psql", "xml", "form", "whatsapp"]
SECRETS = ["OPENROUTER_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN",
           "SLACK_TOKEN", "GOOGLE_API_KEY", "STRIPE_KEY", "JWT", "BEARER_TOKEN"]
DEFAULT_TYPES = ["EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS"] + SECRETS
OPT_IN_TYPES: list[str] = []
TYPES = DEFAULT_TYPES
# PII types drawn more often than secrets: the corpus is about customer data.
WEIGHTS = {"EMAIL": 3, "PHONE": 5, "US_SSN": 2, "CREDIT_CARD": 3, "IBAN": 3, "IP_ADDRESS": 2}
DECOY_KINDS = ["version", "placeholder_secret", "order_number", "nine_digit_id", "postal_code", "price", "isbn",
               "uuid", "hash", "timestamp", "date", "invalid_card", "invalid_iban", "build_number", "sku", "loopback_ip"]

LANG = {"es_ES": "es", "it_IT": "it", "nl_NL": "nl", "pl_PL": "pl", "pt_PT": "pt", "sv_SE": "sv", "da_DK": "da",
        "de_AT": "de", "fr_CH": "fr", "en_AU": "en"}
# Field names as a local export would have them (index 0: a database column name).
FIELD = {
    "EMAIL": {"es": ["email", "correo"], "it": ["email", "posta"], "nl": ["email", "e-mailadres"], "pl": ["email", "e-mail"],
              "pt": ["email", "correio_eletronico"], "sv": ["epost", "e-post"], "da": ["email", "e-mail"],
              "de": ["email", "E-Mail"], "fr": ["email", "courriel"], "en": ["email", "Email"]},
    "PHONE": {"es": ["telefono", "Teléfono", "Móvil"], "it": ["telefono", "Telefono", "Cellulare"], "nl": ["telefoon", "Telefoonnummer", "Mobiel"],
              "pl": ["telefon", "Telefon", "Komórka", "Nr tel."], "pt": ["telefone", "Telefone", "Telemóvel"],
              "sv": ["telefon", "Telefon", "Mobil", "Tfn"], "da": ["telefon", "Telefon", "Mobil", "Tlf."],
              "de": ["telefon", "Telefon", "Handy", "Tel."], "fr": ["telephone", "Téléphone", "Natel", "Tél."],
              "en": ["phone", "Phone", "Mobile", "Ph"]},
    "US_SSN": {k: ["ssn", "SSN", "US SSN", "social_security_number"] for k in ["es", "it", "nl", "pl", "pt", "sv", "da", "de", "fr", "en"]},
    "CREDIT_CARD": {"es": ["tarjeta", "Número de tarjeta"], "it": ["carta", "Numero carta"], "nl": ["kaartnummer", "Creditcard"],
                    "pl": ["karta", "Numer karty"], "pt": ["cartao", "Cartão de crédito"], "sv": ["kortnummer", "Kort"],
                    "da": ["kortnummer", "Betalingskort"], "de": ["karte", "Kreditkarte"], "fr": ["carte", "Numéro de carte"],
                    "en": ["card", "Card number"]},
    "IBAN": {k: ["iban", "IBAN"] for k in ["es", "it", "nl", "pl", "pt", "sv", "da", "de", "fr", "en"]},
    "IP_ADDRESS": {k: ["ip", "client_ip", "remote_addr", "IP"] for k in ["es", "it", "nl", "pl", "pt", "sv", "da", "de", "fr", "en"]},
}
DECOY_FIELD = {"version": ["version", "app_version"], "placeholder_secret": ["api_key", "token"],
               "order_number": ["order_no", "pedido", "zamowienie"], "nine_digit_id": ["customer_no", "kundennummer", "klantnummer", "member_id"],
               "postal_code": ["postal_code", "cp", "plz"], "price": ["amount", "total"], "isbn": ["isbn"], "uuid": ["uuid", "request_id"],
               "hash": ["sha1", "etag"], "timestamp": ["created_at", "ts"], "date": ["date", "fecha"], "invalid_card": ["card_test"],
               "invalid_iban": ["iban_example"], "build_number": ["build"], "sku": ["sku", "ean"], "loopback_ip": ["bind_addr"]}
SECRET_FIELD = {"OPENROUTER_KEY": "openrouter_api_key", "OPENAI_KEY": "openai_api_key", "ANTHROPIC_KEY": "anthropic_api_key",
                "AWS_ACCESS_KEY": "aws_access_key_id", "AWS_SECRET_KEY": "aws_secret_access_key", "GITHUB_TOKEN": "github_token",
                "SLACK_TOKEN": "slack_bot_token", "GOOGLE_API_KEY": "google_api_key", "STRIPE_KEY": "stripe_secret_key",
                "JWT": "id_token", "BEARER_TOKEN": "authorization"}
# Sentences around a value in prose genres ({v} the value), per language; some have no cue word at all.
SAY = {
    "es": ["mi número es {v}", "te paso {v}", "{v} (es el de casa)", "apunta {v} por favor", "ok: {v}"],
    "it": ["il mio numero è {v}", "ti giro {v}", "{v} (quello di casa)", "segnati {v}", "ok: {v}"],
    "nl": ["mijn nummer is {v}", "hier: {v}", "{v} (thuis)", "noteer {v} even", "ok: {v}"],
    "pl": ["mój numer to {v}", "podaję {v}", "{v} (domowy)", "zapisz {v}", "ok: {v}"],
    "pt": ["o meu número é {v}", "aqui vai {v}", "{v} (de casa)", "anota {v}", "ok: {v}"],
    "sv": ["mitt nummer är {v}", "här: {v}", "{v} (hem)", "skriv upp {v}", "ok: {v}"],
    "da": ["mit nummer er {v}", "her: {v}", "{v} (privat)", "skriv {v} ned", "ok: {v}"],
    "de": ["meine Nummer ist {v}", "hier: {v}", "{v} (privat)", "notier dir {v}", "ok: {v}"],
    "fr": ["mon numéro c'est {v}", "voici {v}", "{v} (privé)", "note {v} stp", "ok: {v}"],
    "en": ["my number is {v}", "here: {v}", "{v} (home)", "jot down {v}", "ok: {v}"],
}
SSN_SAY = ["SSN {v}", "my US social security number is {v}", "SSN: {v}", "(SSN {v})"]
CARD_SAY = ["card {v}", "paid with card {v}", "{v} (Visa)", "CC: {v}", "kaart {v}", "Karte {v}", "tarjeta {v}"]

IIN = [("4", 16), ("4", 16), ("4", 13), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
       ("6011", 16), ("65", 16), ("3528", 16), ("3589", 16), ("36", 14), ("300", 14), ("62", 16), ("62", 19), ("6759", 16),
       ("5018", 12), ("6304", 19), ("2200", 16)]
# BBAN length per IBAN country (ISO 13616 registry); letters where the BBAN has them.
BBAN = {"ES": "n20", "IT": "a1n10c12", "NL": "a4n10", "PL": "n24", "PT": "n21", "SE": "n20", "DK": "n14", "AT": "n16",
        "CH": "n5c12", "GB": "a4n14"}
T0 = datetime.datetime(2023, 1, 1)
T1 = datetime.datetime(2026, 6, 30)
ALNUM = string.ascii_letters + string.digits


def luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def iban_check(country: str, bban: str) -> str:
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(num) % 97:02d}"


class Doc:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n = 0
        self.items: list[dict] = []
        self.decoys: list[dict] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.n += len(s)

    def put(self, cls: str, kind: str, value: str, esc=lambda v: v) -> None:
        v = esc(value)
        rec = {"start": self.n, "end": self.n + len(v), "value": v}
        if cls == "pii":
            rec["entity"] = kind
            self.items.append(rec)
        else:
            rec["kind"] = kind
            self.decoys.append(rec)
        self.add(v)


class Gen:
    def __init__(self, faker: Faker, locale: str, rng: random.Random) -> None:
        self.rng, self.locale, self.lang, self.region = rng, locale, LANG[locale], REGION[locale]
        self.f = faker
        self.f.seed_instance(rng.getrandbits(63))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def field(self, cls: str, kind: str) -> str:
        if cls == "decoy":
            return self.rng.choice(DECOY_FIELD[kind])
        if kind in SECRET_FIELD:
            return SECRET_FIELD[kind]
        return self.rng.choice(FIELD[kind][self.lang])

    def value(self, cls: str, kind: str) -> str:
        return getattr(self, ("v_" if cls == "pii" else "d_") + kind.lower())()

    # ---- PII ---------------------------------------------------------------------------------
    def v_email(self) -> str:
        return self.f.email() if self.rng.random() < 0.7 else self.f.company_email()

    def _number(self) -> phonenumbers.PhoneNumber:
        for _ in range(30):
            if self.rng.random() < 0.5:
                try:
                    num = phonenumbers.parse(self.f.phone_number(), self.region)
                except phonenumbers.NumberParseException:
                    continue
            else:
                t = self.rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
                ex = phonenumbers.example_number_for_type(self.region, t)
                if ex is None:
                    continue
                nsn = str(ex.national_number)
                keep = max(2, len(nsn) - 6)
                num = phonenumbers.parse("+" + str(ex.country_code) + nsn[:keep] + self.chars(string.digits, len(nsn) - keep))
            if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == self.region:
                return num
        ex = phonenumbers.example_number_for_type(self.region, phonenumbers.PhoneNumberType.MOBILE)
        assert ex is not None
        return ex

    def v_phone(self) -> str:
        num = self._number()
        fmt = phonenumbers.PhoneNumberFormat
        nat = phonenumbers.format_number(num, fmt.NATIONAL)
        intl = phonenumbers.format_number(num, fmt.INTERNATIONAL)
        e164 = phonenumbers.format_number(num, fmt.E164)
        nd = "".join(c for c in nat if c.isdigit())
        cc = str(num.country_code)
        styles = [nat, nat, intl, intl, e164, "00" + e164[1:], nd, f"+{cc} {phonenumbers.national_significant_number(num)}", intl.replace(" ", "-"),
                  nat.replace(" ", ".") if " " in nat else nat]
        return self.rng.choice(styles)

    def v_us_ssn(self) -> str:
        while True:
            a, g, s = self.rng.randint(1, 899), self.rng.randint(1, 99), self.rng.randint(1, 9999)
            if a != 666:
                break
        sep = self.rng.choice(["-", "-", "-", " ", ""])
        return f"{a:03d}{sep}{g:02d}{sep}{s:04d}"

    def v_credit_card(self) -> str:
        pre, n = self.rng.choice(IIN)
        if pre in ("2221", "2720"):
            pre = str(self.rng.randint(2221, 2720))
        if pre in ("3528", "3589"):
            pre = str(self.rng.randint(3528, 3589))
        body = pre + self.chars(string.digits, n - len(pre) - 1)
        num = body + luhn(body)
        r = self.rng.random()
        if r < 0.35:
            return num
        sep = " " if r < 0.8 else "-"
        if n == 15:
            return f"{num[:4]}{sep}{num[4:10]}{sep}{num[10:]}"
        return sep.join(num[i:i + 4] for i in range(0, n, 4))

    def _bban(self, country: str) -> str:
        out = []
        spec = BBAN[country]
        i = 0
        while i < len(spec):
            t = spec[i]
            j = i + 1
            while j < len(spec) and spec[j].isdigit():
                j += 1
            k = int(spec[i + 1:j])
            out.append(self.chars({"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}[t], k))
            i = j
        return "".join(out)

    def v_iban(self) -> str:
        country = self.region if self.region in BBAN else "GB"
        bban = self._bban(country)
        iban = country + iban_check(country, bban) + bban
        r = self.rng.random()
        return iban if r < 0.4 else " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))

    def v_ip_address(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return self.f.ipv4_public()
        if r < 0.8:
            return self.f.ipv4_private()
        return self.f.ipv6()

    def v_openrouter_key(self) -> str:
        return "sk-or-v1-" + self.chars("0123456789abcdef", 64)

    def v_openai_key(self) -> str:
        return "sk-proj-" + self.chars(ALNUM + "-_", 48) + "T3BlbkFJ" + self.chars(ALNUM + "-_", 48)

    def v_anthropic_key(self) -> str:
        return "sk-ant-api03-" + self.chars(ALNUM + "-_", 93) + "AA"

    def v_aws_access_key(self) -> str:
        return "AKIA" + self.chars(string.ascii_uppercase + "234567", 16)

    def v_aws_secret_key(self) -> str:
        while True:
            s = self.chars(ALNUM + "+/", 40)
            if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s):
                return s

    def v_github_token(self) -> str:
        return "ghp_" + self.chars(ALNUM, 36)

    def v_slack_token(self) -> str:
        return f"xoxb-{self.chars(string.digits, 11)}-{self.chars(string.digits, 12)}-{self.chars(ALNUM, 24)}"

    def v_google_api_key(self) -> str:
        return "AIza" + self.chars(ALNUM + "-_", 35)

    def v_stripe_key(self) -> str:
        return "sk_live_" + self.chars(ALNUM, 24)

    def v_jwt(self) -> str:
        enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()  # noqa: E731
        return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': self.chars(string.digits, 8), 'name': self.f.name()})}." \
               + self.chars(ALNUM + "-_", 43)

    def v_bearer_token(self) -> str:
        return "Bearer " + self.chars(ALNUM, self.rng.choice([24, 32, 48]))

    # ---- decoys ------------------------------------------------------------------------------
    def d_version(self) -> str:
        r = self.rng.randint
        return f"{r(1, 25)}.{r(0, 19)}.{r(0, 30)}.{r(0, 250)}"

    def d_placeholder_secret(self) -> str:
        return self.rng.choice(["sk-or-v1-...", "<your key>", "TU_API_KEY", "${GITHUB_TOKEN}", "xxxxxxxxxxxxxxxx",
                                "AKIA****************", "sk-proj-********", "REDACTED", "ghp_<token>", "Bearer <token>"])

    def d_order_number(self) -> str:
        r = self.rng
        return r.choice([f"{r.randint(2020, 2026)}-{r.randint(100000, 999999)}", f"PED-{r.randint(10000, 99999)}",
                         f"{r.randint(10000000, 99999999)}", f"ZAM/{r.randint(1, 999)}/{r.randint(2020, 2026)}"])

    def d_nine_digit_id(self) -> str:
        return str(self.rng.randint(100000000, 999999999))

    def d_postal_code(self) -> str:
        r = self.rng.randint
        return {"ES": f"{r(1000, 52999):05d}", "IT": f"{r(10, 98168):05d}", "NL": f"{r(1000, 9999)} {self.chars('ABCDEFGHJKLMNPRSTVWXZ', 2)}",
                "PL": f"{r(0, 99):02d}-{r(0, 999):03d}", "PT": f"{r(1000, 9999)}-{r(0, 999):03d}", "SE": f"{r(100, 999)} {r(10, 99)}",
                "DK": f"{r(1000, 9999)}", "AT": f"{r(1000, 9999)}", "CH": f"{r(1000, 9999)}", "AU": f"{r(200, 9999):04d}"}[self.region]

    def d_price(self) -> str:
        r = self.rng.randint
        return self.rng.choice([f"{r(1, 999)}.{r(0, 999):03d},{r(0, 99):02d} €", f"€ {r(1, 99999)},{r(0, 99):02d}",
                                f"{r(1, 999)} {r(0, 999):03d},{r(0, 99):02d} zł", f"CHF {r(1, 9999)}.{r(0, 99):02d}",
                                f"{r(1, 999)} {r(0, 999):03d} kr"])

    def d_isbn(self) -> str:
        body = "978" + self.chars(string.digits, 9)
        s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
        full = body + str((10 - s % 10) % 10)
        return self.rng.choice([full, f"{full[:3]}-{full[3:5]}-{full[5:9]}-{full[9:12]}-{full[12]}"])

    def d_uuid(self) -> str:
        return str(self.f.uuid4())

    def d_hash(self) -> str:
        return self.chars("0123456789abcdef", self.rng.choice([7, 12, 40]))

    def d_timestamp(self) -> str:
        dt = self.f.date_time_between(start_date=T0, end_date=T1)
        return self.rng.choice([dt.strftime("%Y-%m-%dT%H:%M:%S+01:00"), dt.strftime("%d.%m.%Y %H:%M"), str(int(dt.timestamp())),
                                dt.strftime("%Y%m%d%H%M%S")])

    def d_date(self) -> str:
        d = self.f.date_between(start_date=datetime.date(1940, 1, 1), end_date=datetime.date(2027, 1, 1))
        return self.rng.choice([d.strftime("%d-%m-%Y"), d.strftime("%d.%m.%Y"), d.strftime("%Y/%m/%d"), d.strftime("%d/%m/%Y")])

    def d_invalid_card(self) -> str:
        body = "4" + self.chars(string.digits, 14)
        bad = str((int(luhn(body)) + self.rng.randint(1, 9)) % 10)
        n = body + bad
        return self.rng.choice([n, " ".join(n[i:i + 4] for i in range(0, 16, 4))])

    def d_invalid_iban(self) -> str:
        country = self.region if self.region in BBAN else "GB"
        bban = self._bban(country)
        good = int(iban_check(country, bban))
        return f"{country}{(good + self.rng.randint(1, 90)) % 97 + 2:02d}{bban}"

    def d_build_number(self) -> str:
        r = self.rng.randint
        return self.rng.choice([f"{r(2020, 2026)}{r(1, 12):02d}{r(1, 28):02d}.{r(1, 9)}", f"{r(1, 30)}.{r(0, 9)}.{r(1000, 99999)}"])

    def d_sku(self) -> str:
        body = self.chars(string.digits, 12)
        s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
        return self.rng.choice([body + str((10 - s % 10) % 10), f"SKU-{self.chars(string.digits, 6)}"])

    def d_loopback_ip(self) -> str:
        return self.rng.choice(["127.0.0.1", "0.0.0.0"])


# ---- genres -----------------------------------------------------------------------------------
def _kinds(rng: random.Random) -> list[tuple[str, str]]:
    pool = [t for t in DEFAULT_TYPES for _ in range(WEIGHTS.get(t, 1))]
    seen: list[tuple[str, str]] = []
    for _ in range(rng.randint(3, 6)):
        k = ("pii", rng.choice(pool))
        if k not in seen:
            seen.append(k)
    for _ in range(rng.randint(2, 3)):
        k = ("decoy", rng.choice(DECOY_KINDS))
        if k not in seen:
            seen.append(k)
    rng.shuffle(seen)
    return seen


def _sql_str(v: str) -> str:
    return v.replace("'", "''")


def render_sql(d: Doc, g: Gen, kinds) -> None:
    table = g.rng.choice(["clientes", "clienti", "klanten", "klienci", "kunden", "customers", "utenti"])
    cols = [g.field(c, k).lower().replace(" ", "_").replace(".", "") for c, k in kinds]
    multi = g.rng.random() < 0.5
    d.add(f"-- Dump of table {table}\n")
    if multi:
        d.add(f"INSERT INTO `{table}` (`id`, " + ", ".join(f"`{c}`" for c in cols) + ") VALUES\n")
    for r in range(g.rng.randint(2, 4)):
        if not multi:
            d.add(f"INSERT INTO {table} (id, " + ", ".join(cols) + ") VALUES ")
        d.add(f"({r + 1}, ")
        for j, (c, k) in enumerate(kinds):
            d.add("'")
            d.put(c, k, g.value(c, k), _sql_str)
            d.add("'" + (", " if j < len(kinds) - 1 else ")"))
        d.add(",\n" if multi and r < 3 else ";\n")


def render_jsonl(d: Doc, g: Gen, kinds) -> None:
    for _ in range(g.rng.randint(2, 4)):
        ts = g.f.date_time_between(start_date=T0, end_date=T1).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        d.add(json.dumps({"time": ts, "level": g.rng.choice(["info", "warn", "error"]), "svc": "checkout"})[:-1])
        for c, k in g.rng.sample(kinds, k=max(1, len(kinds) - 1)):
            d.add(", " + json.dumps(g.field(c, k)) + ': "')
            d.put(c, k, g.value(c, k), lambda v: json.dumps(v, ensure_ascii=False)[1:-1])
            d.add('"')
        d.add("}\n")


def _phrase(g: Gen, c: str, k: str) -> str:
    if c == "pii" and k == "PHONE":
        return g.rng.choice(SAY[g.lang])
    if c == "pii" and k == "US_SSN":
        return g.rng.choice(SSN_SAY)
    if c == "pii" and k == "CREDIT_CARD":
        return g.rng.choice(CARD_SAY)
    if c == "pii" and k in ("AWS_SECRET_KEY",):
        return g.rng.choice(["aws secret {v}", "{field}: {v}"])
    return g.rng.choice(["{field}: {v}", "{field} = {v}", "{v}", "({field} {v})"])


def _prose(d: Doc, g: Gen, c: str, k: str) -> None:
    ph = _phrase(g, c, k)
    pre, post = ph.split("{v}")
    d.add(pre.replace("{field}", g.field(c, k)))
    d.put(c, k, g.value(c, k))
    d.add(post.replace("{field}", g.field(c, k)))


def render_email_thread(d: Doc, g: Gen, kinds) -> None:
    name = g.f.name()
    d.add(f"{g.rng.choice(['Hola', 'Ciao', 'Hoi', 'Cześć', 'Olá', 'Hej', 'Hallo', 'Bonjour', 'Hi'])} {g.f.first_name()},\n\n")
    half = len(kinds) // 2
    for c, k in kinds[:half]:
        _prose(d, g, c, k)
        d.add(".\n")
    d.add(f"\n{name}\n")
    d.add(f"\nOn {g.f.date()} {g.f.name()} <{g.f.free_email()}> wrote:\n")
    for c, k in kinds[half:]:
        d.add("> ")
        _prose(d, g, c, k)
        d.add("\n")
    d.add(">\n> --\n> " + g.f.company() + "\n")


def render_html_table(d: Doc, g: Gen, kinds) -> None:
    d.add("<table>\n  <tr>" + "".join(f"<th>{html.escape(g.field(c, k))}</th>" for c, k in kinds) + "</tr>\n")
    for _ in range(g.rng.randint(2, 4)):
        d.add("  <tr>")
        for c, k in kinds:
            d.add("<td>")
            d.put(c, k, g.value(c, k), lambda v: html.escape(v, quote=False))
            d.add("</td>")
        d.add("</tr>\n")
    d.add("</table>\n")


def render_psql(d: Doc, g: Gen, kinds) -> None:
    rows = [[g.value(c, k) for c, k in kinds] for _ in range(g.rng.randint(2, 4))]
    heads = [g.field(c, k).lower().replace(" ", "_") for c, k in kinds]
    w = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(heads)]
    d.add(" " + " | ".join(h.ljust(w[j]) for j, h in enumerate(heads)) + "\n")
    d.add("-" + "-+-".join("-" * x for x in w) + "-\n")
    for r in rows:
        d.add(" ")
        for j, (c, k) in enumerate(kinds):
            d.put(c, k, r[j])
            d.add(" " * (w[j] - len(r[j])) + (" | " if j < len(kinds) - 1 else "\n"))
    d.add(f"({len(rows)} rows)\n")


def render_xml(d: Doc, g: Gen, kinds) -> None:
    d.add('<?xml version="1.0" encoding="UTF-8"?>\n<records>\n')
    for _ in range(g.rng.randint(1, 3)):
        d.add("  <record>\n")
        for c, k in kinds:
            tag = "".join(ch for ch in g.field(c, k).lower().replace(" ", "_") if ch.isalnum() or ch == "_") or "v"
            d.add(f"    <{tag}>")
            d.put(c, k, g.value(c, k), lambda v: html.escape(v, quote=False))
            d.add(f"</{tag}>\n")
        d.add("  </record>\n")
    d.add("</records>\n")


def render_form(d: Doc, g: Gen, kinds) -> None:
    d.add(g.rng.choice(["FORMULARIO DE ALTA\n", "MODULO CLIENTE\n", "AANMELDFORMULIER\n", "FORMULARZ\n", "Kundendaten\n", "Customer form\n"]))
    for c, k in kinds:
        label = g.field(c, k)
        d.add(label + (" " + "." * (24 - len(label)) + " " if g.rng.random() < 0.5 else ":\t"))
        d.put(c, k, g.value(c, k))
        d.add("\n")


def render_whatsapp(d: Doc, g: Gen, kinds) -> None:
    a, b = g.f.first_name(), g.f.first_name()
    for c, k in kinds:
        dt = g.f.date_time_between(start_date=T0, end_date=T1)
        d.add(f"[{dt.strftime('%d/%m/%y, %H:%M:%S')}] {g.rng.choice([a, b])}: ")
        _prose(d, g, c, k)
        d.add("\n")


RENDER = {"sql": render_sql, "jsonl": render_jsonl, "email_thread": render_email_thread, "html_table": render_html_table,
          "psql": render_psql, "xml": render_xml, "form": render_form, "whatsapp": render_whatsapp}
_FAKERS: dict[str, Faker] = {}


def document(seed: int, i: int) -> dict:
    """Document `i` of the corpus for `seed`; locale and genre cycle so every cell is filled."""
    rng = random.Random(f"pii-dump-corpus:{seed}:{i}")
    locale = LOCALES[i % len(LOCALES)]
    genre = GENRES[(i // len(LOCALES)) % len(GENRES)]
    if locale not in _FAKERS:
        _FAKERS[locale] = Faker(locale)
    g = Gen(_FAKERS[locale], locale, rng)
    d = Doc()
    RENDER[genre](d, g, _kinds(rng))
    return {"id": i, "seed": seed, "locale": locale, "genre": genre, "text": "".join(d.parts), "items": d.items, "decoys": d.decoys}


def corpus(seed: int, docs: int) -> list[dict]:
    return [document(seed, i) for i in range(docs)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs", type=int, default=2000)
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
