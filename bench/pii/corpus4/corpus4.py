#!/usr/bin/env python3
"""Corpus 4: an independent labelled PII corpus, written blind (without reading the detector, its
miss lists or the other corpora's generators), of what people paste into a prompt: Kubernetes
manifests and env files, stack traces and crash dumps, git patches, issue bodies, CRM exports,
invoices, HL7/FHIR messages, bank statements, Slack exports, vCards, iCal, mbox, Excel pasted as
TSV, LaTeX tables, fixed-width reports; 17 locales mixed.

`corpus(seed, n)` returns n documents `{"text", "genre", "locale", "items": [{"entity", "value",
"start", "end"}], "decoys": [{"kind", "value", "start", "end"}]}`; text[start:end] == value. The
interface is the one `bench/pii/corpus/report.py --corpus c4` reads (GENRES, LOCALES, TYPES,
DEFAULT_TYPES, SECRETS, DECOY_KINDS). Deterministic per seed.

  corpus4.py --seed 1 --docs 5 [--jsonl]     print documents (or their JSON lines) to look at
"""
from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import string
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import c4_values as V
from faker import Faker

LOCALES = ["en_CA", "en_IE", "en_NZ", "en_ZA", "fr_BE", "nl_BE", "de_CH", "it_CH", "es_MX", "pt_BR", "cs_CZ", "hu_HU",
           "ro_RO", "el_GR", "fi_FI", "nb_NO", "pl_PL"]
REGION = {"en_CA": "CA", "en_IE": "IE", "en_NZ": "NZ", "en_ZA": "ZA", "fr_BE": "BE", "nl_BE": "BE", "de_CH": "CH",
          "it_CH": "CH", "es_MX": "MX", "pt_BR": "BR", "cs_CZ": "CZ", "hu_HU": "HU", "ro_RO": "RO", "el_GR": "GR",
          "fi_FI": "FI", "nb_NO": "NO", "pl_PL": "PL"}
ANCHOR = datetime.datetime(2026, 6, 1, 9, 30)
FAKER_LOCALE = {"en_ZA": "zu_ZA", "nb_NO": "no_NO"}  # Faker has no en_ZA / nb_NO
GENRES = ["k8s_yaml", "env_file", "stack_trace", "git_diff", "issue_body", "crm_csv", "invoice", "hl7_fhir",
          "bank_statement", "slack_json", "vcard", "ical", "mbox", "excel_tsv", "latex_table", "fixed_width"]
GENRE_ABBR = {"k8s_yaml": "k8s", "env_file": "env", "stack_trace": "trace", "git_diff": "diff", "issue_body": "issue",
              "crm_csv": "crm", "invoice": "invce", "hl7_fhir": "hl7", "bank_statement": "bank", "slack_json": "slack",
              "vcard": "vcf", "ical": "ical", "mbox": "mbox", "excel_tsv": "xltsv", "latex_table": "latex",
              "fixed_width": "fixw"}
SECRETS = ["AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_KEY",
           "OPENROUTER_KEY", "ANTHROPIC_KEY", "GOOGLE_API_KEY", "JWT", "PRIVATE_KEY", "BEARER_TOKEN"]
TYPES = ["EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS"] + SECRETS
DEFAULT_TYPES = list(TYPES)
DECOY_KINDS = ["version", "build", "order_no", "invoice_no", "tracking_no", "timestamp", "epoch_ms", "price", "isbn",
               "uuid", "git_sha", "hash", "luhn_invalid", "placeholder", "loopback", "invalid_phone", "meeting_id",
               "record_id", "msgid_uid"]
ISO_CURRENCY = {"CA": "CAD", "IE": "EUR", "NZ": "NZD", "ZA": "ZAR", "BE": "EUR", "CH": "CHF", "MX": "MXN", "BR": "BRL",
                "CZ": "CZK", "HU": "HUF", "RO": "RON", "GR": "EUR", "FI": "EUR", "NO": "NOK", "PL": "PLN"}
# IBAN country of a locale's own accounts (None: the country has no IBAN; foreign IBANs only)
IBAN_OF = {"CA": None, "IE": "IE", "NZ": None, "ZA": None, "BE": "BE", "CH": "CH", "MX": None, "BR": "BR", "CZ": "CZ",
           "HU": "HU", "RO": "RO", "GR": "GR", "FI": "FI", "NO": "NO", "PL": "PL"}
FREEMAIL = {"CA": ["rogers.com", "shaw.ca", "videotron.ca"], "IE": ["eircom.net", "gmail.com"], "NZ": ["xtra.co.nz"],
            "ZA": ["mweb.co.za", "telkomsa.net", "webmail.co.za"], "BE": ["telenet.be", "skynet.be", "proximus.be"],
            "CH": ["bluewin.ch", "gmx.ch", "sunrise.ch"], "MX": ["prodigy.net.mx", "hotmail.com.mx"],
            "BR": ["uol.com.br", "bol.com.br", "yahoo.com.br"], "CZ": ["seznam.cz", "email.cz", "centrum.cz"],
            "HU": ["freemail.hu", "citromail.hu"], "RO": ["yahoo.ro", "gmail.com"], "GR": ["otenet.gr", "yahoo.gr"],
            "FI": ["luukku.com", "kolumbus.fi"], "NO": ["online.no", "start.no"], "PL": ["wp.pl", "o2.pl", "onet.pl",
                                                                                         "interia.pl"]}
TLD = {"CA": "ca", "IE": "ie", "NZ": "co.nz", "ZA": "co.za", "BE": "be", "CH": "ch", "MX": "com.mx", "BR": "com.br",
       "CZ": "cz", "HU": "hu", "RO": "ro", "GR": "gr", "FI": "fi", "NO": "no", "PL": "pl", "US": "com", "GB": "co.uk",
       "DE": "de", "FR": "fr", "NL": "nl", "AT": "at", "ES": "es", "IT": "it", "SE": "se", "DK": "dk", "PT": "pt",
       "IN": "in", "AU": "com.au"}
# words a label uses: phone, mobile, e-mail, invoice, total, date, amount, balance, account, customer, statement
WORDS = {
    "en": ["Phone", "Mobile", "Email", "Invoice", "Total", "Date", "Amount", "Balance", "Account", "Customer",
           "Statement"],
    "fr": ["Tél.", "GSM", "E-mail", "Facture", "Total", "Date", "Montant", "Solde", "Compte", "Client",
           "Extrait de compte"],
    "nl": ["Tel.", "GSM", "E-mail", "Factuur", "Totaal", "Datum", "Bedrag", "Saldo", "Rekening", "Klant",
           "Rekeninguittreksel"],
    "de": ["Tel.", "Natel", "E-Mail", "Rechnung", "Total", "Datum", "Betrag", "Saldo", "Konto", "Kunde", "Kontoauszug"],
    "it": ["Tel.", "Cellulare", "E-mail", "Fattura", "Totale", "Data", "Importo", "Saldo", "Conto", "Cliente",
           "Estratto conto"],
    "es": ["Tel.", "Celular", "Correo", "Factura", "Total", "Fecha", "Importe", "Saldo", "Cuenta", "Cliente",
           "Estado de cuenta"],
    "pt": ["Tel.", "Celular", "E-mail", "Fatura", "Total", "Data", "Valor", "Saldo", "Conta", "Cliente", "Extrato"],
    "cs": ["Tel.", "Mobil", "E-mail", "Faktura", "Celkem", "Datum", "Částka", "Zůstatek", "Účet", "Zákazník",
           "Výpis z účtu"],
    "hu": ["Tel.", "Mobil", "E-mail", "Számla", "Összesen", "Dátum", "Összeg", "Egyenleg", "Számlaszám", "Ügyfél",
           "Számlakivonat"],
    "ro": ["Tel.", "Mobil", "E-mail", "Factură", "Total", "Data", "Suma", "Sold", "Cont", "Client", "Extras de cont"],
    "el": ["Τηλ.", "Κινητό", "Email", "Τιμολόγιο", "Σύνολο", "Ημερομηνία", "Ποσό", "Υπόλοιπο", "Λογαριασμός",
           "Πελάτης", "Κίνηση λογαριασμού"],
    "fi": ["Puh.", "Matkapuhelin", "Sähköposti", "Lasku", "Yhteensä", "Päivämäärä", "Summa", "Saldo", "Tili",
           "Asiakas", "Tiliote"],
    "nb": ["Tlf.", "Mobil", "E-post", "Faktura", "Totalt", "Dato", "Beløp", "Saldo", "Konto", "Kunde",
           "Kontoutskrift"],
    "pl": ["Tel.", "Tel. kom.", "E-mail", "Faktura", "Razem", "Data", "Kwota", "Saldo", "Rachunek", "Klient",
           "Wyciąg z rachunku"],
}
PHONE_W, MOBILE_W, EMAIL_W, INVOICE_W, TOTAL_W, DATE_W, AMOUNT_W, BALANCE_W, ACCOUNT_W, CUSTOMER_W, STATEMENT_W = range(11)


