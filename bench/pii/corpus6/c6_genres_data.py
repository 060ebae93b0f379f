"""Corpus 6 genres of machine-made text people paste: spreadsheet cells, SIEM events, CRM exports, SQL dumps,
protobuf text, SOAP, kubectl, web-server and Postgres logs."""
from __future__ import annotations

from xml.sax.saxutils import escape

from c6_base import W
from c6_values import ip4


def excel_paste(w: W) -> None:
    """Cells copied out of Excel: tabs, a merged header (its label then empty cells), totals, blank cells."""
    lx = w.lex
    w.t(f"{w.fake.company()}\t\t\t\t\t\nCustomer\t\t{lx['tel']}\t{lx['mail']}\t{lx['acct']}\t{lx['order']}\n")
    for _ in range(w.rng.randint(2, 5)):
        w.t(f"{w.name()}\t\t")
        w.phone() if w.rng.random() < 0.8 else w.t("")
        w.t("\t")
        w.email()
        w.t("\t")
        w.iban() if w.rng.random() < 0.6 else w.t("")
        w.t("\t")
        w.decoy(w.pick("order_no", "invoice_no", "price", "postal_code"))
        w.t("\n")
    w.t("\t\t\t\tTotal\t")
    w.decoy("price")
    w.t("\n")


def cloudtrail(w: W) -> None:
    """A CloudTrail / SIEM event, pretty-printed JSON."""
    w.t('{\n  "eventVersion": "')
    w.decoy("version")
    w.t('",\n  "userIdentity": {\n    "type": "IAMUser",\n    "accessKeyId": "')
    w.secret("AWS_ACCESS_KEY")
    w.t(f'",\n    "userName": "{w.fake.user_name()}"\n  }},\n  "eventTime": "')
    w.decoy("timestamp")
    w.t('",\n  "eventName": "' + w.pick("ConsoleLogin", "GetObject", "AssumeRole", "PutBucketPolicy") + '",\n  "sourceIPAddress": "')
    w.ip(0.3)
    w.t('",\n  "userAgent": "aws-cli/')
    w.decoy("version")
    w.t('",\n  "requestID": "')
    w.decoy("uuid")
    w.t('",\n  "additionalEventData": {"MFAUsed": "No", "contact": "')
    w.email()
    w.t('"},\n  "tlsDetails": {"clientProvidedHostHeader": "signin.aws.amazon.com"},\n  "recipientAccountId": "')
    w.t(w.digits(12))
    w.t('"\n}\n')
    if w.rng.random() < 0.5:
        w.t('# leaked in the same session: aws_secret_access_key = ')
        w.secret("AWS_SECRET_KEY")
        w.t("\n")


def crm_export(w: W) -> None:
    """A Salesforce / HubSpot CSV export: quoted fields, embedded commas, a notes column."""
    w.t('"Record ID","First Name","Last Name","Email","Phone Number","Mobile Phone","Company","Last Activity","Notes"\n')
    for _ in range(w.rng.randint(2, 4)):
        w.t(f'"{w.digits(11)}","{w.fake.first_name()}","{w.fake.last_name()}","')
        w.email()
        w.t('","')
        w.phone()
        w.t('","')
        w.phone() if w.rng.random() < 0.5 else w.t("")
        w.t(f'","{w.fake.company().replace(chr(34), "")}","')
        w.decoy("timestamp")
        w.t('","')
        r = w.rng.random()
        if r < 0.3:
            w.t(f"{w.lex['card']}: ")
            w.card()
            w.t(", exp 0" + str(w.rng.randint(1, 9)) + "/" + str(w.rng.randint(27, 31)))
        elif r < 0.6:
            w.t("quote ")
            w.decoy(w.pick("invoice_no", "order_no", "price"))
            w.t(", tracking ")
            w.decoy("tracking_no")
        else:
            w.t("SSN on W-9: ")
            w.ssn()
        w.t('"\n')


