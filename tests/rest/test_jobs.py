"""Import jobs through the REST target: recovery from faults, and parity with the embedded store.

The same job, on the same data, gives the same outcomes and the same records whether it runs on
the embedded store directly or through the sandbox over HTTP; a sandbox that answers a share of
calls with 429 and 500 changes neither the counts nor the records (the client's retries absorb
the faults, and a faulted call never wrote anything).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from idms.demo.generate import fill_demo
from idms.jobs.model import build_job
from idms.jobs.runner import RunReport, run_job
from idms.jobs.undo import undo_run
from idms.runs.record import RunStore
from idms.sandbox.faults import FaultPlan
from idms.state.store import open_suite
from idms.targets.base import Target
from idms.targets.embedded.target import EmbeddedTarget

from .conftest import Serve

NewStore = Callable[[str], EmbeddedTarget]
SYSTEM = {"ImisId", "ContactKey", "CreatedOn", "UpdatedOn", "OrganizationId"}
HEADER = ["Email", "First", "Last", "Title", "Member", "City", "Country"]


def people(count: int) -> list[list[Any]]:
    rows: list[list[Any]] = [HEADER]
    for i in range(count):
        member = "GOLD" if i % 9 == 4 else ("REG" if i % 2 else "")  # GOLD is no code
        rows.append(
            [f"p{i}@example.org", f"First{i}", f"Last{i}", f"Title {i % 3}", member,
             f"City{i % 4}" if i % 5 else "", "United Kingdom" if i % 5 else ""]
        )  # fmt: skip
    rows.append([" P1@EXAMPLE.ORG ", "Again", "Last1", "", "", "", ""])  # matches row 2
    rows.append(["", "Blank", "Email", "", "", "", ""])  # no match key
    return rows


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def contact_job(file: Path, action: str = "insert-update", batch_size: int = 25) -> Any:
    return build_job(
        {
            "name": f"{action} people",
            "input": {"file": str(file)},
            "source": "Contact",
            "action": action,
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "Title", "column": "Title"},
                {"field": "MemberType", "column": "Member"},
                {"field": "City", "column": "City"},
                {"field": "Country", "column": "Country"},
            ],
            "options": {"batch_size": batch_size},
        }
    )


def demo_store(new_store: NewStore, name: str) -> EmbeddedTarget:
    store = new_store(name)
    fill_demo(store.engine, contacts=0, seed=3)  # lookup tables, groups, events only
    store.refresh()
    return store


def run(target: Target, tmp_path: Path, name: str, the_job: Any) -> RunReport:
    runs = RunStore(open_suite(f"sqlite:///{tmp_path / name}.db"))
    try:
        return run_job(the_job, target=target, runs=runs, target_label=name)
    finally:
        runs.engine.dispose()


def undo(target: Target, tmp_path: Path, name: str, run_id: str) -> dict[str, Any]:
    runs = RunStore(open_suite(f"sqlite:///{tmp_path / name}.db"))
    try:
        report = undo_run(run_id, target=target, runs=runs, target_label=name)
    finally:
        runs.engine.dispose()
    return {"status": report.status.value, **report.counts.as_dict()}


def counts(report: RunReport) -> dict[str, Any]:
    summary = report.summary()
    assert summary["status"] != "failed", report.message
    return {k: v for k, v in summary.items() if k not in ("run_id", "error_file")}


def records(store: EmbeddedTarget) -> list[dict[str, Any]]:
    found = [
        {k: v for k, v in r.items() if k not in SYSTEM}
        for r in store.read("Contact", order_by=["Email", "FirstName"])
    ]
    return found


@pytest.mark.parametrize(("faults", "batch_size"), [("", 25), ("429=0.2,500=0.1", 100)])
def test_the_same_job_gives_the_same_outcome_and_records(
    new_store: NewStore, serve: Serve, tmp_path: Path, faults: str, batch_size: int
) -> None:
    first = write_csv(tmp_path / "first.csv", people(40))
    again = people(40)
    for row in again[1:21]:
        row[3] = "Changed"
    second = write_csv(tmp_path / "second.csv", again)

    local = demo_store(new_store, "local")
    remote = demo_store(new_store, "remote")
    served = serve(remote, faults=FaultPlan.parse(faults, seed=5) if faults else None)
    # The sandbox asks for Retry-After: 1 s; waiting it in full is checked in test_client.
    rest = served.rest(retries=12, backoff=0.01, max_retry_after=0.05)

    def both(name: str, file: Path) -> tuple[RunReport, RunReport]:
        the_job = contact_job(file, batch_size=batch_size)
        return run(local, tmp_path, f"{name}-local", the_job), run(
            rest, tmp_path, f"{name}-remote", the_job
        )

    local_first, remote_first = both("first", first)
    assert counts(remote_first) == counts(local_first)
    # 40 people, 4 with a bad code; p1 again (an update of the row before); a blank key
    expected = counts(local_first)
    assert (expected["inserted"], expected["updated"]) == (36, 1)
    assert (expected["errors"], expected["skipped"]) == (4, 1)
    assert records(remote) == records(local)

    local_second, remote_second = both("second", second)
    assert counts(remote_second) == counts(local_second)
    assert counts(local_second)["updated"] == 19  # 20 changed titles, 2 bad codes; p1 again
    assert records(remote) == records(local)

    # runs undo: the second run's updates put back, through the REST target as locally
    expected_undo = undo(local, tmp_path, "second-local", local_second.run_id)
    assert undo(rest, tmp_path, "second-remote", remote_second.run_id) == expected_undo
    assert expected_undo["updated"] == 19
    assert records(remote) == records(local)
    emails = [r["Email"] for r in records(remote)]
    assert len(emails) == len(set(emails))  # no duplicate from a retried write
    if faults:
        assert rest.client.retried > 0


def test_an_identical_insert_is_warned_of_and_skipped_alike_through_rest(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    local = demo_store(new_store, "local")
    remote = demo_store(new_store, "remote")
    rest = serve(remote).rest()
    contacts = write_csv(tmp_path / "people.csv", people(6)[:7])
    made = [counts(run(t, tmp_path, f"people-{n}", contact_job(contacts))) for t, n in
            ((local, "local"), (rest, "remote"))]  # fmt: skip
    assert made[0] == made[1]

    def webinars(store: EmbeddedTarget, name: str) -> Path:
        ids = sorted((str(c["ImisId"]) for c in store.read("Contact")), key=int)
        rows = [[i, "WEBINAR", f"Session {n}"] for n, i in enumerate(ids)]
        return write_csv(tmp_path / f"webinars-{name}.csv", [["ID", "Type", "Webinar"], *rows])

    files = {"local": webinars(local, "local"), "remote": webinars(remote, "remote")}

    def activities(file: Path, **options: Any) -> Any:
        return build_job(
            {
                "input": {"file": str(file)},
                "source": "Activity",
                "action": "insert",
                "mappings": [
                    {"field": "ImisId", "column": "ID"},
                    {"field": "ActivityType", "column": "Type"},
                    {"field": "Description", "column": "Webinar"},
                ],
                "options": options,
            }
        )

    def outcomes(target: Target, name: str, **options: Any) -> list[tuple[Any, ...]]:
        runs = RunStore(open_suite(f"sqlite:///{tmp_path / name}.db"))
        try:
            the_job = activities(files[name.split("-")[1]], **options)
            report = run_job(the_job, target=target, runs=runs, target_label=name)
            # each store numbers its own activities: the messages agree but for the SEQN
            return [
                (r.outcome, r.code, re.sub(r"SEQN \d+", "SEQN n", r.message or ""))
                for r in runs.rows(report.run_id)
            ]
        finally:
            runs.engine.dispose()

    for name, options in (("first", {}), ("again", {}), ("skip", {"skip_identical": True})):
        expected = outcomes(local, f"{name}-local", **options)
        assert outcomes(rest, f"{name}-remote", **options) == expected
        codes = {code for _, code, _ in expected}
        assert codes == ({None} if name == "first" else {"identical_exists"})
        if name == "skip":
            assert {outcome for outcome, _, _ in expected} == {"skipped"}
    stored = [len(list(store.read("Activity"))) for store in (local, remote)]
    assert stored == [2 * len(list(local.read("Contact")))] * 2  # twice, never three times
