"""Legacy iTransfer inbound webhooks: a third party POSTs one JSON object to a transfer's URL
(``/hooks/{token}``, the random URL is the only credential, as iDMS's), which is checked against
the transfer's JSON Schema and inserted as one row through the import engine (every iMIS rule
applying, the run durable and undoable like any other), and answered as iDMS answered:

* 200 ``{"success": true}`` — the record was written;
* 400 ``{"success": false, "validationErrors": [...]}`` — not one JSON object, or it does not
  match the schema (each problem as ``$.path: message``);
* 404 ``{"success": false}`` — the transfer is disabled (or no longer receives);
* 500 ``{"success": false, "error": "..."}`` — the record could not be written (the import
  engine's message: no contact with this iMIS ID…).

The schema is checked by the JSON Schema Validation action's own function (the same drafts, no
``$ref`` fetched from outside), the row written by the same import path as Insert Record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from idms.documents import DocumentError, read_json
from idms.errors import IdmsError
from idms.jobs.model import JobInvalid, build_job
from idms.transfers.model import Inbound
from idms.workflows.actions import json_schema_validation as schemas
from idms.workflows.actions.base import ActionContext, StepFailed

if TYPE_CHECKING:
    from idms.workflows.actions.base import WorkflowServices

TRIGGER = "webhook"
Answer = tuple[int, dict[str, Any]]


def job_of(inbound: Inbound, name: str) -> dict[str, Any]:
    """The job that writes a received record (no input: the record is its one row)."""
    return {
        "name": f"{name} (inbound)",
        "source": inbound.source,
        "action": inbound.action,
        "mappings": list(inbound.mappings),
        "match_on": list(inbound.match_on),
        "options": dict(inbound.options),
    }


def _validate(schema: dict[str, Any] | bool, instance: Any) -> list[str]:
    """Why ``instance`` does not match ``schema`` (``$.path: message`` each); StepFailed when
    the schema itself is not valid."""
    params = schemas.SchemaParams.model_validate({"schema": schema, "input": instance})
    try:
        schemas.run(params, {}, cast("ActionContext", None))  # it uses no context
    except StepFailed as exc:
        if isinstance(exc.output, dict) and "errors" in exc.output:
            return [f"{e['path']}: {e['message']}" for e in exc.output["errors"]]
        raise
    return []


def inbound_problems(inbound: Inbound) -> list[str]:
    """What is wrong with a transfer's inbound settings: a schema that is not one, a job the
    import engine would refuse (by its shape; the target checks the rest when a record
    comes)."""
    problems = []
    try:
        _validate(inbound.schema_, {})
    except StepFailed as exc:
        problems.append(f"inbound.schema: {exc.message}")
    try:
        build_job({**job_of(inbound, "check"), "input": {"rows": TRIGGER}})
    except JobInvalid as exc:
        problems += [f"inbound.{p}" for p in exc.problems]
    return problems


def receive(
    inbound: Inbound | None, name: str, raw: bytes, services: WorkflowServices, *, active: bool
) -> Answer:
    """A delivery to transfer ``name``'s inbound URL, answered as iDMS did."""
    if inbound is None or not active:
        return 404, {"success": False}
    try:
        body = read_json(raw) if raw.strip() else None
    except (DocumentError, UnicodeDecodeError):
        return 400, {"success": False, "validationErrors": ["The body is not valid JSON."]}
    if not isinstance(body, dict):
        return 400, {
            "success": False,
            "validationErrors": ["The body must be one JSON object (one record per call)."],
        }
    try:
        errors = _validate(inbound.schema_, body)
    except StepFailed as exc:
        return 500, {"success": False, "error": exc.message}
    if errors:
        return 400, {"success": False, "validationErrors": errors}
    try:
        summary = services.insert_rows(job_of(inbound, name), [body], trigger=TRIGGER)
    except IdmsError as exc:
        return 500, {"success": False, "error": exc.message}
    rows = summary.get("rows") or []
    failed = [r for r in rows if r.get("outcome") == "error"]
    if summary.get("status") in ("failed", "cancelled") or failed:
        why = (failed[0].get("message") if failed else None) or summary.get("message")
        return 500, {"success": False, "error": str(why or "The record was not written.")}
    return 200, {"success": True}
