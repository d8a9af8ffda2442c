"""The worked examples of docs/examples, run as documented against a demo association.

Each test saves the example's query, runs its job, and checks the outcome against what the store
holds, worked out independently through ``Target.read`` (not through the query under test).
Running each job a second time shows it is safe to schedule: nothing left to do, or "unchanged".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from idms.demo.generate import DEMO_PASSWORD, fill_demo
from idms.jobs.assemble import job_from_file
from idms.jobs.runner import run_job
from idms.queries.model import load_query_file
from idms.queries.store import QueryStore
from idms.runs.record import RunStore
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
ACTIVE_TYPES = {"REG", "GLD", "SLV", "LIFE", "RET", "STU"}


@dataclass
class Demo:
    store: EmbeddedTarget
    queries: QueryStore
    runs: RunStore

    def save(self, example: str) -> None:
        self.queries.save(load_query_file(EXAMPLES / example / "query.yml"))

    def run(self, example: str, **params: Any) -> dict[str, int]:
        """The example's job run; its outcome counts (each test checks ``rows`` against the
        records it expects the query to select, worked out without the query)."""
        job = job_from_file(EXAMPLES / example / "job.yml")
        if params:
            assert job.input is not None
            job.input.params.update(params)
        report = run_job(job, target=self.store, runs=self.runs, queries=self.queries)
        assert report.message is None, report.message
        return report.counts.as_dict()

    def read(self, source: str, *filters: Filter) -> list[dict[str, Any]]:
        return list(self.store.read(source, filters))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    fill_demo(store.engine, contacts=800, seed=11)
    store.refresh()
    suite = open_suite(f"sqlite:///{tmp_path / 'suite.db'}")
    yield Demo(store, QueryStore(suite), RunStore(suite))
    store.close()
    suite.dispose()


def test_every_example_has_a_query_and_a_job_and_is_documented() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert len(folders) == 5
    for name in folders:
        assert (EXAMPLES / name / "query.yml").is_file()
        assert (EXAMPLES / name / "job.yml").is_file()
        assert f"({name}/" in readme, f"{name} is not described in docs/examples/README.md"


def test_unlock_every_locked_out_account(demo: Demo) -> None:
    locked = demo.read("UserCredentials", Filter("IsLockedOut", Operator.IS_TRUE))
    assert locked, "the demo locks some accounts"
    for user in locked:
        assert not demo.store.attempt_login(user["Username"], DEMO_PASSWORD).ok

    demo.save("unlock-locked-out")
    report = demo.run("unlock-locked-out")

    assert report["updated"] == report["rows"] == len(locked)
    assert demo.read("UserCredentials", Filter("IsLockedOut", Operator.IS_TRUE)) == []
    for user in locked:
        (after,) = demo.read("UserCredentials", Filter("ImisId", Operator.EQ, user["ImisId"]))
        assert after["FailedPasswordAttemptCount"] == 0
        assert demo.store.attempt_login(user["Username"], DEMO_PASSWORD).ok
    assert demo.run("unlock-locked-out")["rows"] == 0  # nothing left to unlock


def test_unlock_only_the_last_names_the_prompt_names(demo: Demo) -> None:
    locked = demo.read("UserCredentials", Filter("IsLockedOut", Operator.IS_TRUE))
    contacts = {c["ImisId"]: c for c in demo.read("Contact")}
    initial = str(contacts[locked[0]["ImisId"]]["LastName"])[0]
    chosen = {
        u["ImisId"]
        for u in locked
        if str(contacts[u["ImisId"]]["LastName"]).lower().startswith(initial.lower())
    }

    demo.save("unlock-locked-out")
    report = demo.run("unlock-locked-out", last_name=initial)

    assert report["updated"] == report["rows"] == len(chosen)
    still = {
        u["ImisId"] for u in demo.read("UserCredentials", Filter("IsLockedOut", Operator.IS_TRUE))
    }
    assert still == {u["ImisId"] for u in locked} - chosen


def test_create_missing_credentials_for_members_with_an_email(demo: Demo) -> None:
    having = {u["ImisId"] for u in demo.read("UserCredentials")}
    wanted = {
        c["ImisId"]: c["Email"]
        for c in demo.read("Contact")
        if not c["IsOrganization"]
        and c["Email"]
        and c["MemberType"] in ACTIVE_TYPES
        and c["ImisId"] not in having
    }
    assert wanted

    demo.save("create-missing-credentials")
    report = demo.run("create-missing-credentials")

    assert report["inserted"] == len(wanted) == report["rows"]
    users = {u["ImisId"]: u for u in demo.read("UserCredentials")}
    for imis_id, email in wanted.items():
        assert users[imis_id]["Username"] == email
    assert set(users) == having | set(wanted)
    assert demo.run("create-missing-credentials")["rows"] == 0


def _type_for(years: int) -> str:
    return "GLD" if years >= 25 else "SLV" if years >= 10 else "REG"


def test_set_member_type_from_a_panel_field(demo: Demo) -> None:
    years = {p["ImisId"]: p["YearsInPractice"] for p in demo.read("MemberProfile")}
    before = {c["ImisId"]: c for c in demo.read("Contact")}
    chosen = {
        i: _type_for(y)
        for i, y in years.items()
        if y is not None and before[i]["MemberType"] in {"REG", "SLV", "GLD"}
    }
    changing = {i for i, t in chosen.items() if before[i]["MemberType"] != t}
    assert changing, "the demo has members whose type changes"
    assert len(changing) < len(chosen), "and members whose type is already right"

    demo.save("member-type-from-panel")
    report = demo.run("member-type-from-panel")

    assert report["rows"] == len(chosen)
    assert report["updated"] == len(changing)
    assert report["unchanged"] == len(chosen) - len(changing)
    after = {c["ImisId"]: c for c in demo.read("Contact")}
    for imis_id, contact in after.items():
        expected = chosen.get(imis_id, before[imis_id]["MemberType"])
        assert contact["MemberType"] == expected, imis_id
    again = demo.run("member-type-from-panel")
    assert again["unchanged"] == again["rows"] == len(chosen)


def test_clear_a_field_on_every_record(demo: Demo) -> None:
    before = {c["ImisId"]: c for c in demo.read("Contact")}
    filled = {i for i, c in before.items() if c["Designation"]}
    assert filled

    demo.save("clear-a-field")
    report = demo.run("clear-a-field")

    assert report["updated"] == len(filled) == report["rows"]
    after = {c["ImisId"]: c for c in demo.read("Contact")}
    assert all(not c["Designation"] for c in after.values())
    for imis_id, contact in after.items():  # nothing else moved
        assert {k: v for k, v in contact.items() if k not in ("Designation", "UpdatedOn")} == {
            k: v for k, v in before[imis_id].items() if k not in ("Designation", "UpdatedOn")
        }
    assert demo.run("clear-a-field")["rows"] == 0


def test_to_call_activities_for_last_years_attendees_not_yet_registered(demo: Demo) -> None:
    last_year = datetime.now(UTC).year - 1
    attendees = {
        a["ImisId"]
        for a in demo.read("Activity", Filter("ActivityType", Operator.EQ, "MEETING"))
        if a["TransactionDate"].year == last_year
    }
    events = demo.read("Event")
    registered_by_event = {
        e["EventCode"]: {
            r["RegistrantId"]
            for r in demo.read(
                "EventRegistration", Filter("EventCode", Operator.EQ, e["EventCode"])
            )
        }
        for e in events
    }
    event = max(registered_by_event, key=lambda code: len(registered_by_event[code] & attendees))
    expected = attendees - registered_by_event[event]
    assert expected, "some attendees are not registered"
    assert attendees & registered_by_event[event], "and some are"

    demo.save("to-call-activities")
    report = demo.run("to-call-activities", event=event)

    assert report["inserted"] == len(expected) == report["rows"]
    calls = demo.read("Activity", Filter("ActivityType", Operator.EQ, "TOCALL"))
    assert sorted(c["ImisId"] for c in calls) == sorted(expected)
    contacts = {c["ImisId"]: c for c in demo.read("Contact")}
    for call in calls:
        first = contacts[call["ImisId"]]["FirstName"]
        assert call["Description"] == f"Call {first} about this year's conference"
    assert demo.run("to-call-activities", event=event)["rows"] == 0  # nobody called twice


def test_the_to_call_query_refuses_to_run_without_its_event(demo: Demo) -> None:
    from idms.queries.model import QueryInvalid

    demo.save("to-call-activities")
    job = job_from_file(EXAMPLES / "to-call-activities" / "job.yml")
    assert job.input is not None
    job.input.params.clear()
    with pytest.raises(QueryInvalid, match="the prompt 'event' is required"):
        run_job(job, target=demo.store, runs=demo.runs, queries=demo.queries)
    assert demo.read("Activity", Filter("ActivityType", Operator.EQ, "TOCALL")) == []
    assert demo.runs.list(10) == []
