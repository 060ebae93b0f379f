"""The 18 genres of corpus 5: each writes one document into a `Doc`, labelling every value it places."""
from __future__ import annotations

import string
from collections.abc import Callable

import c5_values as v
from c5_base import SECRETS, Ctx, Doc, dk

PHONE, EMAIL, CARD, ACCOUNT, AMOUNT, ORDER, DATE, NAME, CALLME = range(9)


def colon(c: Ctx) -> str:
    return "：" if c.cjk and c.lang != "ko" and c.r.random() < 0.6 else ": "


def secret(d: Doc, c: Ctx, kind: str = "", email: str = "") -> str:
    kind = kind or c.r.choice(SECRETS)
    val = v.jwt(c.r, email) if kind == "JWT" else v.SECRET_MAKERS[kind](c.r)
    d.it(kind, val)
    return kind


# ---- call centre --------------------------------------------------------------------------------

def call_transcript(d: Doc, c: Ctx) -> None:
    r = c.r
    agent, cust = c.f.first_name(), c.name()
    d.t(f"Call recording transcript (auto-generated) — queue CARDS-{r.choice(['L1', 'L2', 'FRAUD'])} — call id ")
    dk(d, c, "uuid").t("\nstarted ")
    dk(d, c, "timestamp").t(f"  duration {r.randint(3, 25)}m{r.randint(0, 59):02d}s  confidence 0.{r.randint(80, 97)}\n\n")
    lines: list[Callable[[], object]] = []
    sec = [0]

    def ts() -> str:
        sec[0] += r.randint(3, 40)
        return f"[{sec[0] // 60:02d}:{sec[0] % 60:02d}] "

    d.t(f"{ts()}AGENT ({agent}): thank you for calling this is {agent} can I get your full name please\n")
    d.t(f"{ts()}CUSTOMER: yeah it's {cust}\n")
    lines = [
        lambda: d.t(f"{ts()}AGENT: and the best number to reach you on\n{ts()}CUSTOMER: um it's ").it("PHONE", c.phone(spoken=True)).t("\n"),
        lambda: d.t(f"{ts()}CUSTOMER: my mobile is ").it("PHONE", c.phone(spoken=True)).t(" or the landline ").it("PHONE", c.phone(spoken=True)).t("\n"),
        lambda: d.t(f"{ts()}AGENT: can you read me the card number on the front\n{ts()}CUSTOMER: sure ").it("CREDIT_CARD", v.card(r).replace("-", " ")).t(f" expiry {r.randint(1, 12):02d} {r.randint(27, 31)}\n"),
        lambda: d.t(f"{ts()}CUSTOMER: the email on file should be ").it("EMAIL", c.email()).t(" I think\n"),
        lambda: d.t(f"{ts()}AGENT: I can see the order ").call(dk, c, "order_no").t(" placed on ").call(dk, c, "date").t(" for ").call(dk, c, "price").t("\n"),
        lambda: d.t(f"{ts()}CUSTOMER: I got a text from ").call(dk, c, "invalid_phone").t(" saying my account was locked\n"),
        lambda: d.t(f"{ts()}CUSTOMER: the refund should go to ").it("IBAN", c.iban("print")).t(" that's my account\n"),
        lambda: d.t(f"{ts()}AGENT: I've opened case ").call(dk, c, "case_no").t(" you'll get an sms with code ").call(dk, c, "otp_code").t("\n"),
        lambda: d.t(f"{ts()}AGENT: for verification the last four of the card ").call(dk, c, "masked_card").t(" correct\n"),
    ]
    if c.region in ("PH", "IN") or r.random() < 0.15:  # offshore desks serving US customers
        lines.append(lambda: d.t(f"{ts()}AGENT: and for the US account I need your social\n{ts()}CUSTOMER: ").it("US_SSN", v.ssn(r, r.choice(["space", "dash", "bare"]))).t("\n"))
    for f in r.sample(lines, min(len(lines), r.randint(4, 7))):
        f()
    d.t(f"{ts()}AGENT: is there anything else I can help with today\n{ts()}CUSTOMER: no that's all thanks\n")


# ---- OCR'd scans --------------------------------------------------------------------------------

