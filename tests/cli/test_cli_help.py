"""Every command answers --help, and every command is documented in docs/cli.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import Result

from idms import __version__
from idms.cli.app import app

DOCS = Path(__file__).resolve().parents[2] / "docs"

Invoke = Callable[..., Result]


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(app)))
IDS = [" ".join(path) or "idms" for path, _ in COMMANDS]


def squash(text: str) -> str:
    return " ".join(text.split())


def test_the_app_has_the_commands_of_the_brief() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "init",
        "demo",
        "sources",
        "records",
        "panel",
        "panel create",
        "panel list",
        "secrets",
        "secrets set",
        "secrets list",
        "secrets delete",
        "version",
        "run",
        "import",
        "runs",
        "runs list",
        "runs show",
        "runs errors",
        "runs undo",
        "runs resume",
        "runs cancel",
        "template",
        "template save",
        "template list",
        "template show",
        "template delete",
    } <= paths


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_exits_0_and_states_the_purpose(
    cli: Invoke, path: tuple[str, ...], command: Any
) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert command.help, f"{' '.join(path)} has no help text"
    purpose = command.help.strip().split("\n\n")[0]
    assert squash(purpose) in squash(result.stdout)
    if not getattr(command, "commands", None):  # a leaf command: an example, and help on options
        assert "Example:" in result.stdout
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"option {param.name} of {' '.join(path)} has no help"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_is_documented(path: tuple[str, ...], command: Any) -> None:
    if not path:
        return
    docs = (DOCS / "cli.md").read_text(encoding="utf-8")
    name = "idms " + " ".join(path)
    headings = re.findall(r"^#+ .*$", docs, flags=re.MULTILINE)
    if getattr(command, "commands", None):  # a group: its subcommands have the headings
        assert name in docs
    else:
        assert any(f"`{name}`" in h for h in headings), f"docs/cli.md has no heading for {name}"


def doc_section(docs: str, name: str) -> str:
    """The text under the heading for ``name`` up to the next heading."""
    match = re.search(
        rf"^#+ `{re.escape(name)}`$(.*?)(?=^#{{2,3}} |\Z)", docs, re.MULTILINE | re.DOTALL
    )
    assert match, f"docs/cli.md has no section for {name}"
    return match.group(1)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_is_documented(path: tuple[str, ...], command: Any) -> None:
    if getattr(command, "commands", None) and path:
        return  # a group without options of its own
    docs = (DOCS / "cli.md").read_text(encoding="utf-8")
    text = docs if not path else doc_section(docs, "idms " + " ".join(path))
    for param in command.params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        long_name = next(o for o in param.opts if o.startswith("--"))
        assert f"`{long_name}" in text, f"{long_name} of {' '.join(path) or 'idms'} not in docs"


def test_docs_hold_the_exit_codes_table() -> None:
    docs = (DOCS / "cli.md").read_text(encoding="utf-8")
    for line in (
        "| 0 | every row succeeded (skips are not failures) |",
        "| 1 | the run completed, some rows errored |",
        "| 2 | the job, file or command line is invalid: nothing was written |",
        "| 3 | the run failed (target unreachable, crash, cancelled) |",
    ):
        assert line in docs


def test_no_arguments_shows_the_help(cli: Invoke) -> None:
    result = cli()
    assert "Usage:" in result.output
    assert "sources" in result.output


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version(cli: Invoke, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"idms {__version__}"


def test_version_works_with_a_bad_setting(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMS_PLATFORM", "nonsense")
    assert cli("version").exit_code == 0
    result = cli("sources")
    assert result.exit_code == 2
    assert "Unknown platform 'nonsense'" in result.stderr
