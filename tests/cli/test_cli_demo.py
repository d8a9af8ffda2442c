"""idms demo: fills an empty store once, with a summary and how to browse it."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]


def test_demo_fills_an_empty_store_once(cli: Invoke) -> None:
    result = cli("demo", "--contacts", "200", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "Contacts" in result.stdout
    assert "200" in result.stdout
    assert "idms records Contact" in result.stdout  # how to browse it
    assert "\x1b[" not in result.stdout  # no progress bar or colours when piped

    records = cli("records", "Contact", "--limit", "5", "--json")
    assert records.exit_code == 0, records.output
    assert len(json.loads(records.stdout)) == 5

    again = cli("demo")
    assert again.exit_code == 2
    assert again.stderr.strip()
