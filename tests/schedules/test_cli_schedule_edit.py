"""``idms schedule edit``: only what is given changes, it prints before -> after and the next run,
``--json`` lists the changes, and a refused edit (exit code 2) changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from schedules_support import Cli, write_people
from typer.testing import Result


def ok(result: Result, code: int = 0) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def test_edit_the_timing_then_the_zone_keeping_the_rest(cli: Cli, job_file: Path) -> None:
    ok(cli("schedule", "add", "Nightly", "--job", str(job_file), "--cron", "30 2 * * *",
           "--tz", "America/New_York", "--max-failures", "3", "--overlap", "queue"))  # fmt: skip
    added = json.loads(ok(cli("schedule", "show", "Nightly", "--json")))
    ok(cli("schedule", "pause", "Nightly"))
    out = ok(cli("schedule", "edit", "Nightly", "--cron", "0 3 * * 1-5"))
    assert out.splitlines() == [
        "Schedule 'Nightly' changed:",
        "  when: 30 2 * * * in America/New_York -> 0 3 * * 1-5 in America/New_York",
        "Next run: none (paused)",
    ]
    ok(cli("schedule", "resume", "Nightly"))
    data = json.loads(ok(cli("schedule", "edit", "Nightly", "--tz", "Europe/London", "--json")))
    assert data["changed"] == [
        {
            "what": "when",
            "before": "0 3 * * 1-5 in America/New_York",
            "after": "0 3 * * 1-5 in Europe/London",
        }
    ]
    assert (data["id"], data["state"], data["cron"]) == (added["id"], "active", "0 3 * * 1-5")
    assert (data["max_failures"], data["overlap"]) == (3, "queue")
    assert data["next_fire_local"].endswith(("T03:00:00+00:00", "T03:00:00+01:00"))
    out = ok(cli("schedule", "edit", "Nightly", "--max-failures", "0", "--description", "Members"))
    assert "  max failures: 3 -> no limit" in out
    assert "  description: (none) -> Members" in out
    assert "Next run: " in out
    assert "is as it was" in ok(cli("schedule", "edit", "Nightly", "--overlap", "queue"))


def test_edit_what_it_runs_and_rename(cli: Cli, job_file: Path, tmp_path: Path) -> None:
    ok(cli("schedule", "add", "Sync", "--job", str(job_file), "--cron", "daily"))
    template = tmp_path / "people-template.yml"
    template.write_text(job_file.read_text(encoding="utf-8"), encoding="utf-8")
    ok(cli("template", "save", str(template), "--name", "People"))
    dues = write_people(tmp_path / "dues.csv")
    out = ok(cli("schedule", "edit", "Sync", "--template", "People", "--input", str(dues)))
    assert f"  runs: job 'People by e-mail' ({job_file.resolve()}) -> template 'People' on " in out
    out = ok(cli("schedule", "edit", "Sync", "--rename", "Members sync"))
    assert "  name: Sync -> Members sync" in out
    shown = json.loads(ok(cli("schedule", "show", "Members sync", "--json")))
    assert (shown["kind"], shown["input_file"]) == ("template", str(dues.resolve()))


def test_a_refused_edit_says_what_to_write_and_changes_nothing(cli: Cli, job_file: Path) -> None:
    ok(cli("schedule", "add", "Sync", "--job", str(job_file), "--cron", "daily"))
    before = ok(cli("schedule", "show", "Sync", "--json"))
    cases = [
        (["--cron", "61 * * * *"], "minute"),
        (["--tz", "Europe/Lundon"], "Europe/London"),
        (["--cron", "daily", "--at", "2030-01-01T09:00"], "Give --cron or --at."),
        (["--template", "Peple"], "No template 'Peple'."),
        (["--input", "x.csv"], "Leave --input out"),
        (["--at", "2001-01-01T09:00"], "is in the past"),
        ([], "Say what to change"),
    ]
    for args, message in cases:
        result = cli("schedule", "edit", "Sync", *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert ok(cli("schedule", "show", "Sync", "--json")) == before
    result = cli("schedule", "edit", "Synk", "--cron", "hourly")
    assert result.exit_code == 2
    assert "No schedule 'Synk'. Did you mean 'Sync'?" in result.stderr


def test_edit_has_help_with_examples(cli: Cli) -> None:
    out = ok(cli("schedule", "edit", "--help"))
    assert "Change a schedule in place" in out
    assert 'idms schedule edit Nightly --cron "0 3 * * 1-5"' in out
    assert "edit" in ok(cli("schedule", "--help"))
