"""The generated detector tables are reproducible from their sources:
src/core/pii/detectors/phone_plan.rs from the pinned `phonenumbers` package (libphonenumber
metadata) and src/core/pii/fold_table.rs from Python's Unicode database."""

import pathlib
import re
import subprocess
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_phone_plan_regenerates_byte_for_byte():
    r = subprocess.run([sys.executable, str(ROOT / "tools/gen_phone_plan.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_phone_plan_names_its_source_version_and_licence():
    import phonenumbers

    head = (ROOT / "src/core/pii/detectors/phone_plan.rs").read_text().splitlines()[:4]
    text = "\n".join(head)
    assert f"`phonenumbers` {phonenumbers.__version__}" in text
    assert "Apache License 2.0" in text


def test_the_fold_table_regenerates_or_holds_under_this_unicode_version():
    table = ROOT / "src/core/pii/fold_table.rs"
    text = table.read_text()
    version = re.search(r"Unicode Character Database (\S+) ", text).group(1)
    if version == unicodedata.unidata_version:
        r = subprocess.run([sys.executable, str(ROOT / "tools/gen_fold_table.py"), "--check"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    # Under any Unicode version every committed entry still holds (digit values never change).
    for lo, hi, first in re.findall(r"\((0x[0-9a-f]+), (0x[0-9a-f]+), (\d+)\),", text):
        for k, cp in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
            ch = chr(cp)
            value = unicodedata.decimal(ch, None)
            if value is None:
                value = int(unicodedata.normalize("NFKC", ch))
            assert value == int(first) + k, hex(cp)
    for cp, two in re.findall(r'\((0x[0-9a-f]+), "(\d\d)"\)', text):
        assert unicodedata.normalize("NFKC", chr(int(cp, 16))) == two, cp
