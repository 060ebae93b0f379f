"""bench/pii/corpus/faker_corpus.py: the Faker corpus is a function of its seed, and its labels are
exact (every span's text is its value), so `make accuracy` figures can be reproduced and trusted."""

import importlib.util
import pathlib

import phonenumbers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("faker_corpus", ROOT / "bench" / "pii" / "corpus" / "faker_corpus.py")
assert spec is not None and spec.loader is not None
fc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fc)

N = 2 * len(fc.LOCALES) * len(fc.GENRES)  # every locale x genre cell twice


@pytest.fixture(scope="module")
def corpus():
    return fc.corpus(11, N)


def test_same_seed_same_corpus(corpus):
    assert fc.corpus(11, N) == corpus
    # A document does not depend on the documents generated before it.
    assert fc.document(11, N - 1) == corpus[-1]


def test_other_seed_other_corpus(corpus):
    other = fc.corpus(12, N)
    assert [d["text"] for d in other] != [d["text"] for d in corpus]
    same = sum(a["text"] == b["text"] for a, b in zip(corpus, other, strict=True))
    assert same == 0


def test_labels_are_exact_spans(corpus):
    for d in corpus:
        for rec in d["items"] + d["decoys"]:
            assert d["text"][rec["start"]:rec["end"]] == rec["value"], (d["genre"], rec)
            assert rec["value"], rec
        spans = sorted((r["start"], r["end"]) for r in d["items"] + d["decoys"])
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert e1 <= s2, "labels overlap"
        assert all(it["entity"] in fc.TYPES for it in d["items"])
        assert all(dc["kind"] in fc.DECOY_KINDS for dc in d["decoys"])


def test_every_cell_is_covered(corpus):
    assert {(d["locale"], d["genre"]) for d in corpus} == {(l, g) for l in fc.LOCALES for g in fc.GENRES}
    assert len(fc.LOCALES) >= 10 and len(fc.GENRES) >= 8
    big = fc.corpus(5, 1200)
    assert {it["entity"] for d in big for it in d["items"]} == set(fc.TYPES)
    assert {dc["kind"] for d in big for dc in d["decoys"]} == set(fc.DECOY_KINDS)


def test_phone_numbers_are_valid_for_their_country(corpus):
    n = 0
    for d in corpus:
        for it in d["items"]:
            # (a web log writes spaces in a query string as "+")
            if it["entity"] == "PHONE" and d["genre"] != "web_log":
                num = phonenumbers.parse(it["value"], fc.REGION[d["locale"]])
                assert phonenumbers.is_valid_number(num), (d["locale"], it["value"])
                n += 1
    assert n > 20


def test_checksums_of_planted_values():
    g = fc.Gen(fc._fakers(), "de_DE", fc.random.Random(3))
    for _ in range(200):
        card = g.v_credit_card().replace(" ", "").replace("-", "")
        assert fc._luhn_digit(card[:-1]) == card[-1]
        bad = g.d_invalid_card().replace(" ", "")
        assert fc._luhn_digit(bad[:-1]) != bad[-1]
        iban = g.v_iban().replace(" ", "").upper()
        assert fc._iban_check(iban[:2], iban[4:]) == iban[2:4]
        bad_iban = g.d_invalid_iban().replace(" ", "")
        assert fc._iban_check(bad_iban[:2], bad_iban[4:]) != bad_iban[2:4]
