"""JSON Schema Validation: drafts 4, 7 and 2020-12 chosen by $schema, every error listed by
where it is, the error property, and a schema that cannot reach outside itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wf_io_support import context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed

DRAFTS = {
    "4": "http://json-schema.org/draft-04/schema#",
    "7": "http://json-schema.org/draft-07/schema#",
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
}
COMPLETION = {"imisId": "101", "course": "Ethics 101", "credits": 2}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ActionContext]:
    with workspace(tmp_path) as services:
        yield context(services, tmp_path, step_id="check")


def completion_schema(draft: str) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": DRAFTS[draft],
        "type": "object",
        "required": ["imisId", "course"],
        "properties": {
            "imisId": {"type": "string", "pattern": "^[0-9]+$"},
            "course": {"type": "string"},
            "credits": {"type": "number", "minimum": 0, "maximum": 10},
        },
    }
    # What differs between drafts: draft 4's exclusiveMaximum is a flag, later ones a number.
    if draft == "4":
        schema["properties"]["credits"].update({"maximum": 10, "exclusiveMaximum": True})
    else:
        schema["properties"]["credits"]["exclusiveMaximum"] = 10
        del schema["properties"]["credits"]["maximum"]
    return schema


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_valid_data_passes_under_each_draft(ctx: ActionContext, draft: str) -> None:
    result = run_action(
        "json_schema_validation", {"schema": completion_schema(draft)}, ctx, dict(COMPLETION)
    )
    assert result.output == {"valid": True, "draft": draft, "errors": []}


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_invalid_data_fails_listing_every_error_by_where_it_is(
    ctx: ActionContext, draft: str
) -> None:
    data = {"imisId": "A-7", "credits": 10}
    with pytest.raises(StepFailed) as failed:
        run_action("json_schema_validation", {"schema": completion_schema(draft)}, ctx, data)
    errors = failed.value.output["errors"]
    assert {e["path"] for e in errors} == {"$", "$.imisId", "$.credits"}
    assert any("course" in e["message"] and e["path"] == "$" for e in errors)
    assert failed.value.output["draft"] == draft
    message = failed.value.message
    assert message.startswith("The data does not match the schema (3 problems):")
    assert '$.imisId: "A-7" does not match "^[0-9]+$"' in message
    assert not failed.value.retryable


def test_the_draft_is_the_schemas_own_a_draft_4_flag_is_no_number_in_2020_12(
    ctx: ActionContext,
) -> None:
    """exclusiveMaximum: true means something in draft 4 and is an invalid schema in 2020-12:
    the draft really is taken from $schema."""
    schema = completion_schema("4")
    schema["$schema"] = DRAFTS["2020-12"]
    with pytest.raises(StepFailed, match=r"The schema is not valid \(draft 2020-12\)"):
        run_action("json_schema_validation", {"schema": schema}, ctx, dict(COMPLETION))


def test_the_input_may_be_a_part_and_the_schema_text(ctx: ActionContext) -> None:
    data = {"input": {"completion": {"imisId": "x"}}, "other": 1}
    with pytest.raises(StepFailed) as failed:
        run_action(
            "json_schema_validation",
            {
                "schema": json.dumps({"type": "object", "required": ["course"]}),
                "input": data["input"]["completion"],
            },
            ctx,
            data,
        )
    assert failed.value.output["errors"] == [
        {"path": "$", "message": '"course" is a required property'}
    ]
    # null is something to validate too, when given explicitly
    with pytest.raises(StepFailed, match="null is not of type"):
        run_action("json_schema_validation", {"schema": {"type": "object"}, "input": None}, ctx)


def test_the_error_property_receives_the_errors_and_the_step_still_fails(
    ctx: ActionContext,
) -> None:
    data = {"imisId": 5}
    with pytest.raises(StepFailed) as failed:
        run_action(
            "json_schema_validation",
            {"schema": completion_schema("7"), "error_property": "problems"},
            ctx,
            data,
        )
    passed = failed.value.data
    assert passed is not None
    assert passed["imisId"] == 5
    assert [e["path"] for e in passed["problems"]] == ["$", "$.imisId"]
    assert data == {"imisId": 5}  # the step's input is not changed in place


def test_a_schema_refers_only_to_itself(ctx: ActionContext) -> None:
    local = {
        "$defs": {"id": {"type": "string"}},
        "properties": {"imisId": {"$ref": "#/$defs/id"}},
    }
    with pytest.raises(StepFailed, match=r"\$\.imisId: 5 is not of type"):
        run_action("json_schema_validation", {"schema": local}, ctx, {"imisId": 5})
    for outside in ("https://example.org/member.json", "file:///etc/passwd"):
        with pytest.raises(StepFailed, match=r"refers .*to a schema outside itself"):
            run_action("json_schema_validation", {"schema": {"$ref": outside}}, ctx, {})


def test_a_schema_that_is_not_one_is_refused_in_words(ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match="The schema is not JSON: Expecting"):
        run_action("json_schema_validation", {"schema": "{type: object"}, ctx, {})
    with pytest.raises(StepFailed, match="not a draft this step knows"):
        run_action(
            "json_schema_validation",
            {"schema": {"$schema": "http://json-schema.org/draft-03/schema#"}},
            ctx,
            {},
        )
    with pytest.raises(StepFailed, match="must be a JSON object"):
        run_action("json_schema_validation", {"schema": "[1]"}, ctx, {})


def test_many_errors_are_counted_all_and_listed_up_to_a_bound(ctx: ActionContext) -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    with pytest.raises(StepFailed) as failed:
        run_action("json_schema_validation", {"schema": schema, "input": list(range(250))}, ctx)
    output = failed.value.output
    assert output["error_count"] == 250
    assert len(output["errors"]) == 100
    assert failed.value.message.endswith("… and 240 more")
    assert "$[9]: 9 is not of type" in failed.value.message
