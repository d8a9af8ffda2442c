"""Inserting what is already there: a plan and a run warn of a row identical to a stored record,
and ``skip_identical`` skips it with the reason. Through the Workspace, on a real SQLite store;
what the store holds is counted with ``Target.read``, not from the run's own counts."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.jobs.model import Job, build_job
from idms.runs.rows import RowResult
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara"]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=0, seed=3)  # lookup tables (ACTIVITY_TYPE ...)
    finally:
        store.close()
    people = write_csv(
        tmp_path / "people.csv",
        [["First", "Last", "E-mail"]]
        + [[n, f"Last{i}", f"{n.lower()}@example.org"] for i, n in enumerate(FIRST_NAMES)],
    )
    ws.run(
        build_job(
            {
                "input": {"file": str(people)},
                "source": "Contact",
                "action": "insert",
                "mappings": [
                    {"field": "FirstName", "column": "First"},
                    {"field": "LastName", "column": "Last"},
                    {"field": "Email", "column": "E-mail"},
                ],
            }
        )
    )
    yield ws
    ws.close()


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def activities(ws: Workspace) -> list[dict[str, Any]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return list(store.read("Activity"))
    finally:
        store.close()


def activity_job(file: Path, **options: Any) -> Job:
    return build_job(
        {
            "name": "Webinar attendance",
            "input": {"file": str(file)},
            "source": "Activity",
            "action": "insert",
            "mappings": [
                {"field": "ImisId", "column": "ID"},
                {"field": "ActivityType", "column": "Type"},
                {"field": "Description", "column": "Webinar"},
                {"field": "TransactionDate", "column": "Date"},
            ],
            "options": options,
        }
    )


def attendance(ws: Workspace, path: Path) -> Path:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        ids = sorted(str(c["ImisId"]) for c in store.read("Contact"))
    finally:
        store.close()
    rows = [["ID", "Type", "Webinar", "Date"]]
    rows += [[i, "WEBINAR", "Data hygiene 101", "2026-03-15"] for i in ids]
    rows += [[ids[0], "WEBINAR", "Matching in depth", "2026-03-16"]]
    return write_csv(path, rows)


def rows_of(ws: Workspace, run_id: str) -> list[RowResult]:
    return list(ws.runs.rows(run_id))


def test_importing_the_same_activity_file_twice_warns_in_the_plan_and_the_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    file = attendance(workspace, tmp_path / "attendance.csv")
    lines = len(FIRST_NAMES) + 1
    first = workspace.run(activity_job(file))
    assert first.counts.as_dict()["inserted"] == lines
    assert all(r.code is None and r.message is None for r in rows_of(workspace, first.run_id))
    plan = workspace.plan(activity_job(file))

    assert plan.counts.as_dict()["inserted"] == lines
    planned = rows_of(workspace, plan.run_id)
    for row in planned:
        assert row.outcome == "inserted"
        assert row.code == "identical_exists"
        assert row.message is not None
        assert row.message.startswith("Duplicates an identical Activities record: ")
        assert "skip_identical" in row.message

    second = workspace.run(activity_job(file))  # a warning, not a refusal: the run inserts

    assert second.counts.as_dict()["inserted"] == lines
    ran = rows_of(workspace, second.run_id)
    assert [(r.outcome, r.code, r.message) for r in ran] == [
        (r.outcome, r.code, r.message) for r in planned
    ]
    assert len(activities(workspace)) == 2 * lines


def test_skip_identical_skips_every_repeated_row_with_the_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    file = attendance(workspace, tmp_path / "attendance.csv")
    lines = len(FIRST_NAMES) + 1
    workspace.run(activity_job(file))
    stored = activities(workspace)
    assert len(stored) == lines

    plan = workspace.plan(activity_job(file, skip_identical=True))
    run = workspace.run(activity_job(file, skip_identical="Yes"))

    for report in (plan, run):
        counts = report.counts.as_dict()
        assert (counts["rows"], counts["skipped"], counts["inserted"]) == (lines, lines, 0)
    planned, ran = rows_of(workspace, plan.run_id), rows_of(workspace, run.run_id)
    assert [(r.outcome, r.code, r.message) for r in ran] == [
        (r.outcome, r.code, r.message) for r in planned
    ]
    for row in ran:
        assert (row.outcome, row.code) == ("skipped", "identical_exists")
        assert row.message is not None
        assert row.message.startswith("Skipped: an identical Activities record exists")
    assert activities(workspace) == stored


def test_a_row_that_differs_in_one_mapped_value_is_not_identical(
    workspace: Workspace, tmp_path: Path
) -> None:
    file = attendance(workspace, tmp_path / "attendance.csv")
    workspace.run(activity_job(file))
    (first_id, *_), *_ = list(csv.reader(file.read_text(encoding="utf-8").splitlines()))[1:]
    changed = write_csv(
        tmp_path / "changed.csv",
        [
            ["ID", "Type", "Webinar", "Date"],
            [first_id, "WEBINAR", "Data hygiene 101", "2026-03-17"],  # another day
            [first_id, "WEBINAR", "DATA HYGIENE 101", "2026-03-15"],  # stored as typed: differs
            [first_id, "WEBINAR", "Data hygiene 101", "2026-03-15"],  # the same
        ],
    )

    report = workspace.run(activity_job(changed, skip_identical=True))

    outcomes = [(r.outcome, r.code) for r in rows_of(workspace, report.run_id)]
    assert outcomes == [("inserted", None), ("inserted", None), ("skipped", "identical_exists")]


def test_repeated_rows_within_one_file_are_judged_alike_by_the_plan_and_the_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        ada = next(str(c["ImisId"]) for c in store.read("Contact") if c["FirstName"] == "Ada")
    finally:
        store.close()
    note = [ada, "WEBINAR", "Data hygiene 101", "2026-03-15"]
    other = [ada, "WEBINAR", "Matching in depth", "2026-03-16"]
    # batches of 2: the repeats fall in the same batch (row 3) and in later ones (rows 5, 6)
    file = write_csv(
        tmp_path / "twice.csv", [["ID", "Type", "Webinar", "Date"], note, note, other, note, other]
    )

    plan = workspace.plan(activity_job(file, skip_identical=True, batch_size=2))
    run = workspace.run(activity_job(file, skip_identical=True, batch_size=2))

    expected = ["inserted", "skipped", "inserted", "skipped", "skipped"]
    assert [r.outcome for r in rows_of(workspace, plan.run_id)] == expected
    assert [r.outcome for r in rows_of(workspace, run.run_id)] == expected
    assert len(activities(workspace)) == 2
    same_batch = rows_of(workspace, run.run_id)[1]
    assert same_batch.message == (
        "Skipped: an identical Activities record (row 2 of this input) exists; every mapped "
        "value is the same."
    )
