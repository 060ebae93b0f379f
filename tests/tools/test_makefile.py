"""The Makefile's own rules: every target is phony (none makes a file) and `make help` lists each one."""
from __future__ import annotations

import re
import tomllib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def targets() -> set[str]:
    """Names of the rules (`name: prerequisites`), not variable assignments (`:=`) nor special targets."""
    return {m.group(1) for m in re.finditer(r"^([a-z][a-z0-9-]*):(?!=)", MAKEFILE, re.M)}


def phony() -> set[str]:
    text = MAKEFILE.replace("\\\n", " ")
    return {name for m in re.finditer(r"^\.PHONY:(.*)$", text, re.M) for name in m.group(1).split()}


def test_every_target_is_phony() -> None:
    assert targets(), "no targets found: the pattern is wrong"
    assert targets() - phony() == set(), "targets missing from .PHONY"
    assert phony() - targets() == set(), ".PHONY names targets that do not exist"


def test_help_lists_every_target() -> None:
    out = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True,
                         check=True).stdout
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("  make ")]
    assert sorted(listed) == sorted(targets()), out


def test_one_list_of_import_roots_and_no_file_edits_sys_path() -> None:
    """The Makefile's PY_IMPORT_ROOTS (exported as PYTHONPATH) and pyproject.toml's pytest `pythonpath` are one list,
    and no Python file of the repository edits sys.path itself."""
    roots = re.search(r"^PY_IMPORT_ROOTS\s*:=(.*)$", MAKEFILE, re.M)
    assert roots, "PY_IMPORT_ROOTS missing from the Makefile"
    pythonpath = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["pythonpath"]
    assert roots.group(1).split() == pythonpath
    assert all((ROOT / d).is_dir() for d in pythonpath), pythonpath
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py"], cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=60).stdout.split()
    editing = [f for f in files if (ROOT / f).is_file() and re.search(r"sys\.path\.(insert|append|extend)|sys\.path\s*\[",
                                                                      (ROOT / f).read_text(errors="replace"))]
    assert editing == [], f"files that edit sys.path (use PY_IMPORT_ROOTS): {editing}"
