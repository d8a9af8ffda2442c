"""Shared fixtures: no ``IDMS_*`` setting from the shell leaks into a test; a fresh PostgreSQL
database per test that needs one, skipped with a reason where no server answers (failed under CI,
which has one on 127.0.0.1:5432)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from idms_env import idms_settings_in_environment
from pgdb import fresh_database


@pytest.fixture(autouse=True)
def no_idms_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults, whatever the shell running pytest has set: every
    ``IDMS_*`` variable but the harness's is cleared; a test sets the ones it is about with
    ``monkeypatch.setenv``."""
    for name in idms_settings_in_environment():
        monkeypatch.delenv(name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


SHARED_ID = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)  # after -m has deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make pytest``), fail tests that share an ID: the per-file split
    keeps one test per ID, so the others would silently not run. Schemathesis's cases do this;
    they are marked ``serial``, which ``make pytest`` runs in one process after the rest."""
    if not (getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput")):
        return
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1:
            item.stash[SHARED_ID] = (
                f"{counts[item.nodeid]} tests share the ID {item.nodeid}, so pytest-xdist runs "
                "one of them: run them without -n (make pytest runs the tests marked 'serial' "
                "so, after the others: -m serial), or give them IDs of their own."
            )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if SHARED_ID in item.stash:
        pytest.fail(item.stash[SHARED_ID], pytrace=False)