class I:  # noqa: E742 - a labelled item in a template
    def __init__(self, entity: str, value: str) -> None:
        self.entity, self.value = entity, value


class D:
    def __init__(self, kind: str, value: str) -> None:
        self.kind, self.value = kind, value


Piece = str | I | D
Slot = Piece | list[Piece]
SLOT = re.compile(r"«(\w+)»")


class Doc:
    """Text built from literal pieces, items and decoys; spans recorded as it grows."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.n = 0
        self.items: list[dict] = []
        self.decoys: list[dict] = []

    def put(self, p: Piece) -> str:
        if isinstance(p, I):
            self.items.append({"entity": p.entity, "value": p.value, "start": self.n, "end": self.n + len(p.value)})
            s = p.value
        elif isinstance(p, D):
            self.decoys.append({"kind": p.kind, "value": p.value, "start": self.n, "end": self.n + len(p.value)})
            s = p.value
        else:
            s = p
        self.buf.append(s)
        self.n += len(s)
        return s

    def add(self, template: str, **slots: Slot) -> None:
        """`template` with «name» slots filled from `slots` (literals, items, decoys or lists of them)."""
        pos = 0
        for m in SLOT.finditer(template):
            self.put(template[pos:m.start()])
            v = slots[m.group(1)]
            for p in v if isinstance(v, list) else [v]:
                self.put(p)
            pos = m.end()
        self.put(template[pos:])

    def text(self) -> str:
        return "".join(self.buf)


@dataclass
class Person:
    first: str
    last: str
    email: str
    phone: str
    region: str
    company: str
    street: str
    city: str
    postcode: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def ascii_fold(s: str) -> str:
    import unicodedata
    greek = dict(zip("αβγδεζηθικλμνξοπρστυφχψωάέήίόύώςϊϋΐΰ", "abgdezitiklmnxoprstyfhpoaeiioyosiyiy", strict=True))
    other = {"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "ß": "ss", "ı": "i", "œ": "oe", "å": "a"}
    s = "".join(greek.get(ch, other.get(ch, ch)) for ch in s.lower())
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if ch in string.ascii_lowercase + ".-")


class Ctx:
    """One document's random state: its locale, Faker, and the value makers bound to them."""

    fakers: dict[str, Faker] = {}

    def __init__(self, seed: int, index: int, locale: str) -> None:
        self.rng = random.Random(f"corpus4:{seed}:{index}")
        self.locale = locale
        self.region = REGION[locale]
        self.lang = locale[:2]
        fl = FAKER_LOCALE.get(locale, locale)
        if fl not in Ctx.fakers:
            Ctx.fakers[fl] = Faker(fl)
        self.fk = Ctx.fakers[fl]
        self.fk.seed_instance(self.rng.getrandbits(48))

    # ---- helpers
    def when(self, lo_days: int, hi_days: int) -> datetime.datetime:
        """A moment lo..hi days from a fixed day (not from today: the corpus is a function of its seed)."""
        return ANCHOR + datetime.timedelta(seconds=self.rng.randint(lo_days * 86400, hi_days * 86400))

    def w(self, k: int) -> str:
        return WORDS[self.lang][k]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, xs: list):
        return self.rng.choice(xs)

    def foreign(self) -> str:
        return self.rng.choice([r for r in sorted(set(REGION.values())) if r != self.region] + V.OTHER_REGIONS)

    def person(self, region: str | None = None) -> Person:
        region = region or (self.region if self.chance(0.85) else self.foreign())
        first, last = self.fk.first_name(), self.fk.last_name()
        return Person(first, last, self.email(first, last, region), V.make_phone(self.rng, region), region,
                      self.fk.company(), self.fk.street_address().replace("\n", ", "), self.fk.city(),
                      self.fk.postcode())

    def email(self, first: str | None = None, last: str | None = None, region: str | None = None) -> str:
        region = region or self.region
        first = ascii_fold(first or self.fk.first_name()) or "info"
        last = ascii_fold(last or self.fk.last_name()) or "office"
        local = self.pick([f"{first}.{last}", f"{first[0]}{last}", f"{first}{self.rng.randint(1, 99)}",
                           f"{last}.{first}", f"{first}_{last}", f"{first}.{last}+{self.pick(['billing', 'jira', 'news'])}"])
        r = self.rng.random()
        if r < 0.4:
            dom = self.pick(FREEMAIL.get(region, ["gmail.com"]) + ["gmail.com", "outlook.com", "icloud.com"])
        elif r < 0.96:
            co = ascii_fold(self.fk.last_name()).replace(".", "") or "firma"
            dom = f"{self.pick(['', 'mail.', 'corp.', ''])}{co}{self.pick(['', '-group', '-ag', '-sa', 'tech'])}." + TLD.get(
                region, "com")
        else:  # an internationalised domain, written as people type it
            dom = self.pick(["müller-bäckerei.ch", "gärtnerei-öhlin.fi", "café-liège.be", "dvořák-praha.cz",
                             "szép-ház.hu", "świętokrzyska.pl", "ζαχαροπλαστείο.gr", "são-joão.com.br"])
        return f"{local}@{dom}"

    def phone(self, region: str | None = None, style: str | None = None, mobile: bool | None = None) -> str:
        return V.make_phone(self.rng, region or self.region, style, mobile)

    def iban(self, style: str | None = None) -> str:
        c = IBAN_OF.get(self.region)
        if c is None or self.chance(0.2):
            c = self.pick(sorted(V.IBAN_LAYOUT))
        return V.make_iban(self.rng, c, style)

    def secret(self, entity: str | None = None) -> I:
        entity = entity or self.rng.choices(SECRETS, [8, 7, 9, 7, 7, 9, 9, 4, 7, 8, 4, 6])[0]
        return I(entity, V.make_secret(self.rng, entity))

    def amount(self, lo: float = 1, hi: float = 9999, decimals: int = 2) -> str:
        x = self.rng.uniform(lo, hi)
        s = f"{x:,.{decimals}f}"
        loc = self.locale
        if loc in ("de_CH", "it_CH"):
            return s.replace(",", "'")
        if loc in ("fr_BE", "cs_CZ", "hu_HU", "fi_FI", "nb_NO", "pl_PL", "en_ZA"):
            return s.replace(",", "\u00a0" if self.chance(0.5) else " ").replace(".", ",")
        if loc in ("nl_BE", "pt_BR", "ro_RO", "el_GR"):
            return s.replace(",", "_").replace(".", ",").replace("_", ".")
        return s

    def money(self) -> D:
        cur = ISO_CURRENCY[self.region]
        a = self.amount()
        return D("price", self.pick([f"{a} {cur}", f"{cur} {a}", a]))

    def date(self) -> str:
        d = self.when(-3 * 365, 0).date()
        if self.lang in ("en",) and self.region in ("CA",):
            return d.isoformat()
        return self.pick([d.isoformat(), d.strftime("%d.%m.%Y"), d.strftime("%d/%m/%Y")])

    def ts(self) -> D:
        d = self.when(-2 * 365, 0)
        return D("timestamp", self.pick([d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.rng.randint(0, 999):03d}Z",
                                         d.strftime("%Y-%m-%d %H:%M:%S"), d.strftime("%d.%m.%Y %H:%M"),
                                         d.strftime("%Y%m%dT%H%M%SZ")]))

    def epoch_ms(self) -> D:
        return D("epoch_ms", str(self.rng.randint(1_600_000_000_000, 1_790_000_000_000)))

    def version(self, four: bool = False) -> D:
        r = self.rng
        if four or self.chance(0.3):
            return D("version", f"{r.randint(1, 24)}.{r.randint(0, 12)}.{r.randint(0, 30)}.{r.randint(1, 9999)}")
        return D("version", f"{r.randint(0, 18)}.{r.randint(0, 40)}.{r.randint(0, 60)}")

    def build(self) -> D:
        return D("build", self.pick([f"{self.rng.randint(1000, 99999)}", f"b{self.rng.randint(100, 9999)}",
                                     f"{self.rng.randint(2019, 2026)}.{self.rng.randint(1, 12)}.{self.rng.randint(1000, 9999)}"]))

    def order(self) -> D:
        return D("order_no", self.pick([f"{self.rng.randint(10**8, 10**11 - 1)}",
                                        f"{self.rng.randint(100, 999)}-{self.rng.randint(1000000, 9999999)}-{self.rng.randint(1000000, 9999999)}",
                                        f"SO-{self.rng.randint(100000, 999999)}"]))

    def invoice_no(self) -> D:
        y = self.rng.randint(2022, 2026)
        return D("invoice_no", self.pick([f"{y}-{self.rng.randint(1, 99999):05d}", f"INV-{y}{self.rng.randint(1000, 9999)}",
                                          f"{self.rng.randint(10**9, 10**10 - 1)}"]))

    def tracking(self) -> D:
        return D("tracking_no", self.pick([f"1Z{V.rand(self.rng, string.ascii_uppercase + string.digits, 16)}",
                                           f"{self.rng.randint(10**11, 10**12 - 1)}",
                                           f"JJD{self.rng.randint(10**17, 10**18 - 1)}",
                                           f"RR{self.rng.randint(10**8, 10**9 - 1)}CH"]))

    def uuid(self) -> D:
        return D("uuid", str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))

    def sha(self, n: int = 40) -> D:
        return D("git_sha", V.sha(self.rng, n))

    def hash(self) -> D:
        return D("hash", V.sha(self.rng, self.pick([32, 64])))

    def placeholder(self) -> D:
        return D("placeholder", V.placeholder_key(self.rng))

    def loopback(self) -> D:
        return D("loopback", self.pick(["127.0.0.1", "0.0.0.0", "::1", "localhost"]))

    def bad_phone(self) -> D:
        return D("invalid_phone", V.invalid_phone(self.rng, self.region))

    def bad_card(self) -> D:
        return D("luhn_invalid", V.luhn_invalid(self.rng))

    def ip(self) -> I:
        return I("IP_ADDRESS", V.make_ip(self.rng))

    def host(self) -> list[Piece]:
        """An address as the host of a URL or `host:port`: IPv6 in brackets."""
        ip = self.ip()
        return ["[", ip, "]"] if ":" in ip.value else [ip]


