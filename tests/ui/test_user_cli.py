"""``idms user``: add (password from standard input), list, role, passwd, remove, and the
plain-English refusals, against a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from idms.cli.app import app
from idms.config import Settings
from idms.workspace import Workspace

PASSWORD = "a long enough password"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def run(cli: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return cli.invoke(app, ["user", *args], input=stdin)


def test_add_list_role_passwd_remove(cli: CliRunner, tmp_path: Path) -> None:
    added = run(cli, "add", "Ann", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "User 'Ann' added (admin)" in added.stdout
    assert run(cli, "add", "bob", "--role", "viewer", stdin=PASSWORD + "\n").exit_code == 0
    listed = json.loads(run(cli, "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("Ann", "admin"), ("bob", "viewer")]
    table = run(cli, "list").stdout
    assert "Ann" in table
    assert "viewer" in table
    assert PASSWORD not in table
    assert "is now an editor" in run(cli, "role", "BOB", "editor").stdout
    changed = run(cli, "passwd", "bob", "--password-stdin", stdin="a new long password\n")
    assert changed.exit_code == 0, changed.output
    with Workspace.open(Settings(workspace=tmp_path / "ws")) as workspace:
        assert workspace.authenticate("bob", "a new long password").name == "bob"
    assert "User 'bob' removed." in run(cli, "remove", "bob").stdout
    assert [u["name"] for u in json.loads(run(cli, "list", "--json").stdout)] == ["Ann"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "bob", "--role", "boss"), PASSWORD, "There is no role 'boss'"),
        (("add", "bob", "--role", "viewer"), "short\n", "too short"),
        (("add", "bob", "--role", "viewer"), "", "No password given"),
        (("remove", "nobody"), None, "No user 'nobody'"),
        (("role", "nobody", "editor"), None, "No user 'nobody'"),
        (("passwd", "nobody"), PASSWORD, "No user 'nobody'"),
    ],
)
def test_refusals_are_plain_english(
    cli: CliRunner, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    result = run(cli, *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_the_only_administrator_cannot_be_removed(cli: CliRunner) -> None:
    run(cli, "add", "ann", "--role", "admin", stdin=PASSWORD)
    result = run(cli, "remove", "ann")
    assert result.exit_code == 2
    assert "only active administrator" in result.stderr


def test_no_users_says_how_to_add_the_first(cli: CliRunner) -> None:
    assert "idms user add NAME --role admin" in run(cli, "list").output


@pytest.mark.parametrize("command", ["add", "list", "remove", "passwd", "role"])
def test_every_command_has_help(cli: CliRunner, command: str) -> None:
    result = run(cli, command, "--help")
    assert result.exit_code == 0
    assert "Example: idms user" in result.stdout
