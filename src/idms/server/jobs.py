"""Jobs that arrive over HTTP: built from a document or a template, checked, then queued or
planned.

A job is checked exactly as ``idms run`` checks it (its shape, then against its input's columns
and the target) before it is queued: an invalid job is refused with every problem listed and
never becomes a run. Its input is a file the server can read (a relative path is taken from the
workspace folder) or a saved query.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError
from idms.execution.queue import enqueue_job
from idms.jobs.assemble import finish_document
from idms.jobs.model import Job, JobInvalid
from idms.jobs.runner import prepare_job, run_job
from idms.server.context import ServerContext
from idms.server.lookup import template_or_404
from idms.server.schemas import PlanOut, RowOut, RunOut
from idms.state.runs import RunInfo


def with_server_input(context: ServerContext, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its input file (if it names one) as the server's path to it."""
    document = dict(document)
    spec = document.get("input")
    if isinstance(spec, str):
        document["input"] = {"file": server_path(context, spec)}
    elif isinstance(spec, dict) and isinstance(spec.get("file"), str):
        document["input"] = {**spec, "file": server_path(context, spec["file"])}
    return document


def job_from_document(context: ServerContext, document: dict[str, Any]) -> Job:
    """A job document (as a job file holds it), merged onto the template it names."""
    document = with_server_input(context, document)
    return finish_document(document, templates=context.templates, input_file=None)


def job_from_template(
    context: ServerContext,
    name: str,
    *,
    input_file: str | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """A saved template as a job; ``input_file`` replaces its input, ``params`` fill its query's
    prompts. An unknown template is a 404."""
    template_or_404(context, name)
    path = server_path(context, input_file) if input_file else None
    job = finish_document({"template": name}, templates=context.templates, input_file=path)
    return with_params(job, params or {})


def with_params(job: Job, params: dict[str, Any]) -> Job:
    """The job with ``params`` merged into its saved query's parameters."""
    if not params:
        return job
    if job.input is None or job.input.query is None:
        raise JobInvalid(["params: the job reads a file, not a saved query; it has no prompts"])
    spec = job.input.model_copy(update={"params": {**job.input.params, **params}})
    return job.model_copy(update={"input": spec})


def check_job(context: ServerContext, job: Job) -> None:
    """Refuse ``job`` (JobInvalid, QueryInvalid...) unless it can run: nothing is written."""
    with context.target() as target:
        _, reader = prepare_job(job, target, context.queries)
        reader.close()


def queue_job(context: ServerContext, job: Job, *, trigger: str) -> RunInfo:
    """Check ``job``, record it as a queued run and hand it to the executor."""
    check_job(context, job)
    run_id = enqueue_job(context.workspace, job, trigger=trigger)
    context.dispatch()
    return context.runs.get(run_id)


def plan_job(context: ServerContext, job: Job, *, rows: int) -> PlanOut:
    """Plan ``job`` now (nothing is written): the plan run and its first ``rows`` rows."""
    runs = context.runs
    with context.target() as target:
        report = run_job(
            job,
            target=target,
            runs=runs,
            plan=True,
            target_label=context.settings.target,
            queries=context.queries,
        )
    info = runs.get(report.run_id)
    shown = [RowOut.of(r) for r in islice(runs.rows(info.id), rows)]
    return PlanOut(run=RunOut.of(info, context.prefix), rows=shown)


def server_path(context: ServerContext, path: str) -> str:
    """A path the server reads: a relative one starts at the workspace folder."""
    if not path.strip():
        raise InvalidInputError("input: give the path of a file the server can read")
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = context.settings.workspace / candidate
    return str(candidate.resolve())