# ---------------------------------------------------------------- genres

def g_k8s_yaml(c: Ctx, d: Doc) -> None:
    app = c.pick(["billing-api", "checkout", "ledger-worker", "crm-sync", "notifier", "kyc-gateway"])
    ns = c.pick(["prod", "payments", "default", "staging-eu"])
    d.add("# kubectl get secret,configmap -n «ns» -o yaml (pasted for review)\napiVersion: v1\nkind: Secret\nmetadata:\n"
          "  name: «app»-credentials\n  namespace: «ns»\n  uid: «uid»\n  resourceVersion: \"«rv»\"\n"
          "  creationTimestamp: \"«ts»\"\ntype: Opaque\nstringData:\n", ns=ns, app=app, uid=c.uuid(),
          rv=str(c.rng.randint(10**6, 10**8)), ts=c.ts())
    for e in c.rng.sample(["AWS_ACCESS_KEY", "STRIPE_KEY", "OPENROUTER_KEY", "SLACK_TOKEN", "GITHUB_TOKEN",
                           "OPENAI_KEY", "GOOGLE_API_KEY"], c.rng.randint(2, 4)):
        s = c.secret(e)
        key = {"AWS_ACCESS_KEY": "AWS_ACCESS_KEY_ID", "STRIPE_KEY": "STRIPE_SECRET_KEY", "OPENROUTER_KEY":
               "OPENROUTER_API_KEY", "SLACK_TOKEN": "SLACK_BOT_TOKEN", "GITHUB_TOKEN": "GH_TOKEN", "OPENAI_KEY":
               "OPENAI_API_KEY", "GOOGLE_API_KEY": "MAPS_API_KEY"}[s.entity]
        d.add("  «k»: «q»«v»«q»\n", k=key, v=s, q=c.pick(["", "\"", "'"]))
        if s.entity == "AWS_ACCESS_KEY":
            d.add("  AWS_SECRET_ACCESS_KEY: «v»\n", v=c.secret("AWS_SECRET_KEY"))
    if c.chance(0.5):
        d.add("  DATABASE_URL: postgres://app:«pw»@«ip»:5432/ledger?sslmode=require\n",
              pw=V.rand(c.rng, V.ALNUM, 18), ip=c.host())
    if c.chance(0.25):
        d.add("  # old one, rotated: «p»\n", p=c.placeholder())
    if c.chance(0.2):
        k = V.make_secret(c.rng, "PRIVATE_KEY")
        d.add("  tls.key: |\n    «k»\n", k=I("PRIVATE_KEY", k.replace("\n", "\n    ")))
    p = c.person()
    d.add("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: «app»-config\n  annotations:\n"
          "    deploy.kubernetes.io/revision: \"«rev»\"\n    git-commit: «sha»\n    last-sync-ms: \"«ms»\"\ndata:\n  SMTP_FROM: «e1»\n"
          "  ONCALL_EMAIL: «e2»\n  ONCALL_PHONE: \"«ph»\"\n  LOG_LEVEL: info\n  UPSTREAM_HOST: «lb»\n",
          app=app, rev=str(c.rng.randint(2, 90)), sha=c.sha(), ms=c.epoch_ms(), e1=I("EMAIL", c.email(region=p.region)),
          e2=I("EMAIL", p.email), ph=I("PHONE", c.phone(p.region, style=c.pick(["e164", "intl"]))), lb=c.loopback())
    d.add("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: «app»\nspec:\n  replicas: «r»\n  template:\n"
          "    spec:\n      containers:\n        - name: «app»\n          image: registry.internal/«app»:«ver»\n"
          "          env:\n            - name: NODE_IP\n              value: \"«ip»\"\n            - name: RELEASE\n"
          "              value: \"«build»\"\n", app=app, r=str(c.rng.randint(1, 6)), ver=c.version(),
          ip=c.ip(), build=c.build())
    if c.chance(0.5):
        d.add("status:\n  podIP: «ip»\n  hostIP: «h»\n  startTime: \"«ts»\"\n", ip=I("IP_ADDRESS", V.make_ipv4(c.rng, True)),
              h=c.ip(), ts=c.ts())


