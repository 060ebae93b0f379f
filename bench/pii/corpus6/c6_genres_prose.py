"""Corpus 6 genres of text people write or scan: quoted e-mail threads, OCR'd forms, insurance claims, bank
statements, GitHub issues, Markdown with footnotes, Telegram exports, voice-mail transcripts, mixed-language
messages."""
from __future__ import annotations

from c6_base import W


def email_quoted(w: W) -> None:
    """A reply on top of a quoted reply on top of a forwarded message (`> `, `>> `, ---------- Forwarded ----------)."""
    lx, a, b = w.lex, w.name(), w.name()
    w.t(f"{lx['hi']},\n\n{lx['thx']}! {lx['call']} ")
    w.phone()
    w.t(".\n\n")
    w.t(f"On {w.fake.date()} {b} <")
    w.email()
    w.t("> wrote:\n> " + lx["inv"] + " ")
    w.decoy("invoice_no")
    w.t(" — " + lx["acct"] + ":\n> ")
    w.iban()
    w.t("\n>\n>> ---------- Forwarded message ---------\n>> From: " + a + " <")
    w.email()
    w.t(">\n>> Date: ")
    w.decoy("timestamp")
    w.t("\n>> Subject: Re: " + lx["order"] + " ")
    w.decoy("order_no")
    w.t("\n>>\n>> " + lx["mob"] + ": ")
    w.phone()
    w.t("\n>> " + lx["card"] + " ")
    w.card() if w.rng.random() < 0.5 else w.decoy("luhn_invalid")
    w.t("\n\n--\n" + a + "\n" + lx["tel"] + " ")
    w.phone()
    w.t("\n")


OCR_SUBST = {"Tel": "TeI", "Phone": "Ph0ne", "Email": "Emai1", "Name": "Narne", "Date": "Dale"}


def ocr_form(w: W) -> None:
    """OCR of an ID-document application or a paper form: letter confusions in the labels, ragged spacing,
    dotted leaders, a machine-readable zone line. The values themselves are the readable ones."""
    def label(s: str) -> str:
        return OCR_SUBST.get(s, s) if w.rng.random() < 0.4 else s
    w.t(f"APPLICATION FORM  /  {w.fake.company().upper()}\n\n{label('Name')} ....... {w.name()}\n")
    w.t(f"{label('Date')} of birth:  {w.fake.date_of_birth().strftime('%d %m %Y')}\n{label('Tel')}.  :  ")
    w.phone(w.pick("nat", "nat_compact", "intl"))
    w.t(f"\n{label('Email')} :   ")
    w.email()
    w.t("\nUS SSN (if applicable) |  ")
    w.ssn(w.pick("-", " "))
    w.t("   |\nBank acc.  ")
    w.iban()
    w.t("\nPostal code   ")
    w.decoy("postal_code")
    w.t("    Ref. ")
    w.decoy(w.pick("order_no", "build_no"))
    w.t("\n\nP<" + w.region + "<<" + w.fake.last_name().upper().replace(" ", "<") + "<<<<<<<<<<<<<<<<\n")
    w.t("Signature: ____________   " + label("Date") + ": ")
    w.decoy("timestamp")
    w.t("\n")


def insurance_claim(w: W) -> None:
    """A first-notice-of-loss claim: policy number, incident, payout account, contact."""
    w.t(f"CLAIM FORM — First notice of loss\nPolicy no.: POL-{w.digits(8)}\nClaimant: {w.name()}\nContact phone: ")
    w.phone()
    w.t("\nPrevious bank account (closed, as printed on the old card): ")
    w.decoy("iban_bad_check")
    w.t("\nAlt. phone: ")
    w.phone() if w.rng.random() < 0.5 else w.decoy("invalid_phone")
    w.t("\nEmail: ")
    w.email()
    w.t(f"\nIncident date: {w.fake.date()}\nLocation (GPS): ")
    w.decoy("coordinates")
    w.t("\nDescription: vehicle damaged in car park; repair estimate ")
    w.decoy("price")
    w.t("\nPayout to account: ")
    w.iban()
    w.t("\nCard on file for deductible: ")
    w.card()
    if w.rng.random() < 0.3:
        w.t("\nUS policyholder SSN: ")
        w.ssn()
    w.t("\nAdjuster ref: ")
    w.decoy(w.pick("uuid", "invoice_no"))
    w.t("\n")


def bank_statement(w: W) -> None:
    """Statement lines with a running balance, counterparties' IBANs, card purchases."""
    w.t(f"{w.fake.company()} — Statement of account ")
    w.iban()
    w.t("\nDate        Description                                  Amount        Balance\n")
    for _ in range(w.rng.randint(3, 6)):
        w.t(f"{w.fake.date()}  ")
        r = w.rng.random()
        if r < 0.35:
            w.t("SEPA transfer to ")
            w.iban()
        elif r < 0.6:
            w.t("Card purchase ")
            w.decoy(w.pick("luhn_invalid", "order_no"))
        elif r < 0.8:
            w.t("BLIK / mobile payment ")
            w.phone()
        elif r < 0.9:
            w.t("Refund ")
            w.decoy("invoice_no")
        else:
            w.t("Transfer returned, check digits wrong: ")
            w.decoy("iban_bad_check")
        w.t("   ")
        w.decoy("price")
        w.t("   ")
        w.decoy("price")
        w.t("\n")


