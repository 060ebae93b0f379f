"""Corpus 5 building blocks: locales, words, the labelled document builder, the per-document context
and the decoy makers (corpus5.py is the entry point; c5_genres.py the genres)."""
from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from collections.abc import Callable

from faker import Faker

import c5_values as v

LOCALES = ["en_AU", "en_SG", "en_PH", "ja_JP", "ko_KR", "zh_CN", "zh_TW", "ar_AE", "tr_TR", "sv_SE", "da_DK",
           "pt_PT", "es_AR", "es_CO", "de_AT", "fr_CA", "he_IL", "th_TH", "vi_VN", "id_ID", "hi_IN"]
REGION = {loc: loc.split("_")[1] for loc in LOCALES}
IBAN_COUNTRY = {"AE": "AE", "TR": "TR", "SE": "SE", "DK": "DK", "PT": "PT", "AT": "AT", "IL": "IL", "CA": "FR",
                "AR": "ES", "CO": "ES", "AU": "GB", "SG": "GB", "PH": "GB", "JP": "DE", "KR": "DE", "CN": "DE",
                "TW": "NL", "TH": "CH", "VN": "FR", "ID": "NL", "IN": "GB"}  # Asian/LatAm clients: an IBAN abroad
GENRES = ["call_transcript", "ocr_scan", "spreadsheet", "sql_result", "terraform_helm", "curl_postman", "har",
          "jupyter", "referral_letter", "legal_contract", "hr_onboarding", "payroll_export", "shipping_label",
          "sms_2fa", "phone_bill", "git_trailers", "meeting_notes", "bank_pdf"]
GENRE_ABBR = {"call_transcript": "call", "ocr_scan": "ocr", "spreadsheet": "sheet", "sql_result": "sqlres",
              "terraform_helm": "tf", "curl_postman": "curl", "har": "har", "jupyter": "jupytr",
              "referral_letter": "referl", "legal_contract": "legal", "hr_onboarding": "hr", "payroll_export": "payrol",
              "shipping_label": "ship", "sms_2fa": "sms", "phone_bill": "bill", "git_trailers": "git",
              "meeting_notes": "notes", "bank_pdf": "bkpdf"}
SECRETS = list(v.SECRET_MAKERS)
TYPES = ["EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS"] + SECRETS
DEFAULT_TYPES = list(TYPES)
DECOY_KINDS = ["version", "build", "order_no", "invoice_no", "tracking_no", "case_no", "timestamp", "date", "price",
               "isbn", "issn", "uuid", "git_sha", "hash", "luhn_invalid", "placeholder", "loopback", "invalid_phone",
               "postal_code", "lot_no", "coordinates", "otp_code", "masked_card"]

