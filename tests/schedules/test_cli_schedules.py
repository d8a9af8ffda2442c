"""``idms schedule``: add, list, show, next, pause, resume, run-now, remove, and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schedules_support import Cli, write_people
from typer.testing import Result


def ok(result: Result, code: int = 0) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def test_add_list_show_next(cli: Cli, job_file: Path) -> None:
    out = ok(cli("schedule", "add", "Nightly", "--job", str(job_file), "--cron", "30 2 * * *",
                 "--tz", "America/New_York", "--max-failures", "3"))  # fmt: skip
    assert "Schedule 'Nightly' added: job 'People by e-mail'" in out
    assert "30 2 * * * in America/New_York" in out
    assert "Next run: " in out
    assert "UTC)" in out
    ok(cli("schedule", "add", "Hourly", "--job", str(job_file), "--cron", "hourly"))

    listing = ok(cli("schedule", "list"))
    lines = listing.splitlines()
    assert lines[0].split()[:3] == ["Schedule", "Runs", "When"]
    hourly = next(line for line in lines if line.startswith("Hourly"))
    nightly = next(line for line in lines if line.startswith("Nightly"))
    assert "hourly (0 * * * *) in UTC" in hourly
    assert " active " in nightly
    assert nightly.rstrip().endswith("0/3")
    assert " EST" in nightly or " EDT" in nightly

    data = json.loads(ok(cli("schedule", "list", "--json")))
    assert [d["name"] for d in data] == ["Hourly", "Nightly"]
    assert data[1]["timezone"] == "America/New_York"
    assert data[1]["max_failures"] == 3
    # One word for a schedule that fires, as the table says it and the API answers it.
    assert data[1]["state"] == "active"
    assert "enabled" not in data[1]

    show = ok(cli("schedule", "show", "Nightly"))
    assert "Schedule 'Nightly'" in show
    assert "In words:   At 02:30 (America/New_York)" in show  # as the web UI says it
    assert "misfire run-once, overlap skip, disabled after 3 failed runs in a row" in show
    shown = json.loads(ok(cli("schedule", "show", "Nightly", "--json")))
    assert shown["job"]["source"] == "Contact"
    assert shown["recent_runs"] == []

    times = ok(cli("schedule", "next", "Nightly", "--count", "4")).splitlines()
    assert len(times) == 4
    assert all(":30 E" in t and "UTC)" in t for t in times)
    data = json.loads(ok(cli("schedule", "next", "Nightly", "-n", "2", "--json")))
    assert len(data["times"]) == 2
    assert data["local_times"][0].endswith(("-05:00", "-04:00"))


def test_pause_next_resume_remove(cli: Cli, job_file: Path) -> None:
    ok(cli("schedule", "add", "Daily", "--job", str(job_file), "--cron", "daily"))
    assert ok(cli("schedule", "pause", "Daily")).strip() == (
        "Schedule 'Daily' paused. Resume it with: idms schedule resume Daily"
    )
    assert "is paused already" in ok(cli("schedule", "pause", "Daily"))
    ok(cli("schedule", "add", "Nightly members", "--job", str(job_file), "--cron", "daily"))
    assert (
        ok(cli("schedule", "pause", "Nightly members"))
        .strip()
        .endswith('Resume it with: idms schedule resume "Nightly members"')
    )
    ok(cli("schedule", "remove", "Nightly members", "--yes"))
    result = cli("schedule", "next", "Daily", "-n", "2")
    assert "is paused: if it were resumed now, it would run" in result.stderr
    assert len(ok(result).splitlines()) == 2
    assert "paused" in ok(cli("schedule", "list"))
    out = ok(cli("schedule", "resume", "Daily"))
    assert "Schedule 'Daily' resumed." in out
    assert "Next run: " in out
    assert "is active already" in ok(cli("schedule", "resume", "Daily"))
    assert "Schedule 'Daily' removed." in ok(cli("schedule", "remove", "Daily", "--yes"))
    assert "No schedules yet" in cli("schedule", "list").stderr


def test_run_now_runs_inline_and_prints_the_summary(cli: Cli, job_file: Path) -> None:
    ok(cli("schedule", "add", "Daily", "--job", str(job_file), "--cron", "daily"))
    out = ok(cli("schedule", "run-now", "Daily"))
    assert "of schedule 'Daily' succeeded" in out
    assert "inserted" in out
    summary = json.loads(ok(cli("schedule", "run-now", "Daily", "--json")))
    assert summary["status"] == "succeeded"
    assert summary["unchanged"] == 2
    queued = json.loads(ok(cli("schedule", "run-now", "Daily", "--queue-only", "--json")))
    assert queued["status"] == "queued"
    shown = json.loads(ok(cli("schedule", "show", "Daily", "--json")))
    assert [r["status"] for r in shown["recent_runs"]] == ["queued", "succeeded", "succeeded"]
    assert shown["next_fire_at"] is not None  # run-now leaves the next fire alone
    runs = json.loads(ok(cli("runs", "list", "--json")))
    assert {r["run_id"] for r in runs} >= {summary["run_id"], queued["run_id"]}


def test_run_now_of_a_failing_job_exits_3_and_counts_towards_auto_disable(
    cli: Cli, job_file: Path
) -> None:
    ok(cli("schedule", "add", "Daily", "--job", str(job_file), "--cron", "daily",
           "--max-failures", "2"))  # fmt: skip
    (job_file.parent / "people.csv").unlink()
    result = cli("schedule", "run-now", "Daily")
    assert result.exit_code == 3
    assert "failed" in result.stdout
    assert "people.csv" in result.stdout + result.stderr
    assert cli("schedule", "run-now", "Daily").exit_code == 3
    show = ok(cli("schedule", "show", "Daily"))
    assert "disabled: Disabled after 2 failed runs in a row" in show
    write_people(job_file.parent / "people.csv")
    assert "resumed" in ok(cli("schedule", "resume", "Daily"))
    assert json.loads(ok(cli("schedule", "show", "Daily", "--json")))["consecutive_failures"] == 0


def test_a_template_schedule_with_an_input_and_a_one_time_schedule(
    cli: Cli, job_file: Path, tmp_path: Path
) -> None:
    ok(cli("template", "save", str(job_file), "--name", "People"))
    other = write_people(tmp_path / "other.csv")
    out = ok(cli("schedule", "add", "From template", "--template", "People", "--input", str(other),
                 "--cron", "@weekly", "--tz", "Europe/London"))  # fmt: skip
    assert f"template 'People' on {other}" in out
    out = ok(cli("schedule", "add", "Once", "--job", str(job_file), "--at", "2099-01-01T09:00",
                 "--tz", "Asia/Tokyo"))  # fmt: skip
    assert "once at 2099-01-01 09:00 Asia/Tokyo" in out
    assert "2099-01-01 00:00 UTC" in out
    assert ok(cli("schedule", "next", "Once", "-n", "5")).count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "61 * * * *"], "the minute field '61' is wrong (allowed: 0-59"),
        (["--cron", "* * * *"], "it has 4 fields, not 5"),
        (["--cron", "@fortnightly"], "'@fortnightly' is not a preset"),
        (["--cron", "daily", "--tz", "Europe/Londn"], "Did you mean 'Europe/London'"),
        (["--cron", "daily", "--tz", "New York"], "Did you mean 'America/New_York'?"),
        (["--at", "2020-01-01T09:00"], "is in the past"),
        (["--at", "tomorrow"], "is not an ISO 8601 date and time"),
        (["--cron", "daily", "--at", "2099-01-01T09:00"], "one of the two"),
        ([], "Say when the schedule runs"),
        ([], "one of the two. Give --cron or --at."),
    ],
)
def test_bad_timing_is_refused_with_exit_2(
    cli: Cli, job_file: Path, args: list[str], message: str
) -> None:
    result = cli("schedule", "add", "X", "--job", str(job_file), *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "No schedules yet" in cli("schedule", "list").stderr  # nothing was stored


def test_other_mistakes_are_refused_with_exit_2(cli: Cli, job_file: Path, tmp_path: Path) -> None:
    ok(cli("template", "save", str(job_file), "--name", "People"))
    cases = [
        (["--template", "Peple", "--cron", "daily"], "No template 'Peple'. Did you mean 'People'?"),
        (
            ["--template", "People", "--cron", "daily"],
            "must name the file to read. Give it with --input FILE.",
        ),
        (
            ["--cron", "daily"],
            "Give --job JOB.yml, --template NAME, --workflow NAME or --transfer NAME.",
        ),
        (["--job", str(job_file), "--template", "People", "--cron", "daily"], "one of them"),
        (["--job", str(job_file), "--input", "x.csv", "--cron", "daily"], "Leave --input out"),
        (["--workflow", "W", "--cron", "daily"], "No workflow 'W'."),
        (["--job", str(tmp_path / "nope.yml"), "--cron", "daily"], "no job file at"),
    ]
    for args, message in cases:
        result = cli("schedule", "add", "X", *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
    ok(cli("schedule", "add", "X", "--job", str(job_file), "--cron", "daily"))
    result = cli("schedule", "add", "X", "--job", str(job_file), "--cron", "hourly")
    assert result.exit_code == 2
    assert "A schedule named 'X' exists already" in result.stderr
    for command in ("show", "next", "pause", "resume", "run-now", "remove"):
        result = cli("schedule", command, "Y")
        assert result.exit_code == 2, command
        assert "No schedule 'Y'." in result.stderr


def test_a_job_the_target_refuses_is_refused_at_add(cli: Cli, tmp_path: Path) -> None:
    write_people(tmp_path / "people.csv")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "input: people.csv\nsource: Contact\naction: insert-update\n"
        "mappings:\n  - {field: Emial, column: E-mail, match: true}\n",
        encoding="utf-8",
    )
    result = cli("schedule", "add", "Bad", "--job", str(bad), "--cron", "daily")
    assert result.exit_code == 2
    assert "Emial" in result.stderr
