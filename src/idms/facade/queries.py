"""The saved queries' part of the facade: a query checked and saved, a page of its rows, and
every row written to a file to download.

``idms query save``, ``PUT /api/v1/queries/NAME`` and the web UI's query builder all save
through :meth:`QueryFacade.save_query`, so a query is checked the same way wherever it comes
from: its shape first (:func:`~idms.queries.model.build_query`), then against the target's
sources (:func:`~idms.queries.compile.compile_query`), every problem listed with where it is.
Running goes through :meth:`idms.workspace.Workspace.run_query` (a missing required prompt is
refused before anything runs, as ``idms query run`` refuses it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.facade.base import WorkspaceBase
from idms.private import private_temp_folder

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery
    from idms.queries.model import SavedQuery
    from idms.targets.base import QueryResult

DOWNLOAD_PREFIX = "idms-export-"
RESERVED_NAME = "new"  # the web UI builds a new query at /queries/new


@dataclass(frozen=True)
class QueryPage:
    """Some rows of a query: its columns (the aliases), the rows from ``offset`` (at most
    ``limit``), whether more follow, and how many rows it has in all (None: the target cannot
    say)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    offset: int
    limit: int
    more: bool
    total: int | None
    shows: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias: (source, field)

    @property
    def samples(self) -> dict[str, list[Any]]:
        """The rows' values by column (what auto-mapping weighs)."""
        return {c: [row[i] for row in self.rows] for i, c in enumerate(self.columns)}

    def fields_of(self, source: str) -> dict[str, str]:
        """The columns that show a field of ``source`` (a job loading it maps them there)."""
        return {alias: f for alias, (s, f) in self.shows.items() if s == source}


class QueryFacade(WorkspaceBase):
    """Saved queries checked, saved, read a page at a time and exported (a part of
    :class:`idms.workspace.Workspace`)."""

    @contextmanager
    def run_query(
        self,
        query: SavedQuery,
        params: Mapping[str, Any],
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> Iterator[tuple[CompiledQuery, QueryResult]]:
        """Run ``query`` on the target with its prompts' ``params`` (a missing required prompt
        is refused before anything runs): the query as compiled, and its rows, streamed."""
        from idms.queries.compile import compile_query

        with self.target() as target:
            compiled = compile_query(query, target.sources())
            if compiled.source is not None:
                compiled.bind(params)
            with target.query(compiled, params, offset=offset, limit=limit) as result:
                yield compiled, result

    def check_query(self, query: SavedQuery) -> CompiledQuery:
        """``query`` checked against the target's sources (QueryInvalid, every problem)."""
        from idms.queries.compile import compile_query

        with self.target() as target:
            return compile_query(query, target.sources())

    def save_query(self, document: Mapping[str, Any] | SavedQuery) -> tuple[SavedQuery, bool]:
        """Check a query (a document, as a query file holds it, or one already shaped) and save
        it under its name: the query, and True when it is new (False: it replaced one)."""
        from idms.queries.model import QueryInvalid, SavedQuery, build_query

        query = document if isinstance(document, SavedQuery) else build_query(dict(document))
        if query.name.strip().casefold() == RESERVED_NAME:
            # /queries/new is where the web UI builds a new query: one named so could never be
            # opened there.
            raise QueryInvalid(
                [f"name: '{query.name}' is kept for the web UI's new query; choose another name."],
                name=query.name,
            )
        self.check_query(query)
        return query, self.queries.save(query)

    def query_page(
        self, name: str, params: Mapping[str, Any], *, offset: int = 0, limit: int = 50
    ) -> QueryPage:
        """Rows ``offset`` to ``offset + limit`` of saved query ``name`` with its prompts'
        ``params``, what each column shows, and the query's row count."""
        query = self.queries.get(name).query
        with self.run_query(query, params, offset=offset, limit=limit + 1) as (compiled, result):
            rows = list(islice(result, limit + 1))
            total = result.count() if result.count is not None else None
            columns = tuple(result.columns)
        return QueryPage(
            columns, rows[:limit], offset, limit, len(rows) > limit, total, _shown(compiled)
        )

    def query_download(self, name: str, params: Mapping[str, Any], extension: str) -> Path:
        """Every row of saved query ``name`` written now to a file (``extension``: csv, xlsx or
        json) by the export writer (text a spreadsheet would run as a formula is escaped), in a
        private folder of the runs folder; :meth:`discard_query_download` removes it."""
        from idms.io.writer import export_query

        query = self.queries.get(name).query
        folder = private_temp_folder(self.runs_folder, DOWNLOAD_PREFIX)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in query.name)[:80]
        path = folder / f"{safe or 'query'}.{extension}"
        try:
            with self.run_query(query, params) as (_, result):
                export_query(result, path)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return path

    def discard_query_download(self, path: Path) -> None:
        """Remove a file :meth:`query_download` made, with its folder."""
        folder = path.parent
        if folder.parent == self.runs_folder and folder.name.startswith(DOWNLOAD_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)


def _shown(compiled: CompiledQuery) -> dict[str, tuple[str, str]]:
    """By column alias, the source and field it shows."""
    out = {}
    for column in compiled.columns:
        if column.relation is not None:
            source = compiled.relations[column.relation].source
        elif compiled.source is not None:
            source = compiled.source
        else:
            continue
        out[column.alias] = (source.name, column.field.name)
    return out
