"""What the command-line tests of jobs, runs and templates share: files, flags, helpers."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

Invoke = Callable[..., Result]

PEOPLE = [
    {"First": "Ada", "Last": "Lovelace", "E-mail": "ada@example.org"},
    {"First": "Alan", "Last": "Turing", "E-mail": "alan@example.org"},
    {"First": "Grace", "Last": "Hopper", "E-mail": "grace@example.org"},
]
CONTACT_FLAGS = (
    "--source",
    "Contact",
    "--action",
    "insert-update",
    "--map",
    "E-mail=Email",
    "--match",
    "Email",
    "--map",
    "Last=LastName",
    "--map",
    "First=FirstName",
)
COUNT_KEYS = ("inserted", "updated", "unchanged", "deleted", "skipped", "errors")
JOB = """\
name: People by e-mail
input: people.csv
source: Contact
action: insert-update
mappings:
  - {field: Email, column: E-mail, match: true}
  - {field: Last Name, column: Last}
  - {field: first name, column: First}
"""


def write_csv(path: Path, rows: list[dict[str, str]], *, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_json(result: Result, code: int = 0) -> dict[str, Any]:
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)  # stdout holds the JSON object and nothing else
    assert isinstance(data, dict)
    return data


def records(cli: Invoke, source: str, *where: str) -> list[dict[str, Any]]:
    args = [a for w in where for a in ("--where", w)]
    result = cli("records", source, *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data