def pg_copy(w: W) -> None:
    """pg_dump output: COPY ... FROM stdin, tab-separated rows, \\N for NULL, the terminating \\."""
    w.t("--\n-- Data for Name: customers; Type: TABLE DATA; Schema: public; Owner: app\n--\n\n")
    w.t("COPY public.customers (id, full_name, email, phone, iban, last_ip, created_at, api_key) FROM stdin;\n")
    for k in range(w.rng.randint(2, 5)):
        w.t(f"{w.rng.randint(1, 99999)}\t{w.name()}\t")
        w.email()
        w.t("\t")
        w.phone(w.pick("e164", "intl", "nat"))
        w.t("\t")
        w.iban() if k % 2 == 0 else w.t("\\N")
        w.t("\t")
        w.ip(0.2)
        w.t("\t")
        w.decoy("timestamp")
        w.t("\t")
        w.secret(pool=["OPENROUTER_KEY", "STRIPE_KEY", "OPENAI_KEY"]) if w.rng.random() < 0.4 else w.t("\\N")
        w.t("\n")
    w.t("\\.\n\n\nSELECT pg_catalog.setval('public.customers_id_seq', ")
    w.decoy("build_no")
    w.t(", true);\n")


def protobuf_text(w: W) -> None:
    """Protocol-buffer text format, as printed by a gRPC debug log."""
    w.t(f"customer {{\n  id: {w.rng.randint(10**6, 10**9)}\n  display_name: \"{w.name()}\"\n  contact {{\n    email: \"")
    w.email()
    w.t('"\n    phone_e164: "')
    w.phone("e164")
    w.t('"\n  }\n  billing {\n    iban: "')
    w.iban()
    w.t('"\n    card_last4: "')
    w.t(w.digits(4))
    w.t('"\n  }\n}\nrequest_meta {\n  client_ip: "')
    w.ip(0.4)
    w.t('"\n  trace_id: "')
    w.decoy(w.pick("uuid", "hash"))
    w.t('"\n  sdk_version: "')
    w.decoy("version")
    w.t('"\n  auth_token: "')
    w.secret("JWT")
    w.t('"\n}\n')


def soap_xml(w: W) -> None:
    """A SOAP request body, with namespaces and a WS-Security header."""
    w.t('<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:pay="urn:example:payments:v2">\n  <soapenv:Header>\n    <wsse:Security><wsse:BinarySecurityToken>')
    w.secret("JWT")
    w.t("</wsse:BinarySecurityToken></wsse:Security>\n  </soapenv:Header>\n  <soapenv:Body>\n    <pay:CreatePayment>\n")
    w.t(f"      <pay:Payer><pay:Name>{escape(w.name())}</pay:Name><pay:Email>")
    w.email()
    w.t("</pay:Email><pay:Phone>")
    w.phone()
    w.t("</pay:Phone></pay:Payer>\n      <pay:Account>")
    w.iban()
    w.t("</pay:Account>\n      <pay:Amount currency=\"EUR\">")
    w.t(f"{w.rng.randint(1, 9999)}.{w.rng.randint(0, 99):02d}")
    w.t("</pay:Amount>\n      <pay:Reference>")
    w.decoy(w.pick("invoice_no", "order_no"))
    w.t("</pay:Reference>\n      <pay:Card><pay:Pan>")
    w.card() if w.rng.random() < 0.5 else w.decoy("luhn_invalid")
    w.t(f"</pay:Pan></pay:Card>\n    </pay:CreatePayment>\n  </soapenv:Body>\n</soapenv:Envelope>\n<!-- EAN {w.pick('', ' ')}")
    w.decoy("ean_upc")
    w.t(" -->\n")


