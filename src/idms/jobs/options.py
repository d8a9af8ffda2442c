"""A job's effective task options, from three layers as iDMS has them: the job's own options
over its template's over the installation's global defaults over the built-in ones.

This is the one rule; :func:`idms.jobs.assemble.finish_document` applies it when a job is
built from what a shell was given (a job file, a template, a schedule's document, a request),
so a plan and the run it foresees see the same options, and a schedule or a template run
takes a changed global default at its next run. An option the job (or its template) gives is
"given" even when it equals the built-in value, and wins over a global default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from idms.errors import InvalidInputError, printable_lines
from idms.jobs.model import Job, Options, shape_problems

# The options an installation may default: not ``allow_broad_delete`` (a delete of every
# record must be asked for by the job that does it) nor ``insert_only_when_no_match`` (it
# changes what an action does, so it belongs to the job).
INSTALLATION_WIDE: tuple[str, ...] = (
    "skip_update_if_multiple_matches",
    "skip_blank_match_on",
    "skip_validation",
    "blank_values",
    "batch_size",
    "stop_after_errors",
    "duplicate_check",
    "skip_identical",
)

LAYERS = ("job", "template", "global")


@dataclass(frozen=True)
class ResolvedOptions:
    """The options given by some layer (what the job is built with) and, for every option,
    the layer its value comes from: job, template, global or built-in."""

    given: dict[str, Any]
    sources: dict[str, str]


def resolve_options(
    job: Mapping[str, Any] | None,
    template: Mapping[str, Any] | None = None,
    installation: Mapping[str, Any] | None = None,
) -> ResolvedOptions:
    """Each layer's options over the ones below: job, template, global, built-in."""
    given: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer, values in zip(LAYERS, (job, template, installation), strict=True):
        for name, value in (values or {}).items():
            if name not in given:
                given[name] = value
                sources[name] = layer
    for name in Options.model_fields:
        sources.setdefault(name, "built-in")
    return ResolvedOptions(given, sources)


def check_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """Installation defaults checked as a job's options are (the job model's parsing), as the
    plain values to store; :class:`InvalidInputError` names each bad option (nothing is
    changed)."""
    problems = [
        f"options.{name}: is set per job, not as an installation default"
        for name in values
        if name in Options.model_fields and name not in INSTALLATION_WIDE
    ]
    try:
        parsed = Options.model_validate(dict(values))
    except ValidationError as exc:
        problems += shape_problems(exc, prefix="options.")
    if problems:
        said = "; ".join(printable_lines(problems))  # one line: the API shows the first
        raise InvalidInputError(f"The default task options were not changed: {said}.")
    return parsed.model_dump(mode="json", include=set(values))


def effective_defaults(installation: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value for a job that gives none: the global default, else built-in."""
    return Options.model_validate(dict(installation)).model_dump(mode="json")


def option_text(value: object) -> str:
    """An option's value as a user types it (``none``, ``true``, ``500``): the settings
    command and page show them so."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def option_report(job: Job) -> dict[str, dict[str, Any]]:
    """Every option of ``job``: its value and the layer it came from (the ``--json`` field)."""
    values = job.options.model_dump(mode="json")
    return {name: {"value": values[name], "from": src} for name, src in job.option_sources.items()}


def option_line(job: Job) -> str:
    """The options not at their built-in value's layer, each with where it came from:
    ``batch_size=500 (global), skip_validation=true (job)``; empty when all are built-in."""
    shown = []
    for name, entry in option_report(job).items():
        if entry["from"] != "built-in":
            value = json.dumps(entry["value"])
            shown.append(f"{name}={value.strip(chr(34))} ({entry['from']})")
    return ", ".join(shown)


def defaults_report(installation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every option's value for a run that sets none and where it comes from (global or
    built-in): what ``idms settings options show --json`` and the API answer."""
    values = effective_defaults(installation)
    return {
        name: {"value": value, "from": "global" if name in installation else "built-in"}
        for name, value in values.items()
    }
