"""Fixtures for the command-line tests: a fresh workspace per test, set through IDMS_WORKSPACE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from idms.cli.app import app
from idms.config import Settings
from idms.targets.embedded.target import EmbeddedTarget


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace folder (not created yet), named by IDMS_WORKSPACE; wide output."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("IDMS_WORKSPACE", str(ws))
    monkeypatch.setenv("COLUMNS", "250")
    return ws


class Cli:
    """Runs ``idms ARGS...`` in-process, with stdout and stderr kept apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=input)


@pytest.fixture
def cli(workspace: Path) -> Cli:
    return Cli()


@pytest.fixture
def target(workspace: Path) -> Iterator[EmbeddedTarget]:
    """The workspace's embedded store, opened directly (as a test's way to put data in)."""
    store = EmbeddedTarget.from_settings(Settings.load(workspace=workspace))
    try:
        yield store
    finally:
        store.close()
