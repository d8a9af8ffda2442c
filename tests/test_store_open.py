"""Several processes opening one new workspace at once: every open succeeds, the schema once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from idms.targets.embedded.store import open_store


def test_concurrent_first_opens_of_the_store(database_url: str) -> None:
    engines: list[Engine] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            engines.append(open_store(database_url))
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(engines) == 4
        assert "contacts" in inspect(engines[0]).get_table_names()
    finally:
        for engine in engines:
            engine.dispose()


def test_a_current_store_is_opened_without_running_its_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page of the web UI opens the store: one already at the newest migration is not
    handed to Alembic again; one at another migration is."""
    import alembic.command

    from idms.targets.embedded import migrate

    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).dispose()
    upgrades: list[str] = []
    monkeypatch.setattr(alembic.command, "upgrade", lambda config, rev: upgrades.append(rev))
    engine = open_store(url)
    try:
        assert upgrades == []
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0001_store'"))
        migrate.upgrade_store(engine)
    finally:
        engine.dispose()
    assert upgrades == ["head"]