# Words around the values, in the locale's language: phone, e-mail, card, account, amount, order, date, name, call me
WORDS: dict[str, list[str]] = {
    "en": ["Phone", "Email", "Card", "Account", "Amount", "Order", "Date", "Name", "you can reach me on"],
    "ja": ["電話番号", "メール", "カード番号", "口座", "金額", "注文番号", "日付", "氏名", "連絡先は"],
    "ko": ["전화번호", "이메일", "카드번호", "계좌", "금액", "주문번호", "날짜", "이름", "연락처는"],
    "zh": ["电话", "邮箱", "卡号", "账户", "金额", "订单号", "日期", "姓名", "请联系"],
    "zt": ["電話", "電子郵件", "卡號", "帳戶", "金額", "訂單編號", "日期", "姓名", "請撥打"],
    "ar": ["الهاتف", "البريد الإلكتروني", "رقم البطاقة", "الحساب", "المبلغ", "رقم الطلب", "التاريخ", "الاسم", "يمكنك الاتصال بي على"],
    "tr": ["Telefon", "E-posta", "Kart No", "Hesap", "Tutar", "Sipariş No", "Tarih", "Ad Soyad", "bana şu numaradan ulaşın"],
    "sv": ["Telefon", "E-post", "Kortnummer", "Konto", "Belopp", "Ordernr", "Datum", "Namn", "du når mig på"],
    "da": ["Telefon", "E-mail", "Kortnummer", "Konto", "Beløb", "Ordrenr.", "Dato", "Navn", "ring til mig på"],
    "pt": ["Telemóvel", "E-mail", "Cartão", "Conta", "Montante", "Encomenda", "Data", "Nome", "ligue-me para o"],
    "es": ["Celular", "Correo", "Tarjeta", "Cuenta", "Importe", "Pedido", "Fecha", "Nombre", "me pueden llamar al"],
    "de": ["Tel.", "E-Mail", "Kartennr.", "Konto", "Betrag", "Bestellnr.", "Datum", "Name", "erreichbar unter"],
    "fr": ["Tél.", "Courriel", "No de carte", "Compte", "Montant", "Commande", "Date", "Nom", "rejoignez-moi au"],
    "he": ["טלפון", "דוא\"ל", "מספר כרטיס", "חשבון", "סכום", "מספר הזמנה", "תאריך", "שם", "אפשר להשיג אותי ב"],
    "th": ["โทร", "อีเมล", "หมายเลขบัตร", "บัญชี", "จำนวนเงิน", "เลขที่คำสั่งซื้อ", "วันที่", "ชื่อ", "ติดต่อได้ที่"],
    "vi": ["Điện thoại", "Email", "Số thẻ", "Tài khoản", "Số tiền", "Mã đơn", "Ngày", "Họ tên", "gọi cho tôi số"],
    "id": ["Telp", "Email", "No. Kartu", "Rekening", "Jumlah", "No. Pesanan", "Tanggal", "Nama", "hubungi saya di"],
    "hi": ["फ़ोन", "ईमेल", "कार्ड नंबर", "खाता", "राशि", "ऑर्डर नंबर", "तारीख", "नाम", "मुझे इस नंबर पर कॉल करें"],
}
LANG = {"en_AU": "en", "en_SG": "en", "en_PH": "en", "ja_JP": "ja", "ko_KR": "ko", "zh_CN": "zh", "zh_TW": "zt",
        "ar_AE": "ar", "tr_TR": "tr", "sv_SE": "sv", "da_DK": "da", "pt_PT": "pt", "es_AR": "es", "es_CO": "es",
        "de_AT": "de", "fr_CA": "fr", "he_IL": "he", "th_TH": "th", "vi_VN": "vi", "id_ID": "id", "hi_IN": "hi"}
CJK = {"ja", "zh", "zt", "ko"}
CCTLD = {"AU": "com.au", "SG": "com.sg", "PH": "com.ph", "JP": "co.jp", "KR": "co.kr", "CN": "com.cn", "TW": "com.tw",
         "AE": "ae", "TR": "com.tr", "SE": "se", "DK": "dk", "PT": "pt", "AR": "com.ar", "CO": "com.co", "AT": "at",
         "CA": "ca", "IL": "co.il", "TH": "co.th", "VN": "vn", "ID": "co.id", "IN": "in"}
FREEMAIL = {"JP": ["yahoo.co.jp", "docomo.ne.jp", "gmail.com"], "KR": ["naver.com", "daum.net", "hanmail.net"],
            "CN": ["qq.com", "163.com", "126.com", "foxmail.com"], "TW": ["yahoo.com.tw", "gmail.com", "hotmail.com.tw"],
            "TR": ["hotmail.com", "yandex.com.tr", "gmail.com"], "IN": ["gmail.com", "rediffmail.com", "yahoo.co.in"],
            "AU": ["bigpond.com", "gmail.com", "outlook.com.au"], "VN": ["gmail.com", "yahoo.com.vn"],
            "SE": ["telia.com", "gmail.com", "hotmail.se"], "DK": ["live.dk", "gmail.com", "mail.dk"],
            "AT": ["gmx.at", "aon.at", "chello.at"], "CA": ["videotron.ca", "sympatico.ca", "gmail.com"]}
ROMAN = ["tanaka", "suzuki", "kim.minjun", "park", "wang.fang", "li.na", "chen", "lin", "ahmed", "alhashimi", "yilmaz",
         "nguyen", "tran", "somchai", "wirawan", "sharma", "patel", "cohen", "levi", "sato", "zhang", "huang"]
BASE = dt.datetime(2026, 11, 20, 9, 0, 0)


