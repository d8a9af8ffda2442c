"""YAML is read in one place: :mod:`idms.documents`, which refuses aliases (the "billion laughs")
and bounds nesting. Any other module that loads YAML itself (``yaml.safe_load``, ``yaml.load``,
a ``Loader``, ``compose``...) would bring the bomb back, so none may; writing YAML
(``yaml.safe_dump``) is fine.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import idms

ROOT = Path(idms.__file__).parent
THE_READER = "documents.py"
# Any name of the yaml package that reads: load, safe_load, full_load, unsafe_load, load_all,
# SafeLoader, CLoader, BaseLoader, compose, compose_all, parse, scan, add_constructor...
READING = re.compile(r"load|Loader|compose|parse|scan|constructor|Constructor|Composer|Parser")


def yaml_readers(source: str, module: str) -> list[str]:
    """Where ``source`` reaches a YAML-reading name of PyYAML (or ruamel)."""
    tree = ast.parse(source)
    aliases: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("yaml", "ruamel"):
                    aliases.add(alias.asname or alias.name.split(".")[0])
                    if READING.search(alias.name):
                        found.append(f"{module}:{node.lineno}: import {alias.name}")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in ("yaml", "ruamel")
        ):
            for alias in node.names:
                if READING.search(alias.name) or READING.search(node.module):
                    found.append(f"{module}:{node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and READING.search(node.attr)
        ):
            found.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_only_the_document_reader_reads_yaml() -> None:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module != THE_READER:
            found += yaml_readers(path.read_text(encoding="utf-8"), module)
    assert found == [], "read YAML with idms.documents.read_yaml / read_document:\n" + "\n".join(
        found
    )


def test_the_check_sees_every_way_of_loading_yaml() -> None:
    source = (
        "import yaml\n"
        "import yaml as y\n"
        "from yaml import safe_load, safe_dump\n"
        "from yaml.loader import SafeLoader\n"
        "a = yaml.safe_load(text)\n"
        "b = y.load(text, Loader=y.CSafeLoader)\n"
        "c = yaml.safe_dump(a)\n"
    )
    assert yaml_readers(source, "jobs/x.py") == [
        "jobs/x.py:3: from yaml import safe_load",
        "jobs/x.py:4: from yaml.loader import SafeLoader",
        "jobs/x.py:5: yaml.safe_load",
        "jobs/x.py:6: y.load",
        "jobs/x.py:6: y.CSafeLoader",
    ]
