"""``/settings/options``: the installation's default task options over the API, and the runs,
plans and template runs the API starts taking them (a job's own options still win)."""

from __future__ import annotations

from pathlib import Path

from server_support import CONTACT_JOB, Api


def test_read_set_refuse_and_drop(api: Api) -> None:
    shown = api.client.get("/api/v1/settings/options").json()
    assert shown["batch_size"] == {"value": 1000, "from": "built-in"}
    changed = api.client.patch("/api/v1/settings/options", json={"batch_size": 500})
    assert changed.status_code == 200, changed.text
    assert changed.json()["batch_size"] == {"value": 500, "from": "global"}

    bad = api.client.patch("/api/v1/settings/options", json={"blank_values": "erase"})
    assert bad.status_code == 400
    assert "blank_values" in str(bad.json()), bad.json()
    assert api.client.get("/api/v1/settings/options").json()["blank_values"]["from"] == "built-in"

    dropped = api.client.delete("/api/v1/settings/options/batch_size")
    assert dropped.json()["batch_size"] == {"value": 1000, "from": "built-in"}
    unknown = api.client.delete("/api/v1/settings/options/batch_sise")
    assert unknown.status_code == 404
    assert "Did you mean 'batch_size'?" in unknown.json()["message"]


def test_runs_plans_and_template_runs_take_the_global_defaults(api: Api, people: Path) -> None:
    # people.csv: its second row is bad. Stopping after 1 error, one row at a time, the
    # three rows after it are not processed.
    api.client.patch("/api/v1/settings/options", json={"stop_after_errors": 1, "batch_size": 1})
    job = {**CONTACT_JOB, "input": str(people)}
    planned = api.client.post("/api/v1/runs", params={"plan": "true"}, json=job).json()
    assert planned["options"]["stop_after_errors"] == {"value": 1, "from": "global"}
    plan = planned["run"]
    run = api.wait_for(api.client.post("/api/v1/runs", json=job).json()["run_id"])
    for answer in (plan, run):
        assert (answer["inserted"], answer["errors"], answer["skipped"]) == (1, 1, 3), answer

    assert api.client.put("/api/v1/templates/People", json=CONTACT_JOB).status_code == 201
    started = api.client.post("/api/v1/templates/People/runs", json={"input": str(people)})
    assert started.status_code in (201, 202), started.text
    by_template = api.wait_for(started.json()["run_id"])
    assert (by_template["errors"], by_template["skipped"]) == (1, 3)

    own = {**job, "options": {"stop_after_errors": None}}  # the job's own value wins
    mine = api.wait_for(api.client.post("/api/v1/runs", json=own).json()["run_id"])
    assert (mine["errors"], mine["skipped"]) == (2, 0)
