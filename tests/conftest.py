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
from shared_browsers import BROWSERS


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


def give_own_id(item: pytest.Item) -> None:
    """Schemathesis names each case after its operation (``test[GET /api/v1/runs]``), but under
    pytest 9.2 its ID is the bare function's, the same for every case: give it the one its name
    says, so that pytest-xdist can tell the cases apart (it finds a test by its ID)."""
    if not isinstance(item, pytest.Function) or hasattr(item, "callspec"):
        return
    own = item.name.removeprefix(item.originalname)
    node_id = getattr(item, "_id", None)
    if own.startswith("[") and own.endswith("]") and node_id is not None and not node_id.params:
        item._id = node_id.with_params(own[1:-1])


def browsers_first(items: list[pytest.Item]) -> None:
    """The order the files run in: those whose tests use a browser first (one browser of each
    kind then serves them all: ``shared_browsers``), then the others by their number of tests,
    most first (pytest-xdist's order, kept: ``--no-loadscope-reorder``), so that the last files
    handed to the workers are small ones and the workers finish together."""
    counts = Counter(item.path for item in items)
    browser = {item.path for item in items if "browser" in getattr(item, "fixturenames", ())}
    rank = {path: index for index, path in enumerate(dict.fromkeys(item.path for item in items))}
    items.sort(key=lambda item: (item.path not in browser, -counts[item.path], rank[item.path]))


@pytest.hookimpl(trylast=True)  # after -m has deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make pytest``), fail tests that share an ID: the per-file split
    keeps one test per ID, so the others would silently not run."""
    for item in items:
        give_own_id(item)
    browsers_first(items)
    if not (getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput")):
        return
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1:
            item.stash[SHARED_ID] = (
                f"{counts[item.nodeid]} tests share the ID {item.nodeid}, so pytest-xdist runs "
                "one of them: run them without -n, or give them IDs of their own."
            )


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    browsers = item.session.stash.get(BROWSERS, None)
    if browsers is not None:  # the UI tests' browsers: closed before a test with no use for them
        browsers.close_for(item)
    if SHARED_ID in item.stash:
        pytest.fail(item.stash[SHARED_ID], pytrace=False)
