"""Undo says what it did, and can itself be undone: through the Workspace facade, on a real
embedded SQLite store.

Each test works out what the store holds independently (``Target.read``), not from the undo's
own counts."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.errors import Conflict
from idms.jobs.assemble import job_from_file
from idms.jobs.model import Job, build_job
from idms.queries.model import load_query_file
from idms.runs.record import NewRun
from idms.runs.status import RunKind, RunStatus
from idms.sources.filters import Filter
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace
from people import people_job

UNLOCK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "unlock-locked-out"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    yield ws
    ws.close()


def fill(ws: Workspace, contacts: int, seed: int = 11) -> None:
    """The demo association (``contacts=0``: its lookup tables, groups and events only)."""
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=contacts, seed=seed)
    finally:
        store.close()


def read(ws: Workspace, source: str, *filters: Filter) -> list[dict[str, Any]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return list(store.read(source, filters))
    finally:
        store.close()


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def contacts_job(path: Path) -> Job:
    return people_job(path)


PEOPLE = [
    ["First", "Last", "E-mail"],
    ["Ada", "Lovelace", "ada@example.org"],
    ["Grace", "Hopper", "grace@example.org"],
    ["Alan", "Turing", "alan@example.org"],
]


def unlock_job(source: str) -> Job:
    """The unlock example's job (User Credentials), or its iMIS 2017 form (UserData)."""
    if source == "UserCredentials":
        return job_from_file(UNLOCK / "job.yml")
    return build_job(
        {
            "name": "Unlock through UserData",
            "input": {"query": "Locked out users"},
            "source": "UserData",
            "action": "update",
            "mappings": [
                {"field": "ImisId", "column": "ID", "match": True},
                {"field": "IsLockedOut", "value": False},
            ],
        }
    )


@pytest.mark.parametrize("source", ["UserCredentials", "UserData"])
def test_undoing_an_unlock_skips_every_row_with_the_reason_and_changes_nothing(
    workspace: Workspace, source: str
) -> None:
    fill(workspace, contacts=800)
    locked = {u["ImisId"] for u in read(workspace, "UserCredentials") if u["IsLockedOut"]}
    assert len(locked) >= 2, "the demo locks some accounts"
    workspace.queries.save(load_query_file(UNLOCK / "query.yml"))
    unlocked = workspace.run(unlock_job(source))
    assert unlocked.counts.as_dict()["updated"] == len(locked)
    after_unlock = {u["ImisId"]: u for u in read(workspace, "UserCredentials")}
    assert not any(u["IsLockedOut"] for u in after_unlock.values())

    undo = workspace.undo(unlocked.run_id)

    counts = undo.counts.as_dict()
    assert (counts["skipped"], counts["updated"], counts["unchanged"]) == (len(locked), 0, 0)
    assert counts["rows"] == len(locked)
    assert undo.status == "succeeded"
    rows = list(workspace.runs.rows(undo.run_id))
    assert {r.identity["ImisId"] for r in rows if r.identity} == locked
    for row in rows:
        assert row.outcome == "skipped"
        assert row.field == "IsLockedOut"
        assert row.message is not None
        assert row.message.startswith("Not undone: Is Locked Out cannot be put back to True.")
        assert "Locking" in row.message
        assert "not supported" in row.message
    assert {u["ImisId"]: u for u in read(workspace, "UserCredentials")} == after_unlock


def test_undo_of_inserted_contacts_marks_them_and_undoing_the_undo_restores_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    job = contacts_job(write_csv(tmp_path / "people.csv", PEOPLE))
    imported = workspace.run(job)
    assert imported.counts.as_dict()["inserted"] == 3

    undo = workspace.undo(imported.run_id)
    assert undo.counts.as_dict()["updated"] == 3
    assert [c["MarkForErasure"] for c in read(workspace, "Contact")] == [True] * 3
    messages = {r.message for r in workspace.runs.rows(undo.run_id)}
    assert messages == {
        "Contacts cannot be deleted in iMIS: marked for erasure instead (undoing this undo run "
        "unmarks them)."
    }
    # Running the job again does not bring them back: nothing it maps has changed.
    assert workspace.run(job).counts.as_dict()["unchanged"] == 3
    assert all(c["MarkForErasure"] for c in read(workspace, "Contact"))

    redo = workspace.undo(undo.run_id)

    assert redo.undo_of == undo.run_id
    assert redo.counts.as_dict()["updated"] == 3
    contacts = read(workspace, "Contact")
    assert sorted(c["Email"] for c in contacts) == sorted(p[2] for p in PEOPLE[1:])
    assert [c["MarkForErasure"] for c in contacts] == [False] * 3
    assert workspace.runs.get(undo.run_id).undone_by == redo.run_id
    with pytest.raises(Conflict, match=f"undo run {redo.run_id} to undo these changes again"):
        workspace.undo(imported.run_id)

    again = workspace.undo(redo.run_id)  # a redo is a run like any other
    assert again.counts.as_dict()["updated"] == 3
    assert all(c["MarkForErasure"] for c in read(workspace, "Contact"))


