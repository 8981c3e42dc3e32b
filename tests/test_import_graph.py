"""No import cycle between dcbench modules, counting function-local imports and the
``"dcbench.module:attribute"`` strings that registries import lazily."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAZY = re.compile(r"""["'](dcbench(?:\.\w+)+)(?::\w+)?["']""")


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the dcbench modules it imports (anywhere in the file)."""
    mods = {}
    for path in (root / "dcbench").rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        text = path.read_text()
        pkg = m if path.name == "__init__.py" else m.rpartition(".")[0]
        names: list[str] = LAZY.findall(text)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names += [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                          for a in node.names]
        for n in names:
            target = resolve(n) if n.startswith("dcbench") else None
            if target and target != m:
                graph[m].add(target)
                # importing a.b.c runs a.b's __init__ (not for a's own submodules)
                parts = target.split(".")
                for i in range(2, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent in graph and parent != m and not m.startswith(parent + "."):
                        graph[m].add(parent)
    return graph


def find_cycles(root: Path) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert find_cycles(ROOT) == []


def test_a_cycle_through_a_local_import_and_a_lazy_string_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "dcbench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from dcbench import b\n")
    (pkg / "b.py").write_text("RUNNER = 'dcbench.a:f'\n")
    (pkg / "c.py").write_text("from dcbench import a\n")
    assert find_cycles(tmp_path) == [["dcbench.a", "dcbench.b"]]
