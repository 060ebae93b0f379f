"""The ABI tier runs the built .wasm: every test needs it, so a missing one fails the session once."""
from __future__ import annotations

import pytest

from fake_host import WASM


@pytest.fixture(autouse=True, scope="session")
def built_wasm() -> None:
    if not WASM.is_file():
        pytest.fail(f"{WASM} is missing: run `make build`", pytrace=False)
