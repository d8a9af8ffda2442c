"""Templates, saved queries and schedules over the API, and the OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server_support import CONTACT_JOB, Api

QUERY: dict[str, Any] = {
    "description": "Everybody, by last name",
    "from": "Contact",
    "columns": {"ID": "ImisId", "Last": "LastName", "Email": "Email"},
    "filters": [{"field": "LastName", "op": "startsWith", "prompt": "last"}],
    "order_by": ["Last"],
}


def load_people(api: Api, people: Path) -> None:
    run_id = api.client.post("/api/v1/runs", json={**CONTACT_JOB, "input": str(people)}).json()
    api.wait_for(run_id["run_id"])


def test_templates(api: Api, people: Path) -> None:
    assert api.client.get("/api/v1/templates").json() == []

    created = api.client.put("/api/v1/templates/People", json=CONTACT_JOB)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "Contact"
    assert created.json()["action"] == "insert-update"
    replaced = api.client.put(
        "/api/v1/templates/People", json={**CONTACT_JOB, "description": "the roster"}
    )
    assert replaced.status_code == 200
    got = api.client.get("/api/v1/templates/People").json()
    assert got["description"] == "the roster"
    assert got["document"]["mappings"][0] == {"field": "Email", "column": "E-mail", "match": True}
    assert [t["name"] for t in api.client.get("/api/v1/templates").json()] == ["People"]

    invalid = api.client.put(
        "/api/v1/templates/Bad",
        json={**CONTACT_JOB, "action": "delete", "mappings": [{"field": "Nope", "column": "X"}]},
    )
    assert invalid.status_code == 400
    assert len(invalid.json()["problems"]) >= 2  # the action and the field, at least
    assert api.client.get("/api/v1/templates/Bad").status_code == 404

    scheduled = api.client.post(
        "/api/v1/schedules",
        json={"name": "Nightly", "template": "People", "input": str(people), "cron": "daily"},
    )
    assert scheduled.status_code == 201, scheduled.text
    in_use = api.client.delete("/api/v1/templates/People")
    assert in_use.status_code == 409
    assert "is run by schedule 'Nightly'" in in_use.json()["message"]
    assert api.client.delete("/api/v1/schedules/Nightly").status_code == 200
    assert api.client.delete("/api/v1/templates/People").json() == {"deleted": "People"}
    assert api.client.get("/api/v1/templates/People").status_code == 404
    assert api.client.delete("/api/v1/templates/People").status_code == 404
    assert api.client.post("/api/v1/templates/People/runs").status_code == 404


def test_queries_and_their_rows(api: Api, people: Path) -> None:
    load_people(api, people)

    created = api.client.put("/api/v1/queries/Everybody", json=QUERY)
    assert created.status_code == 201, created.text
    query = created.json()
    assert query["from"] == "Contact"
    assert query["prompts"] == [{"name": "last", "required": False}]
    assert query["iqa_path"] == "$/idms/Everybody"
    assert [q["name"] for q in api.client.get("/api/v1/queries").json()] == ["Everybody"]
    assert api.client.get("/api/v1/queries/Everybody").json()["columns"] == 3

    rows = api.client.get("/api/v1/queries/Everybody/rows").json()
    assert rows["columns"] == ["ID", "Last", "Email"]
    assert [r["Last"] for r in rows["rows"]] == ["Hopper", "Lovelace", "Turing"]
    assert rows["total"] == 3
    page = api.client.get("/api/v1/queries/Everybody/rows", params={"limit": 1, "offset": 1})
    assert [r["Last"] for r in page.json()["rows"]] == ["Lovelace"]
    filtered = api.client.get("/api/v1/queries/Everybody/rows", params={"param.last": "Tu"})
    assert [r["Email"] for r in filtered.json()["rows"]] == ["alan@example.org"]
    unknown = api.client.get("/api/v1/queries/Everybody/rows", params={"param.first": "A"})
    assert unknown.status_code == 400

    invalid = api.client.put(
        "/api/v1/queries/Broken",
        json={"from": "Contact", "columns": {"A": "Nope", "B": "Contact.Nothing"}},
    )
    assert invalid.status_code == 400
    assert len(invalid.json()["problems"]) == 2
    shape = api.client.put("/api/v1/queries/Broken", json={"columns": {"A": "ImisId"}})
    assert shape.status_code == 400
    assert shape.json()["problems"]

    assert api.client.delete("/api/v1/queries/Everybody").status_code == 200
    assert api.client.get("/api/v1/queries/Everybody/rows").status_code == 404


def test_schedules(api: Api, people: Path) -> None:
    api.client.put("/api/v1/templates/People", json=CONTACT_JOB)
    body = {"name": "Nightly", "template": "People", "input": str(people), "cron": "0 2 * * *"}
    body["timezone"] = "Europe/London"

    created = api.client.post("/api/v1/schedules", json=body)

    assert created.status_code == 201, created.text
    schedule = created.json()
    assert created.headers["Location"].endswith("/api/v1/schedules/Nightly")
    assert (schedule["state"], schedule["timezone"]) == ("active", "Europe/London")
    assert [s["name"] for s in api.client.get("/api/v1/schedules").json()] == ["Nightly"]
    times = api.client.get("/api/v1/schedules/Nightly/next", params={"count": 3}).json()["times"]
    assert len(times) == 3
    first = datetime.fromisoformat(times[0].replace("Z", "+00:00"))
    assert first > datetime.now(UTC)
    assert api.client.post("/api/v1/schedules", json=body).status_code == 400  # name taken

    paused = api.client.post("/api/v1/schedules/Nightly/pause")
    assert paused.json()["state"] == "paused"
    assert api.client.post("/api/v1/schedules/Nightly/resume").json()["state"] == "active"

    now = api.client.post("/api/v1/schedules/Nightly/run-now")
    assert now.status_code == 202, now.text
    run = api.wait_for(now.json()["run_id"])
    assert (run["trigger"], run["rows"], run["inserted"]) == ("manual", 5, 3)
    assert run["schedule_id"] == schedule["id"]

    assert api.client.delete("/api/v1/schedules/Nightly").json() == {"deleted": "Nightly"}
    assert api.client.get("/api/v1/schedules/Nightly").status_code == 404
    assert api.client.post("/api/v1/schedules/Nightly/pause").status_code == 404


def test_a_schedule_with_an_inline_job_and_its_refusals(api: Api, people: Path) -> None:
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    job = {**CONTACT_JOB, "input": str(people)}
    created = api.client.post("/api/v1/schedules", json={"name": "Once", "job": job, "at": at})
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "job"
    assert created.json()["cron"] is None

    bad_job = {**job, "mappings": [{"field": "Emial", "column": "E-mail"}]}
    refused = api.client.post("/api/v1/schedules", json={"name": "Bad", "job": bad_job, "at": at})
    assert refused.status_code == 400
    assert "Emial" in refused.json()["problems"][0]
    past = api.client.post(
        "/api/v1/schedules", json={"name": "Late", "job": job, "at": "2001-01-01T00:00"}
    )
    assert past.status_code == 400
    assert "in the past" in past.json()["message"]
    both = api.client.post("/api/v1/schedules", json={"name": "X", "template": "T"})
    assert both.status_code == 400
    by_file = api.client.post(
        "/api/v1/schedules", json={"name": "F", "job_file": str(people), "at": at}
    )
    assert by_file.status_code == 400
    assert by_file.json()["problems"] == [
        "job_file: the API reads no job file on the server: send the job itself as 'job' "
        "(a job document)"
    ]
    # The document is kept with the schedule: no job file is written for it.
    assert not (api.workspace.settings.workspace / "schedule-jobs").exists()
    assert api.client.get("/api/v1/schedules/Once").json()["job_file"] is None
    assert api.client.delete("/api/v1/schedules/Once").status_code == 200


def test_a_one_time_schedule_fires_through_the_loop(api: Api, people: Path) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat(timespec="seconds")
    # Seconds ahead, cut to the second: a loaded machine takes a while to answer the POST.
    job = {**CONTACT_JOB, "input": str(people)}
    created = api.client.post("/api/v1/schedules", json={"name": "Soon", "job": job, "at": at})
    assert created.status_code == 201, created.text

    deadline = time.monotonic() + 30
    while not (runs := api.client.get("/api/v1/runs").json()):
        assert time.monotonic() < deadline, "the schedule did not fire"
        time.sleep(0.1)
    run = api.wait_for(runs[0]["run_id"])
    assert (run["trigger"], run["rows"], run["inserted"]) == ("schedule", 5, 3)
    assert api.client.get("/api/v1/schedules/Soon").json()["state"] == "done"


def test_the_openapi_document_lists_the_paths(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    document = api.client.get("/api/v1/openapi.json").json()
    paths = set(document["paths"])
    assert {
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/status",
        "/api/v1/runs/{run_id}/rows",
        "/api/v1/runs/{run_id}/errors.{extension}",
        "/api/v1/runs/{run_id}/cancel",
        "/api/v1/runs/{run_id}/resume",
        "/api/v1/runs/{run_id}/undo",
        "/api/v1/templates",
        "/api/v1/templates/{name}",
        "/api/v1/templates/{name}/runs",
        "/api/v1/queries",
        "/api/v1/queries/{name}",
        "/api/v1/queries/{name}/rows",
        "/api/v1/schedules",
        "/api/v1/schedules/{name}",
        "/api/v1/schedules/{name}/pause",
        "/api/v1/schedules/{name}/resume",
        "/api/v1/schedules/{name}/run-now",
        "/api/v1/schedules/{name}/next",
        "/api/v1/triggers/{template}",
        "/api/v1/triggers/{template}/async",
    } <= paths
    assert set(document["paths"]["/api/v1/templates/{name}"]) == {"get", "put", "delete"}
    schemas = document["components"]["schemas"]
    assert {"RunOut", "RunSummary", "HookAnswer", "ErrorBody", "TemplateOut"} <= set(schemas)
    assert set(schemas["ErrorBody"]["properties"]) == {"error", "message", "problems", "request_id"}
    assert "queueTime" in schemas["HookAnswer"]["properties"]
    status = document["paths"]["/api/v1/runs/{run_id}/status"]["get"]["responses"]
    assert {"200", "202", "401", "404"} <= set(status)
    assert {"token", "token_in_query"} <= set(document["components"]["securitySchemes"])
