"""Passwords are never at rest in plain text, and the workspace is its owner's alone (issue 14,
item 3).

A run queued for later copies its input into the runs folder: the copy is sealed, read back by
the run, and removed with the last run on it. A password given as a constant in a template or a
schedule is sealed in the suite database and shown masked by every command and endpoint that
shows one, while the runs still set the real password. Every folder idms creates in the
workspace is 0700 and every file 0600, whatever the umask; an architecture test finds any file
creation in the package that does not go through :mod:`idms.private`.

The passwords hold characters that base64 (Fernet tokens, argon2 hashes) never does, so finding
their bytes in a file can only mean a leak. Every file of the workspace is scanned, the SQLite
databases and their write-ahead logs included.
"""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

import idms
from idms.cli.app import app
from idms.config import Settings
from idms.jobs.assemble import job_from_file, job_from_template
from idms.jobs.model import JobInvalid, build_job
from idms.runs.status import RunStatus
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.targets.embedded.passwords import verify_password
from idms.workspace import Workspace

COLUMN_PASSWORD = "Kiwi!Column#Secret-41"  # in an input file's column
CONSTANT_PASSWORD = "Tapir!Constant#Secret-73"  # a template's constant
SCHEDULE_PASSWORD = "Okapi!Schedule#Secret-29"  # a schedule's job's constant
PASSWORDS = (COLUMN_PASSWORD, CONSTANT_PASSWORD, SCHEDULE_PASSWORD)
MASK = "********"

PEOPLE = [
    ("ada@example.org", "Ada", "Lovelace"),
    ("alan@example.org", "Alan", "Turing"),
    ("grace@example.org", "Grace", "Hopper"),
]
CONTACTS = {
    "name": "People",
    "source": "Contact",
    "action": "insert",
    "mappings": [
        {"field": "Email", "column": "Email"},
        {"field": "FirstName", "column": "First"},
        {"field": "LastName", "column": "Last"},
    ],
}


def logins(password: Any) -> dict[str, Any]:
    """A UserCredentials job: the password from a column or a constant."""
    origin = {"column": "Password"} if password is None else {"value": password}
    return {
        "name": "Logins",
        "source": "UserCredentials",
        "action": "insert-with-matching",
        "mappings": [
            {"field": "Email", "column": "Email", "match": True},
            {"field": "Username", "column": "Login"},
            {"field": "Password", **origin},
        ],
    }


