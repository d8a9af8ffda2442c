"""The engine drives every source through the same pipeline; secrets never reach run records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from idms.demo.generate import fill_demo
from idms.io.errorfile import write_error_file
from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.jobs.undo import undo_run
from idms.runs.record import RunStore
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from input_rows import data_rows


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EmbeddedTarget, RunStore, Path]]:
    target = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    fill_demo(target.engine, contacts=30, seed=11)
    runs = RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
    yield target, runs, tmp_path
    target.close()


def csv_file(path: Path, header: list[str], *rows: list[Any]) -> str:
    lines = [",".join(header)] + [",".join(str(c) for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def go(
    world: Any, file: str, source: str, action: str, mappings: list[dict[str, Any]], **opts: Any
) -> Any:
    target, runs, tmp = world
    job = build_job(
        {"input": file, "source": source, "action": action, "mappings": mappings, "options": opts}
    )
    report = run_job(job, target=target, runs=runs, error_dir=tmp / "errors")
    assert report.counts.rows == data_rows(file)
    return report


def two_people(target: EmbeddedTarget) -> tuple[str, str]:
    people = list(target.read("Contact", [Filter("IsOrganization", Operator.IS_FALSE)]))
    return people[0]["ImisId"], people[1]["ImisId"]


def test_relationship_insert_then_delete_with_reciprocal(world: Any) -> None:
    target, _runs, tmp = world
    a, b = two_people(target)
    file = csv_file(tmp / "r.csv", ["ID", "Type", "Target", "Back"], [a, "MENTOR", b, "MENTEE"])
    mappings = [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": "RelationshipType", "column": "Type", "match": True},
        {"field": "TargetImisId", "column": "Target", "match": True},
        {"field": "ReciprocalType", "column": "Back"},
    ]
    before = len(list(target.read("Relationship")))
    report = go(world, file, "Relationship", "insert-update", mappings)
    assert report.counts.as_dict()["inserted"] == 1
    assert len(list(target.read("Relationship"))) == before + 2  # the mirror on the target
    report = go(world, file, "Relationship", "delete", mappings[:3])
    assert report.counts.as_dict()["deleted"] == 1
    assert len(list(target.read("Relationship"))) == before


def test_communication_preferences_and_lookup_tables(world: Any) -> None:
    target, _runs, tmp = world
    a, _ = two_people(target)
    prefs = target.describe("CommunicationPreferences")
    code = next(f.name for f in prefs.fields if f.name != "ImisId")
    file = csv_file(tmp / "p.csv", ["ID", "Opt"], [a, "No"])
    mappings = [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": code, "column": "Opt"},
    ]
    report = go(world, file, "CommunicationPreferences", "insert-update", mappings)
    assert report.status == "succeeded"
    (record,) = target.read("CommunicationPreferences", [Filter("ImisId", Operator.EQ, a)])
    assert record[code] is False

    codes = csv_file(tmp / "l.csv", ["Table", "Code", "Desc"], ["SUFFIX", "ESQ", "Esquire"])
    lookup = [
        {"field": "TableName", "column": "Table", "match": True},
        {"field": "Code", "column": "Code", "match": True},
        {"field": "Description", "column": "Desc"},
    ]
    inserted = go(world, codes, "LookupTable", "insert-update", lookup)
    assert inserted.counts.as_dict()["inserted"] == 1
    assert "ESQ" in target.lookup_codes("SUFFIX")
    changed = csv_file(tmp / "l2.csv", ["Table", "Code", "Desc"], ["SUFFIX", "ESQ", "Esq."])
    assert go(world, changed, "LookupTable", "update", lookup).counts.as_dict()["updated"] == 1
    assert target.lookup_codes("SUFFIX")["ESQ"] == "Esq."
    assert go(world, changed, "LookupTable", "delete", lookup[:2]).counts.as_dict()["deleted"] == 1
    assert "ESQ" not in target.lookup_codes("SUFFIX")


def test_event_setup_then_registration(world: Any) -> None:
    target, _runs, tmp = world
    a, _ = two_people(target)
    events = csv_file(tmp / "e.csv", ["Code", "Name"], ["GALA27", "Spring Gala 2027"])
    go(
        world,
        events,
        "Event",
        "insert",
        [{"field": "EventCode", "column": "Code"}, {"field": "EventName", "column": "Name"}],
    )
    options = csv_file(
        tmp / "o.csv", ["Event", "Code", "Name", "Price"], ["GALA27", "SEAT", "Seat", "120"]
    )
    go(
        world,
        options,
        "EventFunction",
        "insert",
        [
            {"field": "EventCode", "column": "Event"},
            {"field": "FunctionCode", "column": "Code"},
            {"field": "FunctionName", "column": "Name"},
            {"field": "Price", "column": "Price"},
            {"field": "IsRegistrationOption", "value": "Yes"},
        ],
    )
    regs = csv_file(tmp / "g.csv", ["ID", "Event", "Fn"], [a, "GALA27", "SEAT"])
    report = go(
        world,
        regs,
        "EventRegistration",
        "insert",
        [
            {"field": "RegistrantId", "column": "ID"},
            {"field": "EventCode", "column": "Event"},
            {"field": "FunctionCode", "column": "Fn"},
        ],
    )
    assert report.counts.as_dict()["inserted"] == 1
    (reg,) = target.read("EventRegistration", [Filter("EventCode", Operator.EQ, "GALA27")])
    assert str(reg["Price"]) in {"120", "120.00"}


def test_passwords_never_reach_run_records_plans_or_error_files(world: Any) -> None:
    target, runs, tmp = world
    secret = "Sup3r-Secret-Pw!"
    short = "x1"
    file = csv_file(
        tmp / "u.csv",
        ["First", "Last", "Email", "User", "Pass"],
        ["Pat", "Doe", "pat@example.org", "pdoe", secret],
        ["Sam", "Roe", "sam@example.org", "sroe", short],
    )
    mappings = [
        {"field": "FirstName", "column": "First"},
        {"field": "LastName", "column": "Last"},
        {"field": "Email", "column": "Email"},
        {"field": "Username", "column": "User"},
        {"field": "Password", "column": "Pass"},
    ]
    for plan in (True, False):
        job = build_job(
            {"input": file, "source": "UserCredentials", "action": "insert", "mappings": mappings}
        )
        report = run_job(job, target=target, runs=runs, plan=plan, error_dir=tmp / "errors")
    assert report.counts.as_dict()["inserted"] == 1
    assert report.counts.errors == 1
    failed = write_error_file(runs, report.run_id, tmp / "failed.csv")
    assert secret not in failed.read_text(encoding="utf-8-sig")
    assert short not in failed.read_text(encoding="utf-8-sig").split("\n")[2].split(",")[:5]
    assert "********" in failed.read_text(encoding="utf-8-sig")
    with runs.engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM run_rows"))])
        dump += json.dumps([list(r) for r in conn.execute(text("SELECT * FROM runs"))], default=str)
    assert secret not in dump
    assert short not in dump
    for path in tmp.rglob("*"):
        if path.is_file() and path.suffix in {".csv", ".json", ".log"} and path.name != "u.csv":
            assert secret not in path.read_text(encoding="utf-8-sig", errors="replace"), path
    assert target.attempt_login("pdoe", secret).ok
    undo = undo_run(report.run_id, target=target, runs=runs)
    assert undo.counts.as_dict()["deleted"] == 1
