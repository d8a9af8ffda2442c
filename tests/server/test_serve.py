"""``idms serve`` as a real process: a one-time schedule added through its API fires two seconds
later and its run succeeds; SIGTERM stops it cleanly, a run in progress stopping after its
batch, and the next ``idms serve`` resumes that run to exact counts with nobody written twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import CONTACT_JOB

from idms.server.serve import bind
from idms.targets.embedded.target import EmbeddedTarget

IDMS = str(Path(sys.executable).with_name("idms"))
LEASE = 2


def environment(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(workspace), IDMS_LEASE_SECONDS=str(LEASE), COLUMNS="200")
    env["IDMS_SERVE_INPUT_FOLDERS"] = str(workspace.parent)  # the test's files, beside it
    return env


def make_token(env: dict[str, str]) -> str:
    made = subprocess.run(
        [IDMS, "token", "create", "tests", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token: str = json.loads(made.stdout)["token"]
    return token


@contextmanager
def serving(
    env: dict[str, str], token: str, log: Path
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """``idms serve --port 0`` until the block ends (then SIGTERM, and it must exit cleanly);
    what it prints goes to ``log``."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [IDMS, "serve", "--port", "0", "--workers", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        first = wait_until(
            lambda: next((ln for ln in said(log).splitlines() if ln.startswith("idms serve:")), ""),
            "idms serve did not start",
        )
        base = first.split()[2].removesuffix("/api/v1")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            assert client.get("/api/v1/runs").status_code == 200
            yield client, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def said(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def wait_until(predicate: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_one_time_schedule_fires_under_idms_serve(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = environment(workspace)
    token = make_token(env)
    people = tmp_path / "people.csv"
    people.write_text(
        "First,Last,E-mail\nAda,Lovelace,ada@example.org\nAlan,Turing,alan@example.org\n",
        encoding="utf-8",
    )
    with serving(env, token, tmp_path / "serve.log") as (client, process):
        at = datetime.now(UTC) + timedelta(seconds=2)
        created = client.post(
            "/api/v1/schedules",
            json={
                "name": "In two seconds",
                "job": {**CONTACT_JOB, "input": str(people)},
                "at": at.isoformat(timespec="seconds"),
            },
        )
        assert created.status_code == 201, created.text
        assert client.get("/api/v1/runs").json() == []  # not yet

        runs = wait_until(lambda: client.get("/api/v1/runs").json(), "the schedule never fired")
        run_id = runs[0]["run_id"]
        run = wait_until(
            lambda: (
                (r := client.get(f"/api/v1/runs/{run_id}").json())["status"]
                not in ("queued", "running")
                and r
            ),
            "the scheduled run never ended",
        )
        assert datetime.fromisoformat(run["created_at"].replace("Z", "+00:00")) >= at.replace(
            microsecond=0
        )
        assert (run["status"], run["trigger"], run["rows"], run["inserted"]) == (
            "succeeded",
            "schedule",
            2,
            2,
        )
        schedule = client.get("/api/v1/schedules/In two seconds").json()
        assert schedule["state"] == "done"
        assert schedule["last_run_id"] == run_id

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert "Stopping" in said(tmp_path / "serve.log")


@pytest.mark.slow
def test_sigterm_stops_a_run_between_batches_and_the_next_serve_resumes_it(
    tmp_path: Path,
) -> None:
    rows, batch = 3000, 100
    workspace = tmp_path / "ws"
    env = environment(workspace)
    token = make_token(env)
    data = tmp_path / "big.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First", "Last", "E-mail"])
        for i in range(rows):
            writer.writerow([f"First{i}", f"Last{i:05d}", f"person{i:05d}@example.org"])
    job = {**CONTACT_JOB, "input": str(data), "options": {"batch_size": batch}}

    log = tmp_path / "serve.log"
    with serving(env, token, log) as (client, process):
        run_id = client.post("/api/v1/runs", json=job).json()["run_id"]
        wait_until(
            lambda: client.get(f"/api/v1/runs/{run_id}").json()["checkpoint_rows"] >= 3 * batch,
            "the run did not get going",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert f"resumes them: {run_id}" in said(log), said(log)

    with serving(env, token, tmp_path / "again.log") as (client, _):
        stopped = client.get(f"/api/v1/runs/{run_id}").json()
        assert 0 < stopped["checkpoint_rows"] < rows or stopped["status"] != "running"
        done = wait_until(
            lambda: (
                (r := client.get(f"/api/v1/runs/{run_id}").json())["status"]
                not in ("queued", "running")
                and r
            ),
            "the run was not resumed",
            timeout=120,
        )
    assert (done["status"], done["rows"], done["inserted"]) == ("succeeded", rows, rows)
    assert done["attempts"] == 2
    store = EmbeddedTarget(f"sqlite:///{workspace / 'imis.db'}")
    try:
        emails = Counter(str(c["Email"]) for c in store.read("Contact") if c["Email"])
    finally:
        store.close()
    assert len(emails) == rows
    assert max(emails.values()) == 1  # nobody twice


def test_the_announced_address_takes_connections_before_uvicorn_accepts_them() -> None:
    """``idms serve`` prints its address before uvicorn starts: a client that connects at once
    must wait in the backlog, not be refused."""
    sock = bind("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname()[:2], timeout=5):
            pass
    finally:
        sock.close()
