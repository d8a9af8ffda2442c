"""The suite database: its Alembic tree, its version table, and how it is opened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from idms.db import make_engine
from idms.errors import StateError
from idms.state import SUITE_VERSION_TABLE, open_suite, suite_head, suite_revision
from idms.state.models import Base, Meta, Secret
from idms.state.store import alembic_config


@pytest.fixture
def suite(database_url: str) -> Iterator[Engine]:
    engine = open_suite(database_url)
    yield engine
    engine.dispose()


def test_migrations_create_the_tables_and_their_own_version_table(suite: Engine) -> None:
    tables = set(inspect(suite).get_table_names())
    assert {"secrets", "meta", SUITE_VERSION_TABLE} <= tables
    assert SUITE_VERSION_TABLE == "idms_suite_version"
    assert "alembic_version" not in tables
    with suite.connect() as conn:
        versions = conn.execute(text(f"SELECT version_num FROM {SUITE_VERSION_TABLE}")).all()
    assert versions == [(suite_head(),)]
    assert suite_revision(suite) == suite_head()


def test_opening_again_is_a_no_op_and_keeps_the_data(database_url: str, suite: Engine) -> None:
    with Session(suite) as session, session.begin():
        session.add(Meta(key="created_by", value="test"))
    again = open_suite(database_url)
    try:
        assert suite_revision(again) == suite_head()
        with again.connect() as conn:
            count = conn.execute(text(f"SELECT COUNT(*) FROM {SUITE_VERSION_TABLE}")).scalar()
            value = conn.execute(select(Meta.value).where(Meta.key == "created_by")).scalar()
        assert count == 1
        assert value == "test"
    finally:
        again.dispose()


def test_the_migrations_match_the_models(suite: Engine) -> None:
    with suite.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": SUITE_VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_back(database_url: str, suite: Engine) -> None:
    with suite.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
    assert not {"secrets", "meta", "runs", "run_rows", "templates"} & set(
        inspect(suite).get_table_names()
    )
    assert suite_revision(suite) is None
    open_suite(database_url).dispose()
    assert suite_revision(suite) == suite_head()


def test_an_unmigrated_database_has_no_revision(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert suite_revision(engine) is None
    finally:
        engine.dispose()


def test_concurrent_first_opens_migrate_once(database_url: str) -> None:
    engines: list[Engine] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            engines.append(open_suite(database_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert len(engines) == 4
    check = make_engine(database_url)
    try:
        assert suite_revision(check) == suite_head()
    finally:
        check.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    engine = open_suite(f"sqlite:///{tmp_path / 'ws' / 'suite.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            # The migration switches foreign keys off on its connection; it must switch them
            # back on before that connection returns to the pool.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_timestamps_come_back_timezone_aware_in_utc(suite: Engine) -> None:
    paris = datetime(2024, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with Session(suite) as session, session.begin():
        session.add(Secret(name="s", ciphertext="x", created_at=paris, updated_at=paris))
    with Session(suite) as session:
        row = session.get_one(Secret, "s")
        assert row.created_at == paris
        assert row.created_at.tzinfo == UTC
        assert row.created_at.hour == 12


def test_naive_timestamps_are_refused(suite: Engine) -> None:
    naive = datetime(2024, 6, 1, 12, 0)
    with Session(suite) as session:
        session.add(Secret(name="s", ciphertext="x", created_at=naive, updated_at=naive))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_a_database_from_a_newer_idms_is_refused(database_url: str, suite: Engine) -> None:
    with suite.begin() as conn:
        conn.execute(text(f"UPDATE {SUITE_VERSION_TABLE} SET version_num = '9999_future'"))
    with pytest.raises(StateError, match=r"'9999_future'.*newer idms"):
        open_suite(database_url)


def test_an_unreachable_server_gives_a_state_error_without_the_password() -> None:
    with pytest.raises(StateError, match="Cannot open the suite database at") as caught:
        open_suite("postgresql://idms:hunter2@127.0.0.1:1/suite")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_an_unusable_sqlite_path_gives_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StateError, match="Cannot open the suite database"):
        open_suite(f"sqlite:///{blocker / 'suite.db'}")


def test_a_malformed_url_gives_a_state_error() -> None:
    with pytest.raises(StateError, match="Cannot open the suite database"):
        open_suite("not a url")
