"""The data actions of a workflow (Delta Hashing, Fetch Query Data, Run Job, Insert Record),
each called through its ActionSpec with a real ActionContext whose services are the facade's
(:class:`~idms.workflow_services.WorkspaceServices`) over a real workspace: an embedded SQLite
store filled with the demo association. What the store holds is read independently
(``Target.read``), not from the actions' own counts."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from idms.config import Settings
from idms.demo.generate import fill_demo
from idms.errors import IdmsError
from idms.jobs.model import JobInvalid, build_job
from idms.queries.model import build_query
from idms.secrets import SecretError, SecretStore
from idms.state.models import Workflow, WorkflowHash
from idms.targets.embedded.target import EmbeddedTarget
from idms.values.liquid import render_template
from idms.workflow_services import WorkspaceServices
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext, StepFailed, StepResult
from idms.workflows.actions.delta_hashing import PENDING, commit_pending, public_output
from idms.workflows.hashes import HASH_CHUNK
from idms.workspace import Workspace

WF = "wf0000000000000000000000000001"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        fill_demo(store.engine, contacts=12, seed=7)
    finally:
        store.close()
    with ws.suite.begin() as conn:  # the workflow the hash store belongs to
        conn.execute(
            insert(Workflow).values(id=WF, name="nightly", trigger_type="manual", document="{}")
        )
    yield ws
    ws.close()


@pytest.fixture
def services(workspace: Workspace) -> WorkspaceServices:
    return WorkspaceServices(workspace)


def read(ws: Workspace, source: str) -> list[dict[str, Any]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return list(store.read(source))
    finally:
        store.close()


def call(
    services: WorkspaceServices,
    action: str,
    params: dict[str, Any],
    data: dict[str, Any] | None = None,
    *,
    step: str = "step",
    tmp: Path | None = None,
) -> StepResult:
    """The action run as the runner runs it: its parameters validated by its spec's model,
    then its function called with the pipeline object and a context."""
    spec = actions()[action]
    pipeline = data or {}

    def render(text: str, extra: Any) -> Any:
        return render_template(text, input=pipeline, **dict(extra))

    context = ActionContext(
        services=services,
        workflow_id=WF,
        workflow="nightly",
        run_id="wfrun1",
        step_id=step,
        attempt=1,
        files=tmp if tmp is not None else services.run_files("wfrun1"),
        render=render,
    )
    return spec.run(spec.params.model_validate(params), pipeline, context)


def members(n: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": str(1000 + i),
            "FirstName": f"First{i}",
            "LastName": f"Last{i}",
            "Email": f"m{i}@example.org",
            "Dues": 120.5 + i,
            "Joined": f"2020-01-{1 + i % 28:02d}",
            "Active": i % 3 != 0,
        }
        for i in range(n)
    ]


# ---- Delta Hashing ---------------------------------------------------------------------------


def delta(services: WorkspaceServices, rows: Any, **more: Any) -> dict[str, Any]:
    result = call(services, "delta_hashing", {"key_column": "ID", "input": rows, **more})
    assert isinstance(result.output, dict)
    return result.output


def test_delta_hashing_passes_every_row_first_then_only_the_new_and_changed(
    services: WorkspaceServices,
) -> None:
    rows = members(50)
    first = delta(services, rows)
    assert first["rows"] == rows
    assert first["count"] == 50
    assert first["total"] == 50
    assert commit_pending(services, WF, {"step": first}) == 50

    later = copy.deepcopy(rows)
    later[7]["Email"] = "changed@example.org"
    later.append({**rows[0], "ID": "9999"})
    later[3] = dict(reversed(list(later[3].items())))  # the same data, columns reordered
    second = delta(services, later)
    assert [r["ID"] for r in second["rows"]] == ["1007", "9999"]
    assert second["count"] == 2
    assert second["total"] == 51
    pending = services.run_files("wfrun1") / second[PENDING]["$pending"]
    assert second[PENDING]["count"] == 2
    assert [sorted(json.loads(line)) for line in pending.read_text().splitlines()] == [
        ["1007", "9999"]
    ]
    assert PENDING not in public_output(second)
    assert public_output(second)["count"] == 2

    # Not committed (the run did not succeed): the same rows come again.
    assert [r["ID"] for r in delta(services, later)["rows"]] == ["1007", "9999"]
    commit_pending(services, WF, {"step": second})
    assert delta(services, later)["rows"] == []


def test_delta_hashing_lists_the_keys_gone_and_forgets_them_once_committed(
    services: WorkspaceServices,
) -> None:
    rows = members(5)
    commit_pending(services, WF, {"step": delta(services, rows)})
    out = delta(services, rows[:2] + rows[3:], removed_keys=True)
    assert out["rows"] == []
    assert out["removed_keys"] == ["1002"]
    store = services.hashes(WF, "step")
    assert "1002" in store.keys()  # noqa: SIM118 - kept until the run succeeds
    commit_pending(services, WF, {"step": out})
    assert store.keys() == ["1000", "1001", "1003", "1004"]
    back = delta(services, rows)
    assert [r["ID"] for r in back["rows"]] == ["1002"]  # it came back: new again


def test_delta_hashing_refuses_what_is_not_rows_with_a_key(services: WorkspaceServices) -> None:
    with pytest.raises(StepFailed, match="array of rows as its input, not text"):
        delta(services, "{{ steps.x }}")
    with pytest.raises(StepFailed, match=r"Row 2 has no value in the key column 'ID'"):
        delta(services, [{"ID": "1"}, {"Id": "2"}])
    with pytest.raises(StepFailed, match=r"'7' of column 'ID' is on rows 1 and 3"):
        delta(services, [{"ID": "7"}, {"ID": "8"}, {"ID": "7"}])
    assert services.hashes(WF, "step").keys() == []


def test_the_hash_store_reads_and_writes_in_chunks_and_deletes_and_clears(
    database_url: str, tmp_path: Path
) -> None:
    """On each suite database (SQLite, PostgreSQL)."""
    settings = Settings.load(
        workspace=tmp_path / "hs", environ={"IDMS_SUITE_DATABASE": database_url}
    )
    with Workspace.open(settings) as workspace:
        with workspace.suite.begin() as conn:
            conn.execute(
                insert(Workflow).values(id=WF, name="n", trigger_type="manual", document="{}")
            )
        services = WorkspaceServices(workspace)
        store = services.hashes(WF, "big")
        n = HASH_CHUNK * 2 + 17
        store.put_many({f"k{i}": f"{i:064x}" for i in range(n)})
        got = store.get_many([f"k{i}" for i in range(0, n, 3)] + ["absent"])
        assert len(got) == len(range(0, n, 3))
        assert got["k3"] == f"{3:064x}"
        store.put_many({"k3": "f" * 64, "new": "e" * 64})  # replaced, not repeated; added
        assert store.get_many(["k3", "new"]) == {"k3": "f" * 64, "new": "e" * 64}
        assert store.delete("k3") is True
        assert store.delete("k3") is False
        assert services.hashes(WF, "other").keys() == []  # another step's store is its own
        with Session(workspace.suite) as session:
            stored = session.scalars(select(WorkflowHash).where(WorkflowHash.step_id == "big"))
            kept = {h.key: h for h in stored}
        assert len(kept) == n
        assert isinstance(kept["new"].updated_at, datetime)
        assert store.delete_many(["k1", "k2", "absent"]) == 2
        assert store.clear() == n - 2
        assert store.keys() == []


# ---- Fetch Query Data ------------------------------------------------------------------------


def save_query(ws: Workspace) -> None:
    ws.queries.save(
        build_query(
            {
                "name": "By last name",
                "from": "Contact",
                "columns": {"ID": "ImisId", "Last": "LastName", "Email": "Email"},
                "filters": [
                    {"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}
                ],
                "order_by": ["ID"],
            }
        )
    )


def test_fetch_query_gives_the_saved_querys_rows_for_its_prompts(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    save_query(workspace)
    people = [c for c in read(workspace, "Contact") if c["LastName"]]
    letter = people[0]["LastName"][0]
    expected = sorted(
        (c["ImisId"], c["LastName"]) for c in people if c["LastName"].startswith(letter)
    )
    result = call(services, "fetch_query", {"query": "By last name", "params": {"last": letter}})
    assert [(r["ID"], r["Last"]) for r in result.output] == expected
    assert set(result.output[0]) == {"ID", "Last", "Email"}
    assert result.message is not None
    assert f"{len(expected)} row" in result.message

    with pytest.raises(IdmsError, match="the prompt 'last' is required"):
        call(services, "fetch_query", {"query": "By last name"})
    one = call(
        services, "fetch_query", {"query": "By last name", "params": {"last": letter}, "limit": 1}
    )
    assert len(one.output) == 1


# ---- Run Job -------------------------------------------------------------------------------


def save_template(ws: Workspace) -> None:
    save_query(ws)
    job = build_job(
        {
            "name": "Designate",
            "input": {"query": "By last name"},
            "source": "Contact",
            "action": "update",
            "mappings": [
                {"field": "ImisId", "column": "ID", "match": True},
                {"field": "Designation", "value": "WF"},
            ],
        }
    )
    ws.save_template("Designate by last name", job)


def test_a_template_a_run_job_step_names_is_not_deleted(workspace: Workspace) -> None:
    """The step would fail at its next run with "No template": deleting is refused, naming the
    workflow, until the workflow goes."""
    from idms.errors import Conflict

    save_template(workspace)
    step = {"template": "Designate by last name", "params": {"last": "A"}}
    workspace.save_workflow(
        {
            "name": "Designate nightly",
            "trigger": {"type": "schedule"},
            "steps": [{"id": "designate", "action": "run_job", "with": step}],
        }
    )
    with pytest.raises(Conflict, match="is run by workflow 'Designate nightly': remove it"):
        workspace.delete_template("Designate by last name")
    assert workspace.templates.get("Designate by last name")
    workspace.delete_workflow("Designate nightly")
    workspace.delete_template("Designate by last name")
    assert workspace.templates.list() == []


def test_run_job_runs_a_template_to_its_end_when_asked_to_wait(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    save_template(workspace)
    letter = next(c["LastName"][0] for c in read(workspace, "Contact") if c["LastName"])
    chosen = {
        c["ImisId"] for c in read(workspace, "Contact") if (c["LastName"] or "").startswith(letter)
    }
    result = call(
        services,
        "run_job",
        {
            "template": "Designate by last name",
            "params": {"last": letter},
            "wait_for_completion": True,
        },
    )
    summary = result.output
    assert summary["status"] == "succeeded"
    assert summary["updated"] == len(chosen)
    assert {c["ImisId"] for c in read(workspace, "Contact") if c["Designation"] == "WF"} == chosen
    info = workspace.runs.get(summary["run_id"])
    assert info.trigger == "workflow"
    assert info.status == "succeeded"


def test_run_job_queues_the_template_without_waiting(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    save_template(workspace)
    letter = next(c["LastName"][0] for c in read(workspace, "Contact") if c["LastName"])
    result = call(
        services, "run_job", {"template": "Designate by last name", "params": {"last": letter}}
    )
    assert result.output["status"] == "queued"
    assert not any(c["Designation"] == "WF" for c in read(workspace, "Contact"))
    report = workspace.execute(result.output["run_id"])  # an executor takes it
    assert report is not None
    assert report.status == "succeeded"
    assert any(c["Designation"] == "WF" for c in read(workspace, "Contact"))


def test_run_job_refuses_a_template_that_reads_a_file(
    services: WorkspaceServices, workspace: Workspace, tmp_path: Path
) -> None:
    file = tmp_path / "a.csv"
    file.write_text("ID,Note\n1,x\n", encoding="utf-8")
    job = build_job(
        {
            "input": {"file": str(file)},
            "source": "Activity",
            "action": "insert",
            "mappings": [
                {"field": "ImisId", "column": "ID"},
                {"field": "ActivityType", "value": "NOTE"},
            ],
        }
    )
    workspace.save_template("Notes", job)
    with pytest.raises(JobInvalid, match="reads a file, which a workflow step cannot give it"):
        call(services, "run_job", {"template": "Notes", "wait_for_completion": True})
    with pytest.raises(IdmsError, match="No template 'Notez'"):
        call(services, "run_job", {"template": "Notez"})


# ---- Insert Record ---------------------------------------------------------------------------

ACTIVITY = {
    "source": "Activity",
    "rows": None,
    "mappings": [
        {"field": "ImisId", "column": "memberId"},
        {"field": "ActivityType", "value": "{{ input.kind }}"},
        {"field": "Description", "template": "{{ row.course }} completed"},
    ],
}


def test_insert_record_inserts_activities_with_an_outcome_per_row_and_can_be_undone(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    ids = sorted(c["ImisId"] for c in read(workspace, "Contact"))[:2]
    before = len(read(workspace, "Activity"))
    rows = [
        {"memberId": ids[0], "course": "Ethics"},
        {"memberId": "NO-SUCH-ID", "course": "Law"},
        {"memberId": ids[1], "course": "Tax"},
    ]
    result = call(
        services, "insert_record", {**ACTIVITY, "rows": rows}, {"kind": "NOTE", "body": rows}
    )
    out = result.output
    assert (out["status"], out["inserted"], out["errors"]) == ("completed_with_errors", 2, 1)
    assert [(r["row"], r["outcome"]) for r in out["rows"]] == [
        (1, "inserted"),
        (2, "error"),
        (3, "inserted"),
    ]
    assert out["rows"][1]["message"] == "iMIS ID NO-SUCH-ID: no contact has this iMIS ID."
    assert out["rows"][1]["identity"] is None
    assert result.message is not None
    assert "row 2:" in result.message
    stored = read(workspace, "Activity")
    mine = sorted(
        (a["ImisId"], a["ActivityType"], a["Description"])
        for a in stored
        if str(a["Description"]).endswith("completed")
    )
    assert mine == [(ids[0], "NOTE", "Ethics completed"), (ids[1], "NOTE", "Tax completed")]
    assert {r["identity"]["Seqn"] for r in out["rows"] if r["identity"]} == {
        a["Seqn"] for a in stored if a["Description"] in ("Ethics completed", "Tax completed")
    }
    # The run's copy of the rows is gone once it has ended.
    assert not (workspace.runs_folder / out["run_id"] / "input.rows").exists()

    undo = workspace.undo(out["run_id"])
    assert undo.counts.as_dict()["deleted"] == 2
    assert len(read(workspace, "Activity")) == before


def test_insert_record_fails_when_every_row_failed_or_when_asked_on_any(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    bad = [{"memberId": "NO-SUCH-ID", "course": "Law"}]
    with pytest.raises(
        StepFailed, match=r"Every row failed \(1 of 1\), nothing was written .*this iMIS ID\.$"
    ) as e:
        call(services, "insert_record", {**ACTIVITY, "rows": bad}, {"kind": "NOTE"})
    assert e.value.output["rows"][0]["outcome"] == "error"
    assert e.value.retryable is False
    good = sorted(c["ImisId"] for c in read(workspace, "Contact"))[0]
    mixed = [{"memberId": good, "course": "A"}, *bad]
    with pytest.raises(StepFailed, match=r"1 of 2 rows failed .*undo the run"):
        call(
            services,
            "insert_record",
            {**ACTIVITY, "rows": mixed, "fail_on_row_errors": True},
            {"kind": "NOTE"},
            step="mixed",
        )
    one = call(
        services,
        "insert_record",
        {**ACTIVITY, "rows": {"memberId": good, "course": "B"}},
        {"kind": "NOTE"},
        step="one",
    )
    assert one.output["inserted"] == 1  # one object is one row
    with pytest.raises(StepFailed, match="an object or an array of objects"):
        call(services, "insert_record", {**ACTIVITY, "rows": "x"}, {"kind": "NOTE"})


def test_insert_record_refuses_a_wrong_job_with_every_problem_and_leaves_no_copy(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    params = {
        **ACTIVITY,
        "rows": [{"memberId": "1"}],
        "mappings": [{"field": "NoSuchField", "column": "memberId"}],
    }
    with pytest.raises(JobInvalid, match="NoSuchField"):
        call(services, "insert_record", params, {"kind": "NOTE"})
    assert list(workspace.runs_folder.iterdir()) == []
    assert workspace.runs.list() == [] or all(r.kind != "import" for r in workspace.runs.list())


def test_a_job_document_cannot_bring_rows_itself(workspace: Workspace) -> None:
    job = build_job(
        {
            "input": {"rows": "me"},
            "source": "Activity",
            "action": "insert",
            "mappings": [{"field": "ImisId", "column": "ID"}],
        }
    )
    with pytest.raises(JobInvalid, match="rows are handed over by a workflow step"):
        workspace.run(job)
    with pytest.raises(JobInvalid, match="give either 'file' or 'query'"):
        build_job({**job.to_document(), "input": {"rows": "me", "query": "q"}})


# ---- Secrets ---------------------------------------------------------------------------------


def test_a_stored_secret_is_given_to_actions(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    SecretStore(workspace.suite, workspace.box).set("lms-token", "s3cret")
    assert services.secret("lms-token") == "s3cret"
    with pytest.raises(SecretError, match=r"No secret named 'lms-tokn'\. Did you mean 'lms-token'"):
        services.secret("lms-tokn")


# ---- Durable: rows handed over are sealed with the run and resumed from ----------------------


class Crash(BaseException):
    """The run's process dies (nothing in the run catches it)."""


