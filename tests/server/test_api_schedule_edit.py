"""``PATCH /api/v1/schedules/{name}``: a schedule changed in place, checked as an add (400 or
404, as an add's; nothing changed), its ID, history and state kept, with what changed in the
answer."""

from __future__ import annotations

from pathlib import Path

from server_support import CONTACT_JOB, Api


def test_a_schedule_is_changed_in_place(api: Api, people: Path) -> None:
    api.client.put("/api/v1/templates/People", json=CONTACT_JOB)
    body = {"name": "Nightly", "template": "People", "input": str(people), "cron": "0 2 * * *"}
    created = api.client.post("/api/v1/schedules", json={**body, "max_failures": 3}).json()
    run = api.client.post("/api/v1/schedules/Nightly/run-now").json()
    api.wait_for(run["run_id"])
    assert api.client.post("/api/v1/schedules/Nightly/pause").status_code == 200

    changed = api.client.patch(
        "/api/v1/schedules/Nightly", json={"cron": "0 3 * * 1-5", "timezone": "Europe/London"}
    )
    assert changed.status_code == 200, changed.text
    schedule = changed.json()
    assert (schedule["id"], schedule["state"]) == (created["id"], "paused")
    assert (schedule["cron"], schedule["timezone"]) == ("0 3 * * 1-5", "Europe/London")
    assert (schedule["template"], schedule["max_failures"]) == ("People", 3)
    assert schedule["changed"] == [
        {"what": "when", "before": "0 2 * * * in UTC", "after": "0 3 * * 1-5 in Europe/London"}
    ]
    again = api.client.patch(
        "/api/v1/schedules/Nightly", json={"max_failures": None, "description": "Roster"}
    ).json()
    assert (again["max_failures"], again["description"]) == (None, "Roster")
    assert [c["what"] for c in again["changed"]] == ["max failures", "description"]
    renamed = api.client.patch("/api/v1/schedules/Nightly", json={"name": "Roster"}).json()
    assert renamed["id"] == created["id"]
    assert api.client.get("/api/v1/schedules/Nightly").status_code == 404
    runs = api.client.get("/api/v1/runs").json()
    assert [r["schedule_id"] for r in runs] == [created["id"]]  # its history stays its own


def test_a_refused_change_changes_nothing(api: Api, people: Path) -> None:
    job = {**CONTACT_JOB, "input": str(people)}
    assert (
        api.client.post(
            "/api/v1/schedules", json={"name": "Sync", "job": job, "cron": "daily"}
        ).status_code
        == 201
    )
    before = api.client.get("/api/v1/schedules/Sync").json()
    refusals = [
        ({"cron": "61 * * * *"}, 400, "minute"),
        ({"cron": "daily", "at": "2030-01-01T09:00"}, 400, "one of the two"),
        ({"template": "Nope"}, 404, "No template 'Nope'"),  # as when adding one
        ({"at": "2001-01-01T00:00"}, 400, "in the past"),
        ({"job": {**job, "mappings": [{"field": "Emial", "column": "E-mail"}]}}, 400, "Emial"),
    ]
    for changes, status, message in refusals:
        refused = api.client.patch("/api/v1/schedules/Sync", json=changes)
        assert refused.status_code == status, (changes, refused.text)
        answer = refused.json()
        assert message in answer["message"] + " ".join(answer["problems"]), answer
    by_file = api.client.patch("/api/v1/schedules/Sync", json={"job_file": str(people)})
    assert by_file.status_code == 400
    assert "send the job itself as 'job'" in by_file.json()["problems"][0]
    unknown = api.client.patch("/api/v1/schedules/Sync", json={"colour": "red"})
    assert unknown.status_code == 400
    assert api.client.get("/api/v1/schedules/Sync").json() == before
    missing = api.client.patch("/api/v1/schedules/Synk", json={"cron": "hourly"})
    assert missing.status_code == 404
    assert "Did you mean 'Sync'?" in missing.json()["message"]
