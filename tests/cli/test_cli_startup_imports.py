"""What a command imports to start: only what it needs (the start-up goal of the performance issue).

Each command runs in a fresh interpreter, as ``idms`` does, and the test reads which modules it
had loaded when it finished. Not a timing test: a heavy library imported by a command that does
not use it fails here on any machine, however fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idms.cli.app import COMMANDS

# Run ``idms ARGS`` (argv[2:]) in this interpreter; write the loaded modules to argv[1] at exit.
PROBE = """
import atexit, json, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["idms", *args]
from idms.cli.app import main
main()
"""

# Never needed to show help, list sources, browse records or list runs.
NEVER = (
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "openpyxl",
    "python_calamine",
    "xlsxwriter",
    "celery",
    "liquid",
    "asyncssh",
    "email_validator",
    "yaml",
    "sqlalchemy.dialects.postgresql",
    "idms.ui",
    "idms.server",
)
# Nor a database at all, to show help. (Pydantic may come: Typer checks the global options'
# values with it before a subcommand's --help is seen.)
NOT_FOR_HELP = (*NEVER, "sqlalchemy", "idms.targets", "idms.state")


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """The modules ``idms ARGS`` had imported when it exited (it must succeed)."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env["IDMS_WORKSPACE"] = str(tmp_path / "ws")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(out.read_text())
    return set(modules)


def heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The ``names`` (packages count with their submodules) found among ``modules``."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize(
    "args", [("--help",), ("--version",), ("sources", "--help"), ("runs", "--help"), ("version",)]
)
def test_help_imports_no_database_nor_web_stack(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert heavy(loaded(tmp_path, *args), NOT_FOR_HELP) == []


def test_one_command_imports_its_own_module_only(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "sources", "--help")
    others = sorted(
        place.partition(":")[0]
        for name, place in COMMANDS.items()
        if place and not place.startswith("idms.cli.sources:")
    )
    assert [m for m in others if m in modules] == []


@pytest.mark.parametrize("args", [("records", "Contact"), ("runs",)])
def test_store_commands_import_no_migrations_nor_web_stack_nor_the_orm(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Runs are listed with Core statements on idms.state.tables, not the suite's ORM models."""
    loaded(tmp_path, "init")  # a fresh workspace, migrated once
    modules = loaded(tmp_path, *args)
    assert heavy(modules, (*NEVER, "sqlalchemy.orm", "idms.state.models")) == []
    assert "sqlalchemy" in modules  # the probe did reach the store


@pytest.mark.parametrize("args", [("sources",), ("sources", "Contact", "--json")])
def test_sources_reads_the_store_file_without_sqlalchemy(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """The sources of a store at the newest schema are read with sqlite3 (catalogue.py)."""
    loaded(tmp_path, "init")  # a fresh workspace, migrated once
    modules = loaded(tmp_path, *args)
    assert heavy(modules, (*NEVER, "sqlalchemy", "idms.state")) == []
    assert "sqlite3" in modules  # the probe did read the store


def test_every_command_is_found_and_listed(tmp_path: Path) -> None:
    """The table of lazy commands names real modules and attributes, all listed by help."""
    modules = loaded(tmp_path, "--help")
    for name, place in COMMANDS.items():
        if place:
            assert place.partition(":")[0] in modules, name


def test_running_a_file_job_loads_neither_liquid_nor_the_query_compiler(tmp_path: Path) -> None:
    """Only a job that maps a template needs Liquid, and only one fed by a query the query
    compiler: a file's import goes without them (a tenth of a second of every run)."""
    (tmp_path / "people.csv").write_text("E-mail,First,Last\nada@example.org,Ada,Lovelace\n")
    job = tmp_path / "job.yml"
    job.write_text(
        "input: people.csv\nsource: Contact\naction: insert-update\nmappings:\n"
        "  - {field: Email, column: E-mail, match: true}\n  - {field: LastName, column: Last}\n"
        "  - {field: FirstName, column: First}\n"
    )
    loaded(tmp_path, "init")
    modules = loaded(tmp_path, "run", str(job), "--yes")
    assert heavy(modules, ("liquid", "idms.values.liquid", "idms.queries.compile")) == []
    assert "idms.jobs.batch" in modules  # the probe did run the job
