"""The recipes the issue names, end to end over real HTTP.

* iHook: an LMS posts a completion to ``/hooks/{token}`` → JSON Schema Validation → Insert
  Record (an activity), with iDMS's status codes and bodies.
* The nightly pipeline: fetch a saved query → delta hash → gate on zero rows → select → convert
  to CSV → upload by HTTP → post the count, run twice: the second run sends only what changed,
  and a run with nothing changed stops at the gate as a success.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from wf_http_support import served

from idms.demo.generate import fill_demo
from idms.queries.model import build_query
from idms.runs.status import RunStatus
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace


def fill(ws: Workspace, contacts: int) -> None:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=contacts, seed=5)
    finally:
        store.close()


def read(ws: Workspace, source: str) -> list[dict[str, Any]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return list(store.read(source))
    finally:
        store.close()


COMPLETION_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["memberId", "course"],
    "properties": {"memberId": {"type": "string"}, "course": {"type": "string"}},
}


def test_ihook_webhook_validates_and_inserts_an_activity(tmp_path: Path) -> None:
    with served(tmp_path) as api:
        ws = api.workspace
        fill(ws, 5)
        member = sorted(c["ImisId"] for c in read(ws, "Contact"))[0]
        ws.save_workflow(
            {
                "name": "LMS completions",
                "trigger": {"type": "webhook"},
                "steps": [
                    {
                        "id": "check",
                        "action": "json_schema_validation",
                        "with": {"schema": COMPLETION_SCHEMA},
                    },
                    {
                        "id": "record",
                        "action": "insert_record",
                        "with": {
                            "source": "Activity",
                            "rows": "{{ input }}",
                            "mappings": [
                                {"field": "ImisId", "column": "memberId"},
                                {"field": "ActivityType", "value": "NOTE"},
                                {"field": "Description", "template": "{{ row.course }} completed"},
                            ],
                        },
                    },
                ],
            }
        )
        hook = f"/hooks/{ws.hook_token('LMS completions')}"

        answer = api.open.post(hook, json={"memberId": member, "course": "Ethics"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["error"] is False
        assert body["queueTime"]
        ws.execute(body["id"])
        assert ws.runs.get(body["id"]).status == RunStatus.SUCCEEDED
        assert [a["Description"] for a in read(ws, "Activity") if a["ImisId"] == member].count(
            "Ethics completed"
        ) == 1

        # A body the schema refuses: accepted by the hook (queued), failed at validation.
        bad = api.open.post(hook, json={"course": "Law"}).json()
        ws.execute(bad["id"])
        failed = ws.runs.get(bad["id"])
        assert failed.status == RunStatus.FAILED
        assert "memberId" in (failed.message or "")
        assert not [a for a in read(ws, "Activity") if a["Description"] == "Law completed"]

        not_json = api.open.post(
            hook, content=b"[1, 2]", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 400
        assert not_json.json()["error"] is True
        assert not_json.json()["message"].startswith("Invalid JSON body")
        assert api.open.post("/hooks/" + "x" * 32, json={}).status_code == 401


class Receiver:
    """A real HTTP server on loopback keeping every request's path and body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                owner.requests.append((self.path, self.rfile.read(size)))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def nightly(receiver: Receiver) -> dict[str, Any]:
    return {
        "name": "Certifying board",
        "trigger": {"type": "schedule"},
        "steps": [
            {"id": "members", "action": "fetch_query", "with": {"query": "Board members"}},
            {
                "id": "changed",
                "action": "delta_hashing",
                "with": {"key_column": "ID", "input": "{{ steps.members }}"},
            },
            {
                "id": "nothing",
                "action": "gate",
                "with": {
                    "mode": "success",
                    "when": "{% if steps.changed.count == 0 %}true{% endif %}",
                    "message": "No member changed.",
                },
            },
            {
                "id": "shape",
                "action": "select",
                "with": {
                    "mode": "array",
                    "array": "{{ steps.changed.rows }}",
                    "columns": {"Id": "{{ item.ID }}", "Email": "{{ item.Email }}"},
                },
            },
            {
                "id": "csv",
                "action": "convert",
                "with": {"input": "{{ steps.shape }}", "format": "csv", "file_name": "board.csv"},
            },
            {
                "id": "upload",
                "action": "http_request",
                "with": {
                    "method": "POST",
                    "url": f"{receiver.url}/upload",
                    "body_file": "board.csv",
                    "content_type": "text/csv",
                },
            },
            {
                "id": "notify",
                "action": "http_request",
                "with": {
                    "method": "POST",
                    "url": f"{receiver.url}/teams",
                    "body": {"text": "{{ steps.changed.count }} members sent"},
                },
            },
        ],
    }


def sent_ids(receiver: Receiver) -> list[str]:
    uploads = [body for path, body in receiver.requests if path == "/upload"]
    receiver_rows = list(csv.DictReader(io.StringIO(uploads[-1].decode("utf-8-sig"))))
    return [row["Id"] for row in receiver_rows]


def test_the_nightly_pipeline_sends_only_what_changed(tmp_path: Path, receiver: Receiver) -> None:
    with served(tmp_path) as api:
        ws = api.workspace
        fill(ws, 8)
        ws.queries.save(
            build_query(
                {
                    "name": "Board members",
                    "from": "Contact",
                    "columns": {"ID": "ImisId", "Email": "Email", "City": "City"},
                    "order_by": ["ID"],
                }
            )
        )
        ws.save_workflow(nightly(receiver))
        everyone = sorted(c["ImisId"] for c in read(ws, "Contact"))

        first = ws.run_workflow("Certifying board", trigger="schedule")
        assert first.status == RunStatus.SUCCEEDED, first.message
        assert sorted(sent_ids(receiver)) == everyone
        assert receiver.requests[-1][0] == "/teams"
        assert f"{len(everyone)} members sent".encode() in receiver.requests[-1][1]

        store = EmbeddedTarget.from_settings(ws.settings)
        try:
            store.apply(
                "Contact",
                [
                    Change(
                        ChangeKind.UPDATE,
                        {"City": "Elsewhere"},
                        {"ImisId": everyone[2]},
                        frozenset(),
                        ref=0,
                    )
                ],
            )
        finally:
            store.close()
        second = ws.run_workflow("Certifying board", trigger="schedule")
        assert second.status == RunStatus.SUCCEEDED, second.message
        assert sent_ids(receiver) == [everyone[2]]

        count = len(receiver.requests)
        third = ws.run_workflow("Certifying board", trigger="schedule")
        assert third.status == RunStatus.SUCCEEDED
        assert "No member changed." in (third.message or "")
        assert len(receiver.requests) == count, "nothing sent when nothing changed"
