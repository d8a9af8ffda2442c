"""Property-based tests of the whole API of ``idms serve`` against its own OpenAPI document.

Schemathesis reads ``/api/v1/openapi.json`` from a real server (uvicorn on a loopback port, a
workspace of its own, a real API token) and, for every operation, sends requests generated from
the document: valid ones and invalid ones. Every answer must be one the document promises:

- never a 5xx (``not_a_server_error``);
- a status code the operation documents, with a body matching the documented model and the
  documented content type (``status_code_conformance``, ``response_schema_conformance``,
  ``content_type_conformance``, ``response_headers_conformance``);
- a request the document calls invalid is refused with a 4xx (``negative_data_rejection``);
- without the token, every operation but the public ones answers 401 (``ignored_auth``).

The generation is bounded and derandomised: the same examples on every run, within a minute or
so on two cores. The sandbox publishes no OpenAPI document (``openapi_url=None``: it imitates
iMIS, which publishes none), so it has nothing to test here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from idms.config import Settings
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.server.context import API_PREFIX
from idms.state.tokens import TokenStore
from idms.workspace import Workspace

# Per operation and phase: enough to find a missing status code in a few tries, within a minute
# on two cores. IDMS_SCHEMATHESIS_EXAMPLES=500 searches deeper (a few minutes).
EXAMPLES = int(os.environ.get("IDMS_SCHEMATHESIS_EXAMPLES", "50"))

# Operations whose body the server checks beyond what a schema can say: a job or query document
# against the target's sources and fields, an input against the uploads and input folders, a cron
# expression against its grammar, an uploaded file against the kinds a job reads (.csv, .xlsx:
# its name and its header row). A body the schema allows may rightly be refused there (400,
# every problem listed), so "a schema-valid request is accepted" (positive_data_acceptance)
# cannot hold; every other check still runs on them, the 400 included (status code and body as
# documented).
CHECKED_BEYOND_THE_SCHEMA = {
    "POST /api/v1/runs",
    "PUT /api/v1/templates/{name}",
    "PUT /api/v1/queries/{name}",
    "POST /api/v1/templates/{name}/runs",
    "POST /api/v1/triggers/{template}",
    "POST /api/v1/triggers/{template}/async",
    "POST /api/v1/uploads",
    "PUT /api/v1/workflows/{name}",
    "POST /api/v1/transfers",  # its query must exist, its connections pass their actions
    "POST /api/v1/template-tester",
    "POST /api/v1/schedules",
    "PATCH /api/v1/schedules/{name}",  # checked as the POST is
}
# The hooks take no API token: their URL is the credential, so every URL the generator makes up
# is unknown, and rightly answered 401 (documented); a valid request cannot be made up.
CHECKED_BEYOND_THE_SCHEMA |= {"POST /hooks/{token}", "POST /hooks/imis/{token}"}


def served_document() -> dict[str, Any]:
    """The OpenAPI document ``idms serve`` publishes (it does not depend on the workspace)."""
    with tempfile.TemporaryDirectory() as root:
        workspace = Workspace.open(Settings(workspace=Path(root) / "ws"))
        try:
            return create_server_app(workspace, None).openapi()
        finally:
            workspace.close()


DOCUMENT = served_document()

schema = schemathesis.openapi.from_dict(DOCUMENT)
# The token is the test's (a real one, sent with every request); schemathesis does not make up
# its own, which the test's would replace: an invalid one it generated would then be "accepted".
# Whether each operation refuses a request without the token is still checked (ignored_auth).
schema.config.generation.update(with_security_parameters=False)


class Server:
    def __init__(self, origin: str, token: str) -> None:
        self.origin = origin  # http://127.0.0.1:PORT; the document's paths hold /api/v1
        self.token = token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server for every operation: uvicorn on a loopback port, its own workspace, a
    real token; no executor, so the runs it queues stay queued."""
    root: Path = tmp_path_factory.mktemp("schemathesis")
    workspace = Workspace.open(Settings(workspace=root / "ws", lease_seconds=2))
    _, token = TokenStore(workspace.suite).create("schemathesis")
    app = create_server_app(workspace, None)
    try:
        with running_sandbox(app) as origin:
            served = httpx.get(f"{origin}{API_PREFIX}/openapi.json", timeout=30).json()
            assert served == DOCUMENT, "the server publishes another document than the one tested"
            yield Server(origin, token)
    finally:
        workspace.close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_one_the_schema_promises(case: Any, server: Server) -> None:
    excluded = []
    if case.operation.label in CHECKED_BEYOND_THE_SCHEMA:
        excluded.append(checks.positive_data_acceptance)
    case.call_and_validate(
        base_url=server.origin,
        headers={"Authorization": f"Bearer {server.token}"},
        excluded_checks=excluded,
    )
