"""Every table idms writes goes through ``idms.io.writer.write_table``, which escapes formulas.

A CSV or XLSX file written by any other code could hand a spreadsheet ``=HYPERLINK(…)`` as a
formula (issue 14, item 6: the failed-rows file did). So the csv module's writers and XlsxWriter
(or openpyxl's ``Workbook``) are used in the format modules only, and those format modules'
writers are called by ``idms.io.writer`` only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import idms

ROOT = Path(idms.__file__).parent

# Where each writing API may be used (module paths relative to the package).
ALLOWED: dict[str, frozenset[str]] = {
    "csv.writer": frozenset({"io/csv.py"}),
    "csv.DictWriter": frozenset({"io/csv.py"}),
    "xlsxwriter": frozenset({"io/xlsx.py"}),
    "openpyxl.Workbook": frozenset(),
    "write_csv": frozenset({"io/csv.py", "io/writer.py"}),
    "write_xlsx": frozenset({"io/xlsx.py", "io/writer.py"}),
}


def _uses(tree: ast.AST) -> set[str]:
    """The writing APIs a module imports or touches (``csv.writer``, ``from csv import writer``,
    ``import xlsxwriter``, ``write_csv`` ...)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "xlsxwriter":
                    found.add("xlsxwriter")
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module.split(".")[0]
            for alias in node.names:
                if base == "xlsxwriter":
                    found.add("xlsxwriter")
                elif base == "csv" and alias.name in ("writer", "DictWriter"):
                    found.add(f"csv.{alias.name}")
                elif base == "openpyxl" and alias.name == "Workbook":
                    found.add("openpyxl.Workbook")
                elif alias.name in ("write_csv", "write_xlsx"):
                    found.add(alias.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            dotted = f"{node.value.id}.{node.attr}"
            if dotted in ("csv.writer", "csv.DictWriter", "openpyxl.Workbook"):
                found.add(dotted)
        elif isinstance(node, ast.Name) and node.id in ("write_csv", "write_xlsx"):
            found.add(node.id)
    return found


def violations() -> list[str]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for used in sorted(_uses(ast.parse(path.read_text(encoding="utf-8")))):
            if where not in ALLOWED[used]:
                out.append(f"{where} uses {used}: write tables with idms.io.writer.write_table")
    return out


def test_tables_are_written_only_through_write_table() -> None:
    assert violations() == []


def test_the_check_sees_each_way_of_writing() -> None:
    samples = {
        "import csv\ncsv.writer(f)": "csv.writer",
        "from csv import DictWriter": "csv.DictWriter",
        "import xlsxwriter": "xlsxwriter",
        "from openpyxl import Workbook": "openpyxl.Workbook",
        "import openpyxl\nopenpyxl.Workbook()": "openpyxl.Workbook",
        "from idms.io.csv import write_csv": "write_csv",
    }
    for source, expected in samples.items():
        assert expected in _uses(ast.parse(source)), source
    assert _uses(ast.parse("import csv\ncsv.reader(f)")) == set()
