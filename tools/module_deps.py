"""Dependencies between the crate's modules run one way: fails on any cycle among sibling modules.

Reads the module tree from `src/lib.rs` (`mod x;`, `#[path = ...] mod x;`, inline `mod x { ... }`) and every
path that names a module: `use` trees and paths written in code (`crate::core::json::parse(..)`,
`super::types::Profile`). An edge from module A to module B counts between the two children of their closest
common ancestor (`core::pii::custom -> core::config::error` is the edge `pii -> config` inside `core`);
a module using its own ancestor or descendant is not an edge, nor is a use inside a `#[cfg(test)]`
module (it is not built into the filter, and no module imports it: it cannot be on a cycle). A cycle is a strongly connected component of
two or more siblings: each module it lists imports the next, and the last imports the first.

Usage: python3 tools/module_deps.py [SRC_DIR]   (exit 1 and the cycles with one use each, on stderr)
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Module = tuple[str, ...]

_STRIP = re.compile(
    r"""//[^\n]*                      # line comment (doc comments too: intra-doc links are not uses)
      | /\*.*?\*/                     # block comment (not nested: the crate has none)
      | r(\#*)".*?"\1                 # raw string
      | b?"(?:\\.|[^"\\])*"           # string
      | b?'(?:\\.|[^'\\])'            # char literal (a lifetime has no closing quote)
    """,
    re.S | re.X,
)
_MOD = re.compile(r'((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?\bmod\s+(\w+)\s*([;{])')
_MACRO_MOD = re.compile(r"macro_rules!\s*(\w+)\s*\{[^}]*?\bmod\s+\$\w+\s*;", re.S)
_CFG_TEST = re.compile(r"#\[cfg\(test\)\]")
_PATH_ATTR = re.compile(r'#\[path\s*=\s*"([^"]*)"\]')
_USE = re.compile(r"\buse\s+([^;]+);")
_PATH = re.compile(r"\b(?:crate|super|self)(?:\s*::\s*\w+)+")


def strip(text: str) -> str:
    """Comments and the inside of literals blanked out, offsets and lines kept (a string keeps its quotes)."""
    def blank(m: re.Match[str]) -> str:
        body = re.sub(r"[^\n]", " ", m.group(0))
        return '"' + body[1:-1] + '"' if m.group(0).endswith('"') else body
    return _STRIP.sub(blank, text)


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, self}}` -> [`a::b`, `a::c::d`, `a::c`]."""
    tree = re.sub(r"\s+", "", tree)
    depth, start, parts = 0, 0, []
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"\bas\w+$", "", tree)]
    prefix = tree[:brace]
    inner = tree[brace + 1:tree.rfind("}")]
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    out = []
    for part in filter(None, parts):
        for sub in expand_use(part):
            out.append(prefix.rstrip(":") if sub == "self" else prefix + sub)
    return out


@dataclass
class Crate:
    modules: set[Module] = field(default_factory=set)
    # Modules declared `#[cfg(test)]`: not part of the built crate, and imported by nobody.
    tests: set[Module] = field(default_factory=set)
    # The files the module tree reaches (every .rs file under src/ must be one: else a module was missed).
    files: set[Path] = field(default_factory=set)
    # (from, to) -> where: the first file:line that makes the edge.
    uses: dict[tuple[Module, Module], str] = field(default_factory=dict)


def _resolve(path: str, here: Module, modules: set[Module]) -> Module | None:
    """The deepest known module a path names, or None for paths outside the crate (std, serde, ...)."""
    segs = path.replace(" ", "").split("::")
    if segs[0] == "crate":
        base: Module = ()
        segs = segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    mod = base
    for seg in segs:
        if mod + (seg,) not in modules:
            break
        mod = mod + (seg,)
    return mod


