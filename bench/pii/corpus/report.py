#!/usr/bin/env python3
"""Scores redactors on the Faker corpus (`faker_corpus.py`) by what leaves them.

An item counts as caught when its value no longer occurs in the redactor's output; a decoy counts
as kept when it occurs there as often as in the input. Prints recall per type x genre and per
locale, decoys kept per kind, for each seed, then the seed-to-seed differences; optionally the
same for Presidio's pattern recognizers (`presidio_redact.py`, run by another Python).

  report.py --redactor target/tools/pii_redact [--corpus faker|dump|c4|c5|c6] [--seeds 1 2] [--docs 4000]
            [--presidio-python .cache/presidio-venv/bin/python] [--presidio-docs N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import dump_corpus  # bench/pii/corpus/dump_corpus.py, beside this script
import faker_corpus

# bench/pii/corpus4, 5 and 6 are on the PYTHONPATH the Makefile exports (and pyproject.toml gives pytest).
import corpus4  # bench/pii/corpus4/corpus4.py, the fourth corpus (written blind)
import corpus5  # bench/pii/corpus5/corpus5.py, the fifth corpus (written blind)
import corpus6  # bench/pii/corpus6/corpus6.py, the sixth corpus (written blind)

fc = faker_corpus  # the corpus being scored (--corpus)

PRESIDIO_TYPES = ["EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS"]
GENRE_ABBR = {"csv": "csv", "tsv": "tsv", "markdown_table": "md", "json_records": "json", "yaml_records": "yaml",
              "web_log": "weblog", "app_log": "applog", "email_letter": "email", "chat": "chat",
              "support_ticket": "ticket", "code": "code", "config": "config", "email_thread": "thread",
              "html_table": "html", "psql": "psql", "xml": "xml", "form": "form", "whatsapp": "whatsa", "sql": "sql",
              "jsonl": "jsonl"} | corpus4.GENRE_ABBR | corpus5.GENRE_ABBR | corpus6.GENRE_ABBR


class Score:
    """Counters keyed by (type, genre, locale) for items and (kind, genre, locale) for decoys."""

    def __init__(self) -> None:
        self.items: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])  # (type, genre, locale) -> [caught, total]
        self.decoys: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])  # (kind, genre, locale) -> [kept, total]
        self.misses: list[tuple[str, str, str, str]] = []
        self.lost: list[tuple[str, str, str]] = []

    def add(self, doc: dict, out: str) -> None:
        g, loc, text = doc["genre"], doc["locale"], doc["text"]
        for it in doc["items"]:
            caught = it["value"] not in out
            c = self.items[(it["entity"], g, loc)]
            c[0] += caught
            c[1] += 1
            if not caught:
                self.misses.append((it["entity"], g, loc, it["value"]))
        for dc in doc["decoys"]:
            kept = out.count(dc["value"]) >= text.count(dc["value"])
            c = self.decoys[(dc["kind"], g, loc)]
            c[0] += kept
            c[1] += 1
            if not kept:
                self.lost.append((dc["kind"], g, dc["value"]))

    @staticmethod
    def _sum(table, pred) -> tuple[int, int]:
        a = b = 0
        for k, (x, n) in table.items():
            if pred(k):
                a += x
                b += n
        return a, b

    def recall(self, types=None, genre=None, locale=None) -> tuple[int, int]:
        return self._sum(self.items, lambda k: (types is None or k[0] in types) and (genre is None or k[1] == genre)
                         and (locale is None or k[2] == locale))

    def kept(self, kind=None, genre=None) -> tuple[int, int]:
        return self._sum(self.decoys, lambda k: (kind is None or k[0] == kind) and (genre is None or k[1] == genre))


def fmt(x: tuple[int, int], width: int = 7) -> str:
    a, n = x
    return f"{a / n:.3f}".rjust(width) if n else "—".rjust(width)


def generate(seed: int, docs: int, path: str) -> list[dict]:
    corpus = fc.corpus(seed, docs)
    with open(path, "w", encoding="utf-8") as f:
        for d in corpus:
            f.write(json.dumps({"text": d["text"]}, ensure_ascii=False) + "\n")
    return corpus


def run(cmd: list[str], inp: str, label: str) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    with open(inp, encoding="utf-8") as f:
        p = subprocess.run(cmd, stdin=f, capture_output=True, text=True, encoding="utf-8", check=False)
    if p.returncode != 0:
        sys.exit(f"{label} failed ({p.returncode}): {p.stderr[-2000:]}")
    outs = [json.loads(line)["text"] for line in p.stdout.splitlines()]
    return outs, time.perf_counter() - t0


def score(corpus: list[dict], outs: list[str]) -> Score:
    if len(outs) != len(corpus):
        sys.exit(f"redactor returned {len(outs)} lines for {len(corpus)} documents")
    s = Score()
    for d, o in zip(corpus, outs, strict=True):
        s.add(d, o)
    return s


def tables(s: Score, types: list[str], title: str) -> None:
    genres = fc.GENRES
    print(f"\n{title}")
    print("recall per type x genre (items caught / items)")
    print(f"{'type':<15}" + "".join(GENRE_ABBR[g].rjust(7) for g in genres) + "    all  items")
    for t in types:
        tot = s.recall([t])
        print(f"{t:<15}" + "".join(fmt(s.recall([t], genre=g)) for g in genres) + fmt(tot) + f"{tot[1]:>7}")
    dflt = [t for t in types if t in fc.DEFAULT_TYPES]
    tot = s.recall(dflt)
    print(f"{'default-on':<15}" + "".join(fmt(s.recall(dflt, genre=g)) for g in genres) + fmt(tot) + f"{tot[1]:>7}")
    print("\nrecall per locale")
    cols = [("default-on", dflt)] + [(t, [t]) for t in types if t in ("PHONE", "EMAIL", "IBAN", "CREDIT_CARD", "US_SSN",
                                                                          "IP_ADDRESS", "PERSON", "ADDRESS")]
    secrets = [t for t in types if t in fc.SECRETS]
    if secrets:
        cols.insert(1, ("secrets", secrets))
    print(f"{'locale':<8}" + "".join(n[:11].rjust(12) for n, _ in cols))
    for loc in fc.LOCALES:
        print(f"{loc:<8}" + "".join(fmt(s.recall(ts, locale=loc), 12) for _, ts in cols))
    print("\ndecoys kept per kind")
    print(f"{'kind':<19}" + "".join(GENRE_ABBR[g].rjust(7) for g in genres) + "    all  decoys")
    for k in fc.DECOY_KINDS:
        tot = s.kept(k)
        print(f"{k:<19}" + "".join(fmt(s.kept(k, genre=g)) for g in genres) + fmt(tot) + f"{tot[1]:>8}")
    tot = s.kept()
    print(f"{'all decoys':<19}" + "".join(fmt(s.kept(genre=g)) for g in genres) + fmt(tot) + f"{tot[1]:>8}")


def compare(scores: dict[int, Score], types: list[str], title: str) -> None:
    seeds = list(scores)
    a, b = scores[seeds[0]], scores[seeds[1]]
    rows: list[tuple[str, tuple[int, int], tuple[int, int]]] = []
    dflt = [t for t in types if t in fc.DEFAULT_TYPES]
    rows.append(("items, default-on types", a.recall(dflt), b.recall(dflt)))
    rows += [(f"type {t}", a.recall([t]), b.recall([t])) for t in types]
    rows += [(f"genre {g}", a.recall(dflt, genre=g), b.recall(dflt, genre=g)) for g in fc.GENRES]
    rows += [(f"locale {loc}", a.recall(dflt, locale=loc), b.recall(dflt, locale=loc)) for loc in fc.LOCALES]
    rows.append(("decoys kept, all", a.kept(), b.kept()))
    rows += [(f"decoy {k}", a.kept(k), b.kept(k)) for k in fc.DECOY_KINDS]
    print(f"\n{title}: seed {seeds[0]} vs seed {seeds[1]} (|Δ| > 0.3 points marked *; 2σ: the difference two seeds"
          f" show by sampling alone, 2·sqrt(p(1-p)(1/n1+1/n2)))")
    print(f"{'figure':<32}{'seed ' + str(seeds[0]):>9}{'seed ' + str(seeds[1]):>9}{'Δ points':>10}{'2σ':>7}")
    worst = 0.0
    for name, x, y in rows:
        if not x[1] or not y[1]:
            continue
        p1, p2 = x[0] / x[1], y[0] / y[1]
        d = 100 * (p2 - p1)
        p = (x[0] + y[0]) / (x[1] + y[1])
        two_sigma = 200 * (p * (1 - p) * (1 / x[1] + 1 / y[1])) ** 0.5
        worst = max(worst, abs(d))
        print(f"{name:<32}{fmt(x, 9)}{fmt(y, 9)}{d:>+9.2f}{two_sigma:>8.2f}{' *' if abs(d) > 0.3 else ''}")
    print(f"largest |Δ|: {worst:.2f} points")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redactor", required=True, help="pii_redact binary (JSON lines in, redacted JSON lines out)")
    ap.add_argument("--corpus", choices=["faker", "dump", "c4", "c5", "c6"], default="faker",
                    help="faker: faker_corpus.py (12 genres, 10 locales); dump: dump_corpus.py (8 other genres, 10 other locales);"
                         " c4: ../corpus4/corpus4.py (16 other genres, 17 other locales);"
                         " c5: ../corpus5/corpus5.py (18 other genres, 21 other locales);"
                         " c6: ../corpus6/corpus6.py (18 other genres, 18 locales)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--presidio-python", default="")
    ap.add_argument("--presidio-docs", type=int, default=0, help="score Presidio on the first N documents (0: all)")
    ap.add_argument("--show", type=int, default=0, help="print N missed items and N lost decoys of the first seed")
    a = ap.parse_args()
    global fc
    fc = {"dump": dump_corpus, "c4": corpus4, "c5": corpus5, "c6": corpus6}.get(a.corpus, faker_corpus)
    here = os.path.dirname(os.path.abspath(__file__))
    scores: dict[int, Score] = {}
    pscores: dict[int, Score] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in a.seeds:
            path = os.path.join(tmp, f"corpus-{seed}.jsonl")
            t0 = time.perf_counter()
            corpus = generate(seed, a.docs, path)
            gen_s = time.perf_counter() - t0
            outs, secs = run([a.redactor], path, "pii_redact")
            scores[seed] = score(corpus, outs)
            nitems = sum(len(d["items"]) for d in corpus)
            ndec = sum(len(d["decoys"]) for d in corpus)
            mb = sum(len(d["text"].encode()) for d in corpus) / 1e6
            print(f"\n=== {a.corpus} corpus, seed {seed}: {len(corpus)} documents ({mb:.1f} MB), {nitems} items, {ndec} decoys; "
                  f"{len(fc.LOCALES)} locales x {len(fc.GENRES)} genres (generated in {gen_s:.0f} s, engine {secs:.1f} s)")
            tables(scores[seed], fc.TYPES, f"openrouter-guard engine (every built-in entity on, PERSON/ADDRESS included), seed {seed}")
            if a.show:
                for m in scores[seed].misses[:a.show]:
                    print("MISS", m[0], m[1], m[2], repr(m[3][:120]))
                for lost in scores[seed].lost[:a.show]:
                    print("LOST", lost[0], lost[1], repr(lost[2]))
            if a.presidio_python and (seed == a.seeds[0] or not a.presidio_docs):
                sub = corpus[: a.presidio_docs] if a.presidio_docs else corpus
                spath = path
                if a.presidio_docs:
                    spath = os.path.join(tmp, f"presidio-{seed}.jsonl")
                    with open(spath, "w", encoding="utf-8") as f:
                        for d in sub:
                            f.write(json.dumps({"text": d["text"]}, ensure_ascii=False) + "\n")
                pouts, psecs = run([a.presidio_python, os.path.join(here, "presidio_redact.py")], spath, "presidio")
                pscores[seed] = score(sub, pouts)
                eng = score(sub, outs[: len(sub)])
                print(f"\n--- Presidio pattern recognizers, seed {seed}, {len(sub)} documents ({psecs:.0f} s); "
                      f"the types both cover:")
                print(f"{'type':<15}{'engine':>8}{'Presidio':>10}")
                for t in PRESIDIO_TYPES + [None]:
                    ts = PRESIDIO_TYPES if t is None else [t]
                    print(f"{t or 'all six':<15}{fmt(eng.recall(ts), 8)}{fmt(pscores[seed].recall(ts), 10)}")
                print(f"{'decoys kept':<15}{fmt(eng.kept(), 8)}{fmt(pscores[seed].kept(), 10)}")
                tables(pscores[seed], PRESIDIO_TYPES, f"Presidio pattern recognizers, seed {seed}")
    if len(scores) >= 2:
        compare(scores, fc.TYPES, "openrouter-guard engine")
    if len(pscores) >= 2:
        compare(pscores, PRESIDIO_TYPES, "Presidio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