def test_undoing_the_undo_of_an_update_puts_the_run_values_back(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.run(contacts_job(write_csv(tmp_path / "people.csv", PEOPLE)))
    renamed = [
        PEOPLE[0],
        ["Ada", "Byron", "ada@example.org"],
        ["Grace", "Murray", "grace@example.org"],
    ]
    update = workspace.run(contacts_job(write_csv(tmp_path / "renamed.csv", renamed)))
    assert update.counts.as_dict()["updated"] == 2

    undo = workspace.undo(update.run_id)
    assert {c["LastName"] for c in read(workspace, "Contact")} == {"Lovelace", "Hopper", "Turing"}
    redo = workspace.undo(undo.run_id)

    assert redo.counts.as_dict()["updated"] == 2
    assert {c["LastName"] for c in read(workspace, "Contact")} == {"Byron", "Murray", "Turing"}
    (row, _) = list(workspace.runs.rows(redo.run_id))
    assert (row.before, row.after) == ({"LastName": "Lovelace"}, {"LastName": "Byron"})


def test_undoing_the_undo_of_inserted_activities_inserts_them_again(
    workspace: Workspace, tmp_path: Path
) -> None:
    fill(workspace, contacts=0)
    workspace.run(contacts_job(write_csv(tmp_path / "people.csv", PEOPLE)))
    ids = sorted(c["ImisId"] for c in read(workspace, "Contact"))
    file = write_csv(
        tmp_path / "a.csv", [["ID", "Type", "Note"]] + [[i, "NOTE", f"n{i}"] for i in ids]
    )
    activities = build_job(
        {
            "input": {"file": str(file)},
            "source": "Activity",
            "action": "insert",
            "mappings": [
                {"field": "ImisId", "column": "ID"},
                {"field": "ActivityType", "column": "Type"},
                {"field": "Description", "column": "Note"},
            ],
        }
    )
    inserted = workspace.run(activities)
    undo = workspace.undo(inserted.run_id)
    assert undo.counts.as_dict()["deleted"] == 3
    assert read(workspace, "Activity") == []

    redo = workspace.undo(undo.run_id)

    assert redo.counts.as_dict()["inserted"] == 3
    back = read(workspace, "Activity")
    assert sorted((a["ImisId"], a["ActivityType"], a["Description"]) for a in back) == [
        (i, "NOTE", f"n{i}") for i in ids
    ]
    # The redo's rows name the records as they are now (new SEQNs), so it can be undone too.
    recorded = {r.identity["Seqn"] for r in workspace.runs.rows(redo.run_id) if r.identity}
    assert recorded == {a["Seqn"] for a in back}
    assert workspace.undo(redo.run_id).counts.as_dict()["deleted"] == 3
    assert read(workspace, "Activity") == []


def test_a_forced_undo_that_writes_nothing_new_is_unchanged_not_updated(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.run(contacts_job(write_csv(tmp_path / "people.csv", PEOPLE)))
    renamed = [PEOPLE[0], ["Ada", "Byron", "ada@example.org"]]
    update = workspace.run(contacts_job(write_csv(tmp_path / "renamed.csv", renamed)))
    workspace.run(contacts_job(write_csv(tmp_path / "back.csv", PEOPLE[:2])))  # Lovelace again

    undo = workspace.undo(update.run_id, force=True)

    counts = undo.counts.as_dict()
    assert (counts["unchanged"], counts["updated"]) == (1, 0)
    (row,) = list(workspace.runs.rows(undo.run_id))
    assert row.message == "Nothing to put back: the record already had its earlier values."


def test_a_run_being_undone_cannot_be_undone_again_until_that_undo_ends(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Two undos of one run started at once: the second is refused, not recorded (both used to
    pass the check, since the run is marked undone only when its undo ends)."""
    fill(workspace, 0)
    imported = workspace.run(contacts_job(write_csv(tmp_path / "people.csv", PEOPLE)))
    busy = workspace.runs.create_undo(
        NewRun(
            kind=RunKind.UNDO,
            name="Undo of People",
            source="Contact",
            action="undo",
            target="embedded",
            platform="EMS",
            job={"undo_of": imported.run_id, "force": False},
            undo_of=imported.run_id,
            owner="elsewhere:1:1.0:1",
        )
    )
    with pytest.raises(Conflict, match=f"is being undone by run {busy}"):
        workspace.undo(imported.run_id)
    assert [r.id for r in workspace.runs.list(10) if r.undo_of == imported.run_id] == [busy]

    workspace.runs.finish(busy, status=RunStatus.FAILED, counts={}, message="stopped")
    undo = workspace.undo(imported.run_id)  # the failed undo no longer holds the run
    assert undo.status is RunStatus.SUCCEEDED
    with pytest.raises(Conflict, match=f"already undone by run {undo.run_id}"):
        workspace.undo(imported.run_id)
