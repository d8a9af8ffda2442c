"""The sources an embedded store offers: the built-in ones its platform has, then its panels.

:class:`~idms.targets.embedded.target.EmbeddedTarget` lists them from its open store. Listing
them is also all ``idms sources`` does, and opening the store for it (SQLAlchemy, the adapters of
every source) cost more than half of that command's CPU time. So :func:`read_sources` reads the
two tables it needs straight from a SQLite store file with the standard library, when the file
is there and at the newest migration; when it cannot (a PostgreSQL store, a new or older file,
an error), it says so and the caller opens the store as before. Both build the list with
:func:`store_sources`, so they cannot differ.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from idms.revisions import newest_revision
from idms.sources import catalog
from idms.sources.model import FieldDef, SourceDef
from idms.sources.panels import PanelDefinition, panel_source
from idms.targets.embedded.migrate import MIGRATIONS
from idms.values.types import FieldType

SQLITE_FILE = "sqlite:///"  # sqlite:///relative/path or sqlite:////absolute/path

# Plain text, no value in it (bandit): the same reads as EmbeddedTarget._load_sources and
# admin.load_panels make through SQLAlchemy.
PREFERENCES_SQL = "SELECT code, name, description FROM communication_preferences ORDER BY code"
PANELS_SQL = "SELECT definition FROM panel_definitions ORDER BY name"
# Written out (no SQL built from strings); tests/targets/test_store_catalogue.py checks that it
# names migrate.VERSION_TABLE.
VERSION_SQL = "SELECT version_num FROM idms_store_version"


def store_sources(
    platform: str,
    preferences: Iterable[tuple[str, str, str | None]],
    panels: Iterable[PanelDefinition],
) -> list[SourceDef]:
    """The built-in sources ``platform`` has on an embedded store, CommunicationPreferences with
    a field per ``(code, name, description)`` of the store's preferences, then ``panels``."""
    out: list[SourceDef] = []
    for source in catalog.BUILTIN_SOURCES:
        if source.name == "CommunicationPreferences":
            source = source.with_fields(preference_fields(preferences))
        if source.available_on(platform, embedded=True):
            out.append(source)
    out.extend(panel_source(p) for p in panels)
    return out


def preference_fields(
    preferences: Iterable[tuple[str, str, str | None]],
) -> list[FieldDef]:
    """A Yes/No field per ``(code, name, description)`` of the store's preferences."""
    return [
        FieldDef(code, name, FieldType.BOOLEAN, description or f"Opt in to {name}.")
        for code, name, description in preferences
    ]


def stored_panel(text: str) -> PanelDefinition:
    """A panel as the store keeps it (its validated definition, as JSON)."""
    return PanelDefinition.model_validate(json.loads(text))


def read_sources(store_url: str, platform: str) -> list[SourceDef] | None:
    """The sources of the SQLite store file ``store_url`` names, read without SQLAlchemy; None
    when this cannot say (not a plain SQLite file URL, no such file yet, its schema not the
    newest, or SQLite refused): then open the store, which creates or migrates it."""
    path = _sqlite_file(store_url)
    head = newest_revision(MIGRATIONS / "versions")
    if path is None or head is None or not path.is_file():
        return None
    try:
        # mode=rw: never create the file (the store does that, private); the same busy timeout
        # as the store's engine (idms.db.make_engine); autocommit, so BEGIN below is ours.
        conn = sqlite3.connect(
            f"file:{quote(str(path))}?mode=rw", uri=True, timeout=30, isolation_level=None
        )
        try:
            conn.execute("BEGIN")  # one snapshot for the three reads
            if [row[0] for row in conn.execute(VERSION_SQL)] != [head]:
                return None
            preferences: Sequence[tuple[str, str, str | None]] = conn.execute(
                PREFERENCES_SQL
            ).fetchall()
            panels = [stored_panel(text) for (text,) in conn.execute(PANELS_SQL)]
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return store_sources(platform, preferences, panels)


def _sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///PATH`` URL names; None for anything else (another database,
    a driver or options in the URL, an in-memory or ``file:`` database, an escaped name)."""
    if not url.startswith(SQLITE_FILE):
        return None
    database = url[len(SQLITE_FILE) :]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if any(c in database for c in "?%#"):
        return None  # options or escapes: SQLAlchemy reads those
    return Path(database)
