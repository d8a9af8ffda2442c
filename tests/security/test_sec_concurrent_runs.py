"""Concurrent runs never duplicate (issue 14, item 1).

Several insert-update imports of one file, matched on e-mail, run at the same time in separate
``idms`` processes: on the embedded store (SQLite), on a store in PostgreSQL, and on an iMIS over
REST (the sandbox, on loopback). Whatever the interleaving, each e-mail ends with exactly one
contact, and the runs' counts add up: one run inserted each row's contact, the others found it
(unchanged). Before the fix, each run matched in one transaction and wrote in another, so runs
that matched the same batch at the same moment all found nothing and all inserted (3,300
contacts for 2,000 e-mails with three runs on SQLite).

A schedule's run (``idms schedule run-now``) started during two CLI imports is held to the same
guarantee.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.values.folding import fold

IDMS = Path(sys.executable).parent / "idms"
pytestmark = pytest.mark.skipif(not IDMS.exists(), reason=f"{IDMS} is not installed")

RUNS = 3  # concurrent processes
ROWS = 800  # contacts in the file
BATCH = 40  # rows per batch: many batches, each matched and written on its own
REST_ROWS = 150  # over HTTP each insert is a request
REST_BATCH = 25
MANAGER_PASSWORD = "Sandbox-Manager-1"


def people(path: Path, rows: int) -> Path:
    lines = ["Email,First,Last"] + [f"p{i}@Example.org,F{i},L{i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_args(file: Path, batch: int) -> list[str]:
    return [
        "import", str(file), "-s", "Contact", "-a", "insert-update",
        "-m", "Email=Email", "-m", "First=FirstName", "-m", "Last=LastName", "-k", "Email",
        "-O", f"batch_size={batch}", "--json", "--yes",
    ]  # fmt: skip


def contact_job(file: Path, batch: int) -> dict[str, Any]:
    """The import of ``import_args`` as a job document (JSON, which is YAML)."""
    return {
        "name": "People by e-mail",
        "input": str(file),
        "source": "Contact",
        "action": "insert-update",
        "options": {"batch_size": batch},
        "mappings": [
            {"field": "Email", "column": "Email", "match": True},
            {"field": "FirstName", "column": "First"},
            {"field": "LastName", "column": "Last"},
        ],
    }


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    clean.pop("COLUMNS", None)
    return {**clean, "IDMS_WORKSPACE": str(tmp_path / "ws"), **extra}


def idms(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(IDMS), *args], env=env, capture_output=True, text=True, timeout=120)


def at_once(env: dict[str, str], *commands: list[str]) -> list[dict[str, Any]]:
    """Start every command at once, each in its own ``idms`` process; their JSON summaries."""
    started = [
        subprocess.Popen(
            [str(IDMS), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in commands
    ]
    ended = [(process, *process.communicate(timeout=120)) for process in started]
    for process, out, err in ended:
        assert process.returncode == 0, err + out
    return [json.loads(out) for _, out, _ in ended]


def emails(store: EmbeddedTarget) -> Counter[str]:
    return Counter(fold(str(r["Email"])) for r in store.read("Contact") if r["Email"])


def assert_exactly_once(stored: Counter[str], summaries: list[dict[str, Any]], rows: int) -> None:
    duplicated = {e: n for e, n in stored.items() if n > 1}
    assert not duplicated, f"{sum(duplicated.values()) - len(duplicated)} duplicates"
    assert len(stored) == rows
    for summary in summaries:
        assert summary["status"] == "succeeded", json.dumps(summary, default=str)
        assert summary["rows"] == rows
        assert summary["inserted"] + summary["updated"] + summary["unchanged"] == rows, summary
    # Each e-mail inserted by exactly one run, found by every other.
    assert sum(s["inserted"] for s in summaries) == rows
    assert sum(s["updated"] + s["unchanged"] for s in summaries) == rows * (len(summaries) - 1)


def concurrent_imports(env: dict[str, str], file: Path, batch: int, *target: str) -> list[Any]:
    # The workspace and store are made first: the runs race on the rows, not on creating them.
    opened = idms(env, *target, "sources", "--json")
    assert opened.returncode == 0, opened.stderr
    return at_once(env, *([*target, *import_args(file, batch)] for _ in range(RUNS)))


def test_concurrent_imports_on_sqlite_never_duplicate(tmp_path: Path) -> None:
    env = environment(tmp_path)
    summaries = concurrent_imports(env, people(tmp_path / "people.csv", ROWS), BATCH)

    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'ws' / 'imis.db'}")
    try:
        assert_exactly_once(emails(store), summaries, ROWS)
    finally:
        store.close()


@pytest.mark.postgres
def test_concurrent_imports_on_postgresql_never_duplicate(
    tmp_path: Path, postgres_url: str
) -> None:
    env = environment(tmp_path)
    file = people(tmp_path / "people.csv", ROWS)
    summaries = concurrent_imports(env, file, BATCH, "--target", postgres_url)

    store = EmbeddedTarget(postgres_url)
    try:
        assert_exactly_once(emails(store), summaries, ROWS)
    finally:
        store.close()


def test_concurrent_imports_over_rest_take_turns_and_never_duplicate(tmp_path: Path) -> None:
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    codes = {"MEMBER_TYPE": "NM", "CONTACT_STATUS": "A"}  # what a new contact gets
    store.apply(
        "LookupTable",
        [Change(ChangeKind.INSERT, {"TableName": t, "Code": c}) for t, c in codes.items()],
    )
    app = create_app(store, platform="ems", manager_password=MANAGER_PASSWORD)
    account = {"IDMS_IMIS_USERNAME": "MANAGER", "IDMS_IMIS_PASSWORD": MANAGER_PASSWORD}
    env = environment(tmp_path, **account)
    try:
        with running_sandbox(app) as url:
            file = people(tmp_path / "people.csv", REST_ROWS)
            summaries = concurrent_imports(env, file, REST_BATCH, "--target", f"imis+{url}/")
        assert_exactly_once(emails(store), summaries, REST_ROWS)
    finally:
        store.close()


def test_a_schedule_run_during_cli_imports_never_duplicates(tmp_path: Path) -> None:
    env = environment(tmp_path)
    file = people(tmp_path / "people.csv", ROWS)
    job_file = tmp_path / "people.yml"
    job_file.write_text(json.dumps(contact_job(file, BATCH)), encoding="utf-8")
    added = idms(env, "schedule", "add", "Nightly", "--job", str(job_file), "--cron", "daily")
    assert added.returncode == 0, added.stderr

    summaries = at_once(
        env,
        ["schedule", "run-now", "Nightly", "--json"],
        import_args(file, BATCH),
        ["run", str(job_file), "--json", "--yes"],
    )

    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'ws' / 'imis.db'}")
    try:
        assert_exactly_once(emails(store), summaries, ROWS)
    finally:
        store.close()


# ---- a run killed inside its batch's scope ----------------------------------------------------

# ``idms run`` of JOB on a target that SIGKILLs its process inside the exclusive scope of the N-th
# batch it writes, before the scope commits: the batch is staged, decided, and not written.
KILLED_BEFORE_COMMIT = r"""
import sys
from idms.config import Settings
from idms.jobs.assemble import job_from_file
from idms.targets import factory
from idms.targets.testing import FaultyTarget
from idms.workspace import Workspace

