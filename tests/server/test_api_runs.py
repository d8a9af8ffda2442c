"""Jobs through the API: queued, executed by the background loop's thread executor, read back
row by row, their failed rows downloaded; plans; invalid jobs refused with every problem."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from server_support import CONTACT_JOB, Api

from input_rows import data_rows


def job(path: Path, **changes: Any) -> dict[str, Any]:
    return {**CONTACT_JOB, "input": str(path), **changes}


def test_a_queued_job_runs_through_the_loop_to_exact_counts(api: Api, people: Path) -> None:
    answer = api.client.post("/api/v1/runs", json=job(people))

    assert answer.status_code == 202, answer.text
    run = answer.json()
    assert answer.headers["Location"] == f"{api.base}/api/v1/runs/{run['run_id']}"
    assert run["status"] in ("queued", "running")
    assert run["trigger"] == "api"
    done = api.wait_for(run["run_id"])
    assert done["status"] == "completed_with_errors"
    assert (done["rows"], done["inserted"], done["errors"]) == (5, 3, 2)
    assert done["rows"] == data_rows(people)
    assert done["attempts"] == 1
    assert done["started_at"]
    assert done["finished_at"]

    listed = api.client.get("/api/v1/runs", params={"status": "completed_with_errors"}).json()
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    assert api.client.get("/api/v1/runs", params={"status": "queued"}).json() == []


def test_rows_and_the_failed_rows_file(api: Api, people: Path) -> None:
    run_id = api.client.post("/api/v1/runs", json=job(people)).json()["run_id"]
    api.wait_for(run_id)

    errors = api.client.get(f"/api/v1/runs/{run_id}/rows", params={"outcome": "error"}).json()
    assert errors["total"] == 2
    assert [r["row_number"] for r in errors["rows"]] == [3, 6]
    assert errors["rows"][0]["field"] == "Email"
    assert "not a valid email" in errors["rows"][0]["message"]
    page = api.client.get(f"/api/v1/runs/{run_id}/rows", params={"limit": 2, "offset": 1}).json()
    assert [r["row_number"] for r in page["rows"]] == [3, 4]
    assert page["total"] == 5
    assert page["rows"][1]["outcome"] == "inserted"
    assert page["rows"][1]["after"]["Email"] == "alan@example.org"

    as_csv = api.client.get(f"/api/v1/runs/{run_id}/errors.csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert f'filename="{run_id}-failed.csv"' in as_csv.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0] == ["First", "Last", "E-mail", "Error"]
    assert [line[:3] for line in lines[1:]] == [
        ["Bad", "Row", "not-an-email"],
        ["Worse", "Row", "also bad"],
    ]
    assert lines[1][3].startswith("Row 3, column 'E-mail'")

    as_xlsx = api.client.get(f"/api/v1/runs/{run_id}/errors.xlsx")
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["First", "Last", "E-mail", "Error"]
    assert len(cells) == 3
    # The files are made for the download and removed once sent.
    deadline = time.monotonic() + 10
    while list(api.workspace.runs_folder.glob("idms-errors-*")):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_run_without_failed_rows_has_no_file(api: Api, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("First,Last,E-mail\nAda,Lovelace,ada@example.org\n", encoding="utf-8")
    run_id = api.client.post("/api/v1/runs", json=job(good)).json()["run_id"]
    assert api.wait_for(run_id)["status"] == "succeeded"

    answer = api.client.get(f"/api/v1/runs/{run_id}/errors.csv")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": True,
        "message": f"Run {run_id} has no failed rows.",
        "problems": [],
    }
    assert api.client.get(f"/api/v1/runs/{run_id}/errors.pdf").status_code == 404


def test_a_plan_answers_at_once_and_writes_nothing(api: Api, people: Path) -> None:
    answer = api.client.post("/api/v1/runs", params={"plan": "true"}, json=job(people))

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["run"]["status"] == "planned"
    assert plan["run"]["plan_only"] is True
    assert (plan["run"]["inserted"], plan["run"]["errors"]) == (3, 2)
    assert [r["outcome"] for r in plan["rows"]] == [
        "inserted",
        "error",
        "inserted",
        "inserted",
        "error",
    ]
    assert plan["rows"][0]["after"]["Email"] == "ada@example.org"
    contacts = api.client.post(
        "/api/v1/runs", params={"plan": "true", "rows": 0}, json=job(people)
    ).json()
    assert contacts["rows"] == []
    assert contacts["run"]["inserted"] == 3  # the first plan wrote nothing


def test_an_invalid_job_is_refused_with_every_problem(api: Api, people: Path) -> None:
    document = job(
        people,
        mappings=[
            {"field": "Email", "column": "E-mail", "match": True},
            {"field": "LastNam", "column": "Last"},
            {"field": "FirstName", "column": "Prénom"},
        ],
    )

    answer = api.client.post("/api/v1/runs", json=document)

    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] is True
    assert body["message"] == "Job 'People by e-mail' cannot run; nothing was written"
    assert len(body["problems"]) == 2
    assert body["problems"][0] == (
        "mappings[1] (field 'LastNam'): Contact has no field 'LastNam'. Did you mean 'LastName'?"
    )
    assert body["problems"][1].startswith("mappings[2]")
    assert "Prénom" in body["problems"][1]
    assert api.client.get("/api/v1/runs").json() == []  # nothing was queued


def test_a_job_of_the_wrong_shape_lists_every_problem(api: Api) -> None:
    answer = api.client.post(
        "/api/v1/runs", json={"source": "Contact", "action": "upsert", "colour": "red"}
    )

    assert answer.status_code == 400
    problems = answer.json()["problems"]
    assert len(problems) == 3
    assert any(p.startswith("action: ") for p in problems)
    assert "mappings: Field required" in problems
    assert "colour: is not a job setting (check the spelling)" in problems


def test_a_request_that_is_not_json_is_a_400(api: Api) -> None:
    answer = api.client.post(
        "/api/v1/runs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] is True
    assert answer.json()["problems"]


def test_a_missing_input_file_is_refused(api: Api, tmp_path: Path) -> None:
    answer = api.client.post("/api/v1/runs", json=job(tmp_path / "nowhere.csv"))
    assert answer.status_code == 400
    assert "nowhere.csv" in answer.json()["message"] + " ".join(answer.json()["problems"])


def test_a_relative_input_is_read_from_the_first_input_folder(
    api: Api, people: Path, tmp_path: Path
) -> None:
    (tmp_path / "drop").mkdir()
    people.rename(tmp_path / "drop" / "people.csv")
    answer = api.client.post("/api/v1/runs", json=job(Path("drop/people.csv")))
    assert answer.status_code == 202, answer.text
    assert api.wait_for(answer.json()["run_id"])["rows"] == 5


def test_unknown_runs_are_404(api: Api) -> None:
    for path in ("/api/v1/runs/nope", "/api/v1/runs/nope/status", "/api/v1/runs/nope/rows"):
        answer = api.client.get(path)
        assert answer.status_code == 404, path
        assert answer.json() == {"error": True, "message": "No run 'nope'.", "problems": []}
    missing = api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] is True


def test_cancel_a_queued_run_then_409(make_api: Callable[..., Api], people: Path) -> None:
    api = make_api(loop=False)  # nothing executes: the run stays queued
    run_id = api.client.post("/api/v1/runs", json=job(people)).json()["run_id"]
    assert api.client.get(f"/api/v1/runs/{run_id}").json()["status"] == "queued"

    cancelled = api.client.post(f"/api/v1/runs/{run_id}/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["message"] == "Cancelled before it started."
    again = api.client.post(f"/api/v1/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json() == {
        "error": True,
        "message": f"Run {run_id} has finished (cancelled): there is nothing to cancel.",
        "problems": [],
    }


def test_passwords_never_come_back(api: Api, people: Path, tmp_path: Path) -> None:
    api.wait_for(api.client.post("/api/v1/runs", json=job(people)).json()["run_id"])
    logins = tmp_path / "logins.csv"
    logins.write_text(
        "E-mail,Login,Secret\nada@example.org,ada,Correct-Horse-9\nalan@example.org,alan,abc\n",
        encoding="utf-8",
    )
    document = {
        "name": "Logins",
        "input": str(logins),
        "source": "UserCredentials",
        "action": "insert-with-matching",
        "mappings": [
            {"field": "Email", "column": "E-mail", "match": True},
            {"field": "Username", "column": "Login"},
            {"field": "Password", "column": "Secret"},
        ],
    }
    planned = api.client.post("/api/v1/runs", params={"plan": "true"}, json=document)
    assert planned.status_code == 200, planned.text
    run_id = api.client.post("/api/v1/runs", json=document).json()["run_id"]
    run = api.wait_for(run_id)
    assert (run["rows"], run["inserted"], run["errors"]) == (2, 1, 1)  # "abc" is too short

    answers = [
        planned.text,
        api.client.get(f"/api/v1/runs/{run_id}").text,
        api.client.get(f"/api/v1/runs/{run_id}/rows").text,
    ]
    answers.append(api.client.get(f"/api/v1/runs/{run_id}/errors.csv").text)
    for text in answers:
        assert "Correct-Horse-9" not in text
        assert ",abc" not in text
