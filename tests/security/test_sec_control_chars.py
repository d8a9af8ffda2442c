"""No message carries a terminal escape (issue 14, item 12).

A header such as ``"\\x1b[31mEmail"`` or ``"\\x1b]0;pwned\\x07"`` (or a value in a request) reaches
people in messages: on the command line, in the API's error JSON, in the records a table shows.
Each shows the escape as text (``\\x1b``); none carries ESC, BEL, CR or NUL themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from idms.cli.app import app
from idms.config import Settings
from idms.errors import IdmsError, InvalidInputError, printable
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.workspace import Workspace

RAW = ("\x1b", "\x07", "\r", "\x00", "\x9b", "\u202e")
HEADERS = ["E-mail", "\x1b[31mLast", "\x1b]0;pwned\x07First", '"Ti\rtle"', "No\x00te"]


def _no_raw_controls(text: str) -> None:
    found = [repr(c) for c in RAW if c in text]
    assert not found, f"raw {', '.join(found)} in {text!r}"


def _hostile_csv(path: Path) -> Path:
    rows = [HEADERS, ["ada@example.org", "Love\x1b[2Jlace", "A\x1b]0;x\x07da", "Dr", "n"]]
    path.write_bytes(("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8"))
    return path


def test_printable_shows_every_control_character() -> None:
    assert printable("\x1b[31mEmail\x07\r\n\t\x00\x7f\x9b\u202eX") == (
        "\\x1b[31mEmail\\x07\\r\\n\\t\\x00\\x7f\\x9b\\u202eX"
    )
    assert printable("two\nlines\x1b", lines=True) == "two\nlines\\x1b"
    assert printable("Zoë – 東京 \\ C:\\path") == "Zoë – 東京 \\ C:\\path"


def test_every_error_is_printable_whoever_built_it() -> None:
    error = InvalidInputError("column '\x1b]0;t\x07' is wrong\n  - next", hint="\x1b[2J")
    assert error.message == "column '\\x1b]0;t\\x07' is wrong\n  - next"
    assert error.hint == "\\x1b[2J"
    assert str(IdmsError("\r\x00")) == "\\r\\x00"


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


def _outputs(result: Result) -> str:
    return result.stdout_bytes.decode("utf-8") + result.stderr_bytes.decode("utf-8")


def test_a_hostile_header_is_escaped_in_command_line_messages(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _hostile_csv(tmp_path / "people.csv")
    result = cli.invoke(
        app,
        [
            "import",
            str(path),
            "--source",
            "Contact",
            "--action",
            "insert",
            "--map",
            "Nope=Email",
            "--encoding",
            "utf-8",
        ],
    )
    assert result.exit_code == 2, _outputs(result)
    shown = _outputs(result)
    _no_raw_controls(shown)
    assert "\\x1b[31mLast" in shown
    assert "\\x1b]0;pwned\\x07First" in shown
    assert "Ti\\rtle" in shown
    assert "No\\x00te" in shown


def test_hostile_values_are_escaped_in_tables_and_tab_separated_output(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _hostile_csv(tmp_path / "people.csv")
    imported = cli.invoke(
        app,
        [
            "import",
            str(path),
            "--source",
            "Contact",
            "--action",
            "insert",
            "--encoding",
            "utf-8",
            "--map",
            "E-mail=Email",
            "--map",
            "\x1b[31mLast=LastName",
            "--map",
            "\x1b]0;pwned\x07First=FirstName",
        ],
    )
    assert imported.exit_code == 0, _outputs(imported)
    _no_raw_controls(_outputs(imported))

    listed = cli.invoke(app, ["records", "Contact"])
    assert listed.exit_code == 0, _outputs(listed)
    _no_raw_controls(_outputs(listed))
    assert "Love\\x1b[2Jlace" in listed.stdout

    runs = cli.invoke(app, ["runs"])
    assert runs.exit_code == 0, _outputs(runs)
    _no_raw_controls(_outputs(runs))


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    # The test's folder is an input folder: a job sent over HTTP may read its files.
    settings = Settings(
        workspace=tmp_path / "ws-api", lease_seconds=2, serve_input_folders=(tmp_path.resolve(),)
    )
    workspace = Workspace.open(settings)
    try:
        _, token = TokenStore(workspace.suite).create("tests")
        with running_sandbox(create_server_app(workspace, None)) as base:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                yield client
    finally:
        workspace.close()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_a_hostile_value_in_a_request_is_escaped_in_the_error_json(api: httpx.Client) -> None:
    job = {
        "source": "Contact\x1b[2J",
        "action": "insert",
        "mappings": [{"field": "Email\x1b]0;pwned\x07", "value": "x"}],
    }
    answer = api.put("/api/v1/templates/t%0D%1B", json=job)
    assert answer.status_code == 400, answer.text
    assert "\\u001b" not in answer.text
    for text in _strings(answer.json()):
        _no_raw_controls(text)
    assert any("Contact\\x1b[2J" in text for text in _strings(answer.json())), answer.text


def test_a_hostile_header_is_escaped_in_the_error_json(api: httpx.Client, tmp_path: Path) -> None:
    path = _hostile_csv(tmp_path / "people.csv")
    job = {
        "input": {"file": str(path), "encoding": "utf-8"},
        "source": "Contact",
        "action": "insert",
        "mappings": [{"field": "Email", "column": "Nope"}],
    }
    answer = api.post("/api/v1/runs", params={"plan": "true"}, json=job)
    assert answer.status_code == 400, answer.text
    assert "\\u001b" not in answer.text
    for text in _strings(answer.json()):
        _no_raw_controls(text)
    assert "\\x1b]0;pwned\\x07First" in answer.text.replace("\\\\", "\\")


def test_a_row_error_keeps_no_control_character() -> None:
    from idms.jobs.rows import WorkRow

    row = WorkRow(2, {})
    row.fail("invalid_value", "Email: 'a\x1b[2J' is not valid", "Email", "\x1b]0;x\x07E-mail")
    assert (row.message, row.column) == ("Email: 'a\\x1b[2J' is not valid", "\\x1b]0;x\\x07E-mail")
