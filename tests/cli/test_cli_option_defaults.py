"""``idms settings options``, and what ``idms run``/``idms import``/``idms plan`` do with the
installation's default task options: the job's own options win, plan and run see the same."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import CONTACT_FLAGS, PEOPLE, run_json, write_csv
from typer.testing import Result

Invoke = Callable[..., Result]

BAD = [{"First": "B", "Last": f"R{i}", "E-mail": f"nope{i}"} for i in range(4)]


def test_set_show_unset_and_a_bad_value(cli: Invoke) -> None:
    assert cli("init").exit_code == 0
    result = cli("settings", "options", "set", "batch_size", "500")
    assert result.exit_code == 0, result.output
    assert "batch_size set to 500" in result.stdout
    shown = json.loads(cli("settings", "options", "show", "--json").stdout)
    assert shown["batch_size"] == {"value": 500, "from": "global"}
    assert shown["stop_after_errors"] == {"value": None, "from": "built-in"}
    assert "batch_size: 500 (global)" in cli("settings", "options", "show").stdout

    bad = cli("settings", "options", "set", "stop_after_errors", "0")
    assert bad.exit_code == 2
    assert "options.stop_after_errors: Input should be greater than or equal to 1" in bad.stderr
    unknown = cli("settings", "options", "set", "batchsize", "5")
    assert unknown.exit_code == 2
    assert "options.batchsize: is not a job setting" in unknown.stderr

    assert cli("settings", "options", "unset", "batch_size").exit_code == 0
    shown = json.loads(cli("settings", "options", "show", "--json").stdout)
    assert shown["batch_size"] == {"value": 1000, "from": "built-in"}


def test_plan_and_run_take_the_global_default_and_the_job_wins(cli: Invoke, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "p.csv", [*PEOPLE[:1], *BAD])
    assert cli("settings", "options", "set", "stop_after_errors", "2").exit_code == 0
    assert cli("settings", "options", "set", "batch_size", "1").exit_code == 0

    plan = run_json(cli("import", str(file), *CONTACT_FLAGS, "--plan", "--json"), code=1)
    run = run_json(cli("import", str(file), *CONTACT_FLAGS, "--json"), code=1)
    assert plan["options"] == run["options"]
    assert run["options"]["stop_after_errors"] == {"value": 2, "from": "global"}
    counts = ("inserted", "errors", "skipped")
    assert [plan[k] for k in counts] == [run[k] for k in counts] == [1, 2, 2]

    # The job sets the option (to the built-in "no limit"): its value wins.
    own = run_json(
        cli("import", str(file), *CONTACT_FLAGS, "--option", "stop_after_errors=none", "--json"),
        code=1,
    )
    assert own["options"]["stop_after_errors"]["from"] == "job"
    assert (own["errors"], own["skipped"]) == (4, 0)


def test_the_plan_header_says_where_the_options_came_from(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats stdout as a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    file = write_csv(tmp_path / "p.csv", PEOPLE)
    assert cli("settings", "options", "set", "batch_size", "250").exit_code == 0
    flags = (*CONTACT_FLAGS, "--option", "skip_validation=yes", "--plan")
    result = cli("import", str(file), *flags)
    assert result.exit_code == 0, result.output
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stdout)
    assert "Options: skip_validation=true (job), batch_size=250 (global)" in output