def kubectl(w: W) -> None:
    """`kubectl describe pod` with events, env from a secret pasted in clear."""
    pod = f"api-{w.fake.word()}-{w.digits(10)[:9]}-{w.rng.choice(['x7k2p', 'q9zzt', 'mm4c2'])}"
    node = ip4(w.rng)
    w.t(f"Name:             {pod}\nNamespace:        prod\nNode:             ip-{node.replace('.', '-')}.ec2.internal/")
    w.item("IP_ADDRESS", node)
    w.t("\nStart Time:       ")
    w.decoy("timestamp")
    w.t("\nIP:               ")
    w.ip(0.3)
    w.t("\nControlled By:  ReplicaSet\nContainers:\n  api:\n    Image:          registry.example.io/api:")
    w.decoy("version")
    w.t("\n    Image ID:       docker-pullable://registry.example.io/api@sha256:")
    w.t(w.rng.randbytes(32).hex())
    w.t("\n    Environment:\n      OPENROUTER_API_KEY:  ")
    w.secret("OPENROUTER_KEY")
    w.t("\n      GOOGLE_MAPS_KEY:     ")
    w.secret("GOOGLE_API_KEY") if w.rng.random() < 0.5 else w.decoy("placeholder")
    w.t("\n      SUPPORT_EMAIL:       ")
    w.email()
    w.t("\nEvents:\n  Type     Reason     Age   From     Message\n  ----     ------     ----  ----     -------\n")
    w.t("  Normal   Pulled     3m    kubelet  Container image \"registry.example.io/api:")
    w.decoy("version")
    w.t("\" already present on machine\n  Warning  Unhealthy  2m    kubelet  Readiness probe failed: Get \"http://")
    w.decoy(w.pick("loopback", "doc_reserved"))
    w.t("/healthz\": dial tcp: connection refused\n  Normal   Scheduled  3m    default-scheduler  node MAC ")
    w.decoy("mac_address")
    w.t("\n")


def nginx_log(w: W) -> None:
    """nginx/Apache combined log lines, with an e-mail in a query string and a bearer in a logged header."""
    for _ in range(w.rng.randint(3, 6)):
        w.ip(0.25)
        w.t(' - - [')
        w.decoy("timestamp")
        r = w.rng.random()
        if r < 0.3:
            w.t('] "GET /api/v1/users?email=')
            w.email()
            w.t(" HTTP/1.1\" 200 " + str(w.rng.randint(100, 9999)))
        elif r < 0.5:
            w.t('] "POST /v1/chat/completions HTTP/2.0" 401 ' + str(w.rng.randint(50, 300)) + ' auth="Bearer ')
            w.secret("BEARER_TOKEN")
            w.t('"')
        elif r < 0.7:
            w.t('] "GET /track/')
            w.decoy("tracking_no")
            w.t(' HTTP/1.1" 304 0')
        else:
            w.t('] "GET /static/app.')
            w.decoy("hash")
            w.t('.js HTTP/1.1" 200 ' + str(w.rng.randint(1000, 99999)))
        w.t(' "-" "Mozilla/5.0 (X11; Linux x86_64) Chrome/')
        w.decoy("version")
        w.t('"\n')


def postgres_log(w: W) -> None:
    """Postgres server log: a unique violation with DETAIL showing the key, a slow statement with parameters."""
    w.t("")
    w.decoy("timestamp")
    w.t(f" UTC [{w.rng.randint(1000, 99999)}] app@shop ERROR:  duplicate key value violates unique constraint \"users_email_key\"\n")
    w.t("DETAIL:  Key (email)=(")
    w.email()
    w.t(") already exists.\nSTATEMENT:  INSERT INTO users (email, phone, ip) VALUES ($1, $2, $3)\n")
    w.decoy("timestamp")
    w.t(" UTC [" + str(w.rng.randint(1000, 99999)) + "] app@shop LOG:  duration: ")
    w.t(f"{w.rng.randint(100, 9999)}.{w.rng.randint(100, 999)} ms  execute <unnamed>: UPDATE accounts SET iban = $1 WHERE phone = $2\n")
    w.t("DETAIL:  parameters: $1 = '")
    w.iban()
    w.t("', $2 = '")
    w.phone()
    w.t("'\n")
    w.decoy("timestamp")
    w.t(" UTC [" + str(w.rng.randint(1000, 99999)) + "] [unknown]@[unknown] LOG:  connection received: host=")
    w.ip(0.3)
    w.t(" port=" + str(w.rng.randint(30000, 65000)) + "\n")
    if w.rng.random() < 0.4:
        w.t("FATAL:  password authentication failed for user \"svc\"; tried ")
        w.secret(pool=["STRIPE_KEY", "AWS_SECRET_KEY", "ANTHROPIC_KEY"])
        w.t("\n")
