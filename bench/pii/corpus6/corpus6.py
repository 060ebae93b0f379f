"""Corpus 6: the sixth labelled PII corpus, written blind (README.md): 18 locales x 18 genres of text people
paste, with the entities the engine reports labelled by span and 20 kinds of hard decoys.

`corpus(seed, n, start=0)` returns documents start..start+n-1 of the seed's sequence; document i is the
genre GENRES[i % 18] in the locale LOCALES[(i // 18) % 18], so any 324 consecutive documents hold every
locale x genre once. Each document: {"genre", "locale", "text", "items": [{"entity", "value", "start",
"end"}], "decoys": [{"kind", "value", "start", "end"}]}. Deterministic per seed (string-seeded
random.Random, Faker seeded per document), whatever PYTHONHASHSEED is.

For bench/pii/corpus/report.py: LOCALES, GENRES, GENRE_ABBR, TYPES, DEFAULT_TYPES, SECRETS, DECOY_KINDS."""
from __future__ import annotations

from collections.abc import Callable

import c6_genres_data as gd
import c6_genres_prose as gp
from c6_base import DEFAULT_TYPES, LOCALES, SECRETS, TYPES, W
from c6_decoys import DECOY_KINDS

WRITERS: dict[str, tuple[str, Callable[[W], None]]] = {
    "excel_paste": ("xlpst", gd.excel_paste), "cloudtrail": ("ctrail", gd.cloudtrail), "crm_export": ("crmx", gd.crm_export),
    "pg_copy": ("pgcopy", gd.pg_copy), "protobuf_text": ("pbtxt", gd.protobuf_text), "soap_xml": ("soap", gd.soap_xml),
    "kubectl_describe": ("kubect", gd.kubectl), "nginx_combined": ("nginx", gd.nginx_log), "postgres_log": ("pglog", gd.postgres_log),
    "email_quoted": ("quoted", gp.email_quoted), "ocr_form": ("ocr6", gp.ocr_form), "insurance_claim": ("claim", gp.insurance_claim),
    "bank_running": ("bkrun", gp.bank_statement), "github_issue": ("ghiss", gp.github_issue), "md_footnotes": ("mdfoot", gp.md_footnotes),
    "telegram_export": ("tgram", gp.telegram), "voicemail": ("vmail", gp.voicemail), "mixed_language": ("mixlng", gp.mixed_lang),
}
GENRES = list(WRITERS)
GENRE_ABBR = {g: a for g, (a, _) in WRITERS.items()}

__all__ = ["DECOY_KINDS", "DEFAULT_TYPES", "GENRE_ABBR", "GENRES", "LOCALES", "SECRETS", "TYPES", "corpus"]


def document(seed: int, i: int) -> dict:
    genre = GENRES[i % len(GENRES)]
    w = W(seed, i, LOCALES[(i // len(GENRES)) % len(LOCALES)], genre)
    WRITERS[genre][1](w)
    return w.doc()


def corpus(seed: int, n: int, start: int = 0) -> list[dict]:
    return [document(seed, i) for i in range(start, start + n)]
