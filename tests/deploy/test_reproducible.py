"""The .wasm is reproducible: a clean build of the same sources in another directory gives the same bytes, and no
machine path (the checkout, $CARGO_HOME) is inside it (issue 13 item 11).

One extra build only: the checkout's own target/ (built by `make build`, which `make deploy-check` runs first) is
the first build; the second is a fresh copy of the sources at another path, built from nothing with `make build`
(same compiler on the same machine; the Makefile remaps $CARGO_HOME and the checkout path).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from deploy_checks import ROOT

WASM_REL = Path("target") / "openrouter_guard.wasm"
BUILD_TIMEOUT = 1800  # a clean release build on a loaded 2-core machine


def source_files() -> list[Path]:
    """Tracked and untracked-but-not-ignored files of the checkout (what a clone plus local edits holds)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                         check=True, timeout=60).stdout
    return [Path(p) for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def test_a_clean_build_elsewhere_gives_the_same_wasm_and_no_machine_path(tmp_path: Path) -> None:
    first = (ROOT / WASM_REL).read_bytes()
    raw = (ROOT / "target" / "wasm32-wasip1" / "release" / "openrouter_guard.wasm").read_bytes()
    assert len(first) < len(raw), "the shipped .wasm is not rustc's output after wasm-opt (tools/wasm_opt.sh)"
    copy = tmp_path / "elsewhere" / "checkout"
    for rel in source_files():
        if rel.parts[0] in ("tests", "docs", "deploy") or rel.suffix in (".md",):
            continue  # not inputs of the .wasm; keeps the copy small
        if rel.parts[0] in ("bench", "soak") and not (rel.name == "Cargo.toml" or rel.suffix == ".rs"):
            continue  # only the workspace members' manifests and sources: cargo reads every member's manifest
        dst = copy / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS")}
    # The pinned wasm-opt the first build used (tools/wasm_opt.sh), not a second npm download.
    env["WASM_OPT"] = str(ROOT / ".cache" / "binaryen" / "node_modules" / ".bin" / "wasm-opt")
    res = subprocess.run(["make", "--no-print-directory", "build"], cwd=copy, env=env, capture_output=True, text=True,
                         timeout=BUILD_TIMEOUT, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr[-3000:]
    second = (copy / WASM_REL).read_bytes()
    assert second == first, "two clean builds of the same sources differ (toolchain, flags or embedded paths)"
    cargo_home = os.environ.get("CARGO_HOME") or str(Path.home() / ".cargo")
    for path in (str(ROOT), str(copy), cargo_home, str(Path.home())):
        assert path.encode() not in first, f"the .wasm embeds the machine path {path}"
