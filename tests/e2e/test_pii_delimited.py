"""PII detection on data as people paste it (issue 14), through real Envoy and the real .wasm: delimited rows
(CSV, TSV, markdown tables, JSON records, key=value logs) over HTTP/1.1 and HTTP/2, national phone numbers of
every country in the generated numbering plan, and what must survive: versions after a version cue,
placeholders, loopback addresses. Asserts on what the fake OpenRouter received and on the audit record."""
from __future__ import annotations

import json
import uuid
from typing import Any

import phonenumbers
import pytest

from harness.envoy import Envoy
from fake_openrouter import FakeOpenRouter
from wire import H1Conn, H2Conn, WireResp

CHAT = "/api/v1/chat/completions"
HOST = "openrouter.ai"
MODEL = "anthropic/claude-3.5-sonnet"
POLICY: dict[str, Any] = {
    "hosts": [HOST],
    "clusters": ["openrouter"],
    "default_profile": "main",
    "profiles": {
        "main": {
            "models": [{"allow": "anthropic/*"}, {"deny": "*"}],
            "provider": {"allow_fallbacks": False, "data_collection": "deny"},
            "max_tokens": 1000,
            "pii": {},
        },
    },
}

# Regions of src/core/pii/detectors/phone_plan.rs (tools/gen_phone_plan.py REGIONS).
PLAN_REGIONS = [
    "US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "PL",
    "PT", "IE", "CZ", "RO", "HU", "GR", "UA", "RU", "TR", "IL", "BR", "MX", "AR", "CO", "CL",
    "IN", "CN", "JP", "KR", "AU", "NZ", "ZA", "NG", "EG", "SA", "AE", "ID", "PH", "VN", "TH",
    "MY", "SG", "PK", "BD",
]


def send(envoy: Envoy, codec: str, text: str) -> WireResp:
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": text}]}).encode()
    rid = f"e2e-{uuid.uuid4()}"
    if codec == "h1":
        with H1Conn(envoy.port) as c:
            return c.request("POST", CHAT, [("host", HOST), ("content-type", "application/json"),
                                             ("x-request-id", rid)], body)
    with H2Conn(envoy.port) as c:
        return c.request("POST", CHAT, HOST, [("content-type", "application/json"), ("x-request-id", rid)],
                         data=[body])


def forwarded_text(envoy: Envoy, fake: FakeOpenRouter, codec: str, text: str) -> str:
    """Sends `text` as the user message; returns the message content the upstream received."""
    r = send(envoy, codec, text)
    assert r.status == 200, (r.status, r.body[:300])
    (req,) = fake.requests
    return json.loads(req.body)["messages"][0]["content"]


CSV = ("name,email,card,amount,ssn,phone,time\n"
       "Ruiz,ruiz@example.com,4111 1111 1111 1111,3510.50,207-96-8696,+1 (503) 805-2707,08:40:40\n"
       "Lee,lee@example.org,5555555555554444,12.00,219-09-9999,06 12 34 56 78,09:12:01\n")
TSV = ("name\tssn\ttelefon\tip\tbalance\n"
       "Müller\t219099999\t030 1234567\t10.20.30.40\t1,234.50\n"
       "Schmidt\t207968696\t0171-12345678\t192.168.7.9\t20240806\n")
MARKDOWN = ("| Name | SSN | Phone | Card |\n"
            "|---|---|---|---|\n"
            "| Ruiz | 207-96-8696 | 07700 900123 | 4111-1111-1111-1111 |\n"
            "| Lee | 219099999 | +33 (0)6 12 34 56 78 | 5555 5555 5555 4444 |\n")
JSON_RECORDS = json.dumps([
    {"name": "Ruiz", "ssn": "207-96-8696", "phone": "+1-415-555-0132", "ip": "203.0.113.77"},
    {"name": "Lee", "ssn": "219099999", "phone": "0612345678", "card": "4111111111111111"},
])
LOG = ("2026-11-23T08:40:40Z user=ruiz ip=203.0.113.77 phone=+14155550132 ssn=207-96-8696 status=200\n"
       "2026-11-23T08:40:41Z build 16.2.6.4\n"
       "10.1.2.3 - - GET /api 200\n")
