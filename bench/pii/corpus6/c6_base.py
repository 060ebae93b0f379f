"""Corpus 6's document writer: text is appended piece by piece, and every labelled value is appended through
`item` or `decoy`, which record its span; so a label always points at its value."""
from __future__ import annotations

import random
import re

from c6_decoys import DECOY_KINDS, decoy
from c6_values import card, iban, ip4, ip6, phone, private_key, secret, ssn
from faker import Faker

LOCALES = ["pl_PL", "sv_SE", "da_DK", "fi_FI", "nb_NO", "tr_TR", "he_IL", "th_TH", "vi_VN", "uk_UA", "ro_RO", "el_GR",
           "ko_KR", "zh_TW", "id_ID", "en_AU", "es_AR", "fr_CA"]
FAKER_LOCALE = {"nb_NO": "no_NO"}
REGION = {loc: loc.split("_")[1] for loc in LOCALES}
# the country's own IBAN, or (no IBAN at home) the counterparties a local business pays abroad
IBAN_COUNTRIES = {"PL": ["PL"], "SE": ["SE"], "DK": ["DK"], "FI": ["FI"], "NO": ["NO"], "TR": ["TR"], "IL": ["IL"],
                  "UA": ["UA"], "RO": ["RO"], "GR": ["GR"], "TH": ["DE", "GB", "CH"], "VN": ["FR", "DE", "NL"],
                  "KR": ["DE", "GB", "IT"], "TW": ["NL", "DE", "BE"], "ID": ["NL", "DE", "GB"], "AU": ["GB", "IT", "AT"],
                  "AR": ["ES", "IT", "DE"], "CA": ["FR", "BE", "LT"]}

SECRETS = ["AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_KEY",
           "OPENROUTER_KEY", "ANTHROPIC_KEY", "GOOGLE_API_KEY", "JWT", "PRIVATE_KEY", "BEARER_TOKEN"]
TYPES = ["EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS"] + SECRETS
DEFAULT_TYPES = list(TYPES)
ONE_LINE_SECRETS = [s for s in SECRETS if s not in ("PRIVATE_KEY", "BEARER_TOKEN")]

# words in the locale's language: phone, mobile, e-mail, bank account, card, order, invoice, greeting, thanks,
# "call me on"
LEX = {
    "pl": ("Tel.", "Komórka", "E-mail", "Nr konta", "Karta", "Zamówienie nr", "Faktura nr", "Dzień dobry", "Dziękuję", "proszę o kontakt pod numerem"),
    "sv": ("Tel", "Mobil", "E-post", "Kontonummer", "Kort", "Ordernr", "Fakturanr", "Hej", "Tack", "ring mig på"),
    "da": ("Tlf.", "Mobil", "E-mail", "Kontonr.", "Kort", "Ordre nr.", "Faktura nr.", "Hej", "Tak", "ring til mig på"),
    "fi": ("Puh.", "Matkapuhelin", "Sähköposti", "Tilinumero", "Kortti", "Tilaus nro", "Lasku nro", "Hei", "Kiitos", "soita minulle numeroon"),
    "nb": ("Tlf", "Mobil", "E-post", "Kontonummer", "Kort", "Ordre nr.", "Faktura nr.", "Hei", "Takk", "ring meg på"),
    "tr": ("Tel", "Cep", "E-posta", "Hesap (IBAN)", "Kart", "Sipariş no", "Fatura no", "Merhaba", "Teşekkürler", "beni şu numaradan arayın:"),
    "he": ("טלפון", "נייד", "דוא\"ל", "מספר חשבון", "כרטיס", "הזמנה מס'", "חשבונית מס'", "שלום", "תודה", "אפשר להתקשר אליי ל-"),
    "th": ("โทร", "มือถือ", "อีเมล", "เลขบัญชี", "บัตร", "คำสั่งซื้อเลขที่", "ใบแจ้งหนี้เลขที่", "สวัสดีครับ", "ขอบคุณครับ", "ติดต่อกลับที่เบอร์"),
    "vi": ("ĐT", "Di động", "Email", "Số tài khoản", "Thẻ", "Đơn hàng số", "Hóa đơn số", "Chào anh", "Cảm ơn", "gọi lại cho tôi số"),
    "uk": ("Тел.", "Моб.", "Ел. пошта", "Рахунок", "Картка", "Замовлення №", "Рахунок-фактура №", "Добрий день", "Дякую", "зателефонуйте мені на"),
    "ro": ("Tel.", "Mobil", "E-mail", "Cont", "Card", "Comanda nr.", "Factura nr.", "Bună ziua", "Mulțumesc", "sunați-mă la"),
    "el": ("Τηλ.", "Κινητό", "Email", "Λογαριασμός", "Κάρτα", "Παραγγελία αρ.", "Τιμολόγιο αρ.", "Καλημέρα", "Ευχαριστώ", "καλέστε με στο"),
    "ko": ("전화", "휴대폰", "이메일", "계좌번호", "카드", "주문번호", "송장번호", "안녕하세요", "감사합니다", "연락처는"),
    "zh": ("電話", "手機", "電子郵件", "帳號", "信用卡", "訂單編號", "發票號碼", "您好", "謝謝", "請打給我"),
    "id": ("Telp", "HP", "Email", "No. rekening", "Kartu", "No. pesanan", "No. faktur", "Halo", "Terima kasih", "hubungi saya di"),
    "en": ("Ph", "Mob", "Email", "Account", "Card", "Order #", "Invoice #", "G'day", "Cheers", "give me a call on"),
    "es": ("Tel.", "Cel.", "Correo", "Cuenta", "Tarjeta", "Pedido N°", "Factura N°", "Hola", "Gracias", "llamame al"),
    "fr": ("Tél.", "Cell.", "Courriel", "Compte", "Carte", "Commande no", "Facture no", "Bonjour", "Merci", "rappelez-moi au"),
}
LEX_KEYS = ("tel", "mob", "mail", "acct", "card", "order", "inv", "hi", "thx", "call")
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com"]
LOCAL_DOMAINS = {"PL": ["wp.pl", "onet.pl", "o2.pl"], "SE": ["telia.com", "bredband.net"], "DK": ["mail.dk", "jubii.dk"],
                 "FI": ["kolumbus.fi", "elisanet.fi"], "NO": ["online.no", "live.no"], "TR": ["yandex.com.tr", "superonline.com"],
                 "IL": ["walla.co.il", "bezeqint.net"], "TH": ["hotmail.co.th"], "VN": ["fpt.vn", "vnn.vn"],
                 "UA": ["ukr.net", "i.ua"], "RO": ["yahoo.ro"], "GR": ["otenet.gr", "yahoo.gr"], "KR": ["naver.com", "daum.net"],
                 "TW": ["hinet.net", "yahoo.com.tw"], "ID": ["yahoo.co.id"], "AU": ["bigpond.com", "optusnet.com.au"],
                 "AR": ["fibertel.com.ar", "yahoo.com.ar"], "CA": ["videotron.ca", "sympatico.ca"]}
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")