job, crash = sys.argv[1:]
workspace = Workspace.open(Settings.load())
workspace.target_opener = lambda settings: FaultyTarget(
    factory.open_target(settings), crash_before_commit=int(crash)
)
workspace.run(job_from_file(job, templates=workspace.templates))
"""


def test_a_batch_staged_but_never_written_is_decided_again_on_resume(tmp_path: Path) -> None:
    """The killed run decided its third batch as inserts; another run inserted those contacts
    meanwhile. Resumed, the killed run decides the batch again and finds them: sending it as it
    was decided would insert each of them a second time."""
    env = environment(tmp_path)
    rows, batch = 300, 50
    file = people(tmp_path / "people.csv", rows)
    job = tmp_path / "people.yml"
    job.write_text(json.dumps(contact_job(file, batch)), encoding="utf-8")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_COMMIT, str(job), "3"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    listed = idms(env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (victim,) = json.loads(listed.stdout)
    assert (victim["status"], victim["rows"]) == ("running", 2 * batch)

    other = idms(env, "run", str(job), "--json", "--yes")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["inserted"] == rows - 2 * batch

    resumed = idms(env, "runs", "resume", victim["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert (summary["inserted"], summary["unchanged"]) == (2 * batch, rows - 2 * batch)
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'ws' / 'imis.db'}")
    try:
        stored = emails(store)
    finally:
        store.close()
    assert len(stored) == rows
    assert set(stored.values()) == {1}


def test_the_same_job_posted_three_times_to_the_api_never_duplicates(tmp_path: Path) -> None:
    """``POST /runs`` three times with one job, executed by three worker threads of a real
    ``idms serve``: each e-mail ends with one contact."""
    inputs = tmp_path / "incoming"
    inputs.mkdir()
    file = people(inputs / "people.csv", ROWS)
    env = environment(tmp_path, IDMS_WORKERS=str(RUNS), IDMS_SERVE_INPUT_FOLDERS=str(inputs))
    made = idms(env, "token", "create", "tests", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(IDMS), "serve", "--port", "0"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not (line := next((ln for ln in log.read_text().splitlines()
                                 if ln.startswith("idms serve:")), "")):  # fmt: skip
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "idms serve did not start"
            time.sleep(0.1)
        base = line.split()[2]
        headers = {"Authorization": f"Bearer {token}"}
        job = {**contact_job(file, BATCH), "input": "people.csv"}
        queued: list[str] = []

        def post() -> None:
            answer = httpx.post(f"{base}/runs", json=job, headers=headers, timeout=60)
            assert answer.status_code == 202, answer.text
            queued.append(answer.json()["run_id"])

        posters = [threading.Thread(target=post) for _ in range(RUNS)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(60)
        assert len(queued) == RUNS
        summaries: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        for run_id in queued:
            while (run := httpx.get(f"{base}/runs/{run_id}", headers=headers).json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline, run
                time.sleep(0.2)
            summaries.append(run)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    opened = EmbeddedTarget(f"sqlite:///{tmp_path / 'ws' / 'imis.db'}")
    try:
        assert_exactly_once(emails(opened), summaries, ROWS)
    finally:
        opened.close()