def ocr_scan(d: Doc, c: Ctx) -> None:
    r = c.r
    w = c.w
    d.t(r.choice(["-- page 1 of 2 --\n", "[scanned with CamScanner]\n", "Tesseract 5 output:\n"]))
    d.t(f"{r.choice(['APPLICATION FORM', 'KYC DECLARATION', 'CUSTOMER DETAILS', 'DIRECT DEBIT MANDATE'])}   Ref. ")
    dk(d, c, r.choice(["case_no", "invoice_no"])).t("\n\n")
    d.t(f"{w[NAME]} {r.choice([':', ' :', '.', ''])} {c.name()}\n")
    d.t(f"{w[DATE]} . . . . ").call(dk, c, "date").t("\n")
    d.t(f"{w[PHONE]}{r.choice([':', ' :', ' ', ' | '])} ").it("PHONE", c.phone()).t(r.choice(["", "  |", " ."]) + "\n")
    d.t(f"{w[EMAIL]} : ").it("EMAIL", c.email()).t("\n")
    if r.random() < 0.7:
        ib = c.iban("print")
        if r.random() < 0.4:  # a stray space where the scanner saw a gap
            k = r.randint(6, len(ib) - 3)
            ib = ib[:k] + " " + ib[k:] if ib[k] != " " and ib[k - 1] != " " else ib
        d.t(f"IBAN {r.choice([':', '', ' :'])} ").it("IBAN", ib).t("\n")
    if r.random() < 0.5:
        d.t(f"{w[CARD]} ").it("CREDIT_CARD", c.card()).t(f"   exp {r.randint(1, 12):02d}/{r.randint(27, 31)}\n")
    if r.random() < 0.2:
        d.t("SSN (US persons only) ").it("US_SSN", v.ssn(r)).t("\n")
    d.t("Batch / Lot ").call(dk, c, "lot_no").t("    ").call(dk, c, "luhn_invalid").t("\n")
    d.t(r.choice(["Signature: ___________", "Sig ~~ [illegible]", "Unterschrift: ____"]) + "   ").call(dk, c, "postal_code").t("\n")


# ---- spreadsheets -------------------------------------------------------------------------------