def g_env_file(c: Ctx, d: Doc) -> None:
    d.add("# .env.«env» — copied from the server, why does the worker fail?\n# generated «ts»\n",
          env=c.pick(["production", "local", "staging"]), ts=c.ts())
    d.add("APP_VERSION=«v»\nNODE_ENV=production\nPORT=«port»\nHOST=«lb»\n", v=c.version(),
          port=str(c.pick([3000, 8080, 8443])), lb=c.loopback())
    pool = ["OPENROUTER_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "STRIPE_KEY", "SLACK_TOKEN", "GITHUB_TOKEN",
            "GOOGLE_API_KEY", "AWS_ACCESS_KEY", "JWT"]
    for e in c.rng.sample(pool, c.rng.randint(2, 5)):
        s = c.secret(e)
        name = {"OPENROUTER_KEY": "OPENROUTER_API_KEY", "OPENAI_KEY": "OPENAI_API_KEY", "ANTHROPIC_KEY":
                "ANTHROPIC_API_KEY", "STRIPE_KEY": "STRIPE_SECRET", "SLACK_TOKEN": "SLACK_BOT_TOKEN", "GITHUB_TOKEN":
                "GITHUB_TOKEN", "GOOGLE_API_KEY": "GOOGLE_MAPS_KEY", "AWS_ACCESS_KEY": "AWS_ACCESS_KEY_ID",
                "JWT": "SERVICE_JWT"}[e]
        q = c.pick(["", "\"", "'"])
        d.add("«pre»«n»=«q»«v»«q»\n", pre=c.pick(["", "", "export "]), n=name, v=s, q=q)
        if e == "AWS_ACCESS_KEY":
            d.add("AWS_SECRET_ACCESS_KEY=«q»«v»«q»\nAWS_REGION=eu-central-1\n", v=c.secret("AWS_SECRET_KEY"), q=q)
        if c.chance(0.3):
            d.add("#«n»=«p»\n", n=name, p=c.placeholder())
    if c.chance(0.6):
        d.add("REDIS_URL=redis://:«pw»@«ip»:6379/0\n", pw=V.rand(c.rng, V.ALNUM, 20), ip=c.host())
    p = c.person()
    d.add("ADMIN_EMAIL=«e»\nSUPPORT_PHONE=«q»«ph»«q»\nSENTRY_RELEASE=«sha»\nBUILD_NUMBER=«b»\n", e=I("EMAIL", p.email),
          ph=I("PHONE", p.phone), q=c.pick(["\"", ""]), sha=c.sha(), b=c.build())
    if c.chance(0.3):
        d.add("PAYOUT_IBAN=«i»\n", i=I("IBAN", c.iban("compact")))
    if c.chance(0.3):
        d.add("\n# and ~/.aws/credentials on the same box:\n")
        for prof in c.rng.sample(["default", "prod", "ci", "backup"], c.rng.randint(1, 2)):
            sp = c.pick([" = ", "="])
            d.add("[«p»]\naws_access_key_id«sp»«k»\naws_secret_access_key«sp»«s»\nregion«sp»«r»\n", p=prof, sp=sp,
                  k=c.secret("AWS_ACCESS_KEY"), s=c.secret("AWS_SECRET_KEY"),
                  r=c.pick(["eu-central-1", "eu-west-1", "ca-central-1", "sa-east-1", "af-south-1"]))
    if c.chance(0.15):
        d.add("JWT_PRIVATE_KEY=\"«k»\"\n", k=I("PRIVATE_KEY", V.make_secret(c.rng, "PRIVATE_KEY").replace("\n", "\\n")))


def g_stack_trace(c: Ctx, d: Doc) -> None:
    p = c.person()
    kind = c.rng.randint(0, 2)
    if kind == 0:
        d.add("Exception in thread \"http-nio-8080-exec-«t»\" com.acme.payments.CardDeclinedException: card «card» "
              "declined for customer «e» (order «o»)\n", t=str(c.rng.randint(1, 64)),
              card=I("CREDIT_CARD", V.make_card(c.rng)), e=I("EMAIL", p.email), o=c.order())
        for fn in c.rng.sample(["PaymentService.charge", "CheckoutController.submit", "StripeGateway.authorize",
                                "RetryTemplate.execute", "OrderFacade.place"], 4):
            d.add("\tat com.acme.payments.«fn»(«f».java:«ln»)\n", fn=fn, f=fn.split(".")[0], ln=str(c.rng.randint(20, 900)))
        d.add("\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:«ln»)\n"
              "Caused by: java.net.SocketTimeoutException: connect timed out to «ip»:443\n\t... «n» more\n",
              ln=str(c.rng.randint(100, 1100)), ip=c.host(), n=str(c.rng.randint(20, 80)))
        d.add("request: POST /v1/charges Authorization: Bearer «tok» X-Request-Id: «rid»\n",
              tok=c.secret(c.pick(["BEARER_TOKEN", "STRIPE_KEY"])), rid=c.uuid())
    elif kind == 1:
        d.add("Traceback (most recent call last):\n  File \"/srv/app/sync.py\", line «l1», in run\n    resp = client.post(url, "
              "headers={\"Authorization\": f\"Bearer {token}\"})\n  File \"/usr/lib/python3.11/site-packages/httpx/_client.py\","
              " line «l2», in post\nhttpx.HTTPStatusError: Client error '401 Unauthorized' for url "
              "'https://api.example.net/v2/contacts?email=«e»&phone=«ph»'\n", l1=str(c.rng.randint(10, 400)),
              l2=str(c.rng.randint(1000, 2000)), e=I("EMAIL", p.email), ph=I("PHONE", c.phone(p.region, style="e164")))
        d.add("\nLocal variables:\n  token = '«tok»'\n  contact = {'name': '«n»', 'iban': '«iban»', 'ip': '«ip»'}\n"
              "  retries = 3\n  started_ms = «ms»\n", tok=c.secret(c.pick(["OPENROUTER_KEY", "OPENAI_KEY", "JWT",
                                                                         "ANTHROPIC_KEY", "GITHUB_TOKEN"])),
              n=p.name, iban=I("IBAN", c.iban()), ip=c.ip(), ms=c.epoch_ms())
        d.add("Python «v» (main, «ts») [GCC 12.2.0] on linux\n", v=c.version(), ts=c.ts())
    else:
        d.add("*** crash dump «app» «v» (build «b») ***\nsignal 11 (SIGSEGV), fault addr 0x«addr»\npid «pid» at «ts»\n",
              app=c.pick(["posd", "kiosk-agent", "ledgerd"]), v=c.version(four=True), b=c.build(),
              addr=V.rand(c.rng, "0123456789abcdef", 12), pid=str(c.rng.randint(300, 65000)), ts=c.ts())
        for i in range(c.rng.randint(3, 6)):
            d.add("#«i»  0x«a» in «fn» () from /usr/lib/libposcore.so.«so»\n", i=str(i),
                  a=V.rand(c.rng, "0123456789abcdef", 16), fn=c.pick(["emv_read", "ledger_commit", "tls_write",
                                                                     "json_parse", "sync_batch"]),
                  so=str(c.rng.randint(1, 9)))
        d.add("last request from «ip» user=«e» session=«h»\nlast card read: «card» exp «m»/«y»\nbuild id «h2»\n",
              ip=c.ip(), e=I("EMAIL", p.email), h=c.hash(), card=I("CREDIT_CARD", V.make_card(c.rng, "compact")),
              m=f"{c.rng.randint(1, 12):02d}", y=str(c.rng.randint(26, 31)), h2=c.sha())
        if c.chance(0.4):
            d.add("not a card (checksum failed): «bc»\n", bc=c.bad_card())


def g_git_diff(c: Ctx, d: Doc) -> None:
    p = c.person()
    sha = c.sha()
    d.add("From «sha» Mon Sep 17 00:00:00 2001\nFrom: «n» <«e»>\nDate: «ts»\nSubject: [PATCH «k»/«m»] «subj»\n\n"
          "Reviewed-by: «n2» <«e2»>\n---\n", sha=sha, n=p.name, e=I("EMAIL", p.email), ts=c.ts(),
          k=str(c.rng.randint(1, 3)), m=str(c.rng.randint(3, 5)),
          subj=c.pick(["fix flaky payout test", "config: move keys to env", "add seed data for staging",
                       "bump sdk and update fixtures"]),
          n2=c.fk.name(), e2=I("EMAIL", c.email()))
    d.add("diff --git a/config/settings.py b/config/settings.py\nindex «a»..«b» 100644\n--- a/config/settings.py\n"
          "+++ b/config/settings.py\n@@ -«l»,7 +«l»,8 @@ DEFAULTS = {\n     \"timeout_s\": 30,\n", a=c.sha(7), b=c.sha(7),
          l=str(c.rng.randint(5, 200)))
    s = c.secret(c.pick(["OPENROUTER_KEY", "OPENAI_KEY", "STRIPE_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "GOOGLE_API_KEY",
                         "AWS_ACCESS_KEY", "ANTHROPIC_KEY"]))
    d.add("-    \"api_key\": os.environ.get(\"API_KEY\", \"«ph»\"),\n+    \"api_key\": \"«s»\",\n", ph=c.placeholder(), s=s)
    if s.entity == "AWS_ACCESS_KEY":
        d.add("+    \"aws_secret\": \"«v»\",\n", v=c.secret("AWS_SECRET_KEY"))
    d.add("     \"sdk_version\": \"«v»\",\n", v=c.version())
    d.add("diff --git a/tests/fixtures/customers.json b/tests/fixtures/customers.json\nindex «a»..«b» 100644\n"
          "--- a/tests/fixtures/customers.json\n+++ b/tests/fixtures/customers.json\n@@ -1,4 +1,12 @@\n [\n", a=c.sha(7),
          b=c.sha(7))
    for _ in range(c.rng.randint(1, 3)):
        q = c.person()
        d.add("+  {\"id\": \"«u»\", \"name\": \"«n»\", \"email\": \"«e»\", \"phone\": \"«ph»\", \"iban\": \"«i»\", "
              "\"last_ip\": \"«ip»\"},\n", u=c.uuid(), n=q.name, e=I("EMAIL", q.email), ph=I("PHONE", q.phone),
              i=I("IBAN", c.iban()), ip=c.ip())
    d.add(" ]\n-- \n«v»\n", v=D("version", f"2.{c.rng.randint(30, 47)}.{c.rng.randint(0, 5)}"))


