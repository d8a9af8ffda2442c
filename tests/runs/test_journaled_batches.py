"""On the embedded store a durable run seals nothing per batch: the store's batch journal keeps
each segment's row results, written in the segment's own transaction, and a run that stopped
after the store committed a segment but before the suite recorded it records them from there,
exactly as they were made (never writing the segment twice)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from idms.config import Settings
from idms.jobs.durable import JOURNALED
from idms.jobs.enqueue import enqueue_job
from idms.jobs.runner import resume_run
from idms.runs.record import RunStore
from idms.runs.rows import RowValues, row_values, rows_from_text
from idms.targets.embedded import schema
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace
from people import people_job

ROWS, BATCH = 250, 100


class Stopped(Exception):
    """The process 'dies' here: after the store committed a segment, before it was recorded."""


class StopsRecording(RunStore):
    """A run store whose ``record_values`` fails from its ``n``-th call on."""

    def __init__(self, runs: RunStore, n: int) -> None:
        super().__init__(runs.engine)
        self.calls, self.n = 0, n

    def record_values(
        self,
        run_id: str,
        rows: Sequence[RowValues],
        *,
        checkpoint_rows: int,
        counts: Mapping[str, int],
    ) -> None:
        self.calls += 1
        if self.calls >= self.n:
            raise Stopped
        super().record_values(run_id, rows, checkpoint_rows=checkpoint_rows, counts=counts)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings.load(workspace=tmp_path / "ws", environ={"IDMS_LEASE_SECONDS": "60"})
    ws = Workspace.open(settings)
    yield ws
    ws.close()


def roster(path: Path, last: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First", "Last", "E-mail"])
        for i in range(ROWS):
            # Row 5 of each file is refused (a malformed e-mail): a batch holds every outcome.
            email = "not-an-email" if i == 5 else f"p{i}@example.org"
            writer.writerow([f"F{i}", f"{last}{i}" if i % 2 else "Same", email])
    return path


def journal(ws: Workspace) -> dict[str, str]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        with store.engine.connect() as conn:
            table = schema.applied_batches
            rows = conn.execute(select(table.c.batch_key, table.c.results))
            return {str(key): str(text) for key, text in rows}
    finally:
        store.close()


def stop_then_resume(ws: Workspace, path: Path) -> tuple[str, list[RowValues]]:
    """Run ``path``'s job until its second batch is committed to the store but not recorded,
    check what it left, resume it; the run's ID and the journaled row results."""
    runs = RunStore(ws.suite)
    run_id = enqueue_job(ws, people_job(path, batch=BATCH), trigger="api")
    assert ws.leases.claim(run_id, "me", 60)
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        with pytest.raises(Stopped):
            resume_run(
                run_id, target=store, runs=StopsRecording(runs, 2), durable=ws.durable(owner="me")
            )
        staged = runs.staged(run_id)
        assert staged is not None
        key, payload = staged
        assert payload == JOURNALED  # nothing of the batch was sealed
        journaled = rows_from_text(journal(ws)[key])
        assert [r[1] for r in journaled] == list(range(BATCH + 2, 2 * BATCH + 2))  # row numbers
        assert runs.get(run_id).checkpoint_rows == BATCH
        report = resume_run(run_id, target=store, runs=runs, durable=ws.durable(owner="me"))
    finally:
        store.close()
    assert report.status.value == "completed_with_errors"
    assert journal(ws) == {}  # forgotten once recorded
    return run_id, journaled


def test_a_segment_committed_but_not_recorded_is_recorded_from_the_journal(
    workspace: Workspace, tmp_path: Path
) -> None:
    runs = RunStore(workspace.suite)
    inserted, _ = stop_then_resume(workspace, roster(tmp_path / "a.csv", "L"))
    counts = runs.get(inserted).counts
    assert (counts["inserted"], counts["errors"], counts["rows"]) == (ROWS - 1, 1, ROWS)

    run_id, journaled = stop_then_resume(workspace, roster(tmp_path / "b.csv", "M"))

    recorded = list(runs.rows(run_id))
    assert [r.row_number for r in recorded] == list(range(2, ROWS + 2))  # each row once
    assert [r.seq for r in recorded] == list(range(1, ROWS + 1))
    # Recorded as they were made, before the stop:
    assert [row_values(r) for r in recorded[BATCH : 2 * BATCH]] == journaled
    counts = runs.get(run_id).counts
    assert (counts["updated"], counts["unchanged"], counts["errors"]) == (124, 125, 1)
    middle = recorded[BATCH : 2 * BATCH]
    assert {r.outcome for r in middle} == {"updated", "unchanged"}
    updated = next(r for r in middle if r.outcome == "updated")
    assert updated.before == {"LastName": f"L{updated.row_number - 2}"}
    assert updated.after == {"LastName": f"M{updated.row_number - 2}"}
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        people = [c for c in store.read("Contact") if c["Email"]]
    finally:
        store.close()
    assert len(people) == ROWS - 1  # the in-doubt segment was not written twice
