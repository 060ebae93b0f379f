#!/usr/bin/env python3
"""Corpus 5: a labelled PII corpus written blind (issue 14, "measure it honestly").

21 locales x 18 genres of what people at a bank, a hospital, a law firm, a call centre, an HR desk, a
SaaS support desk and a developer's terminal paste into an LLM. Labels come from this generator (value
makers in c5_values.py), never from the engine. Every document is a function of (seed, index); index
i takes locale x genre cell i mod 378.

  corpus5.py --seed 1 --docs 5 [--start K] [--jsonl]

Interface read by bench/pii/corpus/report.py: corpus(seed, docs) -> [{"genre", "locale", "text",
"items": [{"entity", "value", "start", "end"}], "decoys": [{"kind", "value", "start", "end"}]}],
and LOCALES, GENRES, GENRE_ABBR, TYPES, DEFAULT_TYPES, SECRETS, DECOY_KINDS.
"""
from __future__ import annotations

import argparse
import json
import random
import sys

from faker import Faker

from c5_base import DECOY_KINDS, DEFAULT_TYPES, GENRE_ABBR, GENRES, LOCALES, REGION, SECRETS, TYPES, Ctx, Doc
from c5_genres import GENRE_FUNCS

__all__ = ["DECOY_KINDS", "DEFAULT_TYPES", "GENRE_ABBR", "GENRES", "LOCALES", "REGION", "SECRETS", "TYPES", "corpus"]
FAKER_LOCALE = {"en_SG": "en_GB", "ar_AE": "ar_SA"}  # Faker has no en_SG; its ar_AE has English names



def make(seed: int, i: int) -> dict:
    cell = i % (len(LOCALES) * len(GENRES))
    loc, genre = LOCALES[cell // len(GENRES)], GENRES[cell % len(GENRES)]
    rng = random.Random(f"corpus5:{seed}:{i}")
    fake = _faker(loc)
    fake.seed_instance(rng.getrandbits(64))
    c = Ctx(rng, fake, loc)
    d = Doc(genre, loc)
    GENRE_FUNCS[genre](d, c)
    out = d.out()
    # A decoy whose text also occurs inside a labelled value (a 6-digit code inside an IBAN) cannot be
    # scored by counting occurrences: it keeps its place in the text but loses its label.
    out["decoys"] = [x for x in out["decoys"] if not any(x["value"] in it["value"] for it in out["items"])]
    return out


_FAKERS: dict[str, Faker] = {}


def _faker(loc: str) -> Faker:
    if loc not in _FAKERS:
        _FAKERS[loc] = Faker(FAKER_LOCALE.get(loc, loc))
    return _FAKERS[loc]


def corpus(seed: int, docs: int, start: int = 0) -> list[dict]:
    return [make(seed, i) for i in range(start, start + docs)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs", type=int, default=5)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jsonl", action="store_true")
    a = ap.parse_args()
    for d in corpus(a.seed, a.docs, a.start):
        if a.jsonl:
            print(json.dumps(d, ensure_ascii=False))
        else:
            print(f"===== {d['genre']} {d['locale']}: {len(d['items'])} items, {len(d['decoys'])} decoys")
            print(d["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