def g_issue_body(c: Ctx, d: Doc) -> None:
    p = c.person()
    key = c.pick(["PAY", "CRM", "OPS", "SUP"])
    d.add("«k»-«n»: «title»\nReporter: «rep» («e»)\nPriority: High | Component: «comp» | Affects Version/s: «v»\n\n"
          "### Description\nCustomer «cn» («ce», «cp») says ", k=key, n=str(c.rng.randint(100, 9999)),
          title=c.pick(["Double charge after retry", "Webhook 401 since rotation", "Export drops rows",
                        "SEPA mandate rejected"]),
          rep=c.fk.name(), e=I("EMAIL", c.email()), comp=c.pick(["billing", "api", "mobile"]), v=c.version(),
          cn=p.name, ce=I("EMAIL", p.email), cp=I("PHONE", p.phone))
    r = c.rng.randint(0, 2)
    if r == 0:
        d.add("they were charged twice on card «card» (order «o», «amt»). Tracking: «tr».\n",
              card=I("CREDIT_CARD", V.make_card(c.rng)), o=c.order(), amt=c.money(), tr=c.tracking())
    elif r == 1:
        d.add("the SEPA debit from «iban» bounced twice; invoice «inv».\n", iban=I("IBAN", c.iban()), inv=c.invoice_no())
    else:
        d.add("calls from their office «ip» get 401 since «ts».\n", ip=c.ip(), ts=c.ts())
    d.add("\n### Steps to reproduce\n```bash\ncurl -s https://api.internal.example/v1/sync \\\n"
          "  -H \"Authorization: Bearer «tok»\" \\\n  -H 'X-Trace: «u»' \\\n  -d '{\"email\": \"«e»\"}'\n```\n",
          tok=c.secret(c.pick(["BEARER_TOKEN", "OPENROUTER_KEY", "OPENAI_KEY", "JWT", "STRIPE_KEY"])), u=c.uuid(),
          e=I("EMAIL", p.email))
    env = dict(v=c.version(four=True), os=c.pick(["Android 14", "iOS 17.4.1", "Windows 11 23H2"]), ip=c.ip(),
               b=c.build(), ms=c.epoch_ms())
    if c.chance(0.5):  # GitHub markdown
        d.add("\n### Environment\n| | |\n|---|---|\n| app | «v» |\n| OS | «os» |\n| server | «ip» |\n| build | «b» |\n"
              "| first seen (epoch ms) | «ms» |\n", **env)
    else:  # Jira wiki markup
        d.add("\nh3. Environment\n||Key||Value||\n|app|«v»|\n|OS|«os»|\n|server|«ip»|\n|build|«b»|\n"
              "|first seen (epoch ms)|«ms»|\n", **env)
    if c.chance(0.3):
        s = make_us_ssn(c)
        d.add("\nNote: the SSN «s» also shows up in the debug log, please purge.\n", s=s)
    if c.chance(0.4):
        d.add("\n> docs say use «ph» in the config, is that right?\n", ph=c.placeholder())


def make_us_ssn(c: Ctx, style: str | None = None) -> I:
    return I("US_SSN", V.make_ssn(c.rng, style or c.rng.choices(["dash", "space", "bare"], [80, 10, 10])[0]))


def csv_cell(d: Doc, p: Piece, force: bool = False) -> None:
    v = p if isinstance(p, str) else p.value
    if force or any(ch in v for ch in ",\"\n"):
        d.put("\"")
        if isinstance(p, str):
            d.put(p.replace("\"", "\"\""))
        else:
            d.put(p)
        d.put("\"")
    else:
        d.put(p)


def g_crm_csv(c: Ctx, d: Doc) -> None:
    us = c.chance(0.35)
    cols = ["Id", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "MailingStreet", "MailingCity",
            "Description", "AnnualRevenue", "CreatedDate"]
    if us:
        cols.insert(5, "SSN__c")
    quote_all = c.chance(0.5)
    d.put(",".join(f"\"{h}\"" if quote_all else h for h in cols) + "\n")
    for _ in range(c.rng.randint(3, 7)):
        p = c.person("US" if us and c.chance(0.6) else None)
        row: list[Piece] = [D("record_id", "003" + V.rand(c.rng, V.ALNUM, 15)), p.first, p.last, I("EMAIL", p.email),
                            I("PHONE", p.phone), I("PHONE", c.phone(p.region, mobile=True))]
        if us:
            row.insert(5, make_us_ssn(c, c.pick(["dash", "bare"])))
        desc: list[Piece]
        r = c.rng.random()
        if r < 0.3:
            desc = [f"Called {c.date()}.\nPrefers e-mail; alt contact ", I("EMAIL", c.email()), "."]
        elif r < 0.5:
            desc = ["Paid by card ", I("CREDIT_CARD", V.make_card(c.rng)), "\nrenewal due"]
        elif r < 0.65:
            desc = [f"Invoice {c.rng.randint(1000, 9999)} disputed; \"call back\" at ", I("PHONE", c.phone(p.region))]
        elif r < 0.75:
            desc = ["Parcel ", c.tracking(), " returned; number on file ", c.bad_phone(), " is wrong"]
        else:
            desc = [c.pick(["", "VIP", "Lead from webinar", "Do not call"])]
        for k, cell in enumerate(row + [p.street + "\n" + p.postcode, p.city]):
            if k:
                d.put(",")
            csv_cell(d, cell, quote_all)
        d.put(",")
        plain = "".join(x if isinstance(x, str) else x.value for x in desc)
        if quote_all or any(ch in plain for ch in ",\"\n"):
            d.put("\"")
            for x in desc:
                d.put(x.replace("\"", "\"\"") if isinstance(x, str) else x)
            d.put("\"")
        else:
            for x in desc:
                d.put(x)
        d.put(",")
        csv_cell(d, D("price", c.amount(10000, 9_000_000, 0).replace("\u00a0", " ")), quote_all)
        d.put(",")
        csv_cell(d, c.ts(), quote_all)
        d.put("\n")


def g_invoice(c: Ctx, d: Doc) -> None:
    seller, buyer = c.person(c.region), c.person()
    d.add("«co»\n«st», «pc» «city»\n«tw» «ph» · «ew» «e»\n\n«inv» «no»    «dw»: «dt»\n«cw»: «bn», «bco»\n«be»\n\n",
          co=seller.company, st=seller.street, pc=seller.postcode, city=seller.city, tw=c.w(PHONE_W),
          ph=I("PHONE", seller.phone), ew=c.w(EMAIL_W), e=I("EMAIL", seller.email), inv=c.w(INVOICE_W).upper(),
          no=c.invoice_no(), dw=c.w(DATE_W), dt=c.date(), cw=c.w(CUSTOMER_W), bn=buyer.name, bco=buyer.company,
          be=I("EMAIL", buyer.email))
    for _ in range(c.rng.randint(2, 5)):
        sku = f"{c.pick(['SKU', 'Art.', 'Ref.'])} {c.rng.randint(10000, 99999)}"
        d.add("  «qty» x «item» («sku»)  «p»\n", qty=str(c.rng.randint(1, 12)),
              item=c.pick(["Consulting hours", "Licence seat", "Support plan", "Hosting", "Toner", "Cable 2 m"]),
              sku=sku, p=c.money())
    if c.chance(0.6):
        d.add("  ISBN «isbn»  «p»\n", isbn=D("isbn", V.isbn13(c.rng)), p=c.money())
    d.add("«tw»: «t»\n\n", tw=c.w(TOTAL_W), t=c.money())
    r = c.rng.random()
    if r < 0.55:
        d.add("IBAN: «i»\nBIC: «bic»\n«ref»\n", i=I("IBAN", c.iban("print")), bic=c.pick(["GEBABEBB", "UBSWCHZH80A",
                                                                                      "KOMBCZPP", "RZBRROBU", "NDEAFIHH",
                                                                                      "DNBANOKK", "PKOPPLPW"]),
              ref=c.pick(["", f"Ref: {c.rng.randint(10**8, 10**9)}"]))
    elif r < 0.8:
        d.add("Paid by card «card» on «dt», auth code «ac»\n", card=I("CREDIT_CARD", V.make_card(c.rng)), dt=c.date(),
              ac=str(c.rng.randint(100000, 999999)))
    else:
        d.add("Paid by card ending «l4». Order «o», shipped with «tr».\n", l4=str(c.rng.randint(1000, 9999)),
              o=c.order(), tr=c.tracking())
    if c.chance(0.35):
        d.add("Not valid: «bc» (checksum). Hotline «bp»\n", bc=c.bad_card(), bp=c.bad_phone())