# Third round (issue 14): a redacted row is no header on the rescan (the version column below keeps its
# dotted quads), columns naming identifiers keep numbers a phone reading would take, a comma before a cell
# starting with three digits is no thousands separator, a version cue names its own value only, Spanish
# fixed lines without a phone word.
IDS = ('"id";"Social Security No.";"slack_token";"app_version";"e-mail"\n'
       '1000;"440-68-3152";"xoxp-796351008700-2564969517428-QMLNLQohW4EBYiOAZSXVNUzy";"26.10.6.35";"a@example.com"\n'
       '1001;"430-51-1777";"xoxb-814192245344-2334548344504-q4Opz70bamyYT8r8qLwmSaQp";"1.26.7";"b@example.com"\n'
       '1002;"503-68-9584";"xoxp-371226534227-7286942067579-pzG6gDvMLcVzenZ3XJY8yFHF";"13.4.8.35";"c@example.com"\n'
       "\n"
       "tracking_number,isbn,created_at,phone\n"
       "099291859815,978-1-241-11576-0,1674975574632,0612345678\n"
       "\n"
       "GB57 LKRT 9297 6600 3755 59,090-3080-9153\n"
       "payment failed build=17.7.8.20 ip=172.75.165.50\n"
       "mi fijo: 956 74 08 96\n")
# Corpus 3's shapes (issue 14, fourth round): HTML tables (`<th>` names the column), psql output (a rule under
# the header, cells padded to the column width), SQL INSERTs whose column list names the tuples on later lines,
# `00` numbers without spaces, national numbers written with dots; the version columns of each keep their quads.
HTML = ("<table>\n  <tr><th>Nombre</th><th>Tel\u00e9fono</th><th>SSN</th><th>app_version</th><th>Numer karty</th></tr>\n"
        "  <tr><td>Ana</td><td>810054077</td><td>484869194</td><td>16.2.6.4</td><td>501872888125</td></tr>\n"
        "  <tr><td>Luis</td><td>0034612798727</td><td>233513423</td><td>3.1.0.250</td><td>4111111111111111</td></tr>\n"
        "</table>\n")
PSQL = (" email                 | tfn           | ssn       | version    | kortnummer\n"
        "-----------------------+---------------+-----------+------------+--------------\n"
        " a@example.com         | 08112258      | 485726119 | 5.1.0.34   | 501873140302\n"
        " longer.name@example.se | 070-159.74.63 | 306520282 | 14.17.6.108 | 6759348720227118\n"
        "(2 rows)\n")
SQL = ("-- Dump of table klanten\n"
       "INSERT INTO `klanten` (`id`, `telefoonnummer`, `ssn`, `version`, `note`) VALUES\n"
       "(1, '612680744', '552358304', '16.2.6.4', 'paid 12,50 \u20ac'),\n"
       "(2, '0043664195883', '229975047', '2.4.8.99', 'x');\n"
       "INSERT INTO kunden (id, ssn, telefon) VALUES (3, '630185004', '0664.199036');\n")
# Corpus 4's shapes (issue 14, session 23): a fixed-width report (no delimiter: the header's words place the
# columns; bare SSNs and Brazilian Elo/Hipercard cards under theirs), a LaTeX table (`~` as the space inside a
# number), calendar-versioned builds and conference ids that stay.
FIXED = ("REPORT R8554597  PAGE 0001       2024-10-19T20:00:06.426Z\n"
         "CUST-NO   NAME                    PHONE               CARD                 SSN                    BALANCE\n"
         "-------------------------------------------------------------------------------------------------------\n"
         "3392082   Green, Lori             +12013713282        5066994398385728     871456047           120,640.50\n"
         "2714450   Comber, Lorna           (022) 41593         6062821693038748     513220318           159,428.84\n"
         "*** END OF REPORT R8554597 \u2014 2 RECORDS ***\n")
LATEX = ("\\begin{tabular}{llr}\n\\toprule\nName & Phone & Amount \\\\\n\\midrule\n"
         "Sorcha Kearns & +353~85~040~6991 & 34,017.39 \\\\\n"
         "Jules Claes & 0450~83~57~20 & 1,200.00 \\\\\n"
         "\\bottomrule\n\\end{tabular}\n% generated by report v16.1.12.6290, build 2024.5.6289\n"
         "Meeting ID: 467 3542 3022\n")