class Doc:
    """Text built piece by piece; labelled values record their own span."""

    def __init__(self, genre: str, locale: str) -> None:
        self.genre, self.locale = genre, locale
        self.parts: list[str] = []
        self.n = 0
        self.items: list[dict] = []
        self.decoys: list[dict] = []

    def t(self, s: str) -> Doc:
        self.parts.append(s)
        self.n += len(s)
        return self

    def it(self, entity: str, value: str) -> Doc:
        self.items.append({"entity": entity, "value": value, "start": self.n, "end": self.n + len(value)})
        return self.t(value)

    def dc(self, kind: str, value: str) -> Doc:
        self.decoys.append({"kind": kind, "value": value, "start": self.n, "end": self.n + len(value)})
        return self.t(value)

    def call(self, fn: Callable[..., object], *args: object) -> Doc:
        """Runs a maker that writes into this document (a decoy, a secret), for chaining."""
        fn(self, *args)
        return self

    def out(self) -> dict:
        return {"genre": self.genre, "locale": self.locale, "text": "".join(self.parts), "items": self.items,
                "decoys": self.decoys}


class Ctx:
    """One document's random source, Faker, locale facts and value makers."""

    def __init__(self, rng: random.Random, fake: Faker, locale: str) -> None:
        self.r, self.f, self.loc = rng, fake, locale
        self.region = REGION[locale]
        self.w = WORDS[LANG[locale]]
        self.lang = LANG[locale]
        self.cjk = self.lang in CJK

    def other_region(self) -> str:  # 15 % of people are from elsewhere
        return self.r.choice(list(REGION.values())) if self.r.random() < 0.15 else self.region

    def name(self) -> str:
        return self.f.name()

    def email(self, name: str = "") -> str:
        r = self.r
        local = self.f.user_name()
        if not local.isascii() or r.random() < 0.3:
            local = r.choice(ROMAN) + r.choice(["", ".", "_"]) + r.choice([str(r.randint(1, 99)), r.choice(string.ascii_lowercase)])
        if self.region == "CN" and r.random() < 0.3:
            return f"{r.randint(10**7, 10**10)}@qq.com"
        if r.random() < 0.1:
            local += "+" + r.choice(["bank", "invoices", "hr", "test"])
        dom = r.choice(FREEMAIL.get(self.region, ["gmail.com", "outlook.com", "yahoo.com"])) if r.random() < 0.45 else \
            r.choice(["mail", "corp", "group", "clinic", "legal", "hq", "ops"]) + "." + \
            "".join(c for c in self.f.domain_word().lower() if c.isascii() and c.isalnum())[:12].strip("-") + "." + CCTLD[self.region]
        dom = dom.replace("..", ".").lstrip(".")
        if dom.split(".")[0] == "":
            dom = "example-co" + dom
        e = f"{local}@{dom}"
        return e.upper() if r.random() < 0.03 else e

    def phone(self, spoken: bool = False, region: str = "") -> str:
        region = region or self.other_region()
        p = v.phone(self.r, region, spoken, abroad=region != self.region)
        if self.lang in ("ja", "zh", "zt") and not spoken and self.r.random() < 0.15:
            p = p.translate(v.FULLWIDTH)
        elif self.lang == "ar" and not spoken and self.r.random() < 0.15 and p[:1] != "+":
            p = p.translate(v.ARABIC_INDIC)
        return p

    def iban(self, form: str = "") -> str:
        c = IBAN_COUNTRY[self.region] if self.r.random() < 0.75 else self.r.choice(list(v.IBAN_LAYOUT))
        return v.iban(self.r, c, form)

    def card(self) -> str:
        c = v.card(self.r, {"JP": "jcb", "CN": "unionpay", "TR": "troy", "IN": "rupay"}.get(self.region) if self.r.random() < 0.3 else None)
        if self.lang in ("ja", "zh", "zt") and self.r.random() < 0.12:
            c = c.translate(v.FULLWIDTH)
        return c

    def ip(self) -> str:
        return v.ipv4(self.r) if self.r.random() < 0.65 else v.ipv6(self.r)

    def when(self, days: int = 60) -> dt.datetime:
        return BASE - dt.timedelta(seconds=self.r.randint(0, days * 86400))

    def date(self) -> str:
        d = self.when(3000)
        fmts = {"ja": ["%Y年%m月%d日", "%Y/%m/%d"], "zh": ["%Y年%m月%d日", "%Y-%m-%d"], "zt": ["%Y/%m/%d", "%Y年%m月%d日"],
                "ko": ["%Y. %m. %d.", "%Y-%m-%d"], "en": ["%d/%m/%Y", "%d %b %Y"], "de": ["%d.%m.%Y"], "da": ["%d.%m.%Y", "%d-%m-%Y"],
                "sv": ["%Y-%m-%d"], "tr": ["%d.%m.%Y"], "fr": ["%Y-%m-%d", "%d/%m/%Y"], "he": ["%d/%m/%Y", "%d.%m.%Y"]}
        return d.strftime(self.r.choice(fmts.get(self.lang, ["%d/%m/%Y", "%d-%m-%Y"])))

    def price(self) -> str:
        a = self.r.randint(100, 9_999_999) / 100
        cur = {"AU": "A$", "SG": "S$", "PH": "₱", "JP": "¥", "KR": "₩", "CN": "¥", "TW": "NT$", "AE": "AED ", "TR": "₺",
               "SE": "", "DK": "", "PT": "€", "AR": "$", "CO": "$", "AT": "€ ", "CA": "$", "IL": "₪", "TH": "฿", "VN": "",
               "ID": "Rp ", "IN": "₹"}[self.region]
        if self.region in ("JP", "KR", "VN", "ID", "CO"):
            s = f"{int(a * 100):,}".replace(",", "." if self.region in ("VN", "ID", "CO") else ",")
        elif self.region in ("SE", "DK", "PT", "AT", "TR", "AR"):
            s = f"{a:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "." if self.region in ("DK", "AT", "TR", "AR") else " ")
        else:
            s = f"{a:,.2f}"
        suf = {"SE": " kr", "DK": " kr.", "VN": " ₫"}.get(self.region, "")
        return cur + s + suf

    def pick(self, options: list[Callable[[], object]]) -> None:
        self.r.choice(options)()