def g_hl7_fhir(c: Ctx, d: Doc) -> None:
    p = c.person()
    us = c.chance(0.4)
    if c.chance(0.55):
        eol = c.pick(["\r", "\n", "\r\n"])
        ts = c.when(-365, 0).strftime("%Y%m%d%H%M%S")
        d.add("MSH|^~\\&|EPIC|«fac»|LAB|«fac»|«ts»||ADT^A04|«cid»|P|2.5.1«eol»EVN|A04|«ts»«eol»",
              eol=eol, fac=c.pick(["HOSP01", "CLINIC_N", "UMC"]), ts=D("timestamp", ts), cid=D("record_id",
                                                                                     f"MSG{c.rng.randint(10**6, 10**8)}"))
        d.add("PID|1||«mrn»^^^MRN||«last»^«first»||«dob»|«sex»|||«st»^^«city»^^«pc»||«ph»^PRN^PH~^NET^Internet^«e»|«wp»^WPN^PH||||"
              "«acc»|«ssn»«eol»", eol=eol, mrn=str(c.rng.randint(10**6, 10**8)), last=p.last, first=p.first,
              dob=c.when(-85 * 365, -18 * 365).date().strftime("%Y%m%d"), sex=c.pick(["F", "M"]), st=p.street, city=p.city,
              pc=p.postcode, ph=I("PHONE", c.phone(p.region, style=c.pick(["e164", "national", "intl"]))),
              e=I("EMAIL", p.email), wp=I("PHONE", c.phone(p.region)), acc=str(c.rng.randint(10**7, 10**9)),
              ssn=make_us_ssn(c, c.pick(["bare", "dash"])) if us else "")
        nk = c.person(p.region)
        d.add("NK1|1|«l»^«f»|SPO|||«ph»«eol»PV1|1|O|«unit»^^^«fac»||||«dr»^«dn»«eol»", eol=eol, l=nk.last, f=nk.first,
              ph=I("PHONE", nk.phone), unit=c.pick(["CARD", "ONC", "ER"]), fac="HOSP01",
              dr=str(c.rng.randint(1000, 9999)), dn=c.fk.last_name())
        d.add("OBX|1|NM|2345-7^Glucose^LN||«v»|mg/dL|70-99|N|||F|||«ts»«eol»", eol=eol, v=str(c.rng.randint(60, 200)),
              ts=D("timestamp", ts))
    else:
        d.add("{\n  \"resourceType\": \"Patient\",\n  \"id\": \"«id»\",\n  \"meta\": {\"versionId\": \"«vid»\", "
              "\"lastUpdated\": \"«ts»\"},\n  \"identifier\": [\n", id=c.uuid(), vid=str(c.rng.randint(1, 40)), ts=c.ts())
        if us:
            d.add("    {\"system\": \"http://hl7.org/fhir/sid/us-ssn\", \"value\": \"«s»\"},\n",
                  s=make_us_ssn(c, c.pick(["dash", "bare"])))
        d.add("    {\"system\": \"urn:oid:1.2.36.146.595.217.0.1\", \"value\": \"«mrn»\"}\n  ],\n"
              "  \"name\": [{\"family\": \"«l»\", \"given\": [\"«f»\"]}],\n  \"telecom\": [\n"
              "    {\"system\": \"phone\", \"value\": \"«ph»\", \"use\": \"mobile\"},\n"
              "    {\"system\": \"phone\", \"value\": \"«ph2»\", \"use\": \"home\"},\n"
              "    {\"system\": \"email\", \"value\": \"«e»\"}\n  ],\n  \"birthDate\": \"«dob»\",\n"
              "  \"address\": [{\"line\": [\"«st»\"], \"city\": \"«city»\", \"postalCode\": \"«pc»\"}]\n}\n",
              mrn=str(c.rng.randint(10**6, 10**9)), l=p.last, f=p.first,
              ph=I("PHONE", c.phone(p.region, mobile=True, style=c.pick(["e164", "intl", "national"]))),
              ph2=I("PHONE", c.phone(p.region, mobile=False)), e=I("EMAIL", p.email),
              dob=c.when(-85 * 365, -18 * 365).date().isoformat(), st=p.street.replace("\"", ""), city=p.city, pc=p.postcode)


def g_bank_statement(c: Ctx, d: Doc) -> None:
    p = c.person(c.region)
    d.add("«bank»\n«sw» «frm» – «to»\n«aw»: «n»\nIBAN «iban»\n«ew»: «e»   «pw»: «ph»\n\n", bank=c.pick(
        ["Banque Commerciale", "Kantonalbank", "Banco Nacional", "Sparebank", "Nordic Savings", "Bank Polski"]),
          sw=c.w(STATEMENT_W), frm=c.date(), to=c.date(), aw=c.w(ACCOUNT_W), n=p.name,
          iban=I("IBAN", c.iban("print")), ew=c.w(EMAIL_W), e=I("EMAIL", p.email), pw=c.w(PHONE_W),
          ph=I("PHONE", p.phone))
    d.add("«dw»        | ----                                   | «amw» | «bw»\n", dw=c.w(DATE_W), amw=c.w(AMOUNT_W),
          bw=c.w(BALANCE_W))
    for _ in range(c.rng.randint(4, 9)):
        r = c.rng.random()
        d.add("«dt» | ", dt=c.date())
        if r < 0.3:
            q = c.person()
            d.add("SEPA «dir» «n» «iban» ", dir=c.pick(["to", "from", "an", "de", "naar"]), n=q.name,
                  iban=I("IBAN", c.iban(c.pick(["print", "compact"]))))
        elif r < 0.45:
            d.add("CARD «card» «m» ", card=D("luhn_invalid", V.luhn_invalid(c.rng)) if c.chance(0.3) else
                  D("record_id", f"{c.rng.randint(4000, 4999)} **** **** {c.rng.randint(1000, 9999)}"),
                  m=c.pick(["SPAR", "MIGROS", "OXXO", "LIDL", "ESSO"]))
        elif r < 0.55:
            d.add("Refund order «o» ", o=c.order())
        elif r < 0.62:
            d.add("Transfer to card «card» ", card=I("CREDIT_CARD", V.make_card(c.rng)))
        elif r < 0.7:
            d.add("Ref «ref» ", ref=c.invoice_no())
        else:
            d.add("«m» ", m=c.pick(["Salary", "Rent", "Insurance", "Electricity", "Mobile plan", "ATM"]))
        d.add("| «a» | «b»\n", a=D("price", ("-" if c.chance(0.6) else "") + c.amount()), b=D("price", c.amount(100, 99999)))
    if c.chance(0.2):
        d.add("\nUS account on file, SSN «s»\n", s=make_us_ssn(c))


