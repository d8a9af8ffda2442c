"""A password never appears in any artefact of a run: results, plans, error files, run records,
logs, ``idms records``, or any file of the workspace; the store holds argon2 hashes only.

Every password here holds a character that base64 (and so an argon2 hash) never does, so finding
its bytes anywhere can only mean a leak.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from idms.cli.app import app
from idms.runs.record import RunStore
from idms.state.store import open_suite
from idms.targets.base import Target

from .support import World, counts, expect

GOOD = "Zebra-Quokka-Secret-77"  # an existing contact's new password
NEW = "Narwhal!Secret-Phrase-5"  # a new contact's
WEAK = "q!9-x"  # too short: refused, and must not be echoed either
NO_EMAIL = "Walrus!Never-Stored-3"  # its row is refused: the contact has no e-mail
PASSWORDS = (GOOD, NEW, WEAK, NO_EMAIL)
CREATE = [
    {"field": "iMIS ID", "column": "ID"},
    {"field": "First Name", "column": "First"},
    {"field": "Last Name", "column": "Last"},
    {"field": "Email", "column": "Email"},
    {"field": "Username", "column": "User"},
    {"field": "Password", "column": "Pass"},
]


def leaks(data: bytes | str) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [p for p in PASSWORDS if p.encode() in raw]


def password_keys(record: object) -> list[str]:
    """Keys that could carry a password (the failed-attempt count is only a number)."""
    keys = record if isinstance(record, dict) else {}
    return [k for k in keys if "password" in k.casefold() and k != "FailedPasswordAttemptCount"]


def files_with_passwords(folder: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(folder)): found
        for path in sorted(folder.rglob("*"))
        if path.is_file() and (found := leaks(path.read_bytes()))
    }


def password_hashes(store_file: Path) -> list[str | None]:
    with sqlite3.connect(store_file) as conn:
        return [h for (h,) in conn.execute("SELECT password_hash FROM users ORDER BY imis_id")]


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_no_password_in_results_plans_error_files_run_records_logs_or_files(
    world: World, through: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = [
        {"ID": world.people["ada"], "Pass": GOOD},
        {
            "First": "Mary",
            "Last": "Somerville",
            "Email": "mary@example.org",
            "User": "msomerville",
            "Pass": NEW,
        },
        {"ID": world.people["alan"], "Pass": WEAK},
        {"ID": world.people["nomail"], "Pass": NO_EMAIL},
    ]
    with world.serve("ems") as sandbox:
        target: Target = world.store if through == "embedded" else sandbox.rest
        job = world.job("logins", "UserCredentials", "insert", CREATE, rows)
        plan = world.run(target, job, label=through, plan=True)
        # A plan judges each row as the run does; over REST the password policy is iMIS's to
        # check on write, which the plan says on the row rather than refuse or pass it.
        if through == "embedded":
            assert counts(plan) == expect(inserted=2, errors=2)
        else:
            assert counts(plan) == expect(inserted=3, errors=1)
            notes = [r.message or "" for r in world.runs(through).rows(plan.run_id)]
            assert sum("password against its policy" in n for n in notes) == 3
        report = world.run(target, job, label=through)
        assert counts(report) == expect(inserted=2, errors=2)
        assert report.error_file is not None
        error_file = report.error_file.read_text(encoding="utf-8-sig")
        assert error_file.count("********") == 2  # the refused rows' passwords, masked
        records = list(target.read("UserCredentials"))
        assert sandbox.logs_in("ada@example.org", GOOD)
        assert sandbox.logs_in("msomerville", NEW)

    runs = world.runs(through)
    for run_id in (plan.run_id, report.run_id):
        info = runs.get(run_id)
        assert not leaks(repr(info)), info
        for row in runs.rows(run_id):
            assert not leaks(repr(row)), row
            assert not password_keys(row.before), row
            assert not password_keys(row.after), row
    assert not leaks(error_file)
    assert not leaks(repr(records))
    assert all(set(r) == set(records[0]) for r in records)
    assert not password_keys(records[0])
    assert not leaks(caplog.text)
    # every file of the workspace: the store (and its WAL), suite databases, error files
    assert files_with_passwords(world.workspace) == {}
    hashes = [h for h in password_hashes(world.workspace / "imis.db") if h]
    assert len(hashes) == 2
    assert all(h.startswith("$argon2id$") for h in hashes)


class Cli:
    """``idms ARGS...`` in-process in one workspace (IDMS_WORKSPACE), stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()
        self.outputs: list[str] = []

    def __call__(self, *args: str) -> Result:
        result = self.runner.invoke(app, list(args))
        self.outputs.append(result.stdout + result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    return Cli()


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


PEOPLE_CSV = "First,Last,Email\nAda,Lovelace,ada@example.org\nAlan,Turing,alan@example.org\n"
LOGINS_CSV = (
    "Email,Last,User,Pass\n"
    f"ada@example.org,Lovelace,ada,{GOOD}\n"
    f"alan@example.org,Turing,alan,{WEAK}\n"
)
LOGIN_FLAGS = (
    "-s",
    "UserCredentials",
    "-a",
    "insert-with-matching",
    "-m",
    "Email=Email",
    "-k",
    "Email",
    "-m",
    "Last=LastName",
    "-k",
    "LastName",
    "-m",
    "User=Username",
    "-m",
    "Pass=Password",
)


def test_the_command_line_never_shows_a_password(cli: Cli, tmp_path: Path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE_CSV)
    logins = write(tmp_path / "logins.csv", LOGINS_CSV)
    contacts = cli(
        "import",
        people,
        "-s",
        "Contact",
        "-a",
        "insert",
        "-m",
        "First=FirstName",
        "-m",
        "Last=LastName",
        "-m",
        "Email=Email",
        "--json",
    )
    assert contacts.exit_code == 0, contacts.output
    planned = cli("import", logins, *LOGIN_FLAGS, "--plan", "--json")
    assert planned.exit_code == 1, planned.output  # the plan refuses Alan's password, as the run
    assert (json.loads(planned.stdout)["inserted"], json.loads(planned.stdout)["errors"]) == (1, 1)
    ran = cli("import", logins, *LOGIN_FLAGS, "--json")
    assert ran.exit_code == 1, ran.output  # Alan's password is too short
    summary = json.loads(ran.stdout)
    assert (summary["inserted"], summary["errors"]) == (1, 1)
    run_id = summary["run_id"]
    for args in (
        ("runs", "show", run_id),
        ("runs", "show", run_id, "--json"),
        ("runs", "show", json.loads(planned.stdout)["run_id"], "--json"),
        ("runs", "errors", run_id, "-o", str(tmp_path / "ws" / "failed.csv")),
        ("records", "UserCredentials"),
        ("records", "UserCredentials", "--json"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    shown = json.loads(cli("records", "UserCredentials", "--json").stdout)
    assert [r["Username"] for r in shown] == ["ada"]
    assert not password_keys(shown[0])
    assert "argon2" not in "".join(cli.outputs)
    assert [leaks(text) for text in cli.outputs] == [[]] * len(cli.outputs)
    assert "too short" in (tmp_path / "ws" / "failed.csv").read_text(encoding="utf-8-sig")
    assert files_with_passwords(tmp_path / "ws") == {}
    (stored,) = password_hashes(tmp_path / "ws" / "imis.db")
    assert stored is not None
    assert stored.startswith("$argon2id$")


def test_job_level_refusals_exit_2_and_record_nothing(cli: Cli, tmp_path: Path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE_CSV)
    assert (
        cli(
            "import",
            people,
            "-s",
            "Contact",
            "-a",
            "insert",
            "-m",
            "First=FirstName",
            "-m",
            "Last=LastName",
            "-m",
            "Email=Email",
        ).exit_code
        == 0
    )
    suite = RunStore(open_suite(f"sqlite:///{tmp_path / 'ws' / 'suite.db'}"))
    try:
        runs_before = len(suite.list())
    finally:
        suite.engine.dispose()
    logins = write(tmp_path / "logins.csv", f"ID,Unlock,Pass\n1,Yes,{GOOD}\n")
    on_2017 = cli(
        "--platform",
        "2017",
        "import",
        logins,
        "-s",
        "UserCredentials",
        "-a",
        "insert",
        "-m",
        "ID=ImisId",
        "-m",
        "Pass=Password",
    )
    assert on_2017.exit_code == 2
    assert "nothing was written" in on_2017.stderr
    assert (
        "User Credentials does not allow 'insert' on iMIS 2017. iMIS 2017 can only unlock user "
        "accounts" in on_2017.stderr.replace("\n", " ")
    )
    repass = cli(
        "import",
        logins,
        "-s",
        "UserCredentials",
        "-a",
        "update",
        "-m",
        "ID=ImisId",
        "-k",
        "ImisId",
        "-m",
        "Unlock=UnlockUserAccount",
        "-m",
        "Pass=Password",
    )
    assert repass.exit_code == 2
    assert "credentials cannot be updated; delete them and insert new ones" in " ".join(
        repass.stderr.split()
    )
    assert [leaks(text) for text in cli.outputs] == [[]] * len(cli.outputs)
    suite = RunStore(open_suite(f"sqlite:///{tmp_path / 'ws' / 'suite.db'}"))
    try:
        assert len(suite.list()) == runs_before
    finally:
        suite.engine.dispose()
    assert json.loads(cli("records", "UserCredentials", "--json").stdout) == []
