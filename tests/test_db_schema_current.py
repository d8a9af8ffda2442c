"""``idms.db.schema_is_current``: the question every command asks on opening a database, answered
without importing Alembic, and never answered "yes" when Alembic would have migrated."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from idms.db import make_engine, newest_revision, schema_is_current
from idms.state.store import MIGRATIONS as SUITE_MIGRATIONS
from idms.state.store import SUITE_VERSION_TABLE, open_suite
from idms.targets.embedded.migrate import MIGRATIONS as STORE_MIGRATIONS
from idms.targets.embedded.migrate import VERSION_TABLE as STORE_VERSION_TABLE
from idms.targets.embedded.store import open_store


@pytest.mark.parametrize("tree", [SUITE_MIGRATIONS, STORE_MIGRATIONS], ids=["suite", "store"])
def test_newest_revision_is_alembics_head(tree: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(tree))
    assert newest_revision(tree / "versions") == ScriptDirectory.from_config(config).get_heads()[0]


def _script(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(
        f'"""A migration."""\n\nrevision: str = "{revision}"\ndown_revision = {down}\n'
    )


def test_newest_revision_leaves_branches_and_merges_to_alembic(tmp_path: Path) -> None:
    branched = tmp_path / "branched"
    branched.mkdir()
    _script(branched, "a", "a", "None")
    _script(branched, "b", "b", '"a"')
    _script(branched, "c", "c", '"a"')
    assert newest_revision(branched) is None
    merged = tmp_path / "merged"
    merged.mkdir()
    _script(merged, "a", "a", "None")
    _script(merged, "b", "b", '"a"')
    _script(merged, "m", "m", '("a", "b")')
    assert newest_revision(merged) is None
    linear = tmp_path / "linear"
    linear.mkdir()
    _script(linear, "a", "a", "None")
    _script(linear, "b", "b", "'a'")
    (linear / "__init__.py").write_text("")
    assert newest_revision(linear) == "b"


def test_suite_current_only_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'suite.db'}"
    versions = SUITE_MIGRATIONS / "versions"
    fresh = make_engine(url)
    with fresh.connect() as conn:
        assert not schema_is_current(conn, SUITE_VERSION_TABLE, versions)  # no version table
    fresh.dispose()
    engine = open_suite(url)
    with engine.begin() as conn:
        assert schema_is_current(conn, SUITE_VERSION_TABLE, versions)
        conn.execute(text(f"UPDATE {SUITE_VERSION_TABLE} SET version_num = '0001_suite'"))
        assert not schema_is_current(conn, SUITE_VERSION_TABLE, versions)  # behind the head
        conn.execute(text(f"INSERT INTO {SUITE_VERSION_TABLE} VALUES ('x')"))
        assert not schema_is_current(conn, SUITE_VERSION_TABLE, versions)  # two rows: a branch
    engine.dispose()


def test_store_current_after_open(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'imis.db'}")
    with engine.connect() as conn:
        assert schema_is_current(conn, STORE_VERSION_TABLE, STORE_MIGRATIONS / "versions")
    engine.dispose()
