"""Every Liquid template idms renders is bounded: only ``idms.values.liquid`` imports ``liquid``,
so no module can make an environment (or a template) without the limits."""

from __future__ import annotations

import ast
from pathlib import Path

import idms

ROOT = Path(idms.__file__).parent
THE_PLACE = ROOT / "values" / "liquid.py"


def liquid_importers() -> list[str]:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "liquid" or n.startswith("liquid.") for n in names):
                found.append(str(path.relative_to(ROOT)))
                break
    return found


def test_only_the_bounded_module_imports_liquid() -> None:
    assert liquid_importers() == [str(THE_PLACE.relative_to(ROOT))]
