"""Fixtures for the schedule tests: a workspace (SQLite, or PostgreSQL for its suite database),
a job file and its input, and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schedules_support import JOB, Cli, write_people

from idms.config import Settings
from idms.workspace import Workspace


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    """A job file (contacts by e-mail) next to its input, people.csv."""
    write_people(tmp_path / "people.csv")
    path = tmp_path / "people.yml"
    path.write_text(JOB, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(workspace=tmp_path / "ws", environ={})


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(settings)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose suite database is a SQLite file, then a PostgreSQL database."""
    settings = Settings.load(workspace=tmp_path / "ws", environ={})
    if request.param == "sqlite":
        return settings
    return settings.with_changes(suite_database=request.getfixturevalue("postgres_url"))


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    return Cli()
