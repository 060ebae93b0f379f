#!/usr/bin/env python3
"""Presidio's pattern recognizers as a redactor: JSON lines `{"text": ...}` in, `{"text": redacted}` out.

Only recognizers that need no NLP model (no spaCy model download): e-mail, phone
(python-phonenumbers, the ten regions of the Faker corpus), US SSN, credit card, IBAN, IP. Every
result with a score > 0 is replaced, as AnalyzerEngine's default threshold would. Runs in the
venv `bench/pii/accuracy.sh` makes (presidio-analyzer pinned there).

  python presidio_redact.py < corpus.jsonl > redacted.jsonl
"""
import json
import logging
import sys

# tldextract (used by the e-mail recognizer) tries to download the public-suffix list and falls
# back to its bundled copy; offline that prints a long traceback.
logging.getLogger("tldextract").setLevel(logging.CRITICAL)
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

REGIONS = ("US", "GB", "FR", "DE", "ES", "IT", "NL", "BR", "IN", "JP")


def main() -> int:
    recognizers = [
        EmailRecognizer(),
        PhoneRecognizer(supported_regions=REGIONS),
        UsSsnRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
    ]
    out = sys.stdout
    for line in sys.stdin:
        text = json.loads(line)["text"]
        spans = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None) or []:
                if res.score > 0:
                    spans.append((res.start, res.end, res.entity_type))
        spans.sort()
        merged: list[tuple[int, int, str]] = []
        for s, e, t in spans:
            if merged and s < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]), merged[-1][2])
            else:
                merged.append((s, e, t))
        parts, pos = [], 0
        for s, e, t in merged:
            parts.append(text[pos:s])
            parts.append(f"<{t}>")
            pos = e
        parts.append(text[pos:])
        out.write(json.dumps({"text": "".join(parts)}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