# ---- decoys -------------------------------------------------------------------------------------

def decoy(c: Ctx, kind: str) -> str:
    r = c.r
    if kind == "version":
        return r.choice(["v", "", ""]) + ".".join(str(r.randint(0, 30)) for _ in range(r.choice([3, 3, 4])))
    if kind == "build":
        return r.choice([f"{r.randint(10, 26)}.0.{r.randint(10000, 26999)}.{r.randint(100, 9999)}", f"{r.randint(100000, 999999)}",
                         f"b{r.randint(1000, 99999)}", f"2{r.randint(0, 6)}{r.randint(1, 12):02d}.{r.randint(1000, 9999)}"])
    if kind == "order_no":
        return r.choice([f"#{r.randint(100000, 99999999)}", f"SO-{r.randint(2024, 2026)}-{r.randint(10000, 999999)}",
                         f"{r.randint(100, 999)}-{r.randint(1000000, 9999999)}-{r.randint(1000000, 9999999)}"])
    if kind == "invoice_no":
        return r.choice([f"INV-{r.randint(2024, 2026)}{r.randint(1, 12):02d}-{r.randint(1, 99999):05d}", f"F{r.randint(10**7, 10**9)}",
                         f"{r.randint(2024, 2026)}/{r.randint(1, 9999):04d}"])
    if kind == "tracking_no":
        return r.choice([f"1Z{v._r(r, string.ascii_uppercase + string.digits, 6)}{r.randint(10**9, 10**10 - 1)}",
                         f"{r.choice(['EE', 'RR', 'CP', 'LX'])}{r.randint(10**8, 10**9 - 1)}{r.choice(['AU', 'SG', 'JP', 'CN', 'TW', 'SE', 'DK'])}",
                         f"{r.randint(10**11, 10**12 - 1)}", f"SF{r.randint(10**12, 10**13 - 1)}", f"JNE{r.randint(10**9, 10**10 - 1)}"])
    if kind == "case_no":
        return r.choice([f"CS{r.randint(10**7, 10**8 - 1)}", f"MRN {r.randint(10**6, 10**8)}", f"Case {r.randint(10**5, 10**7)}",
                         f"INC{r.randint(10**6, 10**7):07d}", f"{r.randint(1, 99)}/{r.randint(2019, 2026)}/{r.randint(100, 9999)}"])
    if kind == "timestamp":
        d = c.when()
        return r.choice([d.isoformat() + "Z", d.strftime("%Y-%m-%d %H:%M:%S"), d.strftime("%H:%M:%S.") + f"{r.randint(0, 999):03d}",
                         str(int(d.timestamp())), str(int(d.timestamp() * 1000))])
    if kind == "date":
        return c.date()
    if kind == "price":
        return c.price()
    if kind == "isbn":
        return v.isbn13(r)
    if kind == "issn":
        return v.issn(r)
    if kind == "uuid":
        u = str(uuid.UUID(int=r.getrandbits(128), version=4))
        return u.upper() if r.random() < 0.2 else u
    if kind == "git_sha":
        return v.git_sha(r, r.choice([7, 7, 12, 40]))
    if kind == "hash":
        return r.choice(["sha256:", "", "md5 "]) + v.git_sha(r, r.choice([32, 64]))
    if kind == "luhn_invalid":
        return v.luhn_invalid(r)
    if kind == "placeholder":
        return r.choice(["sk-or-v1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "<YOUR_API_KEY>", "${OPENAI_API_KEY}", "xoxb-your-bot-token",
                         "AKIAXXXXXXXXXXXXXXXX", "ghp_REPLACE_ME", "{{ .Values.secretKey }}", "sk_live_...", "changeme",
                         "$(cat ~/.secrets/token)", "var.stripe_secret_key", "AIza...redacted", "REDACTED", "***"])
    if kind == "loopback":
        return r.choice(["127.0.0.1", "::1", "0.0.0.0", "localhost:8080", "127.0.0.53"])
    if kind == "invalid_phone":
        return v.invalid_phone(r, sorted(set(REGION.values())))
    if kind == "postal_code":
        return {"AU": f"{r.randint(2000, 7999)}", "SG": f"{r.randint(10, 82):02d}{r.randint(0, 9999):04d}", "PH": f"{r.randint(1000, 9999)}",
                "JP": f"〒{r.randint(100, 999)}-{r.randint(0, 9999):04d}", "KR": f"{r.randint(10000, 63999)}", "CN": f"{r.randint(100000, 850000)}",
                "TW": f"{r.randint(100, 983)}", "AE": f"P.O. Box {r.randint(100, 99999)}", "TR": f"{r.randint(1000, 81999):05d}",
                "SE": f"{r.randint(100, 989)} {r.randint(10, 99)}", "DK": f"DK-{r.randint(1000, 9990)}", "PT": f"{r.randint(1000, 9999)}-{r.randint(0, 999):03d}",
                "AR": f"C{r.randint(1000, 1499)}{v._r(r, string.ascii_uppercase, 3)}", "CO": f"{r.randint(5000, 999999):06d}", "AT": f"A-{r.randint(1010, 9992)}",
                "CA": f"H{r.randint(1, 9)}{r.choice('ABCEGHJ')} {r.randint(1, 9)}{r.choice('KLMNPR')}{r.randint(1, 9)}",
                "IL": f"{r.randint(1000000, 9999999)}", "TH": f"{r.randint(10000, 96999)}", "VN": f"{r.randint(100000, 999999)}",
                "ID": f"{r.randint(10000, 99999)}", "IN": f"{r.randint(110, 855)} {r.randint(0, 999):03d}"}[c.region]
    if kind == "lot_no":
        return r.choice([f"LOT {v._r(r, string.ascii_uppercase, 2)}{r.randint(1000, 99999)}", f"Batch {r.randint(10**5, 10**7)}",
                         f"L{r.randint(2024, 2026)}{r.randint(1, 365):03d}-{r.randint(1, 99):02d}"])
    if kind == "coordinates":
        return f"{r.uniform(-45, 60):.6f}, {r.uniform(-120, 155):.6f}"
    if kind == "otp_code":
        return f"{r.randint(0, 999999):06d}"
    if kind == "masked_card":
        return r.choice([f"**** **** **** {r.randint(1000, 9999)}", f"XXXX-XXXX-XXXX-{r.randint(1000, 9999)}", f"{r.randint(400000, 559999)}******{r.randint(1000, 9999)}"])
    raise ValueError(kind)


def dk(d: Doc, c: Ctx, kind: str) -> Doc:
    val = decoy(c, kind)
    if d.genre == "ocr_scan" and kind in ("order_no", "invoice_no", "case_no", "luhn_invalid", "lot_no") and c.r.random() < 0.5:
        val = v.ocr_confuse(c.r, val)
    return d.dc(kind, val)


