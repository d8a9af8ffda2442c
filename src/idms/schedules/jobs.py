"""The job a schedule runs, built afresh at each fire: from the job document stored when the
schedule was added (the job file may move or go; its input file is read as it is at the fire),
or from a template by name as it is saved now, with the schedule's input file if it has one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from idms.errors import InvalidInputError
from idms.jobs.assemble import finish_document, job_from_template
from idms.jobs.model import Job
from idms.secrets import SecretBox
from idms.state.templates import TemplateInfo, TemplateStore


def schedule_job(
    *,
    kind: str,
    job_document: dict[str, Any] | None,
    template: str | None,
    input_file: str | None,
    templates: TemplateStore,
) -> Job:
    """The job for a schedule's fields; :class:`InvalidInputError` when it cannot be built (a
    template deleted, a job made invalid by a changed template) or has no input."""
    if kind == "template":
        assert template is not None
        job = job_from_template(template, templates=templates, input_file=input_file)
        if job.input is None:
            raise InvalidInputError(
                f"Template '{template}' has no input of its own (it is run on a file): the "
                "schedule must name the file to read.",
                hint="Give it with --input FILE.",
            )
        return job
    assert job_document is not None
    job = finish_document(copy.deepcopy(job_document), templates=templates, input_file=None)
    if job.input is None:
        raise InvalidInputError(
            "The job has no input: give it one in the job file ('input: FILE', or "
            "'input: {query: NAME}' for an iUpdate job)."
        )
    return job


def input_path(job: Job) -> Path | None:
    """The job's input file, if it reads one (not a saved query)."""
    spec = job.input
    return Path(spec.file) if spec is not None and spec.file is not None else None


class CachedTemplates(TemplateStore):
    """Templates read once per batch of fires (many schedules may run the same template)."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        super().__init__(engine, box)
        self._cache: dict[str, TemplateInfo] = {}

    def get(self, name: str) -> TemplateInfo:
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = super().get(name)
        return found
