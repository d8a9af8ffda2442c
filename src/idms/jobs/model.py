"""The job file (INTERFACES.md "Job file"): what to read, where to write, how, with which options.

A job is YAML or JSON. It is validated twice: here for its shape (pydantic), and in
``compile.py`` against the target and the input's columns. Both report every problem at once,
each with where it is (``mappings[2].field``), and nothing is written until both pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from idms.documents import DocumentError, describe_problems, read_document
from idms.errors import InvalidInputError, printable_lines
from idms.sources.model import Action


class JobInvalid(InvalidInputError):
    """The job is wrong; ``problems`` lists every issue with its location. Nothing was written."""

    def __init__(
        self, problems: list[str], *, name: str = "the job", hint: str | None = None
    ) -> None:
        self.problems = problems = printable_lines(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{name} cannot run; nothing was written:\n{lines}", hint=hint)


class InputSpec(BaseModel):
    """Where the rows come from: a file (with reading overrides) or a saved query; or rows
    handed over by a workflow step (``rows``: where they came from), kept sealed with the run
    (:mod:`idms.jobs.rows_input`)."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    sheet: str | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    quotechar: str = "auto"
    header_row: int = Field(default=1, ge=1)
    query: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    rows: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> InputSpec:
        if sum(kind is not None for kind in (self.file, self.query, self.rows)) != 1:
            raise ValueError("give either 'file' or 'query'")
        return self


class MappingSpec(BaseModel):
    """One target field and where its value comes from: a column, a constant or a template."""

    model_config = ConfigDict(extra="forbid")

    field: str
    column: str | None = None
    value: Any = None
    template: str | None = None
    values: dict[str, Any] | None = None  # value map applied to the column's cells
    match: bool = False
    format: str | None = None  # e.g. "%m/%d/%Y" for a date column
    append: bool = False  # multi-select: add to what is stored instead of replacing it

    @model_validator(mode="after")
    def _one_origin(self) -> MappingSpec:
        origins = [
            name
            for name in ("column", "value", "template")
            if name in self.model_fields_set
            and (name == "value" or getattr(self, name) is not None)
        ]
        if len(origins) != 1:
            raise ValueError(
                "give exactly one of 'column', 'value' (a constant) or 'template'"
                + (f"; this mapping has {', '.join(origins)}" if origins else "")
            )
        if self.values is not None and self.column is None:
            raise ValueError("'values' (a value map) applies to a 'column' mapping")
        return self

    @property
    def origin(self) -> Literal["column", "value", "template"]:
        if self.column is not None:
            return "column"
        if self.template is not None:
            return "template"
        return "value"


class Options(BaseModel):
    """The iDMS task options, and idms's own."""

    model_config = ConfigDict(extra="forbid")

    skip_update_if_multiple_matches: bool = True
    insert_only_when_no_match: bool = False
    skip_blank_match_on: bool = True
    skip_validation: bool = False
    blank_values: Literal["ignore", "clear"] = "ignore"
    batch_size: int = Field(default=1000, ge=1, le=5000)
    stop_after_errors: int | None = Field(default=None, ge=1)
    allow_broad_delete: bool = False
    duplicate_check: bool = True  # event registrations: refuse a second identical registration
    skip_identical: bool = False  # skip an insert identical to a stored record (else a warning)

    @field_validator("stop_after_errors", mode="before")
    @classmethod
    def _no_limit(cls, value: Any) -> Any:
        """``none`` (or ``off``, or nothing) is no limit: what a job (``--option
        stop_after_errors=none``) says to override a global default."""
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        return value

    @field_validator(
        "skip_update_if_multiple_matches",
        "insert_only_when_no_match",
        "skip_blank_match_on",
        "skip_validation",
        "allow_broad_delete",
        "duplicate_check",
        "skip_identical",
        mode="before",
    )
    @classmethod
    def _idms_booleans(cls, value: Any) -> Any:
        from idms.values.coerce import parse_bool

        if isinstance(value, str | int) and not isinstance(value, bool):
            return parse_bool(value)
        return value


