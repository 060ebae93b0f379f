"""pytest plugin (`-p no_skip`, loaded by the Makefile's e2e and deploy-check targets): a skipped test is a failure.

Every test must run from the repository plus registry packages (make setup); a skip would hide a test that no
longer runs. `xfail` is not affected; deselecting with -k is not a skip.
"""
from __future__ import annotations

from typing import Any, Iterable

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterable[None]:
    outcome: Any = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped tests fail in this project (tests/no_skip.py): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterable[None]:
    outcome: Any = yield
    rep = outcome.get_result()
    if rep.skipped:  # a whole module skipped at import (pytest.importorskip, skip(allow_module_level=True))
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped modules fail in this project (tests/no_skip.py): {reason}"