# Record grammars that name a field without a phone or SSN word: an HL7 v2 message (PID-13/14 and NK1-5 phones,
# PID-19 the SSN; PID-18, the account number, stays), vCard TEL properties, FHIR ContactPoint/Identifier objects.
HL7 = ("MSH|^~\\&|EPIC|UMC|LAB|UMC|20250824111207||ADT^A04|MSG47379781|P|2.5.1\r"
       "PID|1||90175438^^^MRN||Patterson^Ellen||19730112|M|||37282 Jeffrey Burg^^Cooktown^^83393||"
       "021 219 65 72^PRN^PH~^NET^Internet^ellen95@example.com|212050523^WPN^PH||||454648730|146803509\r"
       "NK1|1|Wilson^Whitney|SPO|||40 60 29 55\r")
VCARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Philippe Cambier\r\n"
         "TEL;type=CELL;type=VOICE;type=pref:0450.37.13.00\r\nitem1.TEL;type=WORK:5064893194\r\n"
         "REV:2025-05-27T06:25:32Z\r\nEND:VCARD\r\n")
FHIR = json.dumps({"resourceType": "Patient", "identifier": [
    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "808907811"},
    {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "853828312"}],
    "telecom": [{"system": "phone", "value": "02250822", "use": "home"}]}, indent=2)
# Corpus 5's shapes (issue 14, session 24): a call transcript reads a number out group by group (a comma and a
# space between groups; the cue may sit on the agent's line above, "landline" is a phone word), a patch adds a
# key block with a `+` before every line and a Slack app-level token (`xapp-`).
CALL = ("[00:41] AGENT: and the best number to reach you on\n[00:53] CALLER: um it's 0612, 345, 678\n"
        "[01:10] CALLER: my mobile is +44, 20, 7946, 0958 or the landline 020 7946 0958\n"
        "[01:20] AGENT: 3 items, 25, 100 in the basket, order 2024, 11\n")
PATCH = ("--- /dev/null\n+++ b/deploy/id_ec\n+-----BEGIN EC PRIVATE KEY-----\n+MHcCAQEEIBq7w2Lk9ZpQxR4tYv8Nw3mK\n"
         "+-----END EC PRIVATE KEY-----\n-SLACK_APP_TOKEN=changeme\n"
         "+SLACK_APP_TOKEN=xapp-1-B02QW8RT7LM-4417093826151-8c1f0e2d9a7b6c5d4e3f2a1b0c9d8e7f\n")
DELIMITED = {
    "call_transcript": (CALL, ["0612, 345, 678", "+44, 20, 7946, 0958", "020 7946 0958"],
                        ["3 items, 25, 100", "order 2024, 11"]),
    "patch": (PATCH, ["MHcCAQEEIBq7w2Lk9ZpQxR4tYv8Nw3mK", "xapp-1-B02QW8RT7LM", "4417093826151"],
              ["+++ b/deploy/id_ec", "-SLACK_APP_TOKEN=changeme"]),
    "hl7_v2": (HL7, ["021 219 65 72", "212050523", "146803509", "40 60 29 55", "ellen95@example.com"],
               ["454648730", "90175438^^^MRN"]),
    "vcard": (VCARD, ["0450.37.13.00", "5064893194"], ["REV:2025-05-27T06:25:32Z"]),
    "fhir": (FHIR, ["808907811", "02250822"], ["853828312"]),
    "fixed_width": (FIXED, ["+12013713282", "5066994398385728", "871456047", "(022) 41593", "6062821693038748",
                            "513220318"], ["3392082", "120,640.50", "159,428.84"]),
    "latex": (LATEX, ["+353~85~040~6991", "0450~83~57~20"], ["34,017.39", "2024.5.6289", "467 3542 3022"]),
    "html_table": (HTML, ["810054077", "484869194", "501872888125", "0034612798727", "233513423", "4111111111111111"],
                   ["16.2.6.4", "3.1.0.250", "<th>Tel\u00e9fono</th>"]),
    "psql": (PSQL, ["08112258", "485726119", "501873140302", "070-159.74.63", "306520282", "6759348720227118"],
             ["5.1.0.34", "14.17.6.108", "(2 rows)"]),
    "sql_insert": (SQL, ["612680744", "552358304", "0043664195883", "229975047", "630185004", "0664.199036"],
                   ["'16.2.6.4'", "'2.4.8.99'", "paid 12,50"]),
    "ids_and_rescans": (IDS, ["440-68-3152", "503-68-9584", "c@example.com", "0612345678", "090-3080-9153",
                              "172.75.165.50", "956 74 08 96"],
                        ['"26.10.6.35"', '"13.4.8.35"', "099291859815", "978-1-241-11576-0", "1674975574632",
                         "build=17.7.8.20"]),
    "csv": (CSV, ["4111 1111 1111 1111", "207-96-8696", "+1 (503) 805-2707", "219-09-9999", "06 12 34 56 78",
                  "5555555555554444", "ruiz@example.com"], ["3510.50", "08:40:40", "12.00"]),
    "tsv": (TSV, ["219099999", "030 1234567", "10.20.30.40", "207968696", "0171-12345678", "192.168.7.9"],
            ["1,234.50", "20240806"]),
    "markdown": (MARKDOWN, ["207-96-8696", "07700 900123", "4111-1111-1111-1111", "219099999",
                            "+33 (0)6 12 34 56 78", "5555 5555 5555 4444"], ["| Name | SSN |"]),
    "json_records": (JSON_RECORDS, ["207-96-8696", "+1-415-555-0132", "203.0.113.77", "219099999", "0612345678",
                                    "4111111111111111"], ['"name": "Lee"']),
    "kv_log": (LOG, ["203.0.113.77", "+14155550132", "207-96-8696", "10.1.2.3"], ["build 16.2.6.4", "status=200"]),
}


