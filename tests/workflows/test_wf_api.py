"""``/api/v1/workflows…`` over real HTTP: save (every problem listed), read, list, export and
import again, state changes, a manual run (202 + Location), its steps, a rerun, the webhook
URL and a new one, the Template Tester, the change-notification URL, and delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wf_http_support import Served, served, workflow


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as server:
        yield server


def test_the_round_trip(api: Served) -> None:
    doc = workflow("Nightly", {"type": "manual"}, description="Every night")
    created = api.client.put("/api/v1/workflows/Nightly", json=doc)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/api/v1/workflows/Nightly")
    body = created.json()
    assert body["state"] == "active"
    assert body["trigger"] == "manual"
    assert body["steps"] == 1
    assert body["has_hook"] is False
    replaced = api.client.put("/api/v1/workflows/Nightly", json={**doc, "description": "Later"})
    assert replaced.status_code == 200
    assert replaced.json()["description"] == "Later"

    listed = api.client.get("/api/v1/workflows").json()
    assert [w["name"] for w in listed] == ["Nightly"]
    assert api.client.get("/api/v1/workflows", params={"state": "disabled"}).json() == []

    exported = api.client.get("/api/v1/workflows/Nightly/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert document["name"] == "Nightly"
    assert document["steps"][0]["with"] == {"seconds": 0}
    # Imported again under another name: the same document.
    copy = {**document, "name": "Copy"}
    assert api.client.put("/api/v1/workflows/Copy", json=copy).status_code == 201
    assert api.client.get("/api/v1/workflows/Copy/export").json() == copy

    disabled = api.client.post("/api/v1/workflows/Nightly/state", json={"state": "disabled"})
    assert disabled.json()["state"] == "disabled"
    wrong = api.client.post("/api/v1/workflows/Nightly/state", json={"state": "x"})
    assert wrong.status_code == 400

    # A disabled workflow still runs by hand.
    queued = api.client.post("/api/v1/workflows/Nightly/runs", json={"input": {"n": 1}})
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["run_id"]
    assert queued.headers["location"].endswith(f"/api/v1/runs/{run_id}")
    assert queued.json()["status"] == "queued"
    assert queued.json()["kind"] == "workflow"
    api.workspace.execute(run_id)
    runs = api.client.get("/api/v1/workflows/Nightly/runs").json()
    assert [r["run_id"] for r in runs] == [run_id]
    assert runs[0]["status"] == "succeeded"
    steps = api.client.get(f"/api/v1/workflow-runs/{run_id}/steps").json()
    assert [(s["step"], s["status"]) for s in steps] == [("pause", "succeeded")]
    assert steps[0]["input"] == {"n": 1}

    again = api.client.post(f"/api/v1/workflow-runs/{run_id}/rerun", json={"from_step": "pause"})
    assert again.status_code == 202, again.text
    assert again.json()["run_id"] != run_id
    assert len(api.client.get("/api/v1/workflows/Nightly/runs").json()) == 2

    archived = api.client.post("/api/v1/workflows/Nightly/state", json={"state": "archived"})
    assert archived.json()["state"] == "archived"
    refused = api.client.post("/api/v1/workflows/Nightly/runs", json={})
    assert refused.status_code == 409
    assert "archived" in refused.json()["message"]

    assert api.client.delete("/api/v1/workflows/Copy").json() == {"deleted": "Copy"}
    assert api.client.get("/api/v1/workflows/Copy").status_code == 404


def test_an_invalid_workflow_is_refused_with_every_problem(api: Served) -> None:
    bad = {
        "name": "Broken",
        "trigger": {"type": "webhook", "respond_status": 201},
        "steps": [
            {"id": "1st", "action": "wait", "with": {"seconds": 0}},
            {"id": "x", "action": "no_such_action"},
        ],
    }
    answer = api.client.put("/api/v1/workflows/Broken", json=bad)
    assert answer.status_code == 400
    problems = answer.json()["problems"]
    assert len(problems) >= 3, problems
    joined = "\n".join(problems)
    assert "trigger.respond_status" in joined
    assert "steps[0].id" in joined
    assert api.client.get("/api/v1/workflows/Broken").status_code == 404
    mismatch = api.client.put("/api/v1/workflows/Other", json=workflow("Named", {"type": "manual"}))
    assert mismatch.status_code == 400
    assert "must agree" in mismatch.json()["message"]


def test_unknown_names_are_404_with_a_suggestion(api: Served) -> None:
    api.client.put("/api/v1/workflows/Nightly", json=workflow("Nightly", {"type": "manual"}))
    answer = api.client.get("/api/v1/workflows/Nightley")
    assert answer.status_code == 404
    assert "Nightly" in answer.json()["message"]
    assert api.client.get("/api/v1/workflow-runs/nope/steps").status_code == 404


def test_the_webhook_url_and_a_new_one(api: Served) -> None:
    api.client.put("/api/v1/workflows/Hook", json=workflow("Hook", {"type": "webhook"}))
    shown = api.client.get("/api/v1/workflows/Hook/hook-url").json()
    assert shown["url"].startswith(f"{api.base}/hooks/")
    assert api.open.post(shown["url"], json={}).status_code == 200
    new = api.client.post("/api/v1/workflows/Hook/hook-url").json()
    assert new["url"] != shown["url"]
    assert api.open.post(shown["url"], json={}).status_code == 401
    assert api.open.post(new["url"], json={}).status_code == 200
    # Saving the workflow again keeps its URL.
    api.client.put("/api/v1/workflows/Hook", json=workflow("Hook", {"type": "webhook"}))
    assert api.client.get("/api/v1/workflows/Hook/hook-url").json() == new
    api.client.put("/api/v1/workflows/Manual", json=workflow("Manual", {"type": "manual"}))
    assert api.client.get("/api/v1/workflows/Manual/hook-url").status_code == 409


def test_the_template_tester(api: Served) -> None:
    answer = api.client.post(
        "/api/v1/template-tester",
        json={"template": "{{ input.first | upcase }}", "data": {"first": "ada"}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "ADA"}
    bad = api.client.post("/api/v1/template-tester", json={"template": "{{ input.", "data": {}})
    assert bad.status_code == 400


def test_the_change_notification_url(api: Served) -> None:
    shown = api.client.get("/api/v1/change-url").json()["url"]
    assert shown.startswith(f"{api.base}/hooks/imis/")
    assert api.client.get("/api/v1/change-url").json()["url"] == shown
    new = api.client.post("/api/v1/change-url").json()["url"]
    assert new != shown
    handshake = [
        {
            "id": "1",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "data": {"validationCode": "C"},
        }
    ]
    assert api.open.post(shown, json=handshake).status_code == 401
    assert api.open.post(new, json=handshake).json() == {"validationResponse": "C"}


def test_every_workflow_route_needs_the_token(api: Served) -> None:
    for method, path in [
        ("GET", "/api/v1/workflows"),
        ("PUT", "/api/v1/workflows/X"),
        ("POST", "/api/v1/workflows/X/runs"),
        ("GET", "/api/v1/change-url"),
        ("POST", "/api/v1/template-tester"),
    ]:
        assert api.open.request(method, path, json={}).status_code == 401