_FAKERS: dict[str, Faker] = {}


class W:
    """Writes one document: `t` appends text, `item`/`decoy` append a labelled value."""

    def __init__(self, seed: int, index: int, locale: str, genre: str) -> None:
        self.rng = random.Random(f"corpus6:{seed}:{index}")
        fl = FAKER_LOCALE.get(locale, locale)
        if fl not in _FAKERS:
            _FAKERS[fl] = Faker(fl)
        self.fake = _FAKERS[fl]
        self.fake.seed_instance(self.rng.getrandbits(64))
        self.locale, self.genre, self.region = locale, genre, REGION[locale]
        self.lex = dict(zip(LEX_KEYS, LEX[locale.split("_")[0]], strict=True))
        self.parts: list[str] = []
        self.n = 0
        self.items: list[dict] = []
        self.decoys: list[dict] = []

    # ---- text and labels
    def t(self, s: str) -> None:
        self.parts.append(s)
        self.n += len(s)

    def item(self, entity: str, value: str) -> str:
        self.items.append({"entity": entity, "value": value, "start": self.n, "end": self.n + len(value)})
        self.t(value)
        return value

    def decoy(self, kind: str = "") -> str:
        kind = kind or self.rng.choice(DECOY_KINDS)
        v = decoy(self.rng, kind, self.region, self.fake.postcode())
        if v:
            self.decoys.append({"kind": kind, "value": v, "start": self.n, "end": self.n + len(v)})
            self.t(v)
        else:
            self.t(self.fake.word())
        return v

    # ---- labelled values, appended
    def phone(self, style: str = "") -> str:
        return self.item("PHONE", phone(self.rng, self.region, style))

    def email(self, name: str = "") -> str:
        return self.item("EMAIL", self.email_value(name))

    def card(self) -> str:
        return self.item("CREDIT_CARD", card(self.rng))

    def iban(self) -> str:
        return self.item("IBAN", iban(self.rng, self.rng.choice(IBAN_COUNTRIES[self.region])))

    def ssn(self, sep: str = "-") -> str:
        return self.item("US_SSN", ssn(self.rng, sep))

    def ip(self, v6: float = 0.25) -> str:
        return self.item("IP_ADDRESS", ip6(self.rng) if self.rng.random() < v6 else ip4(self.rng))

    def secret(self, kind: str = "", pool: list[str] | None = None) -> str:
        kind = kind or self.rng.choice(pool or ONE_LINE_SECRETS)
        return self.item(kind, secret(self.rng, kind))

    def private_key(self, indent: str = "") -> str:
        return self.item("PRIVATE_KEY", private_key(self.rng, indent))

    # ---- unlabelled helpers
    def email_value(self, name: str = "") -> str:
        for _ in range(20):
            user = self.fake.user_name()
            if self.rng.random() < 0.3:
                user = f"{user}{self.rng.choice(['.', '_', ''])}{self.rng.randint(1, 99)}"
            if self.rng.random() < 0.1:
                user += "+" + self.rng.choice(["work", "shop", "news", "2024"])
            dom = self.rng.choice(DOMAINS + LOCAL_DOMAINS[self.region] * 2 + [self.fake.domain_name()])
            v = f"{user}@{dom}"
            if EMAIL_RE.fullmatch(v) and len(user) <= 64:
                return v.lower() if self.rng.random() < 0.7 else v
        return f"{self.rng.choice(['anna', 'lee', 'minh', 'sara'])}{self.rng.randint(10, 9999)}@{self.rng.choice(DOMAINS)}"

    def name(self) -> str:
        return str(self.fake.name())

    def pick(self, *xs):
        return self.rng.choice(xs)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def doc(self) -> dict:
        text = "".join(self.parts)
        spans = [(it["start"], it["end"]) for it in self.items]
        decoys = []
        for dc in self.decoys:
            v = dc["value"]
            if any(v in it["value"] or it["value"] in v for it in self.items):
                continue
            if any(not (m.end() <= a or m.start() >= b) for m in re.finditer(re.escape(v), text) for a, b in spans):
                continue
            decoys.append(dc)
        return {"genre": self.genre, "locale": self.locale, "text": text, "items": self.items, "decoys": decoys}
