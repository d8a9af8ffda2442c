"""A store's sources read straight from its file (``idms sources`` without SQLAlchemy): the same
list the open store gives, or None when the file cannot answer, and then the store is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import insert

from idms.targets.embedded import schema
from idms.targets.embedded.adapters.context import StorePolicy
from idms.targets.embedded.catalogue import VERSION_SQL, read_sources
from idms.targets.embedded.migrate import VERSION_TABLE
from idms.targets.embedded.target import EmbeddedTarget

PANEL = "name: Notes\nkind: standalone\nfields:\n  - {name: Text, type: string}\n"


def a_store(path: Path) -> str:
    """A store at ``path`` with a panel and two communication preferences (one undescribed)."""
    url = f"sqlite:///{path}"
    with EmbeddedTarget(url) as target:
        target.create_panel(PANEL)
        with target.engine.begin() as conn:
            conn.execute(
                insert(schema.communication_preferences),
                [
                    {"code": "NEWS", "name": "Newsletter", "description": None},
                    {"code": "EVENTS", "name": "Events", "description": "Invitations"},
                ],
            )
    return url


@pytest.mark.parametrize("platform", ["ems", "2017"])
def test_the_file_lists_what_the_open_store_lists(tmp_path: Path, platform: str) -> None:
    url = a_store(tmp_path / "imis.db")
    with EmbeddedTarget(url, StorePolicy(platform=platform)) as target:
        expected = target.sources()
    assert read_sources(url, platform) == expected
    by_name = {s.name: s for s in expected}
    assert by_name["Notes"].kind == "panel"
    preferences = by_name["CommunicationPreferences"].fields
    assert [(f.name, f.description) for f in preferences][-2:] == [
        ("EVENTS", "Invitations"),
        ("NEWS", "Opt in to Newsletter."),
    ]


def test_a_relative_path_is_read_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_store(tmp_path / "imis.db")
    monkeypatch.chdir(tmp_path)
    sources = read_sources("sqlite:///imis.db", "ems")
    assert sources is not None
    assert "Notes" in [s.name for s in sources]


def test_what_the_file_cannot_answer_is_left_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "imis.db"
    url = a_store(path)
    assert read_sources(url, "ems") is not None
    missing = tmp_path / "new.db"
    assert read_sources(f"sqlite:///{missing}", "ems") is None
    assert not missing.exists()  # the store creates it, private
    assert read_sources("postgresql+psycopg://idms@localhost/idms", "ems") is None
    assert read_sources("sqlite://", "ems") is None
    assert read_sources(f"sqlite:///{path}?timeout=5", "ems") is None
    with sqlite3.connect(path) as conn:  # as an older idms left it: the store migrates it
        conn.execute("UPDATE idms_store_version SET version_num = '0001_store'")
    conn.close()
    assert read_sources(url, "ems") is None
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE idms_store_version")
    conn.close()
    assert read_sources(url, "ems") is None


def test_the_version_query_reads_the_stores_own_version_table() -> None:
    assert VERSION_SQL.split()[-1] == VERSION_TABLE
