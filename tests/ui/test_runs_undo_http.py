"""Undoing a run from its page, over HTTP: the undo is queued (as the API's is) and the editor
is taken to the undo run's page, which follows it (htmx, every 2 seconds) while it is queued and
while it runs, saying how far it is, until it ends; the store is then as it was before the run.
A refusal shows the run's page with the reason, nothing queued.

A real server; what the store holds is read back from it, not taken from the undo's counts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from runs_support import run_with_a_bad_row
from ui_support import EDITOR, VIEWER, Site, form_token

from idms.runs.durable import worker_name
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

NOTICE = "The undo is queued: this is its run, a run of its own."


def erasure_marks(workspace: Workspace) -> dict[str, bool]:
    """Whether each of the run's two contacts is marked for erasure, read from the store."""
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        found = {str(c["Email"]): bool(c["MarkForErasure"]) for c in store.read("Contact", [])}
    finally:
        store.close()
    return {e: found[e] for e in ("ada@example.org", "grace@example.org")}


def follows(html: str, run_id: str) -> bool:
    """Whether the page asks for itself again (htmx) to follow the run."""
    return f'hx-get="/runs/{run_id}" hx-trigger="every 2s" hx-select="#run-live"' in html


@pytest.mark.usefixtures("people")
def test_an_editor_undoes_a_run_the_executor_carries_it_out_and_the_undo_is_theirs(
    running_site: Site, tmp_path: Path
) -> None:
    workspace = running_site.workspace
    run_id = run_with_a_bad_row(workspace, tmp_path)
    assert erasure_marks(workspace) == {"ada@example.org": False, "grace@example.org": False}
    with running_site.signed_in(*EDITOR) as client:
        html = client.get(f"/runs/{run_id}").text
        done = client.post(f"/runs/{run_id}/undo", data={"csrf_token": form_token(html)})
        assert done.status_code == 303
        undo = workspace.runs.list(1)[0]
        assert (undo.kind, undo.undo_of) == ("undo", run_id)
        assert done.headers["location"] == f"/runs/{undo.id}?done=undo"
        first = client.get(done.headers["location"]).text
        deadline = time.monotonic() + 30
        while workspace.runs.get(undo.id).status in ("queued", "running"):
            assert time.monotonic() < deadline, "the executor never ended the undo"
            time.sleep(0.05)
        page = client.get(f"/runs/{undo.id}").text
        original = client.get(f"/runs/{run_id}").text
    assert NOTICE in first
    assert "Succeeded" in page
    assert not follows(page, undo.id)
    assert f'href="/runs/{run_id}"' in page  # "Undo of run ..."
    assert f'href="/runs/{undo.id}"' in original  # "Undone by run ..."
    undo = workspace.runs.get(undo.id)
    assert (undo.started_by, undo.trigger) == (f"user:{EDITOR[0]}", "ui")
    assert undo.counts["rows"] == 2  # the two inserted contacts put back (marked for erasure)
    assert undo.counts["errors"] == 0
    assert workspace.runs.get(run_id).undone_by == undo.id
    assert erasure_marks(workspace) == {"ada@example.org": True, "grace@example.org": True}
    with running_site.signed_in(*VIEWER) as viewer:
        assert f"{EDITOR[0]} (web)" in viewer.get(f"/runs/{undo.id}").text


@pytest.mark.usefixtures("people")
def test_the_undo_page_follows_the_undo_while_queued_and_running_until_it_ends(
    site: Site, tmp_path: Path
) -> None:
    """No executor here: the test plays its part, claiming the queued undo, then carrying it
    out (``Workspace.execute``, what every executor calls), reading the page at each stage."""
    workspace = site.workspace
    run_id = run_with_a_bad_row(workspace, tmp_path)
    with site.signed_in(*EDITOR) as client:
        token = form_token(client.get(f"/runs/{run_id}").text)
        done = client.post(f"/runs/{run_id}/undo", data={"csrf_token": token})
        undo_id = done.headers["location"].split("/runs/", 1)[1].split("?", 1)[0]
        queued = client.get(done.headers["location"]).text
        twice = client.post(f"/runs/{run_id}/undo", data={"csrf_token": token})
        listed = len(workspace.runs.list(100))

        assert workspace.leases.claim(undo_id, worker_name(), 60)  # an executor takes it
        running = client.get(f"/runs/{undo_id}").text
        report = workspace.execute(undo_id)  # and carries it out
        ended = client.get(f"/runs/{undo_id}").text

    assert NOTICE in queued
    assert follows(queued, undo_id)  # its own URL, without the notice's ?done=undo
    assert "Queued: it starts as soon as an executor takes it." in queued
    assert twice.status_code == 409
    assert f"is being undone by run {undo_id}: wait for it to end." in twice.text
    assert listed == 2  # the run and its one undo
    assert follows(running, undo_id)
    assert NOTICE not in running
    assert "Running: 0 of 2 rows so far" in running
    assert "This page follows it until it ends." in running
    assert report is not None
    assert report.status == "succeeded"
    assert not follows(ended, undo_id)
    assert 'data-testid="run-progress"' not in ended
    assert "Succeeded" in ended
    assert erasure_marks(workspace) == {"ada@example.org": True, "grace@example.org": True}
