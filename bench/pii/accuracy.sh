#!/usr/bin/env bash
# PII engine accuracy on two independent labelled corpora:
#  1. the Rust generator (bench/pii/gen.rs, sentence frames per entity): per-entity recall/precision
#     and the decoy false-positive rate (bench/pii/src/bin/pii_accuracy.rs);
#  2. the Faker corpus (bench/pii/corpus/faker_corpus.py: 10 locales x 12 genres of pasted data,
#     hard decoys): every document through the engine (bench/pii/src/bin/pii_redact.rs), an item caught
#     when its value is gone from the output; recall per type x genre and per locale, decoys kept
#     per kind, for two seeds and their difference (bench/pii/corpus/report.py);
#  3. the dump corpus (bench/pii/corpus/dump_corpus.py: 10 other locales x 8 other genres — SQL dumps,
#     JSON-lines logs, e-mail threads, HTML/psql tables, XML, forms, WhatsApp exports), written before
#     the third tuning round and never tuned against: the same report (report.py --corpus dump);
#  4. corpus 4 (bench/pii/corpus4/corpus4.py: 17 other locales x 16 other genres — manifests, .env,
#     stack traces, patches, issues, CRM CSV, invoices, HL7/FHIR, statements, Slack, vCard, iCal, mbox,
#     Excel TSV, LaTeX, fixed-width), written blind (bench/pii/corpus4/README.md): report.py --corpus c4;
#  5. corpus 5 (bench/pii/corpus5/corpus5.py: 21 other locales — CJK, RTL, South-East Asia — x 18 other genres —
#     call transcripts, OCR scans, spreadsheet formulas, SQL client output, Terraform/Helm, curl/Postman, HAR,
#     Jupyter, referral letters, contracts, HR, payroll, shipping labels, SMS, phone bills, git, meeting notes,
#     PDF statements), written blind (bench/pii/corpus5/README.md): report.py --corpus c5;
#  6. corpus 6 (bench/pii/corpus6/corpus6.py: 18 locales — Nordic, Central/Eastern European, Turkish, Hebrew, Thai,
#     Vietnamese, Korean, Taiwanese, Indonesian, en_AU, es_AR, fr_CA — x 18 other genres — Excel pastes, CloudTrail,
#     CRM exports, pg_dump COPY, protobuf text, SOAP, kubectl describe, nginx and Postgres logs, quoted e-mail,
#     OCR'd forms, insurance claims, running-balance statements, GitHub issues, Markdown footnotes, Telegram,
#     voice-mail, mixed-language), written blind (bench/pii/corpus6/README.md): report.py --corpus c6.
# Presidio's pattern recognizers are scored on corpora 1-6 (a pinned presidio-analyzer in .cache/presidio-venv,
# installed on first use); PII_PRESIDIO=0 skips them.
#   bench/pii/accuracy.sh [pii_accuracy args: --per-entity N --decoys N --seed S --show N]
# Environment: CORPUS_SEEDS="1 2", CORPUS_DOCS=4000, DUMP_DOCS=2000, C4_DOCS=2000, C5_DOCS=2000, C6_DOCS=2000, PRESIDIO_DOCS=1200 (0: every document; Presidio is ~0.1 MB/s), CORPUS_SHOW=0.
set -euo pipefail
cd "$(dirname "$0")/../.."
tgt=${CARGO_TARGET_DIR:-target}
py=.venv/bin/python
[[ -x "$py" ]] || { echo "accuracy: run make setup first (.venv)" >&2; exit 1; }

cargo build -q --profile tools -p bench-pii --bin pii_accuracy
cargo build -q --profile tools -p bench-pii --bin pii_redact
bin="$tgt"/tools
dump=$(mktemp --suffix=.jsonl)
trap 'rm -f "$dump"' EXIT

ppy=""
if [[ "${PII_PRESIDIO:-1}" != 0 ]]; then
  venv=.cache/presidio-venv
  req=bench/pii/corpus/requirements-presidio.txt
  want=$(cat "$req" <(python3 --version 2>&1) | sha256sum | cut -c1-16)
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.pins" 2>/dev/null)" != "$want" ]]; then
    echo "accuracy: installing $(tr '\n' ' ' <"$req")into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$venv/.pins"
  fi
  ppy=$venv/bin/python
fi

echo "### Corpus 1: Rust generator (bench/pii/gen.rs)"
"$bin"/pii_accuracy "$@" --dump "$dump"
if [[ -n "$ppy" ]]; then
  echo
  "$ppy" bench/pii/presidio_compare.py "$dump"
fi

echo
echo "### Corpus 2: Faker corpus (bench/pii/corpus/faker_corpus.py)"
read -r -a seeds <<<"${CORPUS_SEEDS:-1 2}"
"$py" bench/pii/corpus/report.py --redactor "$bin"/pii_redact --seeds "${seeds[@]}" \
  --docs "${CORPUS_DOCS:-4000}" ${ppy:+--presidio-python "$ppy"} --presidio-docs "${PRESIDIO_DOCS:-1200}" \
  --show "${CORPUS_SHOW:-0}"

echo
echo "### Corpus 3: dump corpus (bench/pii/corpus/dump_corpus.py), never tuned against"
"$py" bench/pii/corpus/report.py --corpus dump --redactor "$bin"/pii_redact --seeds "${seeds[@]}" \
  --docs "${DUMP_DOCS:-2000}" ${ppy:+--presidio-python "$ppy"} --presidio-docs "${PRESIDIO_DOCS:-1200}" --show "${CORPUS_SHOW:-0}"

echo
echo "### Corpus 4: written blind (bench/pii/corpus4/corpus4.py)"
"$py" bench/pii/corpus/report.py --corpus c4 --redactor "$bin"/pii_redact --seeds "${seeds[@]}" \
  --docs "${C4_DOCS:-2000}" ${ppy:+--presidio-python "$ppy"} --presidio-docs "${PRESIDIO_DOCS:-1200}" --show "${CORPUS_SHOW:-0}"

echo
echo "### Corpus 5: written blind (bench/pii/corpus5/corpus5.py)"
"$py" bench/pii/corpus/report.py --corpus c5 --redactor "$bin"/pii_redact --seeds "${seeds[@]}" \
  --docs "${C5_DOCS:-2000}" ${ppy:+--presidio-python "$ppy"} --presidio-docs "${PRESIDIO_DOCS:-1200}" --show "${CORPUS_SHOW:-0}"

echo
echo "### Corpus 6: written blind (bench/pii/corpus6/corpus6.py)"
"$py" bench/pii/corpus/report.py --corpus c6 --redactor "$bin"/pii_redact --seeds "${seeds[@]}" \
  --docs "${C6_DOCS:-2000}" ${ppy:+--presidio-python "$ppy"} --presidio-docs "${PRESIDIO_DOCS:-1200}" --show "${CORPUS_SHOW:-0}"
