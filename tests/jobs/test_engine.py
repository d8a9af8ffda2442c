"""The import engine end to end on real files: read, map, match, decide, apply, record, undo."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from idms.demo.generate import fill_demo
from idms.io.errorfile import write_error_file
from idms.io.reader import open_input
from idms.jobs.model import JobInvalid, build_job
from idms.jobs.runner import run_job
from idms.jobs.undo import undo_run
from idms.runs.record import RunStore
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from input_rows import data_rows


@pytest.fixture
def target(tmp_path: Path) -> Iterator[EmbeddedTarget]:
    t = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    fill_demo(t.engine, contacts=0, seed=3)  # lookup tables, groups, events, gift items only
    yield t
    t.close()


@pytest.fixture
def runs(tmp_path: Path) -> RunStore:
    return RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))


def write_csv(
    path: Path, rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def job(
    file: Path, source: str, action: str, mappings: list[dict[str, Any]], **options: Any
) -> Any:
    return build_job(
        {
            "name": f"{action} {source}",
            "input": {"file": str(file)},
            "source": source,
            "action": action,
            "mappings": mappings,
            "options": options,
        }
    )


def run(target: EmbeddedTarget, runs: RunStore, the_job: Any, **kw: Any) -> Any:
    report = run_job(the_job, target=target, runs=runs, **kw)
    assert report.counts.rows == data_rows(the_job.input.file, the_job.input.sheet)
    return report


def rows_of(runs: RunStore, run_id: str) -> list[Any]:
    return list(runs.rows(run_id))


def contacts(target: EmbeddedTarget, **equal: Any) -> list[dict[str, Any]]:
    return list(target.read("Contact", [Filter(k, Operator.EQ, v) for k, v in equal.items()]))


PEOPLE = [
    {"field": "Email", "column": "Email", "match": True},
    {"field": "FirstName", "column": "First"},
    {"field": "LastName", "column": "Last"},
]


def seed_people(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "seed.csv",
        [
            ["Email", "First", "Last", "Title"],
            ["ada@example.org", "Ada", "Lovelace", "Countess"],
            ["grace@example.org", "Grace", "Hopper", "Admiral"],
            ["alan@example.org", "Alan", "Turing", ""],
            ["twin@example.org", "Tom", "Twin", ""],
            ["twin@example.org", "Tim", "Twin", ""],
        ],
    )
    the_job = job(
        file,
        "Contact",
        "insert",
        [m for m in PEOPLE if not m.get("match")]
        + [
            {"field": "Email", "column": "Email"},
            {"field": "Title", "column": "Title"},
        ],
    )
    report = run(target, runs, the_job)
    assert report.counts.as_dict()["inserted"] == 5


def test_cp1252_semicolon_csv(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "members.csv",
        [["Email", "First", "Last", "Zip"], ["zoe@example.org", "Zoë", "Müller", "02139"]],
        encoding="cp1252",
        delimiter=";",
    )
    mappings = [*PEOPLE, {"field": "PostalCode", "column": "Zip"}]
    the_job = job(file, "Contact", "insert-update", mappings)
    # one row cannot tell windows-1252's "Zoë" from windows-1257's "Zoė": the job says which
    the_job.input.encoding = "cp1252"
    report = run(target, runs, the_job)
    assert report.detected["encoding"] == "cp1252"
    assert report.detected["delimiter"] == ";"
    (zoe,) = contacts(target, Email="zoe@example.org")
    assert (zoe["FirstName"], zoe["LastName"], zoe["PostalCode"]) == ("Zoë", "Müller", "02139")


def test_utf8_bom_csv(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "bom.csv",
        [["Email", "First", "Last"], ["chloe@example.org", "Chloé", "Dubois"]],
        encoding="utf-8-sig",
    )
    report = run(target, runs, job(file, "Contact", "insert-update", PEOPLE))
    assert report.detected["encoding"] == "utf-8-sig"
    assert report.counts.as_dict()["inserted"] == 1
    assert contacts(target, Email="chloe@example.org")[0]["FirstName"] == "Chloé"


def test_xlsx_with_dates_and_leading_zeros(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    path = tmp_path / "members.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Roster")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, head in enumerate(["Email", "First", "Last", "Born", "Zip"]):
        sheet.write_string(0, col, head)
    sheet.write_string(1, 0, "kim@example.org")
    sheet.write_string(1, 1, "Kim")
    sheet.write_string(1, 2, "Lee")
    sheet.write_datetime(1, 3, datetime(1990, 7, 4), dates)
    sheet.write_string(1, 4, "00501")
    book.close()
    mappings = [
        *PEOPLE,
        {"field": "BirthDate", "column": "Born"},
        {"field": "PostalCode", "column": "Zip"},
    ]
    the_job = build_job(
        {
            "input": {"file": str(path), "sheet": "Roster"},
            "source": "Contact",
            "action": "insert-update",
            "mappings": mappings,
        }
    )
    run(target, runs, the_job)
    (kim,) = contacts(target, Email="kim@example.org")
    assert kim["BirthDate"] == date(1990, 7, 4)
    assert kim["PostalCode"] == "00501"


def test_webinar_roster_without_imis_ids(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    file = write_csv(
        tmp_path / "webinar.csv",
        [
            ["E-mail", "Last", "Attended", "Title", "Minutes"],
            ["ADA@example.org ", "lovelace", "03/15/2026", "Engines", "45"],
            ["grace@example.org", "Hopper", "03/15/2026", "Compilers", "60"],
            ["nobody@example.org", "Nobody", "03/15/2026", "Ghosts", "5"],
            ["twin@example.org", "Twin", "03/15/2026", "Twins", "5"],
        ],
    )
    mappings = [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "LastName", "column": "Last", "match": True},
        {"field": "ActivityType", "value": "WEBINAR"},
        {"field": "TransactionDate", "column": "Attended", "format": "%m/%d/%Y"},
        {"field": "Description", "template": "{{ row.Title }} ({{ row.Minutes }} min)"},
    ]
    report = run(target, runs, job(file, "Activity", "insert-with-matching", mappings))
    results = {r.row_number: r for r in rows_of(runs, report.run_id)}
    assert results[2].outcome == "inserted"
    assert results[3].outcome == "inserted"
    assert results[4].outcome == "error"
    assert results[4].code == "contact_not_found"
    assert results[5].outcome == "skipped"
    assert results[5].code == "multiple_contacts"
    (ada,) = contacts(target, Email="ada@example.org")
    (activity,) = target.read("Activity", [Filter("ImisId", Operator.EQ, ada["ImisId"])])
    assert activity["ActivityType"] == "WEBINAR"
    assert activity["TransactionDate"] == date(2026, 3, 15)
    assert activity["Description"] == "Engines (45 min)"


def test_ambiguous_matches_are_skipped_with_the_reason(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    file = write_csv(tmp_path / "u.csv", [["Last", "Title"], ["Twin", "Sibling"]])
    mappings = [
        {"field": "LastName", "column": "Last", "match": True},
        {"field": "Title", "column": "Title"},
    ]
    report = run(target, runs, job(file, "Contact", "update", mappings))
    (row,) = rows_of(runs, report.run_id)
    assert (row.outcome, row.code) == ("skipped", "multiple_matches")
    assert "2 Contact Details records match" in (row.message or "")
    assert {c["Title"] for c in contacts(target, LastName="Twin")} == {None}
    # With the option off, every match is updated.
    report = run(
        target,
        runs,
        job(file, "Contact", "update", mappings, skip_update_if_multiple_matches=False),
    )
    assert report.counts.as_dict()["updated"] == 1
    assert {c["Title"] for c in contacts(target, LastName="Twin")} == {"Sibling"}


@pytest.mark.parametrize(("blank_values", "expected"), [("ignore", "Countess"), ("clear", None)])
def test_blank_cells_ignore_or_clear(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path, blank_values: str, expected: Any
) -> None:
    seed_people(target, runs, tmp_path)
    file = write_csv(tmp_path / "b.csv", [["Email", "Title"], ["ada@example.org", ""]])
    mappings = [
        {"field": "Email", "column": "Email", "match": True},
        {"field": "Title", "column": "Title"},
    ]
    report = run(target, runs, job(file, "Contact", "update", mappings, blank_values=blank_values))
    outcome = "unchanged" if blank_values == "ignore" else "updated"
    assert rows_of(runs, report.run_id)[0].outcome == outcome
    assert contacts(target, Email="ada@example.org")[0]["Title"] == expected


def test_blank_match_values_skip_or_match_blank(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    file = write_csv(tmp_path / "m.csv", [["Title", "Designation"], ["", "CAE"]])
    mappings = [
        {"field": "Title", "column": "Title", "match": True},
        {"field": "Designation", "column": "Designation"},
    ]
    report = run(target, runs, job(file, "Contact", "update", mappings))
    assert rows_of(runs, report.run_id)[0].code == "blank_match_value"
    report = run(target, runs, job(file, "Contact", "update", mappings, skip_blank_match_on=False))
    # Blank titles: Alan and both twins -> several matches, skipped as ambiguous.
    assert rows_of(runs, report.run_id)[0].code == "multiple_matches"


def test_a_plan_writes_nothing_and_an_unchanged_run_writes_nothing(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "p.csv",
        [["Email", "First", "Last"], ["new@example.org", "New", "Person"]],
    )
    the_job = job(file, "Contact", "insert-update", PEOPLE)
    planned = run(target, runs, the_job, plan=True)
    assert planned.status == "planned"
    assert planned.counts.as_dict()["inserted"] == 1
    assert contacts(target, Email="new@example.org") == []
    run(target, runs, the_job)
    (person,) = contacts(target, Email="new@example.org")
    again = run(target, runs, the_job, plan=True)
    assert again.counts.as_dict()["unchanged"] == 1
    applied = run(target, runs, the_job)
    assert applied.counts.as_dict()["unchanged"] == 1
    assert contacts(target, Email="new@example.org")[0]["UpdatedOn"] == person["UpdatedOn"]


def test_undo_restores_exactly(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    seed_people(target, runs, tmp_path)
    before = {c["ImisId"]: c for c in target.read("Contact")}
    file = write_csv(
        tmp_path / "u.csv",
        [
            ["Email", "Title", "Zip"],
            ["ada@example.org", "Analyst", "01234"],
            ["grace@example.org", "", "99999"],
            ["alan@example.org", "Codebreaker", ""],
        ],
    )
    mappings = [
        {"field": "Email", "column": "Email", "match": True},
        {"field": "Title", "column": "Title"},
        {"field": "PostalCode", "column": "Zip"},
    ]
    report = run(target, runs, job(file, "Contact", "update", mappings, blank_values="clear"))
    assert report.counts.as_dict()["updated"] == 3
    changed = {c["ImisId"]: c for c in target.read("Contact")}
    assert changed != before
    undo = undo_run(report.run_id, target=target, runs=runs)
    assert undo.counts.as_dict()["updated"] == 3
    after = {c["ImisId"]: c for c in target.read("Contact")}
    ignore = {"UpdatedOn"}
    strip = lambda d: {k: {f: v for f, v in r.items() if f not in ignore} for k, r in d.items()}  # noqa: E731
    assert strip(after) == strip(before)
    with pytest.raises(Exception, match="already undone"):
        undo_run(report.run_id, target=target, runs=runs)


def test_undo_refuses_records_changed_since_unless_forced(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    mappings = [
        {"field": "Email", "column": "Email", "match": True},
        {"field": "Title", "column": "Title"},
    ]
    first = write_csv(tmp_path / "a.csv", [["Email", "Title"], ["ada@example.org", "One"]])
    second = write_csv(tmp_path / "b.csv", [["Email", "Title"], ["ada@example.org", "Two"]])
    report = run(target, runs, job(first, "Contact", "update", mappings))
    run(target, runs, job(second, "Contact", "update", mappings))
    undo = undo_run(report.run_id, target=target, runs=runs)
    (row,) = list(runs.rows(undo.run_id))
    assert (row.outcome, row.code) == ("skipped", "changed_since")
    assert contacts(target, Email="ada@example.org")[0]["Title"] == "Two"
    report = run(target, runs, job(first, "Contact", "update", mappings))
    run(target, runs, job(second, "Contact", "update", mappings))
    undo_run(report.run_id, target=target, runs=runs, force=True)
    assert contacts(target, Email="ada@example.org")[0]["Title"] == "Two"  # before of run = Two


def test_undo_of_inserts_deletes_records_and_marks_contacts_for_erasure(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    file = write_csv(tmp_path / "a.csv", [["ID", "Type"], [ada["ImisId"], "NOTE"]])
    mappings = [
        {"field": "ImisId", "column": "ID"},
        {"field": "ActivityType", "column": "Type"},
    ]
    report = run(target, runs, job(file, "Activity", "insert", mappings))
    assert len(list(target.read("Activity"))) == 1
    undo_run(report.run_id, target=target, runs=runs)
    assert list(target.read("Activity")) == []
    seeded = runs.list(limit=10)[-1]
    assert seeded.counts["inserted"] == 5
    undo = undo_run(seeded.id, target=target, runs=runs)
    assert undo.counts.as_dict()["updated"] == 5
    assert all(c["MarkForErasure"] for c in target.read("Contact"))


def test_error_file_reimports_cleanly_once_fixed(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "e.csv",
        [
            ["Email", "First", "Last", "Level"],
            ["ok@example.org", "Ok", "Fine", "GLD"],
            ["broken-email", "Bad", "Mail", "GLD"],
            ["level@example.org", "Bad", "Level", "PLATINUM"],
        ],
    )
    mappings = [*PEOPLE, {"field": "MemberType", "column": "Level"}]
    the_job = job(file, "Contact", "insert-update", mappings)
    report = run(target, runs, the_job, error_dir=tmp_path / "errors")
    assert report.status == "completed_with_errors"
    assert report.counts.errors == 2
    assert report.error_file is not None
    assert report.error_file.exists()
    failed = write_error_file(runs, report.run_id, tmp_path / "failed.csv")
    with open_input(failed) as reader:
        assert reader.detected.columns == ("Email", "First", "Last", "Level", "Error")
        bad = list(reader)
    assert [r.values["Email"] for r in bad] == ["broken-email", "level@example.org"]
    assert "column 'Email'" in bad[0].values["Error"]
    assert "PLATINUM" in bad[1].values["Error"]
    fixed = write_csv(
        tmp_path / "fixed.csv",
        [
            ["Email", "First", "Last", "Level", "Error"],
            ["mail@example.org", "Bad", "Mail", "GLD", "x"],
            ["level@example.org", "Bad", "Level", "SLV", "x"],
        ],
    )
    again = run(target, runs, job(fixed, "Contact", "insert-update", mappings))
    assert again.status == "succeeded"
    assert again.counts.as_dict()["inserted"] == 2


def test_refused_contact_delete(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "d.csv", [["Email"], ["ada@example.org"]])
    with pytest.raises(JobInvalid) as info:
        run(target, runs, job(file, "Contact", "delete", [PEOPLE[0]]))
    assert "Mark Contact for Erasure" in str(info.value)
    assert runs.list() == []


def test_a_bad_job_lists_every_problem_and_writes_nothing(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    file = write_csv(tmp_path / "x.csv", [["Email", "Last"], ["a@example.org", "A"]])
    mappings = [
        {"field": "Emial", "column": "Email", "match": True},
        {"field": "Description", "column": "Lst"},
        {"field": "Seqn", "value": "1"},
    ]
    with pytest.raises(JobInvalid) as info:
        run_job(job(file, "Activity", "update", mappings), target=target, runs=runs)
    text = str(info.value)
    assert "no field 'Emial'" in text
    assert "no column 'Lst'" in text
    assert "Did you mean 'Last'" in text
    assert "SEQN is set by iMIS" in text
    assert runs.list() == []


def test_activity_delete_on_imis_id_alone_needs_allow_broad_delete(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    adds = write_csv(
        tmp_path / "a.csv", [["ID", "Type"], [ada["ImisId"], "NOTE"], [ada["ImisId"], "CERT"]]
    )
    run(
        target,
        runs,
        job(
            adds,
            "Activity",
            "insert",
            [{"field": "ImisId", "column": "ID"}, {"field": "ActivityType", "column": "Type"}],
        ),
    )
    file = write_csv(tmp_path / "d.csv", [["ID"], [ada["ImisId"]]])
    mappings = [{"field": "ImisId", "column": "ID", "match": True}]
    with pytest.raises(JobInvalid, match="allow_broad_delete"):
        run_job(job(file, "Activity", "delete", mappings), target=target, runs=runs)
    report = run(
        target,
        runs,
        job(
            file,
            "Activity",
            "delete",
            mappings,
            allow_broad_delete=True,
            skip_update_if_multiple_matches=False,
        ),
    )
    assert report.counts.as_dict()["deleted"] == 1
    assert list(target.read("Activity")) == []


def test_defaults_and_vendor_rules(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    who = ada["ImisId"]
    today = date.today()
    acts = write_csv(tmp_path / "a.csv", [["ID"], [who]])
    run(
        target,
        runs,
        job(
            acts,
            "Activity",
            "insert",
            [{"field": "ImisId", "column": "ID"}, {"field": "ActivityType", "value": "NOTE"}],
        ),
    )
    (activity,) = target.read("Activity")
    assert activity["TransactionDate"] in {today, datetime.utcnow().date()}

    gifts = write_csv(
        tmp_path / "g.csv",
        [
            ["ID", "Amount", "Method", "When"],
            [who, "25.00", "CASH", "2026-02-01"],
            [who, "30.00", "VISA", "2026-02-01"],
        ],
    )
    report = run(
        target,
        runs,
        job(
            gifts,
            "Gift",
            "insert",
            [
                {"field": "DonorId", "column": "ID"},
                {"field": "Amount", "column": "Amount"},
                {"field": "GiftItemId", "value": "ANNUAL"},
                {"field": "PaymentMethodId", "column": "Method"},
                {"field": "TransactionDate", "column": "When"},
            ],
        ),
    )
    results = rows_of(runs, report.run_id)
    assert results[0].outcome == "inserted"
    assert (results[1].outcome, results[1].code) == ("error", "credit_card_gift")
    (gift,) = target.read("Gift")
    assert gift["GiftDate"] == gift["TransactionDate"] == date(2026, 2, 1)
    assert gift["Amount"] == Decimal("25.00")

    members = write_csv(tmp_path / "m.csv", [["ID", "Group"], [who, "AWARDS"]])
    run(
        target,
        runs,
        job(
            members,
            "GroupMember",
            "insert",
            [{"field": "ImisId", "column": "ID"}, {"field": "GroupName", "column": "Group"}],
        ),
    )
    (membership,) = target.read("GroupMember", [Filter("ImisId", Operator.EQ, who)])
    assert membership["RoleName"] == "Member"
    assert membership["JoinDate"] in {today, datetime.utcnow().date()}


def test_group_member_role_added_when_not_matched_updated_when_matched(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    who = ada["ImisId"]
    base = [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": "GroupName", "column": "Group", "match": True},
        {"field": "RoleName", "column": "Role"},
        {"field": "RoleBeginDate", "column": "Begin"},
    ]
    first = write_csv(
        tmp_path / "a.csv",
        [["ID", "Group", "Role", "Begin"], [who, "BOARD", "Member", "2026-01-01"]],
    )
    run(target, runs, job(first, "GroupMember", "insert-update", base))
    second = write_csv(
        tmp_path / "b.csv",
        [["ID", "Group", "Role", "Begin"], [who, "BOARD", "Chair", "2026-02-01"]],
    )
    report = run(target, runs, job(second, "GroupMember", "insert-update", base))
    assert report.counts.as_dict()["inserted"] == 1  # the role was added
    roles = {
        r["RoleName"]: r for r in target.read("GroupMember", [Filter("ImisId", Operator.EQ, who)])
    }
    assert set(roles) == {"Member", "Chair"}
    third = write_csv(
        tmp_path / "c.csv",
        [["ID", "Group", "Role", "Begin"], [who, "BOARD", "Chair", "2026-03-01"]],
    )
    report = run(target, runs, job(third, "GroupMember", "insert-update", base))
    assert report.counts.as_dict()["updated"] == 1
    roles = {
        r["RoleName"]: r for r in target.read("GroupMember", [Filter("ImisId", Operator.EQ, who)])
    }
    assert roles["Chair"]["RoleBeginDate"] == date(2026, 3, 1)
    assert roles["Member"]["RoleBeginDate"] == date(2026, 1, 1)


def test_event_registration_duplicate_check(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    function = next(
        f for f in target.read("EventFunction") if f["Price"] is not None and f["Capacity"] is None
    )
    row = [ada["ImisId"], function["EventCode"], function["FunctionCode"]]
    file = write_csv(tmp_path / "r.csv", [["ID", "Event", "Function"], row, row])
    mappings = [
        {"field": "RegistrantId", "column": "ID"},
        {"field": "EventCode", "column": "Event"},
        {"field": "FunctionCode", "column": "Function"},
    ]
    report = run(target, runs, job(file, "EventRegistration", "insert", mappings))
    assert [r.outcome for r in rows_of(runs, report.run_id)] == ["inserted", "skipped"]
    report = run(target, runs, job(file, "EventRegistration", "insert", mappings))
    assert report.counts.as_dict()["skipped"] == 2
    report = run(
        target, runs, job(file, "EventRegistration", "insert", mappings, duplicate_check=False)
    )
    assert report.counts.as_dict()["inserted"] == 2


def test_lookup_codes_validated_unless_skip_validation(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "l.csv",
        [["Email", "First", "Last", "Level"], ["x@example.org", "X", "Y", "PLATINUM"]],
    )
    mappings = [*PEOPLE, {"field": "MemberType", "column": "Level"}]
    report = run(target, runs, job(file, "Contact", "insert-update", mappings))
    (row,) = rows_of(runs, report.run_id)
    assert (row.outcome, row.code, row.column) == ("error", "invalid_code", "Level")
    report = run(
        target, runs, job(file, "Contact", "insert-update", mappings, skip_validation=True)
    )
    assert report.counts.as_dict()["inserted"] == 1


def test_taken_imis_id_is_a_row_error(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "i.csv", [["ID", "First", "Last"], ["9001", "A", "One"], ["9001", "B", "Two"]]
    )
    mappings = [
        {"field": "ImisId", "column": "ID"},
        {"field": "FirstName", "column": "First"},
        {"field": "LastName", "column": "Last"},
    ]
    report = run(target, runs, job(file, "Contact", "insert", mappings))
    results = rows_of(runs, report.run_id)
    assert results[0].outcome == "inserted"
    assert (results[1].outcome, results[1].code, results[1].column) == (
        "error",
        "imis_id_taken",
        "ID",
    )


def test_address_purpose_and_country_validated(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    file = write_csv(
        tmp_path / "a.csv",
        [
            ["ID", "Purpose", "Country", "City"],
            [ada["ImisId"], "Work", "Canada", "Ottawa"],
            [ada["ImisId"], "Holiday", "Canada", "Banff"],
            [ada["ImisId"], "Home", "Atlantis", "Nowhere"],
        ],
    )
    mappings = [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": "AddressPurpose", "column": "Purpose", "match": True},
        {"field": "Country", "column": "Country"},
        {"field": "City", "column": "City"},
    ]
    report = run(target, runs, job(file, "Address", "insert-update", mappings))
    results = rows_of(runs, report.run_id)
    assert [r.outcome for r in results] == ["inserted", "error", "error"]
    assert [r.column for r in results[1:]] == ["Purpose", "Country"]


def test_multi_select_append(target: EmbeddedTarget, runs: RunStore, tmp_path: Path) -> None:
    seed_people(target, runs, tmp_path)
    (ada,) = contacts(target, Email="ada@example.org")
    profile = target.describe("MemberProfile")
    interests = profile.field("Interests")
    codes = sorted(target.lookup_codes(interests.lookup or ""))[:3]
    first = write_csv(tmp_path / "a.csv", [["ID", "Interests"], [ada["ImisId"], codes[0]]])
    mappings = [
        {"field": "ImisId", "column": "ID", "match": True},
        {"field": "Interests", "column": "Interests", "append": True},
    ]
    run(target, runs, job(first, "MemberProfile", "insert-update", mappings))
    second = write_csv(
        tmp_path / "b.csv", [["ID", "Interests"], [ada["ImisId"], f"{codes[1]},{codes[2]}"]]
    )
    run(target, runs, job(second, "MemberProfile", "insert-update", mappings))
    (row,) = target.read("MemberProfile", [Filter("ImisId", Operator.EQ, ada["ImisId"])])
    assert row["Interests"] == tuple(codes)


def test_stop_after_errors_still_gives_every_row_an_outcome(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    rows = [["Email", "First", "Last"]] + [[f"bad{i}", "A", "B"] for i in range(6)]
    file = write_csv(tmp_path / "s.csv", rows)
    report = run(
        target,
        runs,
        job(file, "Contact", "insert-update", PEOPLE, stop_after_errors=2, batch_size=2),
    )
    counts = report.counts.as_dict()
    assert counts["rows"] == 6
    assert counts["errors"] == 2
    assert counts["skipped"] == 4
    assert {r.code for r in rows_of(runs, report.run_id) if r.outcome == "skipped"} == {
        "not_processed"
    }


def test_duplicates_within_the_file_across_and_within_batches(
    target: EmbeddedTarget, runs: RunStore, tmp_path: Path
) -> None:
    rows = [["Email", "First", "Last"]] + [["dup@example.org", "D", f"V{i}"] for i in range(5)]
    file = write_csv(tmp_path / "d.csv", rows)
    for plan in (True, False):
        report = run(
            target, runs, job(file, "Contact", "insert-update", PEOPLE, batch_size=2), plan=plan
        )
        counts = report.counts.as_dict()
        assert (counts["inserted"], counts["updated"]) == (1, 4)
    (dup,) = contacts(target, Email="dup@example.org")
    assert dup["LastName"] == "V4"