@pytest.fixture
def umask() -> Iterator[None]:
    """A permissive umask (0022), the usual one: what idms creates must be private anyway."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.fixture
def workspace(tmp_path: Path, umask: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A new workspace with three contacts in its embedded store."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("IDMS_WORKSPACE", str(ws))
    monkeypatch.setenv("COLUMNS", "250")
    people = tmp_path / "people.csv"
    people.write_text(
        "Email,First,Last\n" + "".join(f"{e},{f},{last}\n" for e, f, last in PEOPLE),
        encoding="utf-8",
    )
    # The test's folder is an input folder: a job sent over HTTP may read its files.
    settings = Settings(workspace=ws, lease_seconds=2, serve_input_folders=(tmp_path.resolve(),))
    with Workspace.open(settings) as opened:
        report = opened.run(build_job({**CONTACTS, "input": str(people)}))
        assert report.counts.as_dict()["inserted"] == 3, report
        yield opened


def logins_file(folder: Path, name: str, rows: list[tuple[str, str, str]]) -> Path:
    path = folder / name
    path.write_text(
        "Email,Login,Password\n" + "".join(f"{e},{u},{p}\n" for e, u, p in rows),
        encoding="utf-8",
    )
    return path


def leaks(folder: Path) -> dict[str, list[str]]:
    """Every file under ``folder`` that holds a password's bytes, with the passwords."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits = [p for p in PASSWORDS if p.encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def not_private(folder: Path) -> list[str]:
    """Everything under ``folder`` (and itself) not 0700 (a folder) or 0600 (a file)."""
    wrong: list[str] = []
    for path in [folder, *sorted(folder.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(folder.parent)}: {mode:o}")
    return wrong


def password_of(workspace: Workspace, email: str, password: str) -> bool:
    """Whether the login of the contact with ``email`` has ``password`` (its argon2 hash)."""
    store = workspace.settings.workspace / "imis.db"
    with sqlite3.connect(store) as conn:
        row = conn.execute(
            "SELECT u.password_hash FROM users u JOIN contacts c ON c.imis_id = u.imis_id "
            "WHERE c.email = ?",
            (email,),
        ).fetchone()
    return row is not None and verify_password(password, row[0])


@pytest.fixture
def api(workspace: Workspace) -> Iterator[httpx.Client]:
    """The workspace served by a real API server (uvicorn, in a thread), and a client."""
    _, token = TokenStore(workspace.suite).create("tests")
    with (
        running_sandbox(create_server_app(workspace, None)) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        yield client


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout + result.stderr


# ---- queued runs: the input copy ---


def test_a_queued_runs_input_copy_is_sealed_private_read_back_and_pruned_with_its_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = logins_file(tmp_path, "logins.csv", [("ada@example.org", "ada", COLUMN_PASSWORD)])
    job = build_job({**logins(None), "input": str(source)})

    run_id = workspace.submit(job, trigger="api")  # what POST /runs does
    source.unlink()  # the run reads its own copy, whatever happens to the original
    inputs = workspace.runs_folder / "inputs"
    (copy,) = list(inputs.iterdir())
    assert COLUMN_PASSWORD.encode() not in copy.read_bytes()
    assert b"Email,Login" not in copy.read_bytes()  # not a byte of the file in clear
    report = workspace.execute(run_id)

    assert report is not None

    assert report.status is RunStatus.SUCCEEDED, report
    assert password_of(workspace, "ada@example.org", COLUMN_PASSWORD)
    assert leaks(workspace.settings.workspace) == {}
    assert not_private(workspace.settings.workspace) == []

    assert workspace.prune(max_age_days=None, max_count=0) >= 2
    assert list(inputs.iterdir()) == []


def test_a_copy_shared_by_runs_goes_with_the_last_of_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = logins_file(tmp_path, "logins.csv", [("alan@example.org", "alan", COLUMN_PASSWORD)])
    job = build_job({**logins(None), "input": str(source)})
    first = workspace.submit(job, trigger="api")
    workspace.execute(first)
    second = workspace.submit(job, trigger="api")  # the same file, unchanged: one copy
    inputs = workspace.runs_folder / "inputs"
    assert len(list(inputs.iterdir())) == 1

    workspace.prune(max_age_days=None, max_count=1)  # the second is still queued: kept
    assert len(list(inputs.iterdir())) == 1
    report = workspace.execute(second)  # and still readable
    assert report is not None
    assert report.status is not RunStatus.FAILED, report
    workspace.prune(max_age_days=None, max_count=0)
    assert list(inputs.iterdir()) == []


def test_a_failed_rows_file_in_the_runs_folder_goes_with_its_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = logins_file(
        tmp_path, "logins.csv", [("nobody@example.org", "nobody", COLUMN_PASSWORD)]
    )
    run_id = workspace.submit(build_job({**logins(None), "input": str(source)}), trigger="api")
    report = workspace.execute(run_id)
    assert report is not None
    assert report.error_file is not None, report
    assert stat.S_IMODE(report.error_file.stat().st_mode) == 0o600
    assert COLUMN_PASSWORD.encode() not in report.error_file.read_bytes()

    workspace.prune(max_age_days=None, max_count=0)
    assert not report.error_file.exists()
    assert not (workspace.runs_folder / run_id).exists()


def test_a_tampered_copy_is_refused_not_read(workspace: Workspace, tmp_path: Path) -> None:
    source = logins_file(tmp_path, "logins.csv", [("ada@example.org", "ada", COLUMN_PASSWORD)])
    run_id = workspace.submit(build_job({**logins(None), "input": str(source)}), trigger="api")
    (copy,) = list((workspace.runs_folder / "inputs").iterdir())
    data = bytearray(copy.read_bytes())
    data[40] = ord("A") if data[40] != ord("A") else ord("B")
    mtime = copy.stat().st_mtime_ns
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(mtime, mtime))  # the same size and time: only the seal tells

    report = workspace.execute(run_id)

    assert report is not None

    assert report.status is RunStatus.FAILED
    assert "cannot be read" in str(report.message)


# ---- templates and schedules: password constants ---


def test_a_templates_password_constant_is_sealed_shown_masked_and_still_sets_the_password(
    workspace: Workspace, api: httpx.Client, tmp_path: Path
) -> None:
    client = api
    put = client.put("/api/v1/templates/Logins", json=logins(CONSTANT_PASSWORD))
    assert put.status_code == 201, put.text

    shown = [
        put.text,
        client.get("/api/v1/templates/Logins").text,
        client.get("/api/v1/templates").text,
        cli("template", "show", "Logins"),
        cli("template", "show", "Logins", "--json"),
        cli("template", "list", "--json"),
    ]
    for text in shown:
        assert CONSTANT_PASSWORD not in text
        assert MASK in text
    assert leaks(workspace.settings.workspace) == {}

    source = logins_file(tmp_path, "grace.csv", [("grace@example.org", "grace", "")])
    job = job_from_template("Logins", templates=workspace.templates, input_file=source)
    report = workspace.run(job)
    assert report.counts.as_dict()["inserted"] == 1, report
    assert password_of(workspace, "grace@example.org", CONSTANT_PASSWORD)
    assert leaks(workspace.settings.workspace) == {}


def test_an_exported_template_says_the_password_is_masked_and_is_refused_until_given_again(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.save_template("Logins", build_job(logins(CONSTANT_PASSWORD)))
    exported = cli("template", "show", "Logins")
    assert "masked" in exported  # the export says so
    job_file = tmp_path / "logins.yml"
    job_file.write_text(exported, encoding="utf-8")
    source = logins_file(tmp_path, "ada.csv", [("ada@example.org", "ada", "")])

    job = job_from_file(job_file, input_file=source)
    with pytest.raises(JobInvalid) as refused:
        workspace.check(job)
    assert "masked" in refused.value.message
    assert "give the real value" in refused.value.message
    with pytest.raises(JobInvalid):
        workspace.save_template("Again", job)

    document = yaml.safe_load(exported)
    document["mappings"][2]["value"] = CONSTANT_PASSWORD  # given again: it works
    workspace.save_template("Again", build_job(document))
    report = workspace.run(
        job_from_template("Again", templates=workspace.templates, input_file=source)
    )
    assert report.counts.as_dict()["inserted"] == 1, report
    assert password_of(workspace, "ada@example.org", CONSTANT_PASSWORD)


def test_a_schedules_password_constant_is_sealed_shown_masked_and_still_sets_the_password(
    workspace: Workspace, api: httpx.Client, tmp_path: Path
) -> None:
    source = logins_file(tmp_path, "alan.csv", [("alan@example.org", "alan", "")])
    job_file = tmp_path / "nightly.yml"  # the user's own file, outside the workspace
    job_file.write_text(
        yaml.safe_dump({**logins(SCHEDULE_PASSWORD), "input": str(source)}), encoding="utf-8"
    )
    cli("schedule", "add", "Nightly logins", "--job", str(job_file), "--cron", "daily")
    client = api

    shown = [
        client.get("/api/v1/schedules/Nightly logins").text,
        client.get("/api/v1/schedules").text,
        cli("schedule", "show", "Nightly logins"),
        cli("schedule", "show", "Nightly logins", "--json"),
        cli("schedule", "list", "--json"),
    ]
    for text in shown:
        assert SCHEDULE_PASSWORD not in text
    assert MASK in client.get("/api/v1/schedules/Nightly logins").text
    assert leaks(workspace.settings.workspace) == {}

    run = workspace.run_schedule_now("Nightly logins")
    assert run.status == RunStatus.SUCCEEDED, run
    assert password_of(workspace, "alan@example.org", SCHEDULE_PASSWORD)
    assert SCHEDULE_PASSWORD not in json.dumps(run.job)
    assert leaks(workspace.settings.workspace) == {}
    assert not_private(workspace.settings.workspace) == []


def test_a_schedule_added_over_http_with_an_inline_job_writes_no_file(
    workspace: Workspace, api: httpx.Client, tmp_path: Path
) -> None:
    source = logins_file(tmp_path, "alan.csv", [("alan@example.org", "alan", "")])
    client = api
    body = {
        "name": "Inline",
        "job": {**logins(SCHEDULE_PASSWORD), "input": str(source)},
        "cron": "daily",
    }
    created = client.post("/api/v1/schedules", json=body)
    assert created.status_code == 201, created.text
    assert SCHEDULE_PASSWORD not in created.text
    assert leaks(workspace.settings.workspace) == {}


# ---- the workspace: private from its creation ---


def test_a_new_workspace_is_private_whatever_the_umask(tmp_path: Path, umask: None) -> None:
    ws = tmp_path / "fresh"
    result = CliRunner().invoke(app, ["--workspace", str(ws), "init"])
    assert result.exit_code == 0, result.output
    assert not_private(ws) == []
    assert {p.name for p in ws.iterdir()} >= {"suite.db", "imis.db", "secret.key"}


def test_an_older_workspaces_databases_key_and_runs_are_made_private(
    tmp_path: Path, umask: None
) -> None:
    ws = tmp_path / "old"
    with Workspace.open(Settings(workspace=ws)) as opened:
        opened.runs_folder  # noqa: B018 - made
    for path in (ws / "suite.db", ws / "secret.key"):
        path.chmod(0o644)
    (ws / "runs").chmod(0o755)
    with Workspace.open(Settings(workspace=ws)):
        pass
    assert stat.S_IMODE((ws / "suite.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((ws / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((ws / "runs").stat().st_mode) == 0o700


# ---- the rule: one way to create a file ---

ROOT = Path(idms.__file__).parent
CREATING = {"mkdir", "makedirs", "write_text", "write_bytes", "copyfile", "copy", "copy2"}
# (module, call): creation that is private by construction or not in the workspace, with why.
ALLOWED = {
    ("private.py", "*"),  # the helpers themselves
    ("io/writer.py", "mkdir"),  # the folder of an export the user asked for, where they said
    ("secrets.py", "mkstemp"),  # the key file: mkstemp creates it 0600
    ("jobs/query_input.py", "TemporaryFile"),  # unnamed, 0600, in the system's temp folder
    ("cli/app.py", "os.open"),  # /dev/null, opened to write, never created
    # Write to Folder: a file for another program, in a folder the administrator listed.
    ("workflows/actions/write_file.py", "mkdir"),
    ("workflows/actions/write_file.py", "open"),
}


def creations(path: Path, module: str) -> list[str]:
    """The calls in ``path`` that create a file or folder other than through idms.private."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if isinstance(func, ast.Attribute) and name == "open" and ast.unparse(func.value) == "os":
            name = "os.open"
        if name == "open" and not any(k.arg == "opener" for k in node.keywords):
            # The mode: open(path, MODE) or path.open(MODE) (not a method's other arguments).
            where = 0 if isinstance(func, ast.Attribute) else 1
            modes = [a for a in node.args[where : where + 1] if isinstance(a, ast.Constant)]
            modes += [k.value for k in node.keywords if k.arg == "mode"]
            writes = any(
                isinstance(m, ast.Constant)
                and isinstance(m.value, str)
                and set(m.value) & set("wax+")
                for m in modes
            )
            if not writes:
                continue
        elif name not in CREATING | {"os.open", "mkstemp", "mkdtemp", "TemporaryFile"}:
            continue
        elif name in ("copy", "copy2") and not node.args and not node.keywords:
            continue  # x.copy(): a dict's or a list's copy (copying a file names where to)
        if (module, name) in ALLOWED or (module, "*") in ALLOWED:
            continue
        found.append(f"{module}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_idms_creates_files_and_folders_only_through_idms_private() -> None:
    found: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith("sandbox/"):
            continue  # the sandbox keeps no file of the workspace
        found.extend(creations(path, module))
    assert found == [], "create files with idms.private (private_open, private_folder):\n" + (
        "\n".join(found)
    )
