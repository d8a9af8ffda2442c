"""iHook: a webhook delivery (``POST /hooks/{token}``) starting a workflow run, answered as iDMS
answers it.

- ``200`` (or ``202`` when the trigger says ``respond_status: 202``) with
  ``{"error": false, "id": RUN_ID, "queueTime": ISO8601}``, or an empty body when the trigger
  says ``omit_response_body``;
- ``400`` ``{"error": true, "message": "Invalid JSON body: …"}`` for a body that is not a JSON
  object, or sent as another content type than ``application/json`` or ``text/json``;
- ``401`` ``{"error": true, "message": …}`` for an unknown or regenerated URL (nothing else
  said), and for a signed workflow's delivery whose signature is missing, wrong or stale;
- ``413`` for a body over the trigger's ``max_body_bytes``;
- a disabled or archived workflow answers ``400`` (iDMS's "workflow URL invalid"), saying so:
  its URL is kept, and answers again once the workflow is enabled.

Beyond iDMS, a trigger with ``signing_secret`` (the name of a stored secret) takes only
deliveries signed as Standard Webhooks sign them (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``; a timestamp more than 5 minutes off is refused); a ``webhook-id`` seen
before is answered with the first delivery's run, without a second run (the ``HookDelivery``
table).

The request's metadata (method, host, headers but ``Authorization`` and ``Cookie``, query) is
handed to the run, which puts it under the trigger's ``metadata_property`` when it names one.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from idms.config import show_size
from idms.documents import DocumentError, read_json
from idms.errors import Conflict, IdmsError, NotFound
from idms.workflows.deliveries import DeliveryBusy, start_once
from idms.workflows.model import WebhookTrigger, WorkflowState

if TYPE_CHECKING:
    from idms.runs.record import RunInfo
    from idms.workflows.store import WorkflowInfo
    from idms.workspace import Workspace

log = logging.getLogger("idms.workflows")

JSON_TYPES = ("application/json", "text/json")
HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
UNKNOWN_URL = "The webhook URL is unknown: it may have been regenerated."


@dataclass(frozen=True)
class HookRequest:
    """What the HTTP shell passes on of a delivery."""

    body: bytes
    content_type: str | None
    headers: Mapping[str, str]
    method: str = "POST"
    host: str = ""
    query: Mapping[str, str] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "host": self.host,
            "headers": {
                k.lower(): v for k, v in self.headers.items() if k.lower() not in HIDDEN_HEADERS
            },
            "query": dict(self.query),
        }


@dataclass(frozen=True)
class HookReply:
    """The answer: its status and body (None: an empty body)."""

    status: int
    body: dict[str, Any] | None
    run_id: str | None = None


def refusal(status: int, message: str) -> HookReply:
    return HookReply(status, {"error": True, "message": message})


def accepted(run_id: str, queued: datetime, trigger: WebhookTrigger) -> HookReply:
    if trigger.omit_response_body:
        return HookReply(trigger.respond_status, None, run_id)
    body = {"error": False, "id": run_id, "queueTime": _iso(queued)}
    return HookReply(trigger.respond_status, body, run_id)


def receive(workspace: Workspace, token: str, request: HookRequest) -> HookReply:
    """Answer one delivery to ``/hooks/{token}``: start the workflow's run, or refuse."""
    try:
        info = workspace.workflow_by_hook(token)
    except NotFound:
        return refusal(401, UNKNOWN_URL)
    trigger_doc = info.document.get("trigger") or {}
    if trigger_doc.get("type") != "webhook":  # its trigger was changed: the URL is gone
        return refusal(401, UNKNOWN_URL)
    trigger = WebhookTrigger.model_validate(trigger_doc)
    if len(request.body) > trigger.max_body_bytes:
        return refusal(
            413, f"The request is too large: at most {show_size(trigger.max_body_bytes)} is "
            "accepted by this webhook.",
        )  # fmt: skip
    if info.state != WorkflowState.ACTIVE:
        return refusal(
            400,
            f"The workflow is {info.state.value}: its webhook starts nothing until the "
            "workflow is enabled.",
        )
    webhook_id: str | None = None
    if trigger.signing_secret:
        problem = _verify(workspace, trigger.signing_secret, request)
        if problem is not None:
            return refusal(401, problem)
        webhook_id = {k.lower(): v for k, v in request.headers.items()}["webhook-id"]
    body = parse_body(request)
    if isinstance(body, HookReply):
        return body
    if webhook_id is None:
        run = _start(workspace, info, body, request)
        if isinstance(run, HookReply):
            return run
        return accepted(run.id, run.queued_at or run.created_at, trigger)
    return _start_once(workspace, info, webhook_id, body, request, trigger)


