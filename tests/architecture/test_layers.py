"""The import graph of the package: arrows point down, and no two packages import each other.

Every ``import idms.X`` in every module counts, wherever it stands (a function-level import is a
dependency too; only imports under ``if TYPE_CHECKING:`` are left out, as they never run). Run
``python tests/architecture/test_layers.py`` to print the package graph.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import idms

ROOT = Path(idms.__file__).parent

# Bottom to top. A package may import its own layer's packages and those below it.
LAYERS: list[tuple[str, frozenset[str]]] = [
    (
        "foundation",
        frozenset(
            {
                "config",
                "errors",
                "db",
                "secrets",
                "state",
                "jsontext",
                "documents",
                "bulk",
                "gcpause",
                "revisions",
                "private",
                "paging",
                "__init__",
            }
        ),
    ),
    ("runs", frozenset({"runs"})),
    ("model", frozenset({"sources", "values", "queries"})),
    ("targets", frozenset({"targets"})),
    ("engine", frozenset({"jobs", "io"})),
    ("services", frozenset({"execution", "schedules", "notify", "demo"})),
    ("automation", frozenset({"workflows", "transfers"})),
    ("facade", frozenset({"workspace", "facade", "workflow_services"})),
    # ui: the web UI's pages, installed by the server (server -> ui, never ui -> server).
    ("interfaces", frozenset({"cli", "server", "sandbox", "ui"})),
]
LEVEL = {package: level for level, (_, packages) in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str:
    """``idms.jobs.runner`` -> ``jobs``; ``idms.config`` -> ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _is_module(name: str) -> bool:
    return (ROOT / f"{name}.py").is_file() or (ROOT / name).is_dir()


def imports() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the modules where that edge is made."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join(("idms", *path.relative_to(ROOT).with_suffix("").parts))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "idms":  # a module of the package, or a name of __init__
                    names = [
                        f"idms.{a.name}" if _is_module(a.name) else "idms.__init__"
                        for a in node.names
                    ]
            for name in names:
                if name == "idms" or name.startswith("idms."):
                    source, target = package_of(module), package_of(name)
                    if source != target:
                        edges[(source, target)].append(module)
    return edges


def test_every_package_has_a_layer() -> None:
    packages = {
        package_of(".".join(("idms", *p.relative_to(ROOT).with_suffix("").parts)))
        for p in ROOT.rglob("*.py")
    }
    assert sorted(packages - set(LEVEL)) == []


def test_arrows_point_down() -> None:
    upward = {
        f"{a} ({LAYERS[LEVEL[a]][0]}) -> {b} ({LAYERS[LEVEL[b]][0]}) in {sorted(set(where))}"
        for (a, b), where in imports().items()
        if LEVEL.get(b, -1) > LEVEL.get(a, -1)
    }
    assert sorted(upward) == []


def test_no_two_packages_depend_on_each_other() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in imports():
        graph[a].add(b)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert [" -> ".join(c) for c in cycles] == []


if __name__ == "__main__":
    for (a, b), where in sorted(imports().items()):
        print(f"{a:>12} -> {b:<12} {len(where)} import(s)", file=sys.stdout)