@pytest.mark.parametrize("codec", ["h1", "h2"])
@pytest.mark.parametrize("kind", sorted(DELIMITED))
def test_values_in_delimited_rows_are_redacted(envoy, fake, codec, kind) -> None:
    text, secret, kept = DELIMITED[kind]
    got = forwarded_text(envoy, fake, codec, text)
    for v in secret:
        assert v not in got, f"{v!r} reached the upstream in {kind} over {codec}:\n{got}"
    for v in kept:
        assert v in got, f"{v!r} was changed in {kind} over {codec}:\n{got}"


def _plan_examples() -> list[tuple[str, str, list[str]]]:
    """(region, lines, values) per country: its mobile example in national and international form and its fixed-line
    example after a phone word, as libphonenumber formats them (the same pinned metadata as the plan)."""
    out = []
    for region in PLAN_REGIONS:
        mobile = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        fixed = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
        assert mobile is not None and fixed is not None, region
        national = phonenumbers.format_number(mobile, phonenumbers.PhoneNumberFormat.NATIONAL)
        intl = phonenumbers.format_number(mobile, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        fixed_nat = phonenumbers.format_number(fixed, phonenumbers.PhoneNumberFormat.NATIONAL)
        digits = sum(c.isdigit() for c in national)
        # Eight digits without a national prefix (NO, DK, SG) need a phone word; Argentina's national mobile
        # form inserts "15" (a metadata rewrite the plan does not carry): its international form is checked.
        values, lines = [], []
        if region != "AR":
            values.append(national)
            lines.append(f"Mobile: {national}" if digits < 9 and not national.startswith("0") else f"- {national}")
        values += [intl, fixed_nat]
        # Phone words come after the bare national form, and a filler line longer than the 40-byte cue window
        # separates countries, so no number borrows another line's cue.
        lines += [f"international {intl}", f"Tel: {fixed_nat}", "(" + "-" * 48 + ")"]
        out.append((region, "\n".join(lines), values))
    return out


def test_national_phone_numbers_of_every_plan_country_are_redacted(envoy, fake) -> None:
    cases = _plan_examples()
    text = "\n\n".join(lines for _, lines, _ in cases)
    got = forwarded_text(envoy, fake, "h1", text)
    for region, _, values in cases:
        for v in values:
            assert v not in got, f"{region}: {v!r} reached the upstream"


def test_versions_placeholders_and_local_addresses_are_kept(envoy, fake) -> None:
    kept = ["app 17.4.3.46 crashed", "Node 18.6.1.33", "openai==20.5.7.98", "upgraded to 18.6.8.3",
            "xoxb-your-token-here", "Bearer process.env.OPENAI_API_KEY", "https://%GITHUB_TOKEN%@github.com/acme/x",
            "listen 0.0.0.0:8080", "curl http://127.0.0.1:9901/ready", "[::1]:443", "order 0612345678",
            "on 31.12.2024", "ISBN 0-306-40615-2", "total 1,234,567,890",
            # A phone or SSN word names its own field, not the next one; a form's dot leader after "version".
            '"customer_no": "365225496"', "<member_id>340117809</member_id>", "version ................. 9.2.20.140"]
    text = ("\n".join(kept) + "\nbut 10.9.8.7 is a host\n" + '{"phone": "+61 412 791 981", "customer_no": "365225496"}\n'
            + "<ssn>381-91-0891</ssn>\n<member_id>340117809</member_id>\nTlf.: 35302975")
    got = forwarded_text(envoy, fake, "h2", text)
    for v in kept:
        assert v in got, f"{v!r} was changed:\n{got}"
    for v in ["10.9.8.7", "+61 412 791 981", "381-91-0891", "35302975"]:
        assert v not in got, f"{v!r} reached the upstream:\n{got}"


def test_escaped_and_compatibility_forms_are_decoded_before_detection(envoy, fake) -> None:
    cases = [("jo&#64;example.com", "example.com"), ("jo&#x40;example&period;com", "example&period;com"),
             ("jo%40example.com", "example.com"), ("⁴¹¹¹ ¹¹¹¹ ¹¹¹¹ ¹¹¹¹", "¹¹¹¹"),
             ("4\u0332" + "1\u0332" * 3 + " 1111 1111 1111", "1111 1111"), ("Card #4111-1111-1111-1111", "4111-")]
    got = forwarded_text(envoy, fake, "h1", "\n".join(f"value {v}" for v, _ in cases))
    for v, part in cases:
        assert v not in got and part not in got, f"{v!r} reached the upstream:\n{got}"


# Corpus 5 (bench/pii/corpus5) decoy classes that identify nobody, each next to a real value of the same
# entity that must still go: loopback range, numbers no numbering plan can dial, court-style case numbers,
# dates that a widened CSV row puts under a phone column, placeholders as a URL's user part. A stray `+`
# before a trunk prefix (`+07911 …`) is no spare calling code: the national number after it still goes.
NOBODY = ("probes:\n  host: 127.0.0.53\n  peer: 10.9.8.7\n"
          "Fax +999 939 9845   Tel +210 564 3357   Fax +46 0000 0000   Fax 0000 000 000   Fax +1 (000) 000-3873\n"
          "Tel +46 70 123 45 67\nMobile: +07911 123456   Tel +0612345678\n"
          "RE: referral of Ann Lee, 37/2021/8434\nFixes: 29/2023/2123\n"
          "emp_no,name,gross,pay_date,phone\n3653,Ann Byrd,9 746,29 kr,2021-08-23,+46 72 133 60 37\n"
          '[remote "origin"]\n\turl = https://ghp_REPLACE_ME@github.com/acme/billing.git\n'
          "\turl = https://var.stripe_secret_key@github.com/acme/billing.git\n\temail = ann.lee@example.com\n")


@pytest.mark.parametrize("codec", ["h1", "h2"])
def test_values_that_identify_nobody_are_kept(envoy, fake, audit_lines, codec) -> None:
    got = forwarded_text(envoy, fake, codec, NOBODY)
    for v in ["127.0.0.53", "+999 939 9845", "+210 564 3357", "+46 0000 0000", "0000 000 000",
              "+1 (000) 000-3873", "37/2021/8434", "29/2023/2123", "2021-08-23", "https://ghp_REPLACE_ME@github.com",
              "https://var.stripe_secret_key@github.com"]:
        assert v in got, f"{v!r} was changed over {codec}:\n{got}"
    for v in ["10.9.8.7", "+46 70 123 45 67", "+46 72 133 60 37", "07911 123456", "0612345678", "ann.lee@example.com"]:
        assert v not in got, f"{v!r} reached the upstream over {codec}:\n{got}"
    [rec] = audit_lines(1)
    assert rec["redactions"] == {"IP_ADDRESS": {"redact": 1}, "PHONE": {"redact": 4}, "EMAIL": {"redact": 1}}, \
        rec["redactions"]
