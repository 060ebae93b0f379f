"""tools/module_deps.py: the crate's modules import each other one way, and the check sees a cycle when there is one."""
from __future__ import annotations

from pathlib import Path

import module_deps

ROOT = Path(__file__).resolve().parents[2]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_crate_has_no_module_cycle() -> None:
    crate = module_deps.read_crate(ROOT / "src")
    assert len(crate.modules) > 100, "the module tree was not read"
    assert {f for f in (ROOT / "src").resolve().rglob("*.rs")} - crate.files == set(), "files the tree misses"
    assert module_deps.cycles(crate) == []


def test_a_cycle_between_siblings_is_found_through_use_trees_and_paths(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "lib.rs": "pub mod core;\n",
        "core/mod.rs": "pub mod a;\nmacro_rules! m { ($($n:ident),*) => { $(pub mod $n;)* }; }\nm!(b, c);\n",
        "core/a.rs": "use crate::core::{b::{self, X}, c};\n// crate::core::c in a comment is no use\n",
        "core/b.rs": "pub struct X;\nfn f() { let s = \"crate::core::a\"; super::c::g(); }\n",
        "core/c.rs": "pub fn g() {}\n#[cfg(test)]\nmod tests {\n    use crate::core::a;\n}\n",
    })
    crate = module_deps.read_crate(src)
    assert module_deps.cycles(crate) == []  # a -> b -> c; c's tests may reach a
    (src / "core/c.rs").write_text("pub fn g() { super::a::h() }\n")
    assert module_deps.cycles(module_deps.read_crate(src)) == [[("core", "a"), ("core", "b"), ("core", "c")]]


def test_nested_modules_count_between_the_children_of_their_common_ancestor(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "lib.rs": "mod x;\nmod y;\n",
        "x/mod.rs": "mod deep;\n",
        "x/deep.rs": "use crate::y::Thing;\n",
        "y.rs": "pub struct Thing;\n#[path = \"y_inner.rs\"]\nmod inner;\n",
        "y_inner.rs": "use super::super::x;\n",
    })
    crate = module_deps.read_crate(src)
    assert (("x",), ("y",)) in crate.uses and (("y",), ("x",)) in crate.uses
    assert module_deps.cycles(crate) == [[("x",), ("y",)]]
