"""``POST /api/v1/runs/{id}/undo``: the undo is queued (202, Location to follow it) and carried
out by the server's executor, as every run is; a run that cannot be undone is refused at once
with the reason, nothing queued; ``?wait=true`` keeps the old answer (200, the undo ended).

A real server (uvicorn) with its background loop and thread executor; what the store holds is
read back from it, not taken from the undo's counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from server_support import CONTACT_JOB, PEOPLE, Api, write_csv

from idms.jobs.model import build_job
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace


def job(path: Path) -> dict[str, Any]:
    return {**CONTACT_JOB, "input": str(path)}


def last_names(workspace: Workspace) -> dict[str, str]:
    """Every contact's last name by e-mail address, read from the store."""
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        return {str(c["Email"]): str(c["LastName"]) for c in store.read("Contact", [])}
    finally:
        store.close()


def renamed(folder: Path) -> Path:
    return write_csv(folder / "renamed.csv", [{**p, "Last": "Renamed"} for p in PEOPLE])


def test_an_undo_is_queued_and_the_executor_puts_the_store_back(
    api: Api, people: Path, tmp_path: Path
) -> None:
    api.wait_for(api.client.post("/api/v1/runs", json=job(people)).json()["run_id"])
    before = last_names(api.workspace)
    run = api.wait_for(
        api.client.post("/api/v1/runs", json=job(renamed(tmp_path))).json()["run_id"]
    )
    assert run["updated"] == 3
    assert set(last_names(api.workspace).values()) == {"Renamed"}

    answer = api.client.post(f"/api/v1/runs/{run['run_id']}/undo")

    assert answer.status_code == 202, answer.text
    undo = answer.json()
    assert answer.headers["Location"] == f"{api.base}/api/v1/runs/{undo['run_id']}"
    assert undo["kind"] == "undo"
    assert undo["undo_of"] == run["run_id"]
    assert undo["status"] in ("queued", "running", "succeeded")  # the executor is quick
    assert (undo["trigger"], undo["started_by"]) == ("api", "token:tests")
    done = api.wait_for(undo["run_id"])
    assert done["status"] == "succeeded"
    assert (done["rows"], done["updated"], done["errors"]) == (3, 3, 0)
    assert done["attempts"] == 1
    assert api.client.get(f"/api/v1/runs/{undo['run_id']}/status").status_code == 200
    assert last_names(api.workspace) == before
    assert api.client.get(f"/api/v1/runs/{run['run_id']}").json()["undone_by"] == undo["run_id"]
    again = api.client.post(f"/api/v1/runs/{run['run_id']}/undo")
    assert again.status_code == 409
    assert again.json()["message"].startswith(
        f"Run {run['run_id']} was already undone by run {undo['run_id']}."
    )


def test_refusals_answer_at_once_and_queue_nothing(
    make_api: Callable[..., Api], people: Path
) -> None:
    api = make_api(loop=False)  # no executor: whatever is queued stays queued
    planned = api.client.post("/api/v1/runs", params={"plan": "true"}, json=job(people))
    plan_id = planned.json()["run"]["run_id"]
    queued = api.client.post("/api/v1/runs", json=job(people)).json()["run_id"]
    listed = len(api.client.get("/api/v1/runs").json())

    plan = api.client.post(f"/api/v1/runs/{plan_id}/undo")
    assert plan.status_code == 400
    assert plan.json()["message"] == f"Run {plan_id} was a plan: it wrote nothing to undo."
    running = api.client.post(f"/api/v1/runs/{queued}/undo")
    assert running.status_code == 409
    assert running.json()["message"] == f"Run {queued} is queued: undo it once it has ended."
    assert api.client.post("/api/v1/runs/nosuchrun/undo").status_code == 404
    assert len(api.client.get("/api/v1/runs").json()) == listed


def test_wait_true_answers_the_ended_undo_and_a_queued_one_can_be_cancelled(
    make_api: Callable[..., Api], people: Path
) -> None:
    api = make_api(loop=False)
    ran = api.workspace.run(build_job(job(people)))
    assert ran.counts.as_dict()["inserted"] == 3

    answer = api.client.post(f"/api/v1/runs/{ran.run_id}/undo", params={"wait": "true"})

    assert answer.status_code == 200, answer.text
    undo = answer.json()
    assert "Location" not in answer.headers
    assert (undo["status"], undo["rows"], undo["updated"]) == ("succeeded", 3, 3)
    assert undo["trigger"] == "api"
    assert api.workspace.runs.get(ran.run_id).undone_by == undo["run_id"]

    # Undoing the undo (a redo) is queued; with no executor it waits, and can be cancelled.
    redo = api.client.post(f"/api/v1/runs/{undo['run_id']}/undo")
    assert redo.status_code == 202
    assert redo.json()["status"] == "queued"
    twice = api.client.post(f"/api/v1/runs/{undo['run_id']}/undo")
    assert twice.status_code == 409
    assert twice.json()["message"] == (
        f"Run {undo['run_id']} is being undone by run {redo.json()['run_id']}: wait for it to end."
    )
    cancelled = api.client.post(f"/api/v1/runs/{redo.json()['run_id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert api.workspace.runs.get(undo["run_id"]).undone_by is None

    document = api.client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/runs/{run_id}/undo"]["post"]
    assert {"200", "202", "400", "404", "409"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"run_id", "force", "wait"}
