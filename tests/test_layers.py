"""The package layout as a contract: one room (subpackage) per stage, imports only run downwards.

The rooms, lowest first (docs/architecture.md draws them): a module may import modules of its own
room and of rooms below it, never above. Every import counts, those inside functions included
(a lazy import is still a dependency); only ``if TYPE_CHECKING:`` blocks are left out. On top of the
layering, no module may take part in an import circle, not even within its room.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ecmsim"

#: Rooms from the bottom up. The package root (``ecmsim``, ``ecmsim.__main__``, the public
#: ``ecmsim.results`` and ``ecmsim.api``: ``ecmsim.run(...)``) sits above all of them.
ROOMS = ("core", "materials", "fbg", "geometry", "mesh", "mechanics", "electrochem", "fibre", "scenario",
         "io", "run", "studies", "cli")


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports (``from a import b`` counts as ``a.b`` when that
    is a module, else as ``a``; a parent package imported implicitly does not count)."""
    files = module_files(package)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _type_checking_nodes(tree)
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                        if node.level else node.module or "")
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in files else base)
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def room(module: str) -> int:
    """The rank of a module's room; the package root ranks above every room."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ROOMS:
        return ROOMS.index(parts[1])
    return len(ROOMS)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        for target in targets:
            if room(target) > room(module) or (room(target) == len(ROOMS) and room(module) < len(ROOMS)):
                bad.append(f"{module} -> {target}")
    return sorted(bad)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_sits_in_a_room():
    loose = [m for m in module_files() if room(m) == len(ROOMS)
             and m not in ("ecmsim", "ecmsim.__main__", "ecmsim.results", "ecmsim.api")]
    assert not loose, f"modules outside the rooms of docs/architecture.md: {loose}"


def test_no_upward_imports():
    bad = upward_imports(import_graph())
    assert not bad, "imports that run up the layers:\n  " + "\n  ".join(bad)


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "import circles:\n  " + "\n  ".join(" <-> ".join(c) for c in found)


def test_the_checks_find_what_they_look_for(tmp_path):
    """The graph, the layering and the circle search on a small package made to break them."""
    pkg = tmp_path / "ecmsim"
    for folder in ("core", "mesh", "run"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "errors.py").write_text("def f():\n    from ecmsim.mesh import gmsh_model\n")
    (pkg / "mesh" / "gmsh_model.py").write_text("from ecmsim.mesh import tags\nfrom ecmsim.core import errors\n")
    (pkg / "mesh" / "tags.py").write_text("from . import gmsh_model\nfrom typing import TYPE_CHECKING\n"
                                          "if TYPE_CHECKING:\n    from ecmsim.run import loop\n")
    (pkg / "run" / "loop.py").write_text("import ecmsim.mesh.tags\n")
    graph = import_graph(pkg)
    assert graph["ecmsim.mesh.tags"] == {"ecmsim.mesh.gmsh_model"}          # TYPE_CHECKING left out
    assert graph["ecmsim.run.loop"] == {"ecmsim.mesh.tags"}
    assert upward_imports(graph) == ["ecmsim.core.errors -> ecmsim.mesh.gmsh_model"]
    assert sorted(map(tuple, circles(graph))) == [("ecmsim.core.errors", "ecmsim.mesh.gmsh_model",
                                                   "ecmsim.mesh.tags")]


def test_modules_stay_readable(limit=600):
    """No module past about 600 lines unless it is one cohesive thing, named here with the reason."""
    cohesive: dict[str, str] = {}
    long = {m: n for m, p in module_files().items() if (n := len(p.read_text().splitlines())) > limit}
    unexplained = sorted(set(long) - set(cohesive))
    assert not unexplained, f"modules over {limit} lines: {[(m, long[m]) for m in unexplained]}"