def read_crate(src: Path) -> Crate:
    crate = Crate()
    files: list[tuple[Path, Module, str]] = []

    def visit(file: Path, module: Module) -> None:
        raw = file.read_text()
        text = strip(raw)
        files.append((file, module, text))
        scope_at, inline, inline_tests = _scopes(text, module)
        crate.modules.update({module} | inline)
        crate.tests.update(inline_tests)
        own_dir = file.parent if file.name in ("lib.rs", "mod.rs") else file.parent / file.stem
        # (offset, name, where its attributes are): `mod x;` declarations, and the names a local
        # `macro_rules!` whose body declares `mod $name;` is invoked with (`that!(a, b, c);`).
        decls = [(m.start(), m.group(2), m.span(1)) for m in _MOD.finditer(text) if m.group(3) == ";"]
        for mac in _MACRO_MOD.finditer(text):
            for call in re.finditer(rf"\b{mac.group(1)}!\(([\w\s,]*)\)", text):
                decls += [(call.start(), n.strip(), (0, 0)) for n in call.group(1).split(",") if n.strip()]
        for start, name, (a0, a1) in decls:
            attr = _PATH_ATTR.search(text, a0, a1)
            if attr is not None:
                target = file.parent / raw[attr.start(1):attr.end(1)]
            else:
                target = own_dir / f"{name}.rs"
                if not target.exists():
                    target = own_dir / name / "mod.rs"
            if target.resolve().is_relative_to(src.resolve()):  # not bench/pii/gen.rs (accuracy tests)
                child = scope_at(start) + (name,)
                if _CFG_TEST.search(text, a0, a1):
                    crate.tests.add(child)
                crate.files.add(target.resolve())
                visit(target, child)

    crate.files.add((src / "lib.rs").resolve())
    visit(src / "lib.rs", ())
    for file, module, text in files:
        scopes = _scopes(text, module)[0]
        if any(module[:k] in crate.tests for k in range(1, len(module) + 1)):
            continue  # a test module reaches up to what it tests through its callers
        for m in list(_USE.finditer(text)):
            for path in expand_use(m.group(1)):
                _edge(crate, path, scopes(m.start()), file, text, m.start())
        for m in _PATH.finditer(text):
            _edge(crate, m.group(0), scopes(m.start()), file, text, m.start())
    return crate


def _scopes(text: str, module: Module) -> tuple[Callable[[int], Module], set[Module], set[Module]]:
    """A function offset -> the (inline) module the offset is in, the inline modules, and those of them
    declared `#[cfg(test)]`."""
    spans: list[tuple[int, int, Module]] = []
    stack: list[tuple[int, Module]] = []
    depth = 0
    decls = [m for m in _MOD.finditer(text) if m.group(3) == "{"]
    pending: list[tuple[int, str]] = [(m.end() - 1, m.group(2)) for m in decls]
    test_at = {m.end() - 1 for m in decls if _CFG_TEST.search(text, m.start(1), m.end(1))}
    tests: set[Module] = set()
    scope = module
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
            if pending and pending[0][0] == i:
                stack.append((depth, scope))
                scope = scope + (pending.pop(0)[1],)
                if i in test_at:
                    tests.add(scope)
                spans.append((i, -1, scope))
        elif ch == "}":
            if stack and stack[-1][0] == depth:
                for k in range(len(spans) - 1, -1, -1):
                    if spans[k][1] == -1 and spans[k][2] == scope:
                        spans[k] = (spans[k][0], i, scope)
                        break
                scope = stack.pop()[1]
            depth -= 1

    def at(offset: int) -> Module:
        best = module
        for start, end, mod in spans:
            if start <= offset <= (end if end >= 0 else len(text)) and len(mod) > len(best):
                best = mod
        return best
    return at, {mod for _, _, mod in spans}, tests


def _edge(crate: Crate, path: str, here: Module, file: Path, text: str, offset: int) -> None:
    to = _resolve(path, here, crate.modules)
    if to is None or any(here[:k] in crate.tests for k in range(1, len(here) + 1)):
        return
    n = 0
    while n < min(len(here), len(to)) and here[n] == to[n]:
        n += 1
    if n == len(here) or n == len(to):
        return  # an ancestor or a descendant
    a, b = here[:n + 1], to[:n + 1]
    line = text.count("\n", 0, offset) + 1
    crate.uses.setdefault((a, b), f"{file}:{line}: {''.join(path.split())}")


def cycles(crate: Crate) -> list[list[Module]]:
    """Strongly connected components of two or more modules (Tarjan), each in an order that walks the cycle."""
    graph: dict[Module, list[Module]] = {}
    for a, b in crate.uses:
        graph.setdefault(a, []).append(b)
    index: dict[Module, int] = {}
    low: dict[Module, int] = {}
    stack: list[Module] = []
    on: set[Module] = set()
    out: list[list[Module]] = []

    def connect(v: Module) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def name(m: Module) -> str:
    return "::".join(("crate",) + m)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    crate = read_crate(src)
    found = cycles(crate)
    missed = sorted(str(f) for f in src.resolve().rglob("*.rs") if f not in crate.files)
    for f in missed:
        print(f"not reached from src/lib.rs (a module declared in a way this check does not read?): {f}", file=sys.stderr)
    for comp in found:
        print(f"module cycle: {', '.join(name(m) for m in comp)}", file=sys.stderr)
        members = set(comp)
        for (a, b), where in sorted(crate.uses.items()):
            if a in members and b in members:
                print(f"  {name(a)} -> {name(b)}  ({where})", file=sys.stderr)
    print(f"{len(crate.modules)} modules ({len(crate.tests)} test modules), {len(crate.uses)} sibling edges, "
          f"{len(found)} cycles")
    return 1 if found or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
