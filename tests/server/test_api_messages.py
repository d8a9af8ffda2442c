"""The API answers in its own terms: a refusal never tells an HTTP client to type a command-line
flag (``--input FILE``, ``--cron``, ``--param``). The command line adds those as its hint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from server_support import CONTACT_JOB, Api

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def refused(answer: httpx.Response) -> str:
    """The whole refusal (message and problems), checked to name no flag."""
    assert answer.status_code == 400, answer.text
    body = answer.json()
    text = " ".join([body["message"], *body["problems"]])
    assert not FLAG.search(text), text
    return text


def test_refusals_name_no_command_line_flags(api: Api, people: Path) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    job = {**CONTACT_JOB, "input": str(people)}
    api.client.put("/api/v1/templates/People", json=CONTACT_JOB)  # run on a file it is given

    def schedule(**body: Any) -> str:
        return refused(api.client.post("/api/v1/schedules", json={"name": "X", **body}))

    assert "Say what the schedule runs: a job, a template, a workflow or a transfer" in schedule(
        cron="daily"
    )
    assert "Say when the schedule runs" in schedule(job=job)
    assert "one of the two" in schedule(job=job, cron="daily", at=later)
    assert "is not an ISO 8601 date and time" in schedule(job=job, at="tomorrow")
    assert "The moment 2001-01-01T00:00 is in the past" in schedule(job=job, at="2001-01-01T00:00")
    assert "must be from 1 to 1,000,000" in schedule(job=job, cron="daily", max_failures=0)
    assert "the schedule must name the file to read" in schedule(template="People", cron="daily")

    no_input = refused(api.client.post("/api/v1/runs", json=CONTACT_JOB))
    assert "input: the job names no input file" in no_input

    query = {
        "from": "Contact",
        "columns": {"Last": "LastName"},
        "filters": [{"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}],
    }
    assert api.client.put("/api/v1/queries/By last name", json=query).status_code == 201
    prompt = refused(api.client.get("/api/v1/queries/By last name/rows"))
    assert "the prompt 'last' is required" in prompt

    iqa = {"iqa": "$/Common/Queries/Locked"}
    assert api.client.put("/api/v1/queries/Locked", json=iqa).status_code == 201
    assert "runs only on an iMIS target" in refused(api.client.get("/api/v1/queries/Locked/rows"))
