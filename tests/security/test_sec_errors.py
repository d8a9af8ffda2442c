"""Issue 14, item 9: numbers no database takes are 400s, and a 500 gives away nothing but an id.

``offset=99999999999999999999`` used to reach SQLite and come back as a 500 naming
``OverflowError``, from the API, the sandbox and the command line alike. Every offset and limit
is now bounded (``idms.paging``); and every answer carries ``X-Request-ID``, which a 5xx body
repeats and the log line holding the traceback names.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.errors import InvalidInputError
from idms.jobs.model import build_job
from idms.paging import MAX_WINDOW
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.sandbox.users import Users
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

HUGE = "99999999999999999999"
MANAGER_PASSWORD = "manager-secret-1"
SECRET = "s3cr3t-detail-of-the-failure"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings(workspace=tmp_path / "ws", lease_seconds=2))
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def run_id(workspace: Workspace, tmp_path: Path) -> str:
    """A finished run with three rows, made by the library (no HTTP upload involved)."""
    data = tmp_path / "people.csv"
    data.write_text(
        "E-mail,Last\r\nada@example.org,Lovelace\r\nalan@example.org,Turing\r\nbad,Row\r\n",
        encoding="utf-8",
    )
    job = build_job(
        {
            "name": "People",
            "source": "Contact",
            "action": "insert-update",
            "input": {"file": str(data)},
            "mappings": [
                {"field": "Email", "column": "E-mail", "match": True},
                {"field": "LastName", "column": "Last"},
            ],
        }
    )
    return workspace.run(job).run_id


@pytest.fixture
def api(workspace: Workspace) -> Iterator[tuple[httpx.Client, Any]]:
    """The real API on a free port, with a token, and one more route that fails as a bug would."""
    _, token = TokenStore(workspace.suite).create("tests")
    app = create_server_app(workspace, None)

    def broken() -> dict[str, str]:
        raise RuntimeError(SECRET)

    app.add_api_route("/api/v1/test-only/broken", broken, methods=["GET"])
    with (
        running_sandbox(app) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        yield client, app


def test_a_huge_offset_is_a_400_naming_it_on_the_api(
    api: tuple[httpx.Client, Any], run_id: str
) -> None:
    client, _ = api
    answer = client.get(f"/api/v1/runs/{run_id}/rows", params={"offset": HUGE})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert "OverflowError" not in answer.text
    assert any("offset" in p and f"{MAX_WINDOW}" in p for p in body["problems"]), body
    fine = client.get(f"/api/v1/runs/{run_id}/rows", params={"offset": 1, "limit": 1}).json()
    assert fine["total"] == 3
    assert len(fine["rows"]) == 1
    # Every integer the API takes from a query string is bounded in its OpenAPI document.
    spec = client.get("/api/v1/openapi.json").json()
    for path, methods in spec["paths"].items():
        for operation in methods.values():
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if schema.get("type") == "integer":
                    assert "maximum" in schema, (path, param["name"])


def test_the_library_refuses_windows_no_database_takes(workspace: Workspace, run_id: str) -> None:
    with pytest.raises(InvalidInputError, match="offset must be a whole number"):
        list(workspace.runs.rows(run_id, offset=int(HUGE)))
    with pytest.raises(InvalidInputError, match="limit must be a whole number"):
        workspace.runs.list(int(HUGE))  # `idms runs --limit 99999999999999999999`
    with pytest.raises(InvalidInputError, match="limit must be a whole number"):
        workspace.prune(max_age_days=None, max_count=int(HUGE))
    assert len(list(workspace.runs.rows(run_id, offset=2))) == 1


def test_an_unexpected_failure_is_a_500_with_a_request_id_and_nothing_else(
    api: tuple[httpx.Client, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = api
    with caplog.at_level(logging.ERROR, logger="idms.server"):
        answer = client.get("/api/v1/test-only/broken")
    assert answer.status_code == 500
    body = answer.json()
    rid = answer.headers["X-Request-ID"]
    assert body["request_id"] == rid
    assert rid in body["message"]
    for leak in ("RuntimeError", SECRET, "Traceback", 'File "'):
        assert leak not in answer.text
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert logged, "the log names the request id"
    assert logged[0].exc_info is not None
    assert SECRET in caplog.text
    assert "Traceback" in caplog.text

    # A caller's own id is echoed (so it can follow a request through its logs); one that
    # could bend a header or a log line is replaced.
    mine = client.get("/api/v1/test-only/broken", headers={"X-Request-ID": "job-42.attempt:1"})
    assert mine.headers["X-Request-ID"] == "job-42.attempt:1"
    assert mine.json()["request_id"] == "job-42.attempt:1"
    odd = client.get("/api/v1/test-only/broken", headers={"X-Request-ID": "a b" + "x" * 100})
    assert odd.headers["X-Request-ID"] != "a b" + "x" * 100
    assert len(odd.headers["X-Request-ID"]) == 32
    ok = client.get("/api/v1/runs")
    assert ok.status_code == 200
    assert ok.headers["X-Request-ID"]


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sec-errors") / "imis.db"
    target = EmbeddedTarget(f"sqlite:///{path}")
    try:
        fill_demo(target.engine, contacts=10, seed=2)
    finally:
        target.close()
    return path


@pytest.fixture
def sandbox(store_file: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    path = tmp_path / "imis.db"
    shutil.copyfile(store_file, path)
    target = EmbeddedTarget(f"sqlite:///{path}")
    try:
        app = create_app(target, manager_password=MANAGER_PASSWORD)
        with running_sandbox(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            form = {"grant_type": "password", "username": "MANAGER", "password": MANAGER_PASSWORD}
            token = client.post("/token", data=form).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            yield client
    finally:
        target.close()


@pytest.mark.parametrize("entity", ["Party", "User", "CsContact", "Activity"])
def test_a_huge_offset_is_a_400_in_the_sandbox(sandbox: httpx.Client, entity: str) -> None:
    answer = sandbox.get(f"/api/{entity}", params={"offset": HUGE})
    assert answer.status_code == 400, answer.text
    errors = answer.json()["Errors"]["$values"]
    assert "offset must be a whole number from 0 to 1,000,000,000" in errors[0]["Message"]
    assert sandbox.get(f"/api/{entity}", params={"offset": "1", "limit": "2"}).status_code == 200


def test_an_unexpected_sandbox_failure_is_imis_500_with_a_request_id(
    sandbox: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Users, query: Any) -> Any:
        raise ZeroDivisionError(SECRET)

    monkeypatch.setattr(Users, "listing", broken)
    with caplog.at_level(logging.ERROR, logger="idms.sandbox"):
        answer = sandbox.get("/api/User")
    assert answer.status_code == 500
    assert answer.json() == {
        "$type": "System.Web.Http.HttpError, System.Web.Http",
        "Message": "An error occurred. Please contact the administrator.",
    }
    rid = answer.headers["X-Request-ID"]
    assert [r for r in caplog.records if rid in r.getMessage() and r.exc_info]
    assert SECRET in caplog.text
    assert sandbox.get("/api/Party", params={"limit": "1"}).headers["X-Request-ID"]


def test_a_huge_whole_number_in_a_query_prompt_is_a_400(api: tuple[httpx.Client, Any]) -> None:
    client, _ = api
    query = {
        "from": "Gift",
        "columns": {"ID": "GiftId"},
        "filters": [{"field": "GiftId", "op": "eq", "prompt": "n"}],
    }
    assert client.put("/api/v1/queries/Gifts", json=query).status_code == 201
    answer = client.get("/api/v1/queries/Gifts/rows", params={"param.n": HUGE})
    assert answer.status_code == 400, answer.text
    assert "beyond the largest whole number" in answer.json()["problems"][0]
    assert client.get("/api/v1/queries/Gifts/rows", params={"param.n": "7"}).status_code == 200


def test_a_huge_whole_number_in_a_sandbox_filter_is_a_400(sandbox: httpx.Client) -> None:
    answer = sandbox.get("/api/Gift", params={"GiftId": HUGE})
    assert answer.status_code == 400, answer.text
    assert "beyond the largest whole number" in answer.text
