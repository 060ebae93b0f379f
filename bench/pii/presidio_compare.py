#!/usr/bin/env python3
"""Score Microsoft Presidio's pattern recognizers on cases dumped by `pii_accuracy --dump`.

Only recognizers that need no NLP model are used (no spaCy model download): e-mail, phone
(python-phonenumbers), US SSN, credit card, IBAN, IP. Every result with a score > 0 counts, as with
AnalyzerEngine's default threshold. Output has the same shape as the Rust report.
"""
import json
import logging
import sys
import time

# tldextract (used by the e-mail recognizer) tries to download the public-suffix list and falls
# back to its bundled copy; offline that prints a long traceback. Keep the output readable.
logging.getLogger("tldextract").setLevel(logging.CRITICAL)

from presidio_analyzer.predefined_recognizers import (  # noqa: E402  (after the logging setup)
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

MAP = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "US_SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
}


def main() -> int:
    cases = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    recognizers = [
        EmailRecognizer(),
        PhoneRecognizer(supported_regions=("US", "GB", "DE", "FR", "IN", "JP", "AU", "BR", "IL")),
        UsSsnRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
    ]
    ents = list(MAP.values())
    stats = {e: {"labels": 0, "found": 0, "det": 0, "true": 0, "plain": 0, "plain_found": 0} for e in ents}
    decoys = decoys_hit = 0
    nbytes = 0
    t0 = time.perf_counter()
    for c in cases:
        text = c["text"]
        # Python indexes by code point; convert the Rust byte offsets.
        b2c = {}
        ci = 0
        for bi, ch in enumerate(text.encode("utf-8")):
            if ch & 0xC0 != 0x80:
                b2c[bi] = ci
                ci += 1
        b2c[len(text.encode("utf-8"))] = len(text)
        labels = [(b2c[l["start"]], b2c[l["end"]], l["entity"]) for l in c["labels"]]
        nbytes += len(text.encode("utf-8"))
        dets = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None) or []:
                if res.score > 0 and res.entity_type in MAP:
                    dets.append((res.start, res.end, MAP[res.entity_type]))

        def ov(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
            return a[0] < b[1] and b[0] < a[1]

        for l in labels:
            if l[2] not in stats:
                continue
            stats[l[2]]["labels"] += 1
            hit = any(d[2] == l[2] and ov(d, l) for d in dets)
            stats[l[2]]["found"] += hit
            if not c.get("evasive"):
                stats[l[2]]["plain"] += 1
                stats[l[2]]["plain_found"] += hit
        for d in dets:
            stats[d[2]]["det"] += 1
            if any(l[2] == d[2] and ov(d, l) for l in labels):
                stats[d[2]]["true"] += 1
        if not labels:
            decoys += 1
            decoys_hit += bool(dets)
    secs = time.perf_counter() - t0
    print("Presidio pattern recognizers on the same cases")
    print(f"{'entity':<16} {'labels':>7} {'recall':>8} {'precision':>10} {'recall w/o evasion':>19}")
    for e in ents:
        s = stats[e]
        rec = s["found"] / s["labels"] if s["labels"] else 1.0
        prec = s["true"] / s["det"] if s["det"] else 1.0
        plain = s["plain_found"] / s["plain"] if s["plain"] else 1.0
        print(f"{e:<16} {s['labels']:>7} {rec:>8.4f} {prec:>10.4f} {plain:>19.4f}")
    print(f"decoys: {decoys} cases, {decoys_hit} with a finding -> false-positive rate {decoys_hit / max(decoys, 1):.4f}")
    print(f"(Presidio throughput on these cases: {nbytes / secs / 1e6:.2f} MB/s, all cases, Python)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