def parse_body(request: HookRequest) -> dict[str, Any] | HookReply:
    """The body as a JSON object (empty: ``{}``), or the 400 iDMS answers."""
    media = (request.content_type or "").split(";")[0].strip().lower()
    if not request.body.strip():
        if media and media not in JSON_TYPES:
            return _invalid(f"the content type is {media!r}: send application/json or text/json")
        return {}
    if media not in JSON_TYPES:
        shown = repr(media) if media else "not given"
        return _invalid(f"the content type is {shown}: send application/json or text/json")
    try:
        value = read_json(request.body)  # nesting bounded: a deep body is refused, not a 500
    except DocumentError as exc:
        return _invalid(f"the body {exc.message}")
    except UnicodeDecodeError:
        return _invalid("the body is not UTF-8 text")
    if not isinstance(value, dict):
        return _invalid(f"a JSON object ({{...}}) is expected, not {_kind(value)}")
    return value


def _invalid(why: str) -> HookReply:
    return refusal(400, f"Invalid JSON body: {why}")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


def _start(
    workspace: Workspace, info: WorkflowInfo, body: dict[str, Any], request: HookRequest
) -> RunInfo | HookReply:
    try:
        return workspace.start_workflow(
            info.name, body, trigger="webhook", metadata=request.metadata(), workflow=info
        )
    except Conflict as exc:  # disabled or archived meanwhile
        return refusal(400, exc.message)


def _start_once(
    workspace: Workspace,
    info: WorkflowInfo,
    webhook_id: str,
    body: dict[str, Any],
    request: HookRequest,
    trigger: WebhookTrigger,
) -> HookReply:
    """Start the run of a signed delivery unless its ``webhook-id`` was seen: then answer the
    first delivery's run (:mod:`idms.workflows.deliveries`)."""
    refused: list[HookReply] = []

    def start() -> RunInfo:
        run = _start(workspace, info, body, request)
        if isinstance(run, HookReply):
            refused.append(run)
            raise _Refused
        return run

    try:
        run, _ = start_once(workspace, info.id, webhook_id, start)
    except _Refused:
        return refused[0]
    except DeliveryBusy as exc:
        return refusal(409, exc.message)
    return accepted(run.id, run.queued_at or run.created_at, trigger)


class _Refused(Exception):
    """The run was refused (its answer is kept aside): the delivery's id is let go."""


def _verify(workspace: Workspace, secret_name: str, request: HookRequest) -> str | None:
    """Why a signed delivery is refused, or None when its signature is valid and fresh."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    missing = [h for h in names if not headers.get(h)]
    if missing:
        return f"This webhook takes signed deliveries only: {', '.join(missing)} missing."
    try:
        secret = workspace.workflow_services().secret(secret_name)
    except IdmsError as exc:  # the caller is told nothing of the server's secrets
        log.warning("webhook signing secret %r cannot be read: %s", secret_name, exc.message)
        return "The delivery cannot be verified: refused."
    try:
        hook = Webhook(_secret_bytes(secret))
        hook.verify(request.body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        text = str(exc).lower()
        if "too old" in text or "too new" in text:
            return "The delivery's webhook-timestamp is more than 5 minutes off: refused."
        return "The delivery's webhook-signature does not match: refused."
    except (ValueError, UnicodeDecodeError):
        return "The delivery's webhook-signature does not match: refused."
    return None


def _secret_bytes(secret: str) -> bytes:
    """A Standard Webhooks secret (``whsec_`` and base64) as its bytes; any other text as its
    UTF-8 bytes."""
    text = secret.strip()
    if text.startswith("whsec_"):
        text = text[len("whsec_") :]
        try:
            return base64.b64decode(text + "==", validate=False)
        except binascii.Error:
            pass
    return secret.encode()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
