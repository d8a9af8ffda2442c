"""A source's records are built from its SELECT's rows by column position
(``Reading.records``, what match, fetch and read use): exactly the records built by field name
(``to_record``), and by name again when a SELECT's columns come in another order."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Select

from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget


def seeded(tmp_path: Path) -> EmbeddedTarget:
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'store.db'}")
    inserts = [
        Change(
            ChangeKind.INSERT,
            {
                "Email": f"p{i}@example.org",
                "FirstName": f"F{i}",
                "LastName": f"L{i}",
                "IsOrganization": False,
                "City": "Springfield" if i % 2 else None,  # with and without an address
                "BirthDate": date(1970, 1, i + 1),
            },
            ref=i,
        )
        for i in range(4)
    ]
    assert all(r.ok for r in store.apply("Contact", inserts))
    return store


def test_records_by_position_are_the_records_by_name(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    adapter = store.adapter("Contact")
    stmt = adapter.base_select().order_by(*adapter.columns.values())
    with store.engine.connect() as conn:
        by_name = [adapter.to_record(row) for row in conn.execute(stmt).mappings()]
        by_position = list(adapter.records(conn.execute(stmt)))
    assert len(by_name) == 4
    assert by_position == by_name
    assert [list(r) for r in by_position] == [list(r) for r in by_name]  # the same key order
    assert {r["City"] for r in by_position} == {"Springfield", None}


def test_a_select_of_another_column_order_gives_the_same_records(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    adapter = store.adapter("Contact")
    stmt = adapter.base_select().order_by(*adapter.columns.values())
    shuffled: Select[object] = stmt.with_only_columns(
        *reversed(list(stmt.selected_columns)), maintain_column_froms=True
    )
    assert list(shuffled.selected_columns.keys()) != list(adapter.columns)
    with store.engine.connect() as conn:
        expected = list(adapter.records(conn.execute(stmt)))
        found = list(adapter.records(conn.execute(shuffled)))
    assert found == expected
    assert [list(r) for r in found] == [list(r) for r in expected]
