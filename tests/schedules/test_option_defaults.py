"""A schedule builds its job afresh at each fire, so a changed installation default task option
reaches its next run (a template schedule's and a job schedule's alike)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from schedules_support import PEOPLE, Cli
from typer.testing import Result

BAD = [{"First": "B", "Last": f"R{i}", "E-mail": f"nope{i}"} for i in range(3)]


def ok(result: Result, code: int = 0) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


@pytest.mark.parametrize("kind", ["template", "job"])
def test_the_next_fire_takes_a_changed_global_default(
    cli: Cli, job_file: Path, tmp_path: Path, kind: str
) -> None:
    rows = tmp_path / "people.csv"  # the job file's input: one good row, then three bad
    with rows.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PEOPLE[0]))
        writer.writeheader()
        writer.writerows([PEOPLE[0], *BAD])
    if kind == "template":
        ok(cli("template", "save", str(job_file), "--name", "People"))
        what = ["--template", "People", "--input", str(rows)]
    else:
        what = ["--job", str(job_file)]
    ok(cli("schedule", "add", "Nightly", *what, "--cron", "daily"))

    first = json.loads(ok(cli("schedule", "run-now", "Nightly", "--json"), code=1))
    assert (first["errors"], first["skipped"]) == (3, 0)

    ok(cli("settings", "options", "set", "stop_after_errors", "1"))
    ok(cli("settings", "options", "set", "batch_size", "1"))
    second = json.loads(ok(cli("schedule", "run-now", "Nightly", "--json"), code=1))
    assert (second["errors"], second["skipped"]) == (1, 2)
