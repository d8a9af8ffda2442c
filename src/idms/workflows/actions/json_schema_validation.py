"""JSON Schema Validation (iDMS "JSON Schema Validation"): the pipeline object, or a part of it,
checked against a JSON schema; a mismatch fails the step with every problem listed by where it is.

Drafts 4, 6, 7, 2019-09 and 2020-12, chosen by the schema's ``$schema`` (2020-12 when it names
none), through ``jsonschema_rs``. The schema is closed: a ``$ref`` to anything outside it (a URL,
a file) is refused rather than fetched, so a workflow never reaches the network, or the disk, to
learn its own schema.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from pydantic import BaseModel, ConfigDict, Field

from idms.errors import printable
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult

MAX_SCHEMA_CHARS = 1024 * 1024
MAX_ERRORS = 100  # listed in the output (all are counted)
SHOWN_ERRORS = 10  # listed in the step's message
DRAFTS = {
    "http://json-schema.org/draft-04/schema": "4",
    "http://json-schema.org/draft-06/schema": "6",
    "http://json-schema.org/draft-07/schema": "7",
    "https://json-schema.org/draft/2019-09/schema": "2019-09",
    "https://json-schema.org/draft/2020-12/schema": "2020-12",
}


class SchemaParams(BaseModel):
    """A step's ``with:`` for ``json_schema_validation``."""

    model_config = ConfigDict(extra="forbid")

    schema_: dict[str, Any] | bool | str = Field(
        alias="schema",
        description="The JSON schema: an object, or text holding one (pasted, or from a "
        "template). Its `$schema` picks the draft (4, 6, 7, 2019-09 or 2020-12; 2020-12 when "
        "absent). `$ref` may point inside the schema only.",
    )
    input: Any = Field(
        default=None,
        description="What to validate (e.g. `{{ input.completion }}`); default: the whole "
        "pipeline object as it reaches the step.",
    )
    error_property: str | None = Field(
        default=None,
        min_length=1,
        description="A property of the pipeline object that receives the errors when the data "
        "does not match (the step still fails; with `on_failure: ignore` or a `goto`, the "
        "next steps can read them).",
    )


def _schema(value: dict[str, Any] | bool | str) -> dict[str, Any] | bool:
    if isinstance(value, str):
        if len(value) > MAX_SCHEMA_CHARS:
            raise StepFailed(
                f"The schema is {len(value):,} characters long, more than the "
                f"{MAX_SCHEMA_CHARS:,} allowed.",
                retryable=False,
            )
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise StepFailed(
                f"The schema is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                retryable=False,
            ) from None
        if not isinstance(parsed, dict | bool):
            raise StepFailed("The schema must be a JSON object (or true/false).", retryable=False)
        return parsed
    return value


def _draft(schema: dict[str, Any] | bool) -> str:
    if not isinstance(schema, dict) or "$schema" not in schema:
        return "2020-12"
    named = schema["$schema"]
    draft = DRAFTS.get(str(named).rstrip("#")) if isinstance(named, str) else None
    if draft is None:
        raise StepFailed(
            f"The schema's $schema {printable(str(named))!r} is not a draft this step knows: "
            f"use one of {', '.join(DRAFTS)} (or leave $schema out for 2020-12).",
            retryable=False,
        )
    return draft


def _where(path: list[str | int]) -> str:
    """An instance path as a person reads it: ``$.members[2].email``; ``$`` is the whole."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def run(params: SchemaParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    schema = _schema(params.schema_)
    draft = _draft(schema)
    try:
        validator = jsonschema_rs.validator_for(schema, offline=True)
    except jsonschema_rs.ValidationError as exc:
        first = str(exc).split("\n", 1)[0]
        if "Retrieval is disabled" in first:
            first = (
                "it refers ($ref) to a schema outside itself, which this step does not fetch; "
                "put the referred schema under $defs and point at #/$defs/NAME"
            )
        raise StepFailed(
            f"The schema is not valid (draft {draft}): {first}.", retryable=False
        ) from None
    instance = params.input if "input" in params.model_fields_set else data
    errors: list[dict[str, str]] = []
    count = 0
    for error in validator.iter_errors(instance):
        count += 1
        if len(errors) < MAX_ERRORS:
            errors.append({"path": _where(list(error.instance_path)), "message": error.message})
    if not count:
        return StepResult(output={"valid": True, "draft": draft, "errors": []})
    lines = [f"{e['path']}: {e['message']}" for e in errors[:SHOWN_ERRORS]]
    if count > len(lines):
        lines.append(f"… and {count - len(lines)} more")
    passed = {**data, params.error_property: errors} if params.error_property else None
    raise StepFailed(
        f"The data does not match the schema ({count} problem{'s' if count != 1 else ''}):\n"
        + "\n".join(lines),
        output={"valid": False, "draft": draft, "errors": errors, "error_count": count},
        retryable=False,
        data=passed,
    )


ACTION = ActionSpec(
    name="json_schema_validation",
    label="JSON Schema Validation",
    summary="Check the pipeline object (or a part) against a JSON schema; fail listing the errors",
    params=SchemaParams,
    run=run,
    example="""\
- id: check
  action: json_schema_validation
  with:
    schema:
      $schema: http://json-schema.org/draft-04/schema#
      type: object
      required: [imisId, course]
      properties:
        imisId: {type: string, pattern: "^[0-9]+$"}
        course: {type: string}
    error_property: validation_errors
""",
)
