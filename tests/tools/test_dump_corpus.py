"""bench/pii/corpus/dump_corpus.py: the third PII corpus is a function of its seed, its labels are
exact spans, its phone numbers valid for their country and its checksums right (so a miss in
`make accuracy` is the engine's, not the generator's)."""

import html
import importlib.util
import pathlib

import phonenumbers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dump_corpus", ROOT / "bench" / "pii" / "corpus" / "dump_corpus.py")
assert spec is not None and spec.loader is not None
dc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dc)

N = 2 * len(dc.LOCALES) * len(dc.GENRES)


@pytest.fixture(scope="module")
def corpus():
    return dc.corpus(11, N)


def test_same_seed_same_corpus_other_seed_other_corpus(corpus):
    assert dc.corpus(11, N) == corpus
    assert dc.document(11, N - 1) == corpus[-1]
    other = dc.corpus(12, N)
    assert sum(a["text"] == b["text"] for a, b in zip(corpus, other, strict=True)) == 0


def test_labels_are_exact_spans_and_cover_every_cell(corpus):
    for d in corpus:
        for rec in d["items"] + d["decoys"]:
            assert d["text"][rec["start"]:rec["end"]] == rec["value"], (d["genre"], rec)
        spans = sorted((r["start"], r["end"]) for r in d["items"] + d["decoys"])
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert e1 <= s2, "labels overlap"
    assert {(d["locale"], d["genre"]) for d in corpus} == {(loc, g) for loc in dc.LOCALES for g in dc.GENRES}
    big = dc.corpus(5, 800)
    assert {it["entity"] for d in big for it in d["items"]} == set(dc.TYPES)
    assert {x["kind"] for d in big for x in d["decoys"]} == set(dc.DECOY_KINDS)


def test_phone_numbers_are_valid_for_their_country(corpus):
    n = 0
    for d in corpus:
        for it in d["items"]:
            if it["entity"] == "PHONE":
                v = html.unescape(it["value"])
                v = "+" + v[2:] if v.startswith("00") else v  # the 00 prefix as dialled from Europe (Australia: 0011)
                num = phonenumbers.parse(v, dc.REGION[d["locale"]])
                assert phonenumbers.is_valid_number(num), (d["locale"], v)
                n += 1
    assert n > 50


def test_checksums_of_planted_values():
    g = dc.Gen(dc.Faker("pl_PL"), "pl_PL", dc.random.Random(3))
    for _ in range(300):
        card = g.v_credit_card().replace(" ", "").replace("-", "")
        assert dc.luhn(card[:-1]) == card[-1]
        bad = g.d_invalid_card().replace(" ", "")
        assert dc.luhn(bad[:-1]) != bad[-1]
        iban = g.v_iban().replace(" ", "")
        assert dc.iban_check(iban[:2], iban[4:]) == iban[2:4]
        assert len(iban) == 28
        bad_iban = g.d_invalid_iban()
        assert dc.iban_check(bad_iban[:2], bad_iban[4:]) != bad_iban[2:4]
        a, grp, ser = (int(x) for x in (lambda s: (s[:3], s[3:5], s[5:]))(g.v_us_ssn().replace("-", "").replace(" ", "")))
        assert a not in (0, 666) and a < 900 and grp and ser