def spreadsheet(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(r.choice(["Copied from Google Sheets (formulas shown):\n", "Excel, Ctrl+` view:\n", "=== Sheet1 ===\n"]))
    d.t("\tA\tB\tC\tD\tE\n1\tName\tContact\tFormula\tAmount\tNote\n")
    for row in range(2, 2 + r.randint(3, 6)):
        d.t(f"{row}\t{c.name()}\t")
        k = r.random()
        if k < 0.35:
            d.t("'").it("PHONE", c.phone()).t("\t")  # a leading apostrophe keeps Excel from eating the + or 0
        elif k < 0.6:
            d.t('=HYPERLINK("mailto:').it("EMAIL", c.email()).t('","mail")\t')
        else:
            d.t('="').it("PHONE", c.phone()).t('"\t')
        f = r.random()
        if f < 0.3:
            d.t('=VLOOKUP("').it("IBAN", c.iban("compact")).t('",Accounts!A:C,3,FALSE)\t')
        elif f < 0.5:
            d.t('=IF(LEN("').it("CREDIT_CARD", v.card(r).replace(" ", "")).t('")=16,"ok","check")\t')
        elif f < 0.6:
            d.t('=CONCAT("SSN ","').it("US_SSN", v.ssn(r, "dash")).t('")\t')
        else:
            d.t(f"=SUM(D{row}:D{row + 3})\t")
        d.dc("price", c.price()).t("\t")
        c.pick([lambda: dk(d, c, "order_no"), lambda: dk(d, c, "date"), lambda: dk(d, c, "isbn"), lambda: dk(d, c, "luhn_invalid"),
                lambda: dk(d, c, "invalid_phone")])
        d.t("\n")


# ---- SQL client output --------------------------------------------------------------------------

def sql_result(d: Doc, c: Ctx) -> None:
    r = c.r
    box = r.random() < 0.6
    d.t(f"{r.choice(['mysql>', 'postgres=#', 'sqlite>', 'duckdb>'])} SELECT id, name, email, phone, iban, last_ip FROM customers WHERE region = '{c.region}' LIMIT 5;\n")
    cols = ["id", "name", "email", "phone", "iban", "last_ip"]
    rows = []
    for _ in range(r.randint(2, 5)):
        rows.append([("", str(r.randint(1000, 99999))), ("", c.name()), ("EMAIL", c.email()), ("PHONE", c.phone()),
                     ("IBAN", c.iban("compact")), ("IP_ADDRESS", c.ip())])
    widths = [max(len(cols[i]), *(len(row[i][1]) for row in rows)) for i in range(len(cols))]
    if box:
        top, mid, bot, bar = "┌┬┐─", "├┼┤─", "└┴┘─", "│"
    else:
        top = mid = bot = "+++-"
        bar = "|"

    def rule(s: str) -> None:
        d.t(s[0] + s[1].join(s[3] * (wd + 2) for wd in widths) + s[2] + "\n")

    rule(top)
    d.t(bar + bar.join(f" {h:<{wd}} " for h, wd in zip(cols, widths, strict=True)) + bar + "\n")
    rule(mid)
    for row in rows:
        d.t(bar)
        for (ent, val), wd in zip(row, widths, strict=True):
            d.t(" ")
            if ent:
                d.it(ent, val)
            else:
                d.t(val)
            d.t(" " * (wd - len(val) + 1) + bar)
        d.t("\n")
    rule(bot)
    d.t(f"{len(rows)} rows in set ({r.randint(0, 99) / 100:.2f} sec)  -- server version ").call(dk, c, "version").t("\n")


# ---- infrastructure as code ---------------------------------------------------------------------

def terraform_helm(d: Doc, c: Ctx) -> None:
    r = c.r
    if r.random() < 0.5:
        d.t(f'# terraform.tfvars ({c.loc} stack)\nregion          = "ap-{r.choice(["southeast", "northeast", "south"])}-{r.randint(1, 3)}"\n')
        d.t('module_version  = "').call(dk, c, "version").t('"\n')
        d.t('aws_access_key  = "').it("AWS_ACCESS_KEY", v.aws_key_id(r)).t('"\n')
        d.t('aws_secret_key  = "').it("AWS_SECRET_KEY", v.aws_secret(r)).t('"\n')
        d.t('bastion_ip      = "').it("IP_ADDRESS", v.ipv4(r)).t('"\n')
        d.t('alert_email     = "').it("EMAIL", c.email()).t('"\n')
        d.t('oncall_phone    = "').it("PHONE", v.phone(r, c.region).replace(" ", "")).t('"\n')
        d.t('datadog_api_key = "').call(dk, c, "placeholder").t('"\n')
        d.t('image_digest    = "').call(dk, c, "hash").t('"\n')
        if r.random() < 0.5:
            d.t('github_token    = "').it("GITHUB_TOKEN", v.github_token(r)).t('"\n')
        d.t('allowed_ipv6    = ["').it("IP_ADDRESS", v.ipv6(r)).t('/128"]\n')
    else:
        d.t("# values-prod.yaml\nimage:\n  tag: \"").call(dk, c, "version").t(f"\"\n  pullPolicy: IfNotPresent\nreplicaCount: {r.randint(1, 6)}\n")
        d.t("env:\n  SUPPORT_EMAIL: ").it("EMAIL", c.email()).t("\n  STRIPE_SECRET_KEY: ").it("STRIPE_KEY", v.stripe_key(r)).t("\n")
        d.t("  OPENROUTER_API_KEY: \"").it("OPENROUTER_KEY", v.openrouter_key(r)).t("\"\n")
        d.t("  SENTRY_RELEASE: ").call(dk, c, "git_sha").t("\n  FEATURE_FLAGS_KEY: \"").call(dk, c, "placeholder").t("\"\n")
        if r.random() < 0.5:
            d.t("  GOOGLE_MAPS_KEY: ").it("GOOGLE_API_KEY", v.google_key(r)).t("\n")
        d.t("service:\n  loadBalancerIP: ").it("IP_ADDRESS", v.ipv4(r)).t("\n  externalTrafficPolicy: Local\n")
        d.t("probes:\n  host: ").call(dk, c, "loopback").t("\n")
        if r.random() < 0.4:
            d.t("tls:\n  key: |\n")
            pk = v.private_key(r)
            d.t("    ").it("PRIVATE_KEY", pk.replace("\n", "\n    ")).t("\n")


# ---- curl / Postman -----------------------------------------------------------------------------

def curl_postman(d: Doc, c: Ctx) -> None:
    r = c.r
    if r.random() < 0.6:
        d.t("$ curl -sS -X POST 'https://api.")
        d.t(r.choice(["stripe.com/v1/customers", "openrouter.ai/api/v1/chat/completions", "example-crm.io/v2/contacts"]) + "' \\\n")
        kind = r.choice(["STRIPE_KEY", "OPENROUTER_KEY", "OPENAI_KEY", "BEARER_TOKEN", "JWT", "ANTHROPIC_KEY"])
        if kind == "ANTHROPIC_KEY":
            d.t("  -H 'x-api-key: ")
        else:
            d.t(f"  {r.choice(['-H', '--header'])} 'Authorization: Bearer ")
        secret(d, c, kind)
        d.t("' \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-Request-Id: ").call(dk, c, "uuid").t("' \\\n")
        d.t('  -d \'{"email": "').it("EMAIL", c.email()).t('", "phone": "').it("PHONE", c.phone()).t('", "metadata": {"order": "')
        dk(d, c, "order_no").t('", "ip": "').it("IP_ADDRESS", c.ip()).t('"}}\'\n')
        d.t(f"HTTP/2 {r.choice([200, 201, 400, 402])}\ndate: ").call(dk, c, "timestamp").t("\nx-ratelimit-remaining: 59\n")
    else:
        d.t('{\n  "id": "').call(dk, c, "uuid").t('",\n  "name": "prod-' + c.region.lower() + '",\n  "values": [\n')
        entries = [("baseUrl", "", "https://api.example-pay.com"), ("apiKey", r.choice(["STRIPE_KEY", "GOOGLE_API_KEY", "SLACK_TOKEN", "GITHUB_TOKEN"]), ""),
                   ("userEmail", "EMAIL", ""), ("testPhone", "PHONE", ""), ("clientVersion", "-version", ""), ("mock", "-placeholder", "")]
        if r.random() < 0.5:
            entries.insert(2, ("aws_key_id", "AWS_ACCESS_KEY", ""))
            entries.insert(3, ("aws_secret", "AWS_SECRET_KEY", ""))
        for i, (k, ent, lit) in enumerate(entries):
            d.t(f'    {{"key": "{k}", "value": "')
            if ent.startswith("-"):
                dk(d, c, ent[1:])
            elif ent == "EMAIL":
                d.it("EMAIL", c.email())
            elif ent == "PHONE":
                d.it("PHONE", c.phone())
            elif ent:
                secret(d, c, ent)
            else:
                d.t(lit)
            d.t(f'", "type": "{"secret" if ent in SECRETS else "default"}", "enabled": true}}{"," if i < len(entries) - 1 else ""}\n')
        d.t('  ],\n  "_postman_exported_at": "').call(dk, c, "timestamp").t('"\n}\n')


# ---- browser HAR / devtools ---------------------------------------------------------------------

def har(d: Doc, c: Ctx) -> None:
    r = c.r
    ip = c.ip()
    d.t('{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "entries": [\n')
    d.t('  {"startedDateTime": "').call(dk, c, "timestamp").t('", "time": ' + f"{r.randint(20, 900)}.{r.randint(0, 999)}" + ',\n')
    d.t('   "request": {"method": "POST", "url": "https://app.example-saas.com/api/profile?session=').call(dk, c, "uuid").t('", "headers": [\n')
    d.t('     {"name": "authorization", "value": "Bearer ')
    secret(d, c, r.choice(["JWT", "JWT", "BEARER_TOKEN"]))
    d.t('"},\n     {"name": "cookie", "value": "_ga=GA1.2.').call(dk, c, "build").t('; theme=dark"}],\n')
    d.t('     "postData": {"mimeType": "application/json", "text": "{\\"email\\":\\"').it("EMAIL", c.email()).t('\\",\\"mobile\\":\\"')
    d.it("PHONE", c.phone()).t('\\",\\"app_version\\":\\"').call(dk, c, "version").t('\\"}"}},\n')
    d.t('   "response": {"status": 200, "content": {"size": ' + str(r.randint(100, 9000)) + ', "mimeType": "application/json"}},\n')
    d.t('   "serverIPAddress": "')
    if ":" in ip and r.random() < 0.5:
        d.t("[").it("IP_ADDRESS", ip).t("]")
    else:
        d.it("IP_ADDRESS", ip)
    d.t('", "connection": "' + str(r.randint(1000, 999999)) + '"}\n]}}\n')
    if r.random() < 0.5:
        d.t("\nConsole:\n")
        v6 = v.ipv6(r)
        if v6.lower().startswith("fe80"):
            d.t("WebRTC candidate: candidate:1 1 udp 2122260223 ").it("IP_ADDRESS", v6).t(f"%{r.choice(['en0', 'eth0', '12'])} {r.randint(40000, 65000)} typ host\n")
        else:
            d.t("GET https://[").it("IP_ADDRESS", v6).t(f"]:{r.choice([443, 8443])}/health net::ERR_CONNECTION_RESET\n")
        d.t("Uncaught (in promise) Error: ").call(dk, c, "placeholder").t(" is not a valid key\n")


# ---- Jupyter / pandas ---------------------------------------------------------------------------

def jupyter(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(f"In [{r.randint(2, 40)}]: df = pd.read_csv('{r.choice(['leads', 'kyc_export', 'tickets'])}_{c.region.lower()}.csv')\n")
    d.t("   ...: df[['name', 'email', 'phone', 'card', 'amount']].head()\n")
    d.t(f"Out[{r.randint(2, 40)}]:\n")
    rows = [(c.name(), c.email(), c.phone(), v.card(r).replace(" ", "") if r.random() < 0.5 else "NaN", c.price()) for _ in range(r.randint(3, 5))]
    w = [max(len(x[i]) for x in rows) + 2 for i in range(5)]
    d.t("   " + "".join(h.rjust(wd) for h, wd in zip(["name", "email", "phone", "card", "amount"], w, strict=True)) + "\n")
    for i, (nm, em, ph, cd, am) in enumerate(rows):
        d.t(f"{i:<3}" + nm.rjust(w[0]) + " " * (w[1] - len(em))).it("EMAIL", em).t(" " * (w[2] - len(ph))).it("PHONE", ph)
        d.t(" " * (w[3] - len(cd)))
        if cd == "NaN":
            d.t(cd)
        else:
            d.it("CREDIT_CARD", cd)
        d.t(" " * (w[4] - len(am))).dc("price", am).t("\n")
    d.t(f"\n[{len(rows)} rows x 5 columns]\n\nIn [{r.randint(41, 60)}]: os.environ\n")
    d.t("Out: environ({'OPENAI_API_KEY': '")
    secret(d, c, r.choice(["OPENAI_KEY", "OPENROUTER_KEY", "ANTHROPIC_KEY"]))
    d.t("', 'HF_HOME': '/home/jovyan/.cache', 'JPY_SESSION_NAME': '").call(dk, c, "uuid").t("'})\n")
    if r.random() < 0.5:
        d.t("pandas ").call(dk, c, "version").t(", numpy ").call(dk, c, "version").t("\n")


# ---- hospital -----------------------------------------------------------------------------------

def referral_letter(d: Doc, c: Ctx) -> None:
    r = c.r
    doc, pat = c.name(), c.name()
    d.t(f"{r.choice(['Riverside Medical Centre', 'Clinic of Internal Medicine', 'Sunrise Paediatrics'])}\n")
    d.t(f"{c.w[PHONE]}{colon(c)}").it("PHONE", c.phone(region=c.region)).t("   Fax ").call(dk, c, "invalid_phone").t("\n")
    d.t(f"{c.w[DATE]}{colon(c)}").call(dk, c, "date").t("\n\nRE: referral of ").t(pat).t(", ").call(dk, c, "case_no").t("\n")
    d.t("DOB ").call(dk, c, "date").t(f"   {c.w[PHONE]} ").it("PHONE", c.phone()).t("   e-mail ").it("EMAIL", c.email()).t("\n\n")
    d.t(f"Dear Dr {c.f.last_name()},\n\nThank you for seeing this {r.randint(18, 90)}-year-old patient with "
        f"{r.choice(['poorly controlled T2DM (HbA1c 9.1%)', 'recurrent AF', 'suspected OSA', 'persistent LFT derangement'])}. "
        f"Current medication: metformin {r.choice([500, 850, 1000])} mg ")
    dk(d, c, "lot_no").t(". Bloods drawn ").call(dk, c, "timestamp").t(".\n")
    if r.random() < 0.3:
        d.t("Insurance (US travel policy) member SSN ").it("US_SSN", v.ssn(r)).t(".\n")
    if r.random() < 0.3:
        d.t("Please send the invoice for the private consultation to ").it("IBAN", c.iban()).t(".\n")
    d.t(f"Next of kin {c.name()}, ").it("PHONE", c.phone()).t(f".\n\nKind regards,\n{doc}\n")
    d.t(f"{c.w[EMAIL]}{colon(c)}").it("EMAIL", c.email()).t("\n")


# ---- law firm -----------------------------------------------------------------------------------

def legal_contract(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(f"{r.choice(['LOAN AGREEMENT', 'SERVICES AGREEMENT', 'SHARE PURCHASE AGREEMENT', 'LEASE'])}\n\nThis Agreement is made on ")
    dk(d, c, "date").t(" BETWEEN:\n\n")
    for n in (1, 2):
        d.t(f"({n}) {c.name()}, residing at {c.f.street_address()}, ").call(dk, c, "postal_code")
        d.t(f" {c.f.city()}, e-mail ").it("EMAIL", c.email()).t(", telephone ").it("PHONE", c.phone())
        if r.random() < 0.5:
            d.t(", holder of the account ").it("IBAN", c.iban())
        if c.region in ("PH", "IN", "CA") and r.random() < 0.3 or r.random() < 0.08:
            d.t(", US taxpayer identification (SSN) ").it("US_SSN", v.ssn(r, "dash"))
        d.t(f' (the "{"Lender" if n == 1 else "Borrower"}");\n')
    d.t(f"\n1. DEFINITIONS\n1.1 \"Principal\" means {c.price()}.\n1.2 \"Reference\" means file ")
    dk(d, c, "case_no").t(".\n2. PAYMENT\n2.1 Payments shall be made by transfer to ").it("IBAN", c.iban("print"))
    d.t(" quoting invoice ").call(dk, c, "invoice_no").t(".\n2.2 Interest accrues per rate schedule version ").call(dk, c, "version").t(f" p.a. under clause {r.randint(3, 9)}.{r.randint(1, 9)}.\n")
    d.t("3. NOTICES\n3.1 Notices to the Borrower: ").it("EMAIL", c.email()).t(" with a copy by courier, tracking ")
    dk(d, c, "tracking_no").t(".\n\nSigned: ______________   ______________\n")


# ---- HR ---------------------------------------------------------------------------------------

def hr_onboarding(d: Doc, c: Ctx) -> None:
    r = c.r
    us = r.random() < 0.45  # a US hire of the local office
    d.t(f"New hire onboarding — {c.name()}\nEmployee ID: E{r.randint(10000, 99999)}   Start date: ").call(dk, c, "date").t("\n")
    d.t("Personal email: ").it("EMAIL", c.email()).t("\nWork email: ").it("EMAIL", c.email()).t("\n")
    d.t("Mobile: ").it("PHONE", c.phone()).t("\n")
    if us:
        d.t("SSN: ").it("US_SSN", v.ssn(r)).t(f"   I-9 doc #{r.randint(10**8, 10**9)}\n")
    d.t("Salary account (IBAN): ").it("IBAN", c.iban()).t("\n")
    d.t(f"Emergency contact: {c.name()} ({r.choice(['spouse', 'mother', 'brother', 'friend'])}) ").it("PHONE", c.phone()).t("\n")
    d.t("Laptop asset tag: ").call(dk, c, "lot_no").t("   VPN static IP: ").it("IP_ADDRESS", v.ipv4(r)).t("\n")
    d.t("Postcode: ").call(dk, c, "postal_code").t("   Shirt size: M   Badge: ").call(dk, c, "build").t("\n")
    if r.random() < 0.3:
        d.t("Corporate card: ").it("CREDIT_CARD", c.card()).t("\n")


def payroll_export(d: Doc, c: Ctx) -> None:
    r = c.r
    sep = r.choice([";", ";", ",", "\t", "|"])
    us = c.region in ("PH", "IN", "CA") or r.random() < 0.3
    hdr = ["emp_no", "name", "iban", "gross", "net", "pay_date"] + (["ssn"] if us else []) + ["phone"]
    d.t(f"payroll_{c.region.lower()}_{r.randint(2025, 2026)}{r.randint(1, 12):02d}.csv\n" + sep.join(hdr) + "\n")
    for _ in range(r.randint(3, 7)):
        d.t(f"{r.randint(1000, 9999)}{sep}{c.name()}{sep}").it("IBAN", c.iban("compact")).t(sep).call(dk, c, "price").t(sep)
        d.t(c.price() + sep).call(dk, c, "date").t(sep)
        if us:
            d.it("US_SSN", v.ssn(r, r.choice(["bare", "dash"]))).t(sep)
        d.it("PHONE", c.phone()).t("\n")
    d.t("# total rows exported by PayrollSuite version ").call(dk, c, "version").t("\n")


# ---- logistics ----------------------------------------------------------------------------------

def shipping_label(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(f"{r.choice(['DHL EXPRESS', 'SF EXPRESS', 'Australia Post', 'PostNord', 'J&T Express', 'Yamato'])}   ")
    dk(d, c, "tracking_no").t("\n+--------------------------------------+\nSHIP TO:\n")
    d.t(f"{c.name()}\n{c.f.street_address()}\n{c.f.city()} ").call(dk, c, "postal_code").t("\n")
    d.t(f"{c.w[PHONE]}{colon(c)}").it("PHONE", c.phone(region=c.region)).t("\n")
    if r.random() < 0.5:
        d.t(f"{c.w[EMAIL]}{colon(c)}").it("EMAIL", c.email()).t("\n")
    d.t("FROM:\n").t(f"{c.f.company()}\n").it("PHONE", c.phone()).t("\n")
    d.t(f"Weight {r.randint(1, 30)}.{r.randint(0, 9)} kg   ").call(dk, c, "order_no").t("\nGPS ").call(dk, c, "coordinates").t("\n")
    d.t("Ref ").call(dk, c, "invoice_no").t("   COD ").call(dk, c, "price").t("\n+--------------------------------------+\n")


# ---- phones -----------------------------------------------------------------------------------

def sms_2fa(d: Doc, c: Ctx) -> None:
    r = c.r
    me = c.phone(region=c.region)
    d.t(f"SMS thread export — {r.choice(['Android Messages', 'iMessage', 'SMS Backup & Restore'])} — device ")
    d.it("PHONE", me).t("\n\n")
    for _ in range(r.randint(3, 6)):
        t = c.when(3).strftime("%d/%m %H:%M")
        k = r.random()
        if k < 0.35:
            d.t(f"[{t}] {r.choice(['BANK', 'Google', 'WhatsApp', 'VERIFY'])}: Your verification code is ").call(dk, c, "otp_code")
            d.t(". Do not share it.\n")
        elif k < 0.55:
            d.t(f"[{t}] ").it("PHONE", c.phone()).t(": hey it's " + c.f.first_name() + ", new number! save it\n")
        elif k < 0.7:
            d.t(f"[{t}] ").call(dk, c, "invalid_phone").t(": Your parcel ").call(dk, c, "tracking_no").t(" is held. Pay fee at bit.ly/x\n")
        elif k < 0.85:
            d.t(f"[{t}] me: send the money to ").it("IBAN", c.iban()).t(" pls\n")
        else:
            d.t(f"[{t}] me: my email is ").it("EMAIL", c.email()).t("\n")


def phone_bill(d: Doc, c: Ctx) -> None:
    r = c.r
    carrier = {"AU": "Telstra", "SG": "Singtel", "PH": "Globe", "JP": "NTT docomo", "KR": "SK Telecom", "CN": "China Mobile",
               "TW": "Chunghwa Telecom", "AE": "Etisalat", "TR": "Turkcell", "SE": "Telia", "DK": "TDC", "PT": "MEO", "AR": "Personal",
               "CO": "Claro", "AT": "A1", "CA": "Bell", "IL": "Partner", "TH": "AIS", "VN": "Viettel", "ID": "Telkomsel", "IN": "Jio"}[c.region]
    d.t(f"{carrier} — itemised bill — account ")
    dk(d, c, "invoice_no").t("\nService number: ").it("PHONE", c.phone(region=c.region)).t("\nBilling period ").call(dk, c, "date").t(" – ").call(dk, c, "date").t("\n\n")
    d.t("Date        Time   Number called           Dur.    Cost\n")
    for _ in range(r.randint(4, 9)):
        t = c.when(30)
        d.t(t.strftime("%Y-%m-%d  %H:%M  "))
        if r.random() < 0.85:
            p = c.phone()
            d.it("PHONE", p).t(" " * max(1, 24 - len(p)))
        else:
            p = r.choice(["*100#", "1300 SHORT", "voicemail"])
            d.t(p.ljust(24))
        d.t(f"{r.randint(0, 59)}:{r.randint(0, 59):02d}   ").call(dk, c, "price").t("\n")
    d.t("\nPayment by direct debit from card ").call(dk, c, "masked_card").t("\n")


# ---- developer ---------------------------------------------------------------------------------

def git_trailers(d: Doc, c: Ctx) -> None:
    r = c.r
    if r.random() < 0.5:
        d.t("$ cat .git/config\n[core]\n\trepositoryformatversion = 0\n[user]\n\tname = ").t(c.name()).t("\n\temail = ").it("EMAIL", c.email()).t("\n")
        d.t('[remote "origin"]\n\turl = https://')
        if r.random() < 0.7:
            d.t("x-access-token:").it("GITHUB_TOKEN", v.github_token(r))
        else:
            d.call(dk, c, "placeholder")
        d.t("@github.com/" + c.f.user_name() + "/billing-service.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n\n")
    d.t("$ git log -2 --format=fuller\ncommit ").call(dk, c, "git_sha").t("\nAuthor:     " + c.f.first_name() + " <").it("EMAIL", c.email()).t(">\nAuthorDate: ")
    dk(d, c, "timestamp").t("\n\n    Bump sdk to ").call(dk, c, "version").t(" and fix retry on 429\n\n    Fixes: ").call(dk, c, "case_no").t("\n")
    d.t("    Reviewed-by: " + c.f.first_name() + " <").it("EMAIL", c.email()).t(">\n    Co-authored-by: bot <").it("EMAIL", c.email()).t(">\n")
    if r.random() < 0.4:
        d.t("    Signed-off-by: " + c.name() + " <").it("EMAIL", c.email()).t(">\n")
    if r.random() < 0.5:
        d.t("\ndiff --git a/config/dev.env b/config/dev.env\n-SLACK_BOT_TOKEN=").call(dk, c, "placeholder").t("\n+SLACK_BOT_TOKEN=").it("SLACK_TOKEN", v.slack_token(r)).t("\n")
        if r.random() < 0.5:
            d.t("+DB_HOST=").it("IP_ADDRESS", c.ip()).t("\n")
        else:  # host:port in a URL, v6 in brackets
            ip = c.ip()
            d.t("+DATABASE_URL=postgres://app:").call(dk, c, "placeholder").t("@" + ("[" if ":" in ip else ""))
            d.it("IP_ADDRESS", ip).t(("]" if ":" in ip else "") + f":{r.choice([5432, 6432, 5433])}/billing\n")
    if r.random() < 0.25:
        d.t("\ndiff --git a/deploy/id_ed25519 b/deploy/id_ed25519\nnew file mode 100600\n--- /dev/null\n+++ b/deploy/id_ed25519\n")
        d.t("+").it("PRIVATE_KEY", v.private_key(r).replace("\n", "\n+")).t("\n")


def meeting_notes(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(f"# {r.choice(['Incident review', 'Weekly sync', 'Vendor call', 'Migration go/no-go'])} — ").call(dk, c, "date").t("\n\n")
    d.t(f"**Attendees:** {c.name()}, {c.name()}, {c.name()}\n\n## Notes\n")
    items: list[Callable[[], object]] = [
        lambda: d.t("- Primary DB failed over to ").it("IP_ADDRESS", c.ip()).t(" at ").call(dk, c, "timestamp").t("\n"),
        lambda: d.t("- Vendor contact: " + c.name() + ", ").it("EMAIL", c.email()).t(", ").it("PHONE", c.phone()).t("\n"),
        lambda: d.t("- Rotate the leaked key `").call(secret, c, r.choice(["AWS_ACCESS_KEY", "GITHUB_TOKEN", "STRIPE_KEY", "GOOGLE_API_KEY", "SLACK_TOKEN", "OPENAI_KEY"])).t("` today\n"),
        lambda: d.t("- Customer escalation ").call(dk, c, "case_no").t(": refund to card ending ").call(dk, c, "masked_card").t("\n"),
        lambda: d.t("- Release ").call(dk, c, "version").t(" (build ").call(dk, c, "build").t(") ships Thursday\n"),
        lambda: d.t("- On-call this week: ").it("PHONE", c.phone(region=c.region)).t("\n"),
        lambda: d.t("- Firewall allow-list add ").it("IP_ADDRESS", v.ipv6(r)).t(" and ").it("IP_ADDRESS", v.ipv4(r)).t("\n"),
        lambda: d.t("- Test card that failed in prod: ").it("CREDIT_CARD", v.card(r)).t(" (not ").call(dk, c, "luhn_invalid").t(")\n"),
        lambda: d.t("- Paper ref ").call(dk, c, "isbn").t(", journal ").call(dk, c, "issn").t("\n"),
        lambda: d.t("- Batch job creds (move to Vault!): ").it("AWS_ACCESS_KEY", v.aws_key_id(r)).t(r.choice([" / ", ":", " "]))
        .it("AWS_SECRET_KEY", v.aws_secret(r)).t("\n"),
        lambda: d.t(f"- ssh -p {r.choice([22, 2222])} deploy@").it("IP_ADDRESS", v.ipv4(r)).t(" then tail the logs on ")
        .it("IP_ADDRESS", v.ipv4(r)).t(f":{r.choice([9200, 8443, 3000])}\n"),
    ]
    for f in r.sample(items, r.randint(4, 7)):
        f()
    d.t("\n## Action items\n- [ ] " + c.f.first_name() + ": follow up by ").call(dk, c, "date").t("\n")


# ---- bank -------------------------------------------------------------------------------------

def bank_pdf(d: Doc, c: Ctx) -> None:
    r = c.r
    d.t(f"{r.choice(['ACCOUNT STATEMENT', 'KONTOAUSZUG', 'ESTADO DE CUENTA', 'KONTOUTDRAG', 'HESAP EKSTRESİ'])}        Page 1/3\n")
    d.t(f"{c.name()}\n{c.f.street_address()}\n").call(dk, c, "postal_code").t(f" {c.f.city()}\n\n")
    d.t(f"{c.w[ACCOUNT]}").t("                  IBAN\n")  # pdftotext keeps the label row apart from the values
    d.t(f"{r.randint(10**7, 10**9)}           ").it("IBAN", c.iban("print")).t("\n")
    d.t("BIC " + "".join(r.choice(string.ascii_uppercase) for _ in range(6)) + "2X    Statement date ").call(dk, c, "date").t("\n\n")
    d.t("Date        Description                                Debit        Credit\n")
    for _ in range(r.randint(4, 8)):
        k = r.random()
        d.t(c.when(30).strftime("%d.%m.  "))
        if k < 0.3:
            d.t("SEPA transfer from ").it("IBAN", c.iban("compact")).t("\n            ")  # the column broke
            d.t(f"{c.name()[:18]}").t(" " * 20).call(dk, c, "price").t("\n")
        elif k < 0.5:
            d.t("CARD ").it("CREDIT_CARD", v.card(r).replace(" ", "")).t(f" {r.choice(['AMAZON', 'GRAB', 'SHOPEE', 'UBER'])} ").call(dk, c, "price").t("\n")
        elif k < 0.6:
            d.t("Standing order ref ").call(dk, c, "invoice_no").t("    ").call(dk, c, "price").t("\n")
        elif k < 0.75:
            d.t("Mobile top-up ").it("PHONE", c.phone()).t("      ").call(dk, c, "price").t("\n")
        else:
            d.t("Online banking login from ").it("IP_ADDRESS", c.ip()).t("\n")
    d.t("\nQuestions? ").it("EMAIL", c.email()).t("   ").call(dk, c, "luhn_invalid").t(" is not a valid card\n")


GENRE_FUNCS: dict[str, Callable[[Doc, Ctx], None]] = {
    "call_transcript": call_transcript, "ocr_scan": ocr_scan, "spreadsheet": spreadsheet, "sql_result": sql_result,
    "terraform_helm": terraform_helm, "curl_postman": curl_postman, "har": har, "jupyter": jupyter,
    "referral_letter": referral_letter, "legal_contract": legal_contract, "hr_onboarding": hr_onboarding,
    "payroll_export": payroll_export, "shipping_label": shipping_label, "sms_2fa": sms_2fa, "phone_bill": phone_bill,
    "git_trailers": git_trailers, "meeting_notes": meeting_notes, "bank_pdf": bank_pdf,
}
