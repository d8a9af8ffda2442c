"""Row sets through the actions that make and read rows: Fetch Query Data streams a large
result into one, Select's array mode reads one and writes one, HTTP Request sends one batch by
batch, Insert Record inserts one; a rerun from a later step still finds the old run's rows.
Through the runner and the facade over a real workspace (the embedded store filled with the
demo association), the requests to a real HTTP server on a loopback port."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.queries.model import build_query
from idms.targets.embedded.target import EmbeddedTarget
from idms.workflow_services import WorkspaceServices
from idms.workflows.actions import actions, fetch_query, rowsets
from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult
from idms.workflows.actions.rowsets import rows_output, write_row_set
from idms.workspace import Workspace

ROWS = 1500  # past the 1,000 rows a step gives inline


class ManyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int = ROWS


def many(params: ManyParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    """A test action: rows made one at a time, given as a step gives rows."""
    rows = ({"id": i, "email": f"m{i}@example.org"} for i in range(params.rows))
    return StepResult(output=rows_output(rows, context, context.step_id))


@pytest.fixture(autouse=True)
def many_action() -> Iterator[None]:
    actions()["many"] = ActionSpec("many", "Many", "many rows", ManyParams, many)
    yield
    actions().pop("many", None)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=12, seed=7)
    finally:
        store.close()
    yield ws
    ws.close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[list[dict[str, Any]]]]]:
    """An HTTP server that keeps each JSON body POSTed to it."""
    bodies: list[list[dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            bodies.append(json.loads(self.rfile.read(length)))
            payload = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", bodies
    finally:
        httpd.shutdown()
        httpd.server_close()


def context(ws: Workspace, files: Path, step: str = "step") -> ActionContext:
    files.mkdir(parents=True, exist_ok=True)
    return ActionContext(
        services=WorkspaceServices(ws),
        workflow_id="wf",
        workflow="test",
        run_id="run1",
        step_id=step,
        attempt=1,
        files=files,
        render=lambda text, extra: text,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_select_reads_and_writes_row_sets_and_http_sends_one_batch_by_batch(
    workspace: Workspace, receiver: tuple[str, list[list[dict[str, Any]]]]
) -> None:
    url, bodies = receiver
    workspace.save_workflow(
        {
            "name": "Push",
            "steps": [
                {"id": "many", "action": "many"},
                {
                    "id": "shape",
                    "action": "select",
                    "with": {
                        "mode": "array",
                        "array": "{{ steps.many }}",
                        "columns": {"Key": "{{ item.id }}", "Mail": "{{ item.email | upcase }}"},
                    },
                },
                {
                    "id": "send",
                    "action": "http_request",
                    "with": {
                        "method": "POST",
                        "url": url,
                        "batch": {"items": "{{ steps.shape }}", "size": 400},
                    },
                },
            ],
        }
    )
    run = workspace.run_workflow("Push")
    assert run.status == "succeeded", run.message
    made, shaped, sent = workspace.workflow_steps(run.id)
    assert made.output == {"$rows": "many.jsonl", "count": ROWS, "columns": ["id", "email"]}
    assert shaped.output == {"$rows": "shape.jsonl", "count": ROWS, "columns": ["Key", "Mail"]}
    assert shaped.message == "1,500 rows reshaped."
    expected = [{"Key": i, "Mail": f"M{i}@EXAMPLE.ORG"} for i in range(ROWS)]
    files = workspace.runs_folder / run.id / "files"
    assert lines(files / "shape.jsonl") == expected  # read without the code under test
    assert [len(b) for b in bodies] == [400, 400, 400, 300]
    assert [row for body in bodies for row in body] == expected
    assert sent.message == "1,500 rows sent in 4 requests"

    # A rerun from the last step finds the rows the old run wrote, in a folder of its own.
    bodies.clear()
    queued = workspace.rerun_workflow(run.id, from_step="send")
    report = workspace.execute(queued.id)
    assert report.status.value == "succeeded", report.message
    assert [row for body in bodies for row in body] == expected
    assert (workspace.runs_folder / queued.id / "files" / "shape.jsonl").is_file()


def test_select_refuses_a_row_set_whose_rows_differ(workspace: Workspace) -> None:
    workspace.save_workflow(
        {
            "name": "Odd",
            "steps": [
                {"id": "many", "action": "many"},
                {
                    "id": "shape",
                    "action": "select",
                    "with": {"mode": "array", "array": "{{ steps.many }}", "columns": {"a": 1}},
                },
            ],
        }
    )
    run = workspace.run_workflow("Odd")
    assert run.status == "succeeded"
    # Now the same over a row set with a row of another shape (written by hand).
    files = workspace.runs_folder / run.id / "files"
    rows = lines(files / "many.jsonl")
    rows[1200] = {"id": 1200}
    (files / "many.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    queued = workspace.rerun_workflow(run.id, from_step="shape")
    report = workspace.execute(queued.id)
    assert report.status.value == "failed"
    assert "row 1201 has ['id'], row 1 has ['email', 'id']" in str(report.message)


def test_fetch_query_streams_a_large_result_into_a_row_set(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.queries.save(
        build_query(
            {
                "name": "Everyone",
                "from": "Contact",
                "columns": {"ID": "ImisId", "Last": "LastName"},
                "order_by": ["ID"],
            }
        )
    )
    services = WorkspaceServices(workspace)
    expected = services.query_rows("Everyone", {})
    assert len(expected) == 12
    stream = services.iter_query_rows("Everyone", {})
    assert next(stream) == expected[0]  # one row asked for, one row given
    stream.close()

    # Past 5 rows inline (instead of 1,000, to keep the demo small), a row set.
    monkeypatch.setattr(fetch_query, "rows_output", functools.partial(rows_output, inline=5))
    spec = actions()["fetch_query"]
    files = tmp_path / "files"
    result = spec.run(
        spec.params.model_validate({"query": "Everyone"}), {}, context(workspace, files, "all")
    )
    assert result.output == {"$rows": "all.jsonl", "count": 12, "columns": ["ID", "Last"]}
    assert lines(files / "all.jsonl") == expected
    assert result.message == "12 rows from query 'Everyone'."
    few = spec.run(
        spec.params.model_validate({"query": "Everyone", "limit": 3}),
        {},
        context(workspace, files, "few"),
    )
    assert few.output == expected[:3]  # few rows: inline, as before


def test_insert_record_inserts_a_row_set(workspace: Workspace, tmp_path: Path) -> None:
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        ids = sorted(c["ImisId"] for c in store.read("Contact"))[:3]
    finally:
        store.close()
    files = tmp_path / "files"
    ctx = context(workspace, files, "insert")
    rows = [{"memberId": i, "course": f"Course {n}"} for n, i in enumerate(ids)]
    ref = write_row_set(iter(rows), ctx, "people")
    assert rowsets.row_count(ref) == 3
    spec = actions()["insert_record"]
    params = {
        "source": "Activity",
        "rows": ref,
        "mappings": [
            {"field": "ImisId", "column": "memberId"},
            {"field": "ActivityType", "value": "NOTE"},
            {"field": "Description", "template": "{{ row.course }} done"},
        ],
    }
    result = spec.run(spec.params.model_validate(params), {}, ctx)
    assert (result.output["inserted"], result.output["errors"]) == (3, 0)
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        done = sorted(
            (a["ImisId"], a["Description"])
            for a in store.read("Activity")
            if str(a["Description"]).endswith(" done")
        )
    finally:
        store.close()
    assert done == sorted((r["memberId"], f"{r['course']} done") for r in rows)
