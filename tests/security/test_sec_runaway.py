"""Issue 14, item 4: a runaway template cannot hold a worker, a cancel stops a run in the middle of
a batch, and ``idms serve`` stops within its grace on SIGTERM.

Every process here is real (``idms run``, ``idms runs cancel``, ``idms serve``), and so is the
Liquid: a loop of a hundred million turns, and a template that is legal but slow (a quarter of
a second per row), so that a batch takes far longer than the bounds the tests hold the code to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from idms.config import Settings
from idms.jobs.assemble import job_from_file
from idms.runs.leases import Leases
from idms.state.models import Run
from idms.workspace import Workspace

IDMS = str(Path(sys.executable).with_name("idms"))
RUNAWAY = "{% for i in (1..100000000) %}x{% endfor %}"
# Legal (8,000 turns, under the limit of 10,000) and slow: about a quarter of a second a row.
SLOW = (
    '{% assign s = row.First | append: "-padding-padding-padding-padding-padding" %}'
    "{% for i in (1..8000) %}"
    '{% assign x = s | upcase | downcase | replace: "pad", "PAD" | split: "-" | join: "+" %}'
    "{% endfor %}{{ row.First }}"
)


def environment(workspace: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(workspace), IDMS_LEASE_SECONDS="60", COLUMNS="200", **extra)
    return env


def idms(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDMS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def job_file(folder: Path, *, rows: int, first: str, batch: int = 1000) -> Path:
    """A job of ``rows`` people whose FirstName is the template ``first`` (a YAML-quoted
    string)."""
    data = folder / "people.csv"
    lines = ["First,Last,E-mail"]
    lines += [f"First{i},Last{i:04d},person{i:04d}@example.org" for i in range(rows)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = folder / "job.yml"
    job.write_text(
        "name: Templated roster\ninput: people.csv\nsource: Contact\naction: insert\n"
        "mappings:\n"
        "  - {field: Email, column: E-mail}\n"
        "  - {field: LastName, column: Last}\n"
        f"  - {{field: FirstName, template: {json.dumps(first)}}}\n"
        f"options: {{batch_size: {batch}}}\n",
        encoding="utf-8",
    )
    return job


def runs_of(workspace: Path) -> list[dict[str, Any]]:
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Run.id, Run.status, Run.rows, Run.lease_owner, Run.message)
            ).all()
    finally:
        engine.dispose()
    return [
        {"id": r[0], "status": r[1], "rows": r[2], "owner": r[3], "message": r[4]} for r in rows
    ]


def wait_until(predicate: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def running_run(workspace: Path) -> dict[str, Any] | None:
    if not (workspace / "suite.db").exists():
        return None
    try:
        found = [r for r in runs_of(workspace) if r["status"] == "running"]
    except Exception:  # the database is being made
        return None
    return found[0] if found else None


def test_a_runaway_loop_fails_its_row_naming_the_limit_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    first = "{% if row.Last == 'Last0001' %}" + RUNAWAY + "{% endif %}{{ row.First }}"
    job = job_file(tmp_path, rows=3, first=first)

    done = idms(env, "run", str(job), "--json", timeout=20)  # today: for ever

    assert done.returncode == 1, done.stderr + done.stdout  # some rows failed
    summary = json.loads(done.stdout)
    assert (summary["inserted"], summary["errors"]) == (2, 1)
    shown = json.loads(idms(env, "runs", "show", summary["run_id"], "--json").stdout)
    failed = [r for r in shown["results"] if r["outcome"] == "error"]
    assert len(failed) == 1
    assert failed[0]["row_number"] == 3  # the spreadsheet's row of Last0001
    assert failed[0]["code"] == "template_limit"
    assert failed[0]["field"] == "FirstName"
    message = failed[0]["message"]
    assert "First Name" in message or "FirstName" in message
    assert "loops more than 10,000 times" in message


def test_a_cancel_stops_a_run_in_the_middle_of_a_long_batch(tmp_path: Path) -> None:
    """One batch of 200 slow rows: a minute of work, where a cancel used to wait for the batch
    to end. It is seen at the next row."""
    workspace = tmp_path / "ws"
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    job = job_file(tmp_path, rows=200, first=SLOW)
    process = subprocess.Popen(
        [IDMS, "run", str(job), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run = wait_until(lambda: running_run(workspace), "the run did not start")
        time.sleep(1.0)  # well inside the batch
        cancelled = idms(env, "runs", "cancel", run["id"])
        assert cancelled.returncode == 0, cancelled.stderr
        asked = time.monotonic()  # the flag is set
        out, err = process.communicate(timeout=10)
        took = time.monotonic() - asked
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert took < 5, f"the cancel took {took:.1f} s"
    summary = json.loads(out)
    assert summary["status"] == "cancelled", err
    info = next(r for r in runs_of(workspace) if r["id"] == run["id"])
    assert info["status"] == "cancelled"
    assert info["owner"] is None


def queue(workspace: Path, job: Path) -> str:
    """Record ``job`` as a queued run, as the API and the schedules do."""
    with Workspace.open(Settings.load(workspace=workspace, environ={})) as opened:
        return opened.submit(job_from_file(str(job), templates=opened.templates), trigger="api")


@contextmanager
def serving(
    env: dict[str, str], log: Path
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    made = idms(env, "token", "create", "tests", "--json")
    token = json.loads(made.stdout)["token"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [IDMS, "serve", "--port", "0", "--workers", "1"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        first = wait_until(
            lambda: next(
                (ln for ln in log.read_text(errors="replace").splitlines() if "idms serve:" in ln),
                "",
            ),
            "idms serve did not start",
        )
        base = first.split()[2].removesuffix("/api/v1")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_idms_serve_stops_within_its_grace_on_sigterm_leaving_the_run_resumable(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    env = environment(workspace, IDMS_STOP_GRACE_SECONDS="3")
    assert idms(env, "init").returncode == 0
    job = job_file(tmp_path, rows=200, first=SLOW)
    log = tmp_path / "serve.log"
    queue(workspace, job)  # the first step of idms serve hands it to a worker
    with serving(env, log) as (_, process):
        run = wait_until(lambda: running_run(workspace), "the run did not start")
        time.sleep(1.0)  # inside its one long batch

        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=3 + 5)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "idms serve did not stop within its grace:\n" + log.read_text(errors="replace")
            ) from None
        took = time.monotonic() - signalled

    assert took < 3 + 5
    info = next(r for r in runs_of(workspace) if r["id"] == run["id"])
    # Stopped at a row, nothing of its batch written, its lease let go of: resumable at once.
    assert info["status"] == "running", info
    assert info["owner"] is None
    assert info["rows"] == 0
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    try:
        assert Leases(engine).claim(run["id"], "the-next-serve", 60)
    finally:
        engine.dispose()
