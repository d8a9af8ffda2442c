"""What the workflow and transfer page tests share: a webhook workflow that runs here (no
iMIS needed: it checks its input and shapes it), and a nightly transfer over the demo
association sent to a real HTTP receiver (the transfer tests' own, ``tr_support``)."""

from __future__ import annotations

from typing import Any

from tr_support import QUERY, TOKEN, Receiver, receiver, transfer

from idms.workspace import Workspace

__all__ = ["QUERY", "TOKEN", "WORKFLOW", "Receiver", "receiver", "save_workflow", "transfer"]

WORKFLOW = "LMS completion"
SHAPE = {"Who": "{{ input.imisId }}", "Course": "{{ input.course | upcase }}"}


def workflow_document(name: str = WORKFLOW) -> dict[str, Any]:
    return {
        "name": name,
        "description": "A course completed in the LMS becomes an activity",
        "trigger": {"type": "webhook"},
        "steps": [
            {
                "id": "check",
                "action": "json_schema_validation",
                "with": {"schema": {"type": "object", "required": ["imisId"]}},
            },
            {
                "id": "shape",
                "action": "select",
                "name": "Shape the activity",
                "with": {"columns": SHAPE},
            },
        ],
    }


def save_workflow(workspace: Workspace, name: str = WORKFLOW) -> None:
    workspace.save_workflow(workflow_document(name))


def demo_transfers(workspace: Workspace, url: str, *, contacts: int = 8) -> None:
    """The demo association (8 contacts, or ``contacts``), the query the transfer reads, and
    the receiver's token (what ``tr_support.open_workspace`` does, on the UI tests' own
    workspace), and the transfer itself, sending to ``url``."""
    from idms.demo.generate import fill_demo
    from idms.queries.model import build_query
    from idms.secrets import SecretStore
    from idms.targets.embedded.target import EmbeddedTarget

    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        fill_demo(store.engine, contacts=contacts, seed=11)
    finally:
        store.close()
    workspace.queries.save(
        build_query(
            {
                "name": QUERY,
                "from": "Contact",
                "columns": {"ID": "ImisId", "Last": "LastName", "Email": "Email"},
                "order_by": ["ID"],
            }
        )
    )
    SecretStore(workspace.suite, workspace.box).set("lms-token", TOKEN)
    workspace.save_transfer(transfer(url))
