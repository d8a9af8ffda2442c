"""What workflow actions may ask of the suite
(:class:`~idms.workflows.actions.base.WorkflowServices`), provided by the facade: stored secrets,
saved queries, templates run as jobs, rows inserted through the import engine, and each step's
delta-hash store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import islice, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from idms.config import Settings
from idms.errors import InvalidInputError
from idms.jobs.report import RunReport
from idms.runs.status import Counts, RunStatus
from idms.workflows.actions.base import HashStore

if TYPE_CHECKING:
    from idms.jobs.model import Job
    from idms.jobs.prepare import PreparedJob
    from idms.jobs.query_input import Spool
    from idms.runs.record import RunInfo
    from idms.workspace import Workspace

SUMMARY_KEYS = ("rows", "inserted", "updated", "unchanged", "deleted", "skipped", "errors")


class WorkspaceServices:
    """:class:`~idms.workflows.actions.base.WorkflowServices` over a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    def secret(self, name: str) -> str:
        """A stored secret's value (``idms secrets set NAME``), decrypted with the workspace's
        key; SecretError saying so (and the closest name) when there is none."""
        from idms.secrets import SecretStore

        return SecretStore(self.workspace.suite, self.workspace.box).get(name)

    def query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A saved query's rows (or an IQA's, by its ``$/`` path) on the workspace's target,
        its prompts filled from ``params`` (a required prompt left out is refused before
        anything runs); each row a JSON object by the query's column names."""
        return list(self.iter_query_rows(query, params, limit=limit))

    def iter_query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """:meth:`query_rows` one row at a time, as the target streams them: the query (and
        the target) stay open until the last row is read or the iterator is closed. The
        query is resolved and its prompts checked at the first row asked for."""
        from idms.jobs.query_input import resolve_query

        if limit is not None and limit < 1:
            raise InvalidInputError(f"limit must be 1 or more, not {limit}.")
        saved = resolve_query(query, self.workspace.queries)
        with self.workspace.run_query(saved, params, limit=limit) as (_, result):
            yield from json_rows(result.columns, result)

    @contextmanager
    def query_table(
        self,
        query: str,
        params: Mapping[str, Any],
        *,
        limit: int | None = None,
        tabular: bool = False,
        dates: bool = False,
    ) -> Iterator[tuple[list[str], Iterator[Sequence[Any]]]]:
        """A saved query's columns and its rows as tuples of cells (as :func:`json_cell` gives
        them; ``tabular``: a list as its JSON text, as a table's cell holds it; ``dates``: a
        column of dates as ``date`` values, which a CSV file writes as the same text), streamed:
        Convert writes a query's file from them with no object made per row and no row set in
        between. The query is resolved and its prompts checked on entry; the query and the
        target stay open until the block ends."""
        from idms.jobs.query_input import resolve_query

        if limit is not None and limit < 1:
            raise InvalidInputError(f"limit must be 1 or more, not {limit}.")
        saved = resolve_query(query, self.workspace.queries)
        with self.workspace.run_query(saved, params, limit=limit) as (_, result):
            cell, keep = json_text if tabular else json_cell, KEEP_DATES if dates else NONE
            yield list(result.columns), json_tuples(result, cell, keep=keep)

    def run_template(
        self,
        template: str,
        params: Mapping[str, Any],
        *,
        wait: bool,
        trigger: str,
        key: str | None = None,
    ) -> dict[str, Any]:
        """A saved template's job, its query's prompts filled from ``params``: queued for an
        executor (``wait=False``: the summary says ``queued``) or run here to its end. With
        ``key``, the run it names is carried on (or its summary given) if it exists."""
        from idms.jobs.assemble import finish_document, with_params
        from idms.jobs.enqueue import queued_run
        from idms.jobs.model import JobInvalid
        from idms.jobs.runner import spool_path

        ws = self.workspace
        run_id = run_id_for(key)
        known = self._known(run_id)
        if known is not None:
            if not wait or known.finished:
                return _info_summary(known)
            return _summary(self._carry_on(run_id))
        document = ws.templates.job_document(template)
        spec = document.get("input")
        if not isinstance(spec, dict) or spec.get("query") is None:
            raise JobInvalid(
                [
                    f"template '{template}' reads a file, which a workflow step cannot give it: "
                    "run a template whose input is a saved query (iUpdate), or insert the "
                    "pipeline's rows with an Insert Record step"
                ],
                name=f"Template '{template}'",
            )
        job = finish_document({"template": template}, templates=ws.templates, input_file=None)
        job = with_params(job, dict(params))
        if not wait:
            with ws.prepare(job, plan=True) as checked:  # refused with every problem listed
                record = queued_run(ws, job, trigger=trigger, run_id=run_id, prepared=checked)
            ws.runs.create(record)
            return _info_summary(ws.runs.get(run_id))
        spool = spool_path(job, ws.durable(), run_id)
        return _summary(ws.run(self._prepared(job, run_id, spool), trigger=trigger))

    def insert_rows(
        self,
        job: Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        *,
        trigger: str,
        key: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Run the job document over ``rows`` through the import engine, here and to its end:
        the rows are first sealed into the run's own copy (:mod:`idms.jobs.rows_input`), so the
        run is durable, resumable and undoable as any other. The run's summary, with each
        row's outcome in ``rows`` (its number from 1, outcome, message, the record written)
        where the summary of a run counts them. With ``key``, a run it names that exists
        already is carried on (or, ended, reported): the rows are never inserted twice.
        ``columns`` given (a row set's), ``rows`` is sealed one row at a time, never held."""
        from idms.jobs.assemble import finish_document
        from idms.jobs.model import JobInvalid
        from idms.jobs.prepare import spool_file
        from idms.jobs.query_input import Spool
        from idms.jobs.rows_input import write_rows

        ws = self.workspace
        run_id = run_id_for(key)
        known = self._known(run_id)
        if known is not None:
            summary = _info_summary(known) if known.finished else _summary(self._carry_on(run_id))
            return {**summary, "rows": self._outcomes(run_id)}
        if "input" in job:
            raise JobInvalid(
                ["input: the rows come from the workflow; the job must not name an input"]
            )
        built = finish_document(
            {**job, "input": {"rows": f"workflow ({trigger})"}},
            templates=ws.templates,
            input_file=None,
        )
        folder = ws.durable().folder(run_id)
        spool = Spool(spool_file(ws.runs_folder, run_id), ws.box, handed=True)
        try:
            write_rows(spool, rows, columns=columns)
            prepared = self._prepared(built, run_id, spool)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # no run was recorded: nothing to keep
            raise
        report = ws.run(prepared, trigger=trigger)
        return {**_summary(report), "rows": self._outcomes(report.run_id)}

    def _prepared(self, job: Job, run_id: str, spool: Spool | None) -> PreparedJob:
        """``job`` checked and ready to run as run ``run_id`` (what ``Workspace.run`` does
        first, with the run's ID chosen here): against iMIS, refused first on a failing check
        before a run (``Workspace.preflight``)."""
        from idms.jobs.prepare import prepare_job

        ws = self.workspace
        target = ws.open_target(ws.settings)
        try:
            ws.refuse_on_preflight(job, target)
            prepared = prepare_job(job, target, ws.queries, spool=spool, run_id=run_id)
        except BaseException:
            target.close()
            raise
        prepared.target = target
        return prepared

    def _known(self, run_id: str) -> RunInfo | None:
        """Run ``run_id`` if it exists (by its whole ID, never a prefix)."""
        from idms.state.models import Run

        with self.workspace.suite.connect() as conn:
            found = conn.scalar(select(Run.id).where(Run.id == run_id))
        return self.workspace.runs.get(run_id) if found is not None else None

    def _carry_on(self, run_id: str) -> RunReport:
        """A run of this step that had not ended (its process died, or it is queued): carried
        on here from its checkpoint; Conflict when a live process still holds it."""
        from idms.errors import Conflict

        ws = self.workspace
        report = ws.execute(run_id)
        if report is None:
            info = ws.runs.get(run_id)
            if not info.finished:
                raise Conflict(
                    f"Run {run_id}, which this step started before, is still held by another "
                    "process: wait for it to end, then run the step again."
                )
            return RunReport(
                run_id, RunStatus(info.status), Counts.of(info.counts), None, {}, info.message
            )
        return report

    def _outcomes(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {
                "row": r.row_number,
                "outcome": r.outcome,
                "message": r.message,
                "identity": r.identity,
            }
            for r in self.workspace.runs.rows(run_id)
        ]

    def hashes(self, workflow_id: str, step_id: str) -> HashStore:
        from idms.workflows.hashes import HashTable

        return HashTable(self.workspace.suite, workflow_id, step_id)

    def run_files(self, run_id: str) -> Path:
        """``RUNS/RUN_ID/files``, as the runner gives each step (nothing made here)."""
        if not run_id or not all(c.isalnum() or c in "-_" for c in run_id):
            raise InvalidInputError(f"{run_id!r} is not a run's ID.")
        return self.workspace.runs_folder / run_id / "files"


def run_id_for(key: str | None) -> str:
    """The ID of the run a step's idempotency key names (a new one without a key): as long as
    the run IDs idms makes, from the key's SHA-256."""
    from idms.runs.record import new_run_id

    if key is None:
        return new_run_id()
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[: len(new_run_id())]


def _info_summary(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.id,
        "status": str(info.status),
        **{k: int(info.counts.get(k, 0)) for k in SUMMARY_KEYS},
        "message": info.message,
    }


def _summary(report: RunReport) -> dict[str, Any]:
    counts = report.counts.as_dict()
    return {
        "run_id": report.run_id,
        "status": report.status.value,
        **{k: int(counts.get(k, 0)) for k in SUMMARY_KEYS},
        "message": report.message,
    }


_PLAIN = frozenset({str, int, float, bool, type(None)})  # cells json_cell gives back as they are
_ISO: dict[type, Callable[[Any], Any]] = {
    dt.date: dt.date.isoformat,
    dt.datetime: dt.datetime.isoformat,
    dt.time: dt.time.isoformat,
}
KEEP_DATES: frozenset[type] = frozenset({dt.date, type(None)})
"""A column a CSV file may be given as it is: the csv module writes a ``date`` as the ISO text
:func:`json_cell` would make of it, and a date format reads either alike, so the round trip
(text in the store, a ``date``, text again) is not made twice (a date-time is not the same:
``json_cell`` puts a ``T`` in it, the CSV writer a space)."""
NONE: frozenset[type] = frozenset()
_BATCH = 1024  # rows turned into pipeline rows together


def json_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """A query's rows as the pipeline's objects (by column name, cells as :func:`json_tuples`
    gives them). The objects are made by ``dict(zip(...))``, no Python code running per row."""
    names = list(columns)
    return map(dict, map(zip, repeat(names), json_tuples(rows)))


def json_tuples(
    rows: Iterable[Sequence[Any]],
    cell: Callable[[Any], Any] | None = None,
    *,
    keep: frozenset[type] = NONE,
) -> Iterator[Sequence[Any]]:
    """A query's rows with their cells as ``cell`` (default :func:`json_cell`) gives them, a
    batch at a time and a column at a time, as the target types them
    (:func:`idms.targets.embedded.query.typed_rows`): a column of texts and numbers is left as
    it is, a column of dates is written by ``isoformat`` in C, and only another mix goes
    through ``cell`` cell by cell. A column of only the types in ``keep`` is left as it is too
    (:data:`KEEP_DATES`, for a CSV file)."""
    cell = cell or json_cell
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        try:
            cells: list[Iterable[Any]] = list(zip(*batch, strict=True))
        except ValueError:  # rows of different lengths: one at a time
            for row in batch:
                yield tuple(map(cell, row))
            continue
        changed = False
        for index, values in enumerate(cells):
            kinds = set(map(type, values))
            if kinds <= _PLAIN or kinds <= keep:
                continue
            iso = _ISO.get(next(iter(kinds))) if len(kinds) == 1 else None
            convert: Callable[[Any], Any] = iso or cell
            cells[index] = map(convert, values)
            changed = True
        yield from zip(*cells, strict=True) if changed else batch


def json_text(value: Any) -> Any:
    """:func:`json_cell`, a list given as its JSON text (a table's cell: as Convert writes it)."""
    found = json_cell(value)
    if isinstance(found, list):
        return json.dumps(found, ensure_ascii=False, separators=(",", ":"))
    return found


def json_cell(value: Any) -> Any:
    """A query's typed cell as the pipeline's JSON holds it: dates in ISO 8601, an amount as a
    number (whole when it is whole), a multi-select value as a list."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_cell(v) for v in value]
    return str(value)
