"""Query rows on the embedded SQLite store: read off the DBAPI cursor, typed as SQLAlchemy types
them (compared with ``read``, which goes through SQLAlchemy's own rows), chunk after chunk."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from idms.demo.generate import fill_demo
from idms.queries.compile import compile_query
from idms.queries.model import build_query
from idms.targets.embedded import target as target_module
from idms.targets.embedded.target import EmbeddedTarget


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedTarget]:
    target = EmbeddedTarget(f"sqlite:///{tmp_path_factory.mktemp('store') / 'imis.db'}")
    fill_demo(target.engine, contacts=150, seed=3)
    try:
        yield target
    finally:
        target.close()


def every_field_query(target: EmbeddedTarget, source: str) -> tuple[list[str], Any]:
    sdef = target.describe(source)
    fields = [f.name for f in sdef.fields if not f.secret and not f.write_only]
    query = build_query({"name": source, "from": source, "columns": {f: f for f in fields}})
    return fields, compile_query(query, target.sources())


def test_every_source_reads_back_typed_as_read_gives_it(store: EmbeddedTarget) -> None:
    """Every readable field of every source: same values, same Python types."""
    checked: set[type] = set()
    for sdef in store.sources():
        fields, compiled = every_field_query(store, sdef.name)
        with store.query(compiled) as result:
            rows = list(result.records())
        records = [{f: r.get(f) for f in fields} for r in store.read(sdef.name)]

        def key(record: dict[str, Any], identity: tuple[str, ...] = sdef.identity) -> str:
            return "|".join(str(record[k]) for k in identity)

        assert len(rows) == len(records), sdef.name
        for row, record in zip(sorted(rows, key=key), sorted(records, key=key), strict=True):
            for name in fields:
                assert row[name] == record[name], (sdef.name, name)
                assert type(row[name]) is type(record[name]), (sdef.name, name)
                checked.add(type(row[name]))
    assert {str, bool, int, tuple, type(None)} <= checked
    assert {"date", "datetime", "Decimal"} <= {t.__name__ for t in checked}


def test_rows_span_chunks_in_order(store: EmbeddedTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    query = build_query(
        {"name": "Lookups", "from": "LookupTable", "columns": ["TableName", "Code", "Description"]}
    )
    compiled = compile_query(query, store.sources())
    with store.query(compiled) as result:
        everything = list(result)
    assert result.count is not None
    assert len(everything) == result.count() > 100
    monkeypatch.setattr(target_module, "STREAM_CHUNK", 16)  # many chunks, the last one short
    with store.query(compiled) as result:
        assert list(result) == everything
    size = 7
    pages = []
    for offset in range(0, len(everything), size):
        with store.query(compiled, offset=offset, limit=size) as result:
            pages.extend(result)
    assert pages == everything


def test_a_result_closed_halfway_gives_its_connection_back(
    store: EmbeddedTarget, tmp_path: Path
) -> None:
    _, compiled = every_field_query(store, "Contact")
    result = store.query(compiled)
    first = list(islice(result, 3))
    assert len(first) == 3
    result.close()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_distinct_and_limit(store: EmbeddedTarget) -> None:
    query = build_query(
        {
            "name": "Types",
            "from": "Contact",
            "columns": {"Type": "MemberType", "Organization": "IsOrganization"},
            "distinct": True,
            "limit": 3,
        }
    )
    compiled = compile_query(query, store.sources())
    with store.query(compiled) as result:
        rows = list(result)
    assert len(rows) == 3
    assert len(set(rows)) == 3
    assert all(isinstance(org, bool) for _, org in rows)
