"""A job made ready to run: its input opened, the job checked against it and the target, and the
record its run starts with. Nothing is written until the run starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.io.reader import Opener, open_input
from idms.io.records import InputReader, ReadOptions
from idms.jobs.compile import CompiledJob, compile_job
from idms.jobs.model import Job, JobInvalid
from idms.jobs.sealing import mask_constants
from idms.queries.store import QueryStore
from idms.runs.record import NewRun, new_run_id
from idms.runs.status import RunKind
from idms.sources.model import SourceDef
from idms.targets.base import Target

if TYPE_CHECKING:
    from idms.jobs.query_input import Spool


def spool_file(runs_folder: Path, run_id: str) -> Path:
    """Where a durable run of a query-fed job (iUpdate) keeps its copy of the query's rows, to
    resume from the rows it began with (and a run of rows a workflow step handed over, its
    copy of them: :mod:`idms.jobs.rows_input`)."""
    return runs_folder / run_id / "input.rows"


@dataclass
class PreparedJob:
    """A job checked against its open input and the target: what a run needs to start. The
    input is read once, by the run; close it if the run never starts."""

    job: Job
    compiled: CompiledJob
    reader: InputReader
    run_id: str = field(default_factory=lambda: new_run_id())
    # The target the job was checked on, when this prepared job owns it (closed with it).
    target: Target | None = None

    @property
    def detected(self) -> dict[str, Any]:
        """How the input was read (encoding, delimiter, header, format, columns)."""
        return self.reader.detected.to_dict()

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            if self.target is not None:
                self.target.close()
                self.target = None

    def __enter__(self) -> PreparedJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_job_input(
    job: Job,
    target: Target | None = None,
    queries: QueryStore | None = None,
    *,
    spool: Spool | None = None,
    opener: Opener | None = None,
) -> InputReader:
    """The job's rows: a file, or a saved query run on ``target`` (the iUpdate case).
    ``opener`` reads a file whose bytes are not its content as it lies (a sealed copy)."""
    spec = job.input
    if spec is None:
        raise JobInvalid(["input: the job names no input file"], hint="Give one with --input FILE.")
    if spec.rows is not None:
        from idms.jobs.rows_input import open_rows_input

        return open_rows_input(spec, spool)
    if spec.file is None:
        if target is None:
            raise JobInvalid([f"input: the query '{spec.query}' needs a target to run on"])
        from idms.jobs.query_input import open_query_input

        mapped = tuple(m.column for m in job.mappings if m.column is not None)
        return open_query_input(spec, target, queries, mapped_columns=mapped, spool=spool)
    options = ReadOptions(
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        quotechar=spec.quotechar,
        sheet=spec.sheet,
        header_row=spec.header_row,
    )
    return open_input(spec.file, options, opener=opener)


def prepare_job(
    job: Job,
    target: Target,
    queries: QueryStore | None = None,
    *,
    spool: Spool | None = None,
    run_id: str | None = None,
    opener: Opener | None = None,
) -> PreparedJob:
    """Open the input and check the whole job against it and the target; nothing is written.
    ``run_id`` is the ID its run will have (a new one by default)."""
    reader = open_job_input(job, target, queries, spool=spool, opener=opener)
    try:
        compiled = compile_job(job, target, reader.detected.columns)
        return PreparedJob(job, compiled, reader, run_id=run_id or new_run_id())
    except BaseException:
        reader.close()
        raise


def run_kind(job: Job) -> RunKind:
    """An update when the rows come from a saved query (iUpdate), an import otherwise."""
    by_query = job.input is not None and job.input.query is not None
    return RunKind.UPDATE if by_query else RunKind.IMPORT


def masked_document(job: Job, source: SourceDef | None) -> dict[str, Any]:
    """The job as stored with its run: constants of secret fields replaced by a mask.
    ``source`` is the job's source (None when it cannot be known yet: a panel has no secret
    fields)."""
    document = job.model_dump(mode="json", exclude_none=True)
    return mask_constants(document, source) if source is not None else document


def new_run(
    job: Job,
    *,
    source: SourceDef | None,
    target: str,
    platform: str,
    plan: bool = False,
    prepared: PreparedJob | None = None,
) -> NewRun:
    """The record a run of ``job`` starts with (the caller sets how it is held and resumed:
    status, owner, lease, trigger, sealed job, input identity). With ``prepared``, the input's
    columns and how it was read are known now; a queued run learns them when it starts."""
    return NewRun(
        kind=run_kind(job),
        name=job.name,
        source=source.name if source is not None else job.source,
        action=job.action.value,
        target=target,
        platform=platform,
        plan_only=plan,
        job=masked_document(job, source),
        columns=list(prepared.reader.detected.columns) if prepared is not None else (),
        detected=prepared.detected if prepared is not None else None,
    )
