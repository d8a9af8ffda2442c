"""The trigger URLs of a template: fire and forget (the hook answer), and the asynchronous
polling URL (202 + Location + Retry-After, then 200 with the counts), as Power Automate uses it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from server_support import CONTACT_JOB, Api

QUERY: dict[str, Any] = {
    "from": "Contact",
    "columns": {"ID": "ImisId", "Last": "LastName"},
    "filters": [{"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}],
    "order_by": ["ID"],
}
TAG_JOB: dict[str, Any] = {
    "input": {"query": "By last name"},
    "source": "Contact",
    "action": "update",
    "mappings": [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": "Designation", "value": "VIP"},
    ],
}


def save_people_template(api: Api) -> None:
    answer = api.client.put("/api/v1/templates/People", json=CONTACT_JOB)
    assert answer.status_code == 201, answer.text


def poll(client: httpx.Client, url: str, *, timeout: float = 60) -> httpx.Response:
    """Follow the polling URL as a client of the pattern does, until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(url)
        if answer.status_code != 202:
            return answer
        assert int(answer.headers["Retry-After"]) >= 1
        url = answer.headers["Location"]
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)


def test_fire_and_forget_answers_the_hook_shape(api: Api, people: Path) -> None:
    save_people_template(api)
    before = datetime.now(UTC)

    answer = api.client.post("/api/v1/triggers/People", json={"input": str(people)})

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) == {"error", "id", "queueTime"}
    assert body["error"] is False
    queued = datetime.fromisoformat(body["queueTime"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= queued <= datetime.now(UTC) + timedelta(seconds=1)
    run = api.wait_for(body["id"])
    assert run["trigger"] == "trigger"
    assert (run["rows"], run["inserted"], run["errors"]) == (5, 3, 2)


def test_the_polling_url_end_to_end(api: Api, people: Path) -> None:
    save_people_template(api)

    started = api.client.post("/api/v1/triggers/People/async", json={"input": str(people)})

    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    location = started.headers["Location"]
    assert location == f"{api.base}/api/v1/runs/{run_id}/status"
    assert started.headers["Retry-After"] == "1"
    assert started.json()["status"] == "queued"

    done = poll(api.client, location)

    assert done.status_code == 200
    assert "Retry-After" not in done.headers
    summary = done.json()
    assert summary["run_id"] == run_id
    assert summary["status"] == "completed_with_errors"
    counts = {k: summary[k] for k in ("rows", "inserted", "updated", "unchanged", "errors")}
    assert counts == {"rows": 5, "inserted": 3, "updated": 0, "unchanged": 0, "errors": 2}
    assert summary["skipped"] == 0
    assert summary["deleted"] == 0


def test_the_polling_url_says_202_while_the_run_waits(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False, retry_after=7)  # nothing executes
    save_people_template(api)
    people = api.workspace.settings.workspace.parent / "people.csv"  # the input folder
    people.write_text("First,Last,E-mail\nAda,Lovelace,ada@example.org\n", encoding="utf-8")
    run_id = api.client.post("/api/v1/triggers/People", json={"input": "people.csv"}).json()["id"]

    answer = api.client.get(f"/api/v1/runs/{run_id}/status")

    assert answer.status_code == 202
    assert answer.headers["Retry-After"] == "7"
    assert answer.headers["Location"] == f"{api.base}/api/v1/runs/{run_id}/status"
    assert answer.json()["status"] == "queued"
    # A tool that can only put the token in the URL polls the same way.
    with httpx.Client(base_url=api.base) as anonymous:
        answer = anonymous.get(f"/api/v1/runs/{run_id}/status", params={"token": api.token})
    assert answer.status_code == 202
    assert answer.headers["Location"].endswith(f"/runs/{run_id}/status?token={api.token}")
    api.client.post(f"/api/v1/runs/{run_id}/cancel")
    ended = api.client.get(f"/api/v1/runs/{run_id}/status")
    assert ended.status_code == 200
    assert ended.json()["status"] == "cancelled"


def test_a_query_template_takes_its_prompts_from_the_body(api: Api, people: Path) -> None:
    save_people_template(api)
    loaded = api.client.post("/api/v1/templates/People/runs", json={"input": str(people)})
    assert loaded.status_code == 202
    assert loaded.headers["Location"].endswith(f"/api/v1/runs/{loaded.json()['run_id']}")
    api.wait_for(loaded.json()["run_id"])
    assert api.client.put("/api/v1/queries/By last name", json=QUERY).status_code == 201
    assert api.client.put("/api/v1/templates/Tag", json=TAG_JOB).status_code == 201

    started = api.client.post(
        "/api/v1/triggers/Tag/async", json={"params": {"last": "T"}, "comment": "ignored"}
    )

    assert started.status_code == 202, started.text
    summary = poll(api.client, started.headers["Location"]).json()
    assert (summary["status"], summary["rows"], summary["updated"]) == ("succeeded", 1, 1)
    rows = api.client.get("/api/v1/queries/By last name/rows", params={"param.last": "T"}).json()
    assert rows["rows"] == [{"ID": rows["rows"][0]["ID"], "Last": "Turing"}]


def test_a_trigger_that_cannot_start_says_why(api: Api) -> None:
    save_people_template(api)

    unknown = api.client.post("/api/v1/triggers/Peeple")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": True,
        "message": "No template 'Peeple'. Did you mean 'People'?",
        "problems": [],
    }
    no_input = api.client.post("/api/v1/triggers/People")
    assert no_input.status_code == 400
    assert no_input.json()["problems"] == ["input: the job names no input file"]
    assert "--input" not in no_input.json()["message"]  # a command-line flag means nothing here
    not_json = api.client.post(
        "/api/v1/triggers/People",
        content=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"] is True
    missing_prompt = api.client.put("/api/v1/queries/By last name", json=QUERY)
    assert missing_prompt.status_code == 201
    api.client.put("/api/v1/templates/Tag", json=TAG_JOB)
    refused = api.client.post("/api/v1/triggers/Tag", json={})
    assert refused.status_code == 400
    assert "last" in " ".join(refused.json()["problems"])
    assert api.client.get("/api/v1/runs").json() == []  # nothing was queued


def test_a_retried_request_with_its_idempotency_key_queues_one_run(api: Api, people: Path) -> None:
    save_people_template(api)
    body = {"input": str(people)}
    once = {"Idempotency-Key": "flow-run-8d2f"}

    first = api.client.post("/api/v1/triggers/People", json=body, headers=once)
    again = api.client.post("/api/v1/triggers/People", json=body, headers=once)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    polled = api.client.post("/api/v1/triggers/People/async", json=body, headers=once)
    assert polled.json()["run_id"] == first.json()["id"]
    other = api.client.post("/api/v1/triggers/People", json=body, headers={"Idempotency-Key": "x"})
    assert other.json()["id"] != first.json()["id"]
    plain = api.client.post("/api/v1/runs", json={**CONTACT_JOB, "input": str(people)})
    assert plain.status_code == 202
    assert len(api.client.get("/api/v1/runs").json()) == 3

    # A request refused keeps nothing: the same key works once the request is right.
    refused = api.client.post("/api/v1/triggers/People", headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 400
    accepted = api.client.post(
        "/api/v1/triggers/People", json=body, headers={"Idempotency-Key": "k2"}
    )
    assert accepted.status_code == 202
    assert "Idempotent-Replayed" not in accepted.headers
    too_long = api.client.post(
        "/api/v1/triggers/People", json=body, headers={"Idempotency-Key": "k" * 201}
    )
    assert too_long.status_code == 400