def github_issue(w: W) -> None:
    """A GitHub issue body: steps, a fenced stack trace with the config that was in scope, environment table."""
    w.t("### Describe the bug\nThe client crashes on retry. Config I used (key redacted? no, sorry):\n\n```python\nclient = Client(\n")
    w.t('    api_key="')
    w.secret(pool=["OPENROUTER_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "GITHUB_TOKEN", "SLACK_TOKEN"])
    w.t('",\n    base_url="http://')
    w.decoy(w.pick("loopback", "doc_reserved"))
    w.t(':8000",\n)\n```\n\n### Stack trace\n```\nTraceback (most recent call last):\n  File "/srv/app/main.py", line ')
    w.t(str(w.rng.randint(10, 900)) + ', in <module>\n    notify(user="')
    w.email()
    w.t('", phone="')
    w.phone("e164")
    w.t('")\n  File "/srv/app/notify.py", line ' + str(w.rng.randint(10, 300)) + ", in notify\n")
    w.t("ConnectionError: HTTPSConnectionPool(host='")
    w.ip(0.3)
    w.t("', port=443): Max retries exceeded\n```\n\n### Environment\n| | |\n|---|---|\n| version | ")
    w.decoy("version")
    w.t(" |\n| commit | ")
    w.decoy("hash")
    w.t(" |\n| build | ")
    w.decoy("build_no")
    w.t(" |\n")
    if w.rng.random() < 0.35:
        w.t("\nAlso the deploy key from the runner:\n```\n")
        w.private_key()
        w.t("\n```\n")


def md_footnotes(w: W) -> None:
    """Markdown notes with footnotes holding the contact details and references."""
    w.t(f"# Vendor onboarding: {w.fake.company()}\n\nPrimary contact is {w.name()}[^1]; billing goes through their "
        "finance team[^2]. The catalogue uses ISBN ")
    w.decoy("isbn")
    w.t(" and ships from the warehouse at ")
    w.decoy("coordinates")
    w.t(".\n\n> **Note** the sandbox key is `")
    w.decoy("placeholder")
    w.t("`, the production key is `")
    w.secret()
    w.t("`.\n\n[^1]: ")
    w.email()
    w.t(", ")
    w.phone()
    w.t("\n[^2]: " + w.lex["acct"] + " ")
    w.iban()
    w.t(", " + w.lex["inv"] + " ")
    w.decoy("invoice_no")
    w.t("\n[^3]: UUID of the record: ")
    w.decoy("uuid")
    w.t("\n")


def telegram(w: W) -> None:
    """A Telegram desktop export in text form: [dd.mm.yy hh:mm:ss] sender: message."""
    a, b = w.fake.first_name(), w.fake.first_name()
    for _ in range(w.rng.randint(4, 7)):
        who = w.pick(a, b)
        w.t(f"[{w.rng.randint(1, 28):02d}.{w.rng.randint(1, 12):02d}.{w.rng.randint(20, 26)}, "
            f"{w.rng.randint(0, 23):02d}:{w.rng.randint(0, 59):02d}:{w.rng.randint(0, 59):02d}] {who}: ")
        r = w.rng.random()
        if r < 0.2:
            w.t(w.lex["call"] + " ")
            w.phone()
        elif r < 0.35:
            w.t(w.lex["mail"] + ": ")
            w.email()
        elif r < 0.45:
            w.t(w.lex["card"] + " ")
            w.card()
        elif r < 0.55:
            w.t(w.lex["acct"] + " ")
            w.iban()
        elif r < 0.62:
            w.t("the token for the bot: ")
            w.secret(pool=["SLACK_TOKEN", "GITHUB_TOKEN", "OPENROUTER_KEY", "GOOGLE_API_KEY"])
        else:
            w.t(w.pick("price ", "tracking ", "order ", "code ", "v"))
            w.decoy(w.pick("price", "tracking_no", "order_no", "version", "timestamp", "ean_upc"))
        w.t("\n")


DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def voicemail(w: W) -> None:
    """A voice-mail transcript: the number dictated digit by digit with pauses, a card read in groups of four,
    and decoys read out as words (which no redactor should touch)."""
    w.t(f"Voicemail from {w.name()} — transcript (confidence 0.{w.rng.randint(70, 97)})\n\n\"Hi, it's about the ")
    w.t(w.lex["order"] + " ")
    w.decoy("order_no")
    w.t(", um, you can reach me on ")
    tail = [c for c in w.phone(w.pick("nat", "intl", "nat_dash")) if c.isdigit()][-4:]
    w.t(", that's " + " ".join(DIGIT_WORDS[int(c)] for c in tail) + " at the end... or e-mail ")
    w.email()
    w.t(". For the payment, card number ")
    w.card()
    w.t(", okay? The tracking number was ")
    w.decoy("tracking_no")
    w.t(". Thanks, bye.\"\n\n[call received ")
    w.decoy("timestamp")
    w.t(" from ")
    w.phone("e164")
    w.t("]\n")


def mixed_lang(w: W) -> None:
    """A message that switches between the locale's language and English mid-sentence."""
    lx = w.lex
    w.t(f"{lx['hi']} {w.fake.first_name()}, quick one — {lx['mob']}: ")
    w.phone()
    w.t(f", {lx['mail'].lower()}: ")
    w.email()
    w.t(f". Pls wire the deposit to {lx['acct']} ")
    w.iban()
    w.t(f" (ref {lx['inv']} ")
    w.decoy("invoice_no")
    w.t(f"), amount {w.pick('', '~')}")
    w.decoy("price")
    w.t(f". {lx['thx']}! P.S. new VPN endpoint is ")
    w.ip(0.5)
    w.t(", old one was ")
    w.decoy(w.pick("doc_reserved", "loopback"))
    w.t(" (that was only the test setup). App build ")
    w.decoy("version")
    w.t(".\n")