def g_slack_json(c: Ctx, d: Doc) -> None:
    users = [f"U0{V.rand(c.rng, string.ascii_uppercase + string.digits, 8)}" for _ in range(3)]
    t0 = c.rng.randint(1_650_000_000, 1_780_000_000)
    d.put("[\n")
    n = c.rng.randint(3, 6)
    for k in range(n):
        t0 += c.rng.randint(5, 900)
        d.add("  {\"type\": \"message\", \"user\": \"«u»\", \"ts\": \"«ts»\", \"text\": \"", u=users[k % 3],
              ts=D("timestamp", f"{t0}.{c.rng.randint(0, 999999):06d}"))
        r = c.rng.random()
        p = c.person()
        if r < 0.25:
            d.add("can you add <mailto:«e»|«e2»> to the channel? her mobile is «ph»", e=I("EMAIL", p.email),
                  e2=I("EMAIL", p.email), ph=I("PHONE", p.phone))
        elif r < 0.5:
            s = c.secret()
            if s.entity == "PRIVATE_KEY":
                s = I("PRIVATE_KEY", s.value.replace("\n", "\\n"))
            d.add("here's the «what» for staging: `«s»` (rotate after the demo)",
                  s=["Authorization: Bearer ", s] if s.entity == "BEARER_TOKEN" else s,
                  what=c.pick(["key", "token", "cred"]))
        elif r < 0.65:
            d.add("prod db is at «ip», bastion «ip2», app «v» deployed", ip=c.ip(), ip2=c.ip(), v=c.version(four=True))
        elif r < 0.75:
            d.add("refund «card» please, customer called from «ph»", card=I("CREDIT_CARD", V.make_card(c.rng)),
                  ph=I("PHONE", p.phone))
        elif r < 0.85:
            d.add("the docs example uses «ph»\\nnot a real key, ignore", ph=c.placeholder())
        else:
            d.add("build «b» green, sha «sha», took «ms» ms", b=c.build(), sha=c.sha(7), ms=str(c.rng.randint(300, 90000)))
        d.put("\"}" + (",\n" if k < n - 1 else "\n"))
    d.put("]\n")


def g_vcard(c: Ctx, d: Doc) -> None:
    for _ in range(c.rng.randint(1, 3)):
        p = c.person()
        v4 = c.chance(0.4)
        d.add("BEGIN:VCARD\r\nVERSION:«v»\r\nPRODID:«prod»\r\nN:«l»;«f»;;;\r\nFN:«f» «l»\r\n"
              "ORG:«co»\r\n", v="4.0" if v4 else "3.0",
              prod=c.pick([["-//Apple Inc.//iPhone OS ", D("version", f"{c.rng.randint(14, 18)}.{c.rng.randint(0, 7)}.{c.rng.randint(1, 3)}"), "//EN"],
                           ["-//Microsoft Corporation//Outlook ", D("version", f"16.0.{c.rng.randint(14000, 18999)}.{c.rng.randint(20000, 20999)}"), " MIMEDIR//EN"]]), l=p.last, f=p.first, co=p.company)
        if v4:
            d.add("TEL;TYPE=cell;VALUE=uri:«t»\r\n", t=I("PHONE", c.phone(p.region, style="tel_uri", mobile=True)))
        else:
            d.add("TEL;type=CELL;type=VOICE;type=pref:«t»\r\n", t=I("PHONE", c.phone(p.region, mobile=True)))
        if c.chance(0.6):
            d.add("item1.TEL;type=WORK:«t»\r\n", t=I("PHONE", c.phone(p.region, mobile=False)))
        d.add("EMAIL;type=INTERNET;type=HOME:«e»\r\nADR;type=HOME:;;«st»;«city»;;«pc»;«cc»\r\nREV:«rev»\r\nUID:«uid»\r\n"
              "END:VCARD\r\n", e=I("EMAIL", p.email), st=p.street, city=p.city, pc=p.postcode, cc=p.region,
              rev=D("timestamp", c.when(-2 * 365, 0).strftime("%Y-%m-%dT%H:%M:%SZ")), uid=c.uuid())


def g_ical(c: Ctx, d: Doc) -> None:
    org = c.person()
    d.add("BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
          "BEGIN:VEVENT\r\nDTSTART:«s»\r\nDTEND:«e»\r\nDTSTAMP:«s»\r\n"
          "ORGANIZER;CN=«n»:mailto:«em»\r\nUID:«uid»\r\n", s=D("timestamp", c.when(-30, 60).strftime("%Y%m%dT%H%M%SZ")),
          e=D("timestamp", c.when(61, 90).strftime("%Y%m%dT%H%M%SZ")), n=org.name,
          em=I("EMAIL", org.email), uid=D("msgid_uid", f"{V.rand(c.rng, string.ascii_lowercase + string.digits, 26)}"
                                                     f"@google.com") if c.chance(0.5) else c.uuid())
    for _ in range(c.rng.randint(1, 4)):
        a = c.person()
        d.add("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN=«n»;X-NUM-GUESTS=0:mailto:«e»\r\n",
              n=a.name, e=I("EMAIL", a.email))
    mid = D("meeting_id", f"{c.rng.randint(100, 999)} {c.rng.randint(1000, 9999)} {c.rng.randint(1000, 9999)}")
    d.add("DESCRIPTION:Join Zoom Meeting\\nhttps://zoom.us/j/«mid2»\\n\\nMeeting ID: «mid»\\nPasscode: «pc»\\n"
          "\\nOne tap mobile\\n«dial»\\n\\nDial by your location\\n        «dial2» «country»\\n\\nFind your local number\r\n"
          "LOCATION:«loc»\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\nSUMMARY:«sum»\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
          mid2=str(c.rng.randint(10**9, 10**11)), mid=mid, pc=str(c.rng.randint(100000, 999999)),
          dial=I("PHONE", c.phone(c.region, style="e164", mobile=False)),
          dial2=I("PHONE", c.phone(c.region, style="intl", mobile=False)), country=c.region,
          loc=c.pick(["Room 4.12", "Teams", org.company]),
          sum=c.pick(["Quarterly review", "Contract renewal", "Incident retro", "Onboarding"]))
    if c.chance(0.3):
        d.add("X-NOTE:organiser mobile «ph»\r\n", ph=I("PHONE", org.phone))


