"""Saved queries compare text ignoring case in every script and sort iMIS IDs as numbers, on
SQLite and PostgreSQL (through REST: tests/rest/test_query_folding.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract.folding import BY_LAST_NAME, EVERYONE, IDS, NAMES, people, run_saved, seed_numbered
from idms.targets.embedded.target import EmbeddedTarget


@pytest.fixture
def store(database_url: str) -> Iterator[EmbeddedTarget]:
    target = EmbeddedTarget(database_url)
    seed_numbered(target)
    yield target
    target.close()


def test_a_saved_query_filter_finds_each_name_in_another_case(store: EmbeddedTarget) -> None:
    by_name = {last: i for i, last in people()}
    missed = [
        f"{stored!r} looked for as {typed!r}: {found}"
        for stored, typed in NAMES
        if (found := run_saved(store, BY_LAST_NAME, {"last": typed})) != [(by_name[stored], stored)]
    ]
    assert not missed, "\n".join(missed)


def test_a_saved_query_sorts_imis_ids_as_numbers(store: EmbeddedTarget) -> None:
    assert [row[0] for row in run_saved(store, EVERYONE, {})] == IDS
    descending = EVERYONE.model_copy(update={"order_by": ["-ID"]})
    assert [row[0] for row in run_saved(store, descending, {})] == list(reversed(IDS))
