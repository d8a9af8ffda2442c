"""Changing the store's own structure: panels (what iMIS's Panel Designer does) and settings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, MetaData, Table, insert, select

from idms.errors import PanelDefinitionError
from idms.sources.catalog import BUILTIN_SOURCES
from idms.sources.panels import PanelDefinition, parse_panel
from idms.targets.embedded.catalogue import stored_panel
from idms.targets.embedded.schema import panel_definitions, panel_table, store_settings


def load_panels(conn: Connection) -> list[PanelDefinition]:
    rows = conn.execute(select(panel_definitions.c.definition).order_by(panel_definitions.c.name))
    return [stored_panel(text) for (text,) in rows]


def panel_tables(conn: Connection) -> dict[str, tuple[PanelDefinition, Table]]:
    """Every panel with its table (on a private MetaData), by panel name."""
    meta = MetaData()
    return {p.name: (p, panel_table(p, meta)) for p in load_panels(conn)}


def create_panel(engine: Engine, text: str) -> PanelDefinition:
    """Check a PANEL.yml document, record the panel and create its table, all or nothing."""
    with engine.begin() as conn:
        existing = {p.name for p in load_panels(conn)}
        reserved = {s.name for s in BUILTIN_SOURCES} | existing
        panel = parse_panel(text, reserved_names=reserved)
        if panel.name.lower() in {n.lower() for n in existing}:
            raise PanelDefinitionError([f"name: a panel called '{panel.name}' already exists"])
        conn.execute(
            insert(panel_definitions).values(
                name=panel.name,
                kind=panel.kind,
                definition=panel.model_dump_json(),
                created_on=datetime.now(UTC).replace(tzinfo=None),
            )
        )
        panel_table(panel, MetaData()).create(conn)
    return panel


def get_setting(conn: Connection, name: str, default: str) -> str:
    value = conn.execute(
        select(store_settings.c.value).where(store_settings.c.name == name)
    ).scalar()
    return default if value is None else str(value)


def set_setting(conn: Connection, name: str, value: str) -> None:
    if conn.execute(select(store_settings.c.name).where(store_settings.c.name == name)).first():
        conn.execute(
            store_settings.update().where(store_settings.c.name == name).values(value=value)
        )
    else:
        conn.execute(insert(store_settings).values(name=name, value=value))
