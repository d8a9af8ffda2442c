"""Saved queries through the REST target (the sandbox's ``/api/iqa``): text filters ignore case
in every script and iMIS IDs sort as numbers, as on the embedded store
(tests/queries/test_query_folding.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from contract.folding import BY_LAST_NAME, EVERYONE, IDS, NAMES, people, run_saved, seed_numbered
from idms.queries.store import QueryStore
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.target import RestTarget

from .conftest import Serve


def test_saved_queries_fold_text_and_sort_ids_through_rest(
    serve: Serve, new_store: Callable[[str], EmbeddedTarget], tmp_path: Path
) -> None:
    store = new_store("imis")
    seed_numbered(store)
    queries = QueryStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
    try:
        for query in (BY_LAST_NAME, EVERYONE):
            queries.save(query)
        served = serve(store, queries=queries.find_by_path)
        rest = RestTarget(served.client(), served.platform)
        by_name = {last: i for i, last in people()}
        missed = []
        for stored, typed in NAMES:
            found = run_saved(rest, BY_LAST_NAME, {"last": typed})
            if found != [(by_name[stored], stored)]:
                missed.append(f"{stored!r} looked for as {typed!r}: {found}")
        assert not missed, "\n".join(missed)
        assert [row[0] for row in run_saved(rest, EVERYONE, {})] == IDS
    finally:
        queries.engine.dispose()