class Job(BaseModel):
    """A whole job document."""

    model_config = ConfigDict(extra="forbid")

    name: str = "Untitled job"
    description: str = ""
    template: str | None = None
    input: InputSpec | None = None
    source: str
    action: Action
    mappings: list[MappingSpec] = Field(min_length=1)
    # Further match keys, by any name of a mapped field (what ``--match FIELD`` gives): each
    # marks the mapping of the same field as ``match: true`` once the job is checked.
    match_on: list[str] = Field(default_factory=list)
    options: Options = Field(default_factory=Options)
    # Where each option given to the job came from ("job", "template" or "global"), as
    # :func:`idms.jobs.options.resolve_options` found it; not part of the document (a run's
    # sealed job keeps the values, which is what a resumed run needs).
    _option_sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def option_sources(self) -> dict[str, str]:
        """Every option and the layer its value came from: job, template, global or built-in."""
        given = self.options.model_fields_set
        return {
            name: self._option_sources.get(name, "job") if name in given else "built-in"
            for name in Options.model_fields
        }

    def with_option_sources(self, sources: dict[str, str]) -> Job:
        """This job, recording where its options came from (see :attr:`option_sources`)."""
        self._option_sources = dict(sources)
        return self

    @field_validator("input", mode="before")
    @classmethod
    def _input_as_path(cls, value: Any) -> Any:
        return {"file": value} if isinstance(value, str) else value

    def to_document(self) -> dict[str, Any]:
        """The job as a plain document (what templates store), without unset defaults nor the
        options it took from the installation's defaults (a template keeps its own only, so
        that a changed global default reaches its runs)."""
        document = self.model_dump(
            mode="json", exclude_defaults=True, exclude={"template", "options"}
        )
        # An option given is kept even when it is the built-in value: it wins over a global
        # default, as it did in the job.
        inherited = {k for k, v in self._option_sources.items() if v == "global"}
        options = self.options.model_dump(mode="json", exclude_unset=True, exclude=inherited)
        if options:
            document["options"] = options
        return document


def parse_document(text: str, *, where: str = "the job file") -> dict[str, Any]:
    """A YAML or JSON mapping from text, or JobInvalid saying why not (see
    :mod:`idms.documents`: no YAML aliases, bounded nesting)."""
    try:
        raw = read_document(text)
    except DocumentError as exc:
        raise JobInvalid([f"{where} {exc.message}"]) from None
    if not isinstance(raw, dict):
        raise JobInvalid([f"{where} must be a mapping with source, action and mappings"])
    return raw


def merge_template(template: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """A job built on a template: the job's keys win; options merge key by key."""
    merged = {**template, **{k: v for k, v in job.items() if k != "template"}}
    if isinstance(template.get("options"), dict) and isinstance(job.get("options"), dict):
        merged["options"] = {**template["options"], **job["options"]}
    merged["template"] = job.get("template")
    return merged


def build_job(document: dict[str, Any]) -> Job:
    """Validate a job document's shape; every problem is listed with its location."""
    try:
        return Job.model_validate(document)
    except ValidationError as exc:
        problems = shape_problems(exc)
        raise JobInvalid(problems, name=f"Job '{document.get('name', 'untitled')}'") from None


def shape_problems(exc: ValidationError, *, prefix: str = "") -> list[str]:
    """A validation error of a job (or of its options, under ``prefix``) as problems, each
    naming where it is: the one wording for a job file and the installation's defaults."""
    return describe_problems(
        exc.errors(),
        unknown="is not a job setting (check the spelling)",
        location=lambda error: prefix + _where(error),
        message=lambda error: str(error["msg"]).removeprefix("Value error, "),
    )


def _where(error: Any) -> str:
    parts: list[str] = []
    for p in error["loc"]:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]" if parts else f"[{p}]"]
        elif p not in ("function-after[_one_origin()]", "function-after[_one_kind()]"):
            parts.append(str(p))
    return ".".join(parts) or "(top level)"


def load_job_file(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise JobInvalid([f"no job file at {file}"])
    document = parse_document(file.read_text(encoding="utf-8-sig"), where=str(file))
    spec = document.get("input")
    # A relative input path in a job file is relative to the job file, not to where idms runs.
    if isinstance(spec, str):
        document["input"] = spec = {"file": spec}
    if isinstance(spec, dict) and isinstance(spec.get("file"), str):
        candidate = Path(spec["file"])
        if not candidate.is_absolute():
            spec["file"] = str((file.parent / candidate).resolve())
    return document
