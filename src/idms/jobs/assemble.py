"""Building a job from what the user gave: a job file (maybe on a template), or CLI flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.jobs.model import (
    Job,
    JobInvalid,
    build_job,
    load_job_file,
    merge_template,
)
from idms.jobs.option_defaults import OptionDefaults
from idms.jobs.options import resolve_options
from idms.sources.model import fold
from idms.state.templates import TemplateStore

if TYPE_CHECKING:
    from idms.sources.automap import MappingProposal


def job_from_file(
    path: str | Path,
    *,
    templates: TemplateStore | None = None,
    input_file: str | Path | None = None,
    encoding: str | None = None,
) -> Job:
    """A job file, merged onto the template it names, with its input optionally replaced (and
    its encoding given)."""
    document = load_job_file(path)
    return finish_document(document, templates=templates, input_file=input_file, encoding=encoding)


def job_from_template(
    name: str,
    *,
    templates: TemplateStore,
    input_file: str | Path | None = None,
    encoding: str | None = None,
) -> Job:
    """A saved template run as a job (its input replaced when ``input_file`` is given)."""
    return finish_document(
        {"template": name}, templates=templates, input_file=input_file, encoding=encoding
    )


def finish_document(
    document: dict[str, Any],
    *,
    templates: TemplateStore | None,
    input_file: str | Path | None,
    encoding: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Job:
    """The job a document describes, on its template; ``input_file`` replaces its input file
    and ``encoding`` sets the input's ``encoding`` (the file's text encoding), as if the document
    said so. Its options are resolved here, for every shell (:mod:`idms.jobs.options`): the
    job's over the template's over ``defaults`` (the installation's, read from the suite
    database ``templates`` is in when not given) over the built-in ones."""
    name = document.get("template")
    own = document.get("options")
    template_options: Any = None
    if name:
        if templates is None:
            raise JobInvalid([f"template: '{name}' cannot be looked up here"])
        template = templates.job_document(str(name))
        template_options = template.get("options")
        document = merge_template(template, document)
    if defaults is None and templates is not None:
        defaults = OptionDefaults(templates.engine).get()
    resolved = None
    if all(isinstance(o, dict | None) for o in (own, template_options)):
        resolved = resolve_options(own, template_options, defaults)
        document = {**document, "options": resolved.given}
    if input_file is not None:
        spec = document.get("input")
        kept = {k: v for k, v in spec.items() if k != "file"} if isinstance(spec, dict) else {}
        kept.pop("query", None)
        document["input"] = {**kept, "file": str(Path(input_file).resolve())}
    if encoding is not None:
        spec = document.get("input")
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict) or spec.get("query") is not None:
            raise JobInvalid(["input.encoding: the job reads no file, so it has no encoding"])
        document["input"] = {**spec, "encoding": encoding}
    job = build_job(document)
    return job.with_option_sources(resolved.sources) if resolved is not None else job


def job_from_flags(
    file: str | Path,
    *,
    source: str,
    action: str,
    maps: Sequence[str] = (),
    matches: Sequence[str] = (),
    sets: Sequence[str] = (),
    options: Sequence[str] = (),
    sheet: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
) -> Job:
    """``idms import FILE --source S --action A --map COL=FIELD --match FIELD --set F=V ...``."""
    return build_job(
        flags_document(
            file,
            source=source,
            action=action,
            maps=maps,
            matches=matches,
            sets=sets,
            options=options,
            sheet=sheet,
            encoding=encoding,
            name=name,
        )
    )


def flags_document(
    file: str | Path,
    *,
    source: str,
    action: str,
    maps: Sequence[str] = (),
    matches: Sequence[str] = (),
    sets: Sequence[str] = (),
    options: Sequence[str] = (),
    sheet: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The job document :func:`job_from_flags` builds, before it is checked (so that
    ``--auto-map`` can add to it: :func:`with_proposal`)."""
    problems: list[str] = []
    mappings: list[dict[str, Any]] = []
    for text in maps:
        column, sep, field = text.partition("=")
        if not sep or not column.strip() or not field.strip():
            problems.append(f"--map '{text}': write COLUMN=FIELD, e.g. --map \"E-mail=Email\"")
            continue
        mappings.append({"field": field.strip(), "column": column.strip()})
    for text in sets:
        field, sep, value = text.partition("=")
        if not sep or not field.strip():
            problems.append(f"--set '{text}': write FIELD=VALUE, e.g. --set ActivityType=WEBINAR")
            continue
        mappings.append({"field": field.strip(), "value": value})
    # Which mapping a --match names is decided against the source, when the job is checked:
    # "--map 'iMIS ID=iMIS ID' --match ImisId" names one field twice (SourceDef.resolve).
    match_on = [field.strip() for field in matches if field.strip()]
    opts: dict[str, Any] = {}
    for text in options:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            problems.append(f"--option '{text}': write NAME=VALUE, e.g. --option batch_size=500")
            continue
        opts[key.strip()] = value.strip()
    if problems:
        raise JobInvalid(problems, name="The command line")
    spec: dict[str, Any] = {"file": str(Path(file).resolve())}
    if sheet:
        spec["sheet"] = sheet
    if encoding:
        spec["encoding"] = encoding
    document: dict[str, Any] = {
        "name": name or f"Import of {Path(file).name}",
        "input": spec,
        "source": source,
        "action": action,
        "mappings": mappings,
        "options": opts,
    }
    if match_on:
        document["match_on"] = match_on
    return document


def with_params(job: Job, params: Mapping[str, Any]) -> Job:
    """The job with ``params`` merged into its saved query's parameters (its prompts' values).
    A job that reads a file has no prompts: giving it parameters is refused."""
    if not params:
        return job
    if job.input is None or job.input.query is None:
        raise JobInvalid(["params: the job reads a file, not a saved query; it has no prompts"])
    spec = job.input.model_copy(update={"params": {**job.input.params, **params}})
    return job.model_copy(update={"input": spec})


def with_proposal(document: dict[str, Any], proposal: MappingProposal) -> dict[str, Any]:
    """A job document (:func:`flags_document`) with an auto-mapping proposal's columns added
    (``idms import --auto-map``). What it maps already stays as it is: the proposal was made
    around it (``Workspace.suggest_mapping(keep=...)``). The proposal's match keys are taken
    only when the document names none (an explicit --match wins)."""
    mappings: list[dict[str, Any]] = list(document.get("mappings") or [])
    mapped = {fold(str(m["column"])) for m in mappings if m.get("column") is not None}
    for c in proposal.mapped:
        if c.how != "given" and c.reference is not None and fold(c.column) not in mapped:
            mappings.append({"field": c.reference, "column": c.column})
    out = {**document, "mappings": mappings}
    chosen = document.get("match_on") or any(m.get("match") for m in mappings)
    if not chosen and proposal.match_keys:
        out["match_on"] = list(proposal.match_keys)
    return out