def g_mbox(c: Ctx, d: Doc) -> None:
    for _ in range(c.rng.randint(1, 2)):
        a, b = c.person(), c.person()
        dt = c.when(-365, 0)
        d.add("From «e0» «dt»\nReturn-Path: <«e1»>\nReceived: from mail-«h».«dom» (mail-«h».«dom» [«ip»])\n"
              "        by mx.«dom2» with ESMTPS id «sid»\n        for <«e2»>; «dt2»\nX-Originating-IP: [«ip2»]\n"
              "DKIM-Signature: v=1; a=rsa-sha256; d=«dom»; s=20230601; bh=«bh»=;\nMessage-ID: <«mid»>\n"
              "From: «an» <«e3»>\nTo: «bn» <«e4»>\nSubject: «subj»\nDate: «dt2»\nMIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=\"UTF-8\"\n\n",
              e0=I("EMAIL", a.email), dt=dt.strftime("%a %b %d %H:%M:%S %Y"), e1=I("EMAIL", a.email),
              h=f"{c.pick(['ed1', 'wr1', 'pj1'])}-f{c.rng.randint(10, 99)}", dom=a.email.split("@")[1],
              ip=c.ip(), dom2=b.email.split("@")[1], sid=V.rand(c.rng, V.ALNUM, 12), e2=I("EMAIL", b.email),
              dt2=D("timestamp", dt.strftime("%a, %d %b %Y %H:%M:%S +0100")), ip2=c.ip(),
              bh=D("hash", V.rand(c.rng, V.B64, 43)), mid=D("msgid_uid", f"CA+{V.rand(c.rng, V.ALNUM, 30)}@mail.gmail.com"),
              an=a.name, e3=I("EMAIL", a.email), bn=b.name, e4=I("EMAIL", b.email),
              subj=c.pick(["Re: bank details for the refund", "Fwd: new starter paperwork", "API access for the pilot",
                           "Your order"]))
        r = c.rng.random()
        d.add("«hi» «f»,\n\n", hi=c.pick(["Hi", "Hello", "Bonjour", "Hallo", "Ciao", "Hola", "Olá", "Cześć", "Hei"]),
              f=b.first)
        if r < 0.35:
            d.add("please send the refund to «iban» (account holder «n»). Order «o».\n", iban=I("IBAN", c.iban()),
                  n=a.name, o=c.order())
        elif r < 0.55:
            d.add("for payroll: SSN «s», start date «dt». Call me on «ph» if anything is missing.\n",
                  s=make_us_ssn(c), dt=c.date(), ph=I("PHONE", a.phone))
        elif r < 0.8:
            s = c.secret(c.pick(["OPENROUTER_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "GITHUB_TOKEN", "AWS_ACCESS_KEY"]))
            d.add("the pilot key is «s»\n", s=s)
            if s.entity == "AWS_ACCESS_KEY":
                d.add("and the secret «v»\n", v=c.secret("AWS_SECRET_KEY"))
            d.add("Please don't use the sample «ph» from the README.\n", ph=c.placeholder())
        else:
            d.add("your order «o» ships with «t»; invoice «i».\n", o=c.order(), t=c.tracking(), i=c.invoice_no())
        d.add("\n-- \n«n»\n«co»\n«tw» «ph» | «mw» «m»\n«e»\n\n", n=a.name, co=a.company, tw=c.w(PHONE_W),
              ph=I("PHONE", c.phone(a.region, mobile=False)), mw=c.w(MOBILE_W), m=I("PHONE", a.phone), e=I("EMAIL", a.email))


def g_excel_tsv(c: Ctx, d: Doc) -> None:
    us = c.chance(0.3)
    cols = [c.w(CUSTOMER_W) + " #", "Name", c.w(EMAIL_W), c.w(PHONE_W), "IBAN", c.w(AMOUNT_W), c.w(DATE_W)]
    if us:
        cols.insert(4, "SSN")
    d.put("\t".join(cols) + "\n")
    for _ in range(c.rng.randint(4, 10)):
        p = c.person("US" if us and c.chance(0.5) else None)
        row: list[Piece] = [D("order_no", str(c.rng.randint(10**5, 10**7))), p.name, I("EMAIL", p.email),
                            I("PHONE", p.phone), I("IBAN", c.iban()) if c.chance(0.8) else "",
                            D("price", c.amount(100, 2_000_000)), c.date()]
        if us:
            row.insert(4, make_us_ssn(c, c.pick(["dash", "bare"])))
        for k, cell in enumerate(row):
            if k:
                d.put("\t")
            d.put(cell)
        d.put("\n")
    d.add("\t\t\t\t«tw»\t«t»\n", tw=c.w(TOTAL_W), t=D("price", c.amount(10000, 9_000_000)))


def g_latex_table(c: Ctx, d: Doc) -> None:
    d.add("\\begin{table}[h]\n\\centering\n\\caption{«cap»}\n\\begin{tabular}{llll r}\n\\toprule\nName & E-Mail & «tw» & "
          "IBAN & «aw» \\\\\n\\midrule\n", cap=c.pick(["Ansprechpartner", "Contacts",
                                                                                "Kontakty", "Contactos", "Yhteystiedot"]),
          tw=c.w(PHONE_W), aw=c.w(AMOUNT_W))
    for _ in range(c.rng.randint(3, 7)):
        p = c.person()
        ph = c.phone(p.region, style=c.pick(["intl", "national", "intl"]))
        if c.chance(0.5):
            ph = ph.replace(" ", "~")
        em: list[Piece] = (["\\texttt{", I("EMAIL", p.email), "}"] if c.chance(0.5)
                           else ["\\href{mailto:", I("EMAIL", p.email), "}{", I("EMAIL", p.email), "}"])
        d.put(f"{p.first} {p.last} & ")
        for x in em:
            d.put(x)
        d.add(" & «ph» & \\texttt{«i»} & «a» \\\\\n", ph=I("PHONE", ph), i=I("IBAN", c.iban()),
              a=D("price", c.amount(100, 999999).replace("\u00a0", "\\,").replace("'", "\\,")))
    d.add("\\bottomrule\n\\end{tabular}\n\\end{table}\n% generated by report v«v», build «b»\n", v=c.version(), b=c.build())


def g_fixed_width(c: Ctx, d: Doc) -> None:
    run = D("record_id", f"R{c.rng.randint(10**6, 10**7)}")
    d.add("REPORT «r»  PAGE 0001       «ts»\n", r=run, ts=c.ts())
    us = c.chance(0.35)
    hdr = f"{'CUST-NO':<10}{'NAME':<24}{'PHONE':<20}{'CARD':<21}{'SSN' if us else 'IP':<16}{'BALANCE':>14}\n"
    d.put(hdr + "-" * (len(hdr) - 1) + "\n")
    for _ in range(c.rng.randint(4, 10)):
        p = c.person("US" if us and c.chance(0.7) else None)
        name = (p.last + ", " + p.first)[:23]
        ph = c.phone(p.region, style=c.pick(["national", "e164", "intl"]))
        card: Piece = I("CREDIT_CARD", V.make_card(c.rng, "compact")) if c.chance(0.7) else D(
            "luhn_invalid", V.luhn_invalid(c.rng).replace(" ", "").replace("-", ""))
        last: Piece = make_us_ssn(c, c.pick(["bare", "dash"])) if us else (
            I("IP_ADDRESS", V.make_ipv4(c.rng)) if c.chance(0.8) else c.loopback())
        bal = c.amount(0, 999999).replace("\u00a0", " ")
        d.put(f"{c.rng.randint(10**6, 10**7):<10}{name:<24}")
        d.put(I("PHONE", ph))
        d.put(" " * max(1, 20 - len(ph)))
        d.put(card)
        cv = card if isinstance(card, str) else card.value
        d.put(" " * max(1, 21 - len(cv)))
        d.put(last)
        lv = last if isinstance(last, str) else last.value
        d.put(" " * max(1, 16 - len(lv)))
        d.put(" " * max(0, 14 - len(bal)))
        d.put(D("price", bal))
        d.put("\n")
    d.add("*** END OF REPORT «r» — «n» RECORDS ***\n", r=run, n=str(c.rng.randint(4, 10)))


GENERATORS: dict[str, Callable[[Ctx, Doc], None]] = {
    "k8s_yaml": g_k8s_yaml, "env_file": g_env_file, "stack_trace": g_stack_trace, "git_diff": g_git_diff,
    "issue_body": g_issue_body, "crm_csv": g_crm_csv, "invoice": g_invoice, "hl7_fhir": g_hl7_fhir,
    "bank_statement": g_bank_statement, "slack_json": g_slack_json, "vcard": g_vcard, "ical": g_ical, "mbox": g_mbox,
    "excel_tsv": g_excel_tsv, "latex_table": g_latex_table, "fixed_width": g_fixed_width,
}


def _clean(text: str, items: list[dict], decoys: list[dict]) -> list[dict]:
    """Drop a decoy whose value also occurs overlapping an item (redacting the item would change its count)."""
    spans = [(it["start"], it["end"]) for it in items]
    keep = []
    for dc in decoys:
        v, ok, pos = dc["value"], True, 0
        while (k := text.find(v, pos)) >= 0:
            if any(k < e and s < k + len(v) for s, e in spans):
                ok = False
                break
            pos = k + 1
        if ok and not any(dc["value"] in it["value"] for it in items):
            keep.append(dc)
    return keep


def document(seed: int, index: int) -> dict:
    combo = index % (len(LOCALES) * len(GENRES))
    locale = LOCALES[combo % len(LOCALES)]
    genre = GENRES[(combo // len(LOCALES) + index // (len(LOCALES) * len(GENRES))) % len(GENRES)]
    c = Ctx(seed, index, locale)
    d = Doc()
    GENERATORS[genre](c, d)
    text = d.text()
    return {"text": text, "genre": genre, "locale": locale, "items": d.items,
            "decoys": _clean(text, d.items, d.decoys)}


def corpus(seed: int, n: int) -> list[dict]:
    return [document(seed, i) for i in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs", type=int, default=5)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jsonl", action="store_true")
    a = ap.parse_args()
    for i in range(a.start, a.start + a.docs):
        doc = document(a.seed, i)
        if a.jsonl:
            print(json.dumps(doc, ensure_ascii=False))
        else:
            print(f"===== #{i} {doc['genre']} {doc['locale']}: {len(doc['items'])} items, {len(doc['decoys'])} decoys")
            print(doc["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