def test_a_run_of_handed_rows_is_sealed_and_resumes_without_writing_twice(
    workspace: Workspace,
) -> None:
    """What ``insert_rows`` does, with the process dying after the first batch: the run's copy
    of the rows holds none of them in plain bytes, and the step asked again with its key
    carries that run on from it, inserting each row once."""
    from datetime import timedelta

    from sqlalchemy import update

    from idms.jobs.prepare import prepare_job, spool_file
    from idms.jobs.query_input import Spool
    from idms.jobs.rows_input import write_rows
    from idms.state.models import Run, utcnow
    from idms.workflow_services import run_id_for

    ids = sorted(c["ImisId"] for c in read(workspace, "Contact"))
    before = len(read(workspace, "Activity"))
    rows = [{"ID": ids[i % len(ids)], "Note": f"Zq-note-{i:03d}"} for i in range(120)]
    job = build_job(
        {
            "input": {"rows": "workflow (test)"},
            "source": "Activity",
            "action": "insert",
            "mappings": [
                {"field": "ImisId", "column": "ID"},
                {"field": "ActivityType", "value": "NOTE"},
                {"field": "Description", "column": "Note"},
            ],
            "options": {"batch_size": 50},
        }
    )
    key = "idms-wfrun1-activity-insert"  # the step's idempotency key
    run_id = run_id_for(key)
    workspace.durable().folder(run_id)
    spool = Spool(spool_file(workspace.runs_folder, run_id), workspace.box, handed=True)
    write_rows(spool, rows)
    target = workspace.open_target(workspace.settings)
    prepared = prepare_job(job, target, workspace.queries, spool=spool, run_id=run_id)
    prepared.target = target

    def die(done: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        workspace.run(prepared, progress=die)
    assert len(read(workspace, "Activity")) == before + 50
    data = spool.path.read_bytes()
    for plain in (b"Zq-note", b"Note"):
        assert plain not in data
    with workspace.suite.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    workspace.leases.requeue_expired()

    # The workflow resumed, the step asks again with its key: the run is carried on.
    again = WorkspaceServices(workspace).insert_rows({}, [], trigger="workflow", key=key)

    assert (again["run_id"], again["status"], again["inserted"]) == (run_id, "succeeded", 120)
    assert [r["row"] for r in again["rows"]] == list(range(1, 121))
    notes = sorted(
        a["Description"]
        for a in read(workspace, "Activity")
        if str(a["Description"]).startswith("Zq-note")
    )
    assert notes == [r["Note"] for r in rows]  # each once
    assert not spool.path.exists()


def test_the_fingerprint_is_the_sha256_of_the_rows_canonical_json() -> None:
    import hashlib
    import json

    from idms.workflows.actions.delta_hashing import fingerprint

    row = {"b": 1.5, "a": [1, None, True], "é": 'x"y', "n": {"z": 1, "y": "2"}}
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprint(row) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert fingerprint(dict(reversed(list(row.items())))) == fingerprint(row)
    assert fingerprint({**row, "b": 1.25}) != fingerprint(row)


@pytest.mark.parametrize("name", ["delta_hashing", "fetch_query", "run_job", "insert_record"])
def test_each_actions_example_is_a_step_its_parameters_accept(name: str) -> None:
    from idms.documents import read_document
    from idms.workflows.model import Step

    spec = actions()[name]
    (document,) = read_document(spec.example)
    step = Step.model_validate(document)
    assert step.action == name
    spec.params.model_validate(step.with_)
    page = Path(__file__).resolve().parents[2] / "docs" / "workflows" / f"{name}.md"
    text = page.read_text(encoding="utf-8")
    assert f"`{name}`" in text.splitlines()[0]
    assert f"action: {name}" in text
    for field_name, field in spec.params.model_fields.items():
        shown = field.alias or field_name
        assert field.description, f"{name}.{shown} has no description"
        assert f"| `{shown}` |" in text, f"docs/workflows/{name}.md does not explain {shown}"


def test_a_step_run_again_reports_its_run_instead_of_inserting_twice(
    services: WorkspaceServices, workspace: Workspace
) -> None:
    ids = sorted(c["ImisId"] for c in read(workspace, "Contact"))
    before = len(read(workspace, "Activity"))
    rows = [{"memberId": ids[0], "course": "Ethics"}, {"memberId": ids[1], "course": "Tax"}]
    first = call(services, "insert_record", {**ACTIVITY, "rows": rows}, {"kind": "NOTE"})
    again = call(services, "insert_record", {**ACTIVITY, "rows": rows}, {"kind": "NOTE"})
    assert again.output == first.output
    assert len(read(workspace, "Activity")) == before + 2
    other = call(
        services, "insert_record", {**ACTIVITY, "rows": rows}, {"kind": "NOTE"}, step="other"
    )
    assert other.output["run_id"] != first.output["run_id"]  # another step: its own run
    assert len(read(workspace, "Activity")) == before + 4


def test_run_job_run_again_finds_its_run(services: WorkspaceServices, workspace: Workspace) -> None:
    save_template(workspace)
    letter = next(c["LastName"][0] for c in read(workspace, "Contact") if c["LastName"])
    params = {"template": "Designate by last name", "params": {"last": letter}}
    queued = call(services, "run_job", params)
    waited = call(services, "run_job", {**params, "wait_for_completion": True})
    assert waited.output["run_id"] == queued.output["run_id"]
    assert waited.output["status"] == "succeeded"  # the queued run, carried on here
    assert len(workspace.runs.list()) == 1
    assert call(services, "run_job", params).output == waited.output
