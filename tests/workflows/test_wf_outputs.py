"""Large step data kept as files, and a workflow run's counts.

A step's input, output and the data a run carries on from are kept in the step's row while
small, and past 256 KiB as sealed files of the run (the row holding a note: size, preview):
shown by ``run-show`` as "kept as a file (… KB)", written out whole with ``--step --output``,
downloaded whole over the API, read back by a rerun and by a run resumed after SIGKILL. What
is on disk is read independently (the raw bytes, the suite database's columns), not through
the code under test. A workflow run writes no rows itself: its counts stay zero and add up,
and its steps are counted apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import create_engine, select
from typer.testing import CliRunner
from wf_http_support import served

from idms.cli.app import app
from idms.config import Settings
from idms.notify.message import RunNotice
from idms.runs.sealed import MAGIC
from idms.runs.status import Counts
from idms.state.constants import MASK
from idms.state.models import WorkflowStep
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext, ActionSpec, StepResult
from idms.workflows.stepdata import LARGE
from idms.workspace import Workspace

ROWS = 4000  # rows of ~110 bytes of JSON each: ~440 KB, past the 256 KiB kept in a row
TOKEN = "tok-plain-5e1f"  # under a key that looks secret: masked wherever it is shown


class BigParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int = ROWS


def big(params: BigParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    """A test action: a large output (member-like rows, and a token to be masked)."""
    rows = [
        {"id": i, "email": f"member{i}@example.org", "note": f"member-detail-{i:06d}" + "x" * 40}
        for i in range(params.rows)
    ]
    return StepResult(output={"rows": rows, "api_token": TOKEN})


class MeasureParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def measure(params: MeasureParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    """A test action: how many rows the big step left on the pipeline, and their last one."""
    rows = data["big"]["rows"]
    return StepResult(output={"n": len(rows), "last": rows[-1]["note"]})


@pytest.fixture(autouse=True)
def test_actions() -> Iterator[None]:
    registry = actions()
    registry["big"] = ActionSpec("big", "Big", "a large output", BigParams, big)
    registry["measure"] = ActionSpec("measure", "Measure", "counts rows", MeasureParams, measure)
    yield
    registry.pop("big", None)
    registry.pop("measure", None)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    yield ws
    ws.close()


FLOW = {
    "name": "Big",
    "steps": [{"id": "big", "action": "big"}, {"id": "count", "action": "measure"}],
}


def columns(settings: Settings, run_id: str) -> dict[str, tuple[int, int, int]]:
    """Each step's (shown input, shown output, sealed data) lengths in the suite database."""
    engine = create_engine(settings.suite_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    WorkflowStep.step_id,
                    WorkflowStep.shown_input,
                    WorkflowStep.shown_output,
                    WorkflowStep.sealed_data,
                ).where(WorkflowStep.run_id == run_id)
            ).all()
    finally:
        engine.dispose()
    return {str(r[0]): tuple(len(v or "") for v in r[1:]) for r in rows}  # type: ignore[misc]


def expected_output() -> dict[str, Any]:
    output = big(BigParams(), {}, None)  # type: ignore[arg-type]
    return {**output.output, "api_token": MASK}


# ---- kept as files -----------------------------------------------------------------------------


def test_a_large_output_is_kept_as_a_sealed_file_and_read_back_whole(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(FLOW)
    run = workspace.run_workflow("Big")
    assert run.status == "succeeded", run.message
    first, second = workspace.workflow_steps(run.id)
    # The next step received the output whole.
    assert second.output == {"n": ROWS, "last": f"member-detail-{ROWS - 1:06d}" + "x" * 40}
    # The row holds a note: the size and the start of the masked JSON.
    assert first.output is None
    assert first.output_file is not None
    assert first.output_file["bytes"] > LARGE
    assert first.output_file["preview"].startswith('{"rows":[{"id":0')
    assert second.input is None  # its input held it too
    assert second.input_file is not None
    assert first.as_dict()["output_file"] == first.output_file
    sizes = columns(workspace.settings, run.id)
    assert all(n < 4000 for n in sizes["big"])  # notes, not the data
    assert all(n < 4000 for n in sizes["count"])

    # On disk: sealed, no member detail nor the token in the clear.
    files = sorted(p.name for p in (workspace.runs_folder / run.id / "steps").iterdir())
    assert files == ["1.data.sealed", "1.output.sealed", "2.data.sealed", "2.input.sealed"]
    for name in files:
        raw = (workspace.runs_folder / run.id / "steps" / name).read_bytes()
        assert raw.startswith(MAGIC)
        assert b"member-detail" not in raw
        assert TOKEN.encode() not in raw
    assert oct((workspace.runs_folder / run.id / "steps").stat().st_mode & 0o777) == "0o700"

    # Read back whole, masked.
    record, handle = workspace.workflow_step_data(run.id, "big", "output")
    with handle:
        whole = json.loads(handle.read())
    assert record.step_id == "big"
    assert whole == expected_output()
    _, handle = workspace.workflow_step_data(run.id, "2", "input")  # by its number too
    with handle:
        assert json.loads(handle.read())["big"]["api_token"] == MASK


def test_small_data_stays_in_the_row(workspace: Workspace) -> None:
    workspace.save_workflow(
        {**FLOW, "steps": [{"id": "big", "action": "big", "with": {"rows": 500}}]}
    )
    run = workspace.run_workflow("Big")
    (record,) = workspace.workflow_steps(run.id)
    assert record.output_file is None
    assert record.input_file is None
    assert len(record.output["rows"]) == 500  # shown whole: 70 KB is no longer cut to a note
    assert record.output["api_token"] == MASK
    assert not (workspace.runs_folder / run.id / "steps").exists()


def test_a_rerun_from_a_later_step_reads_the_file_backed_data(workspace: Workspace) -> None:
    workspace.save_workflow(FLOW)
    run = workspace.run_workflow("Big")
    queued = workspace.rerun_workflow(run.id, from_step="count")
    report = workspace.execute(queued.id)
    assert report.status.value == "succeeded", report.message
    (again,) = workspace.workflow_steps(queued.id)
    assert again.step_id == "count"
    assert again.output["n"] == ROWS


def test_a_step_with_nothing_kept_is_not_found(workspace: Workspace) -> None:
    from idms.errors import NotFound

    workspace.save_workflow(
        {**FLOW, "steps": [{"id": "big", "action": "big", "with": {"rows": 1}}]}
    )
    run = workspace.run_workflow("Big")
    with pytest.raises(NotFound, match="has no step 'nope' \\(its steps: big\\)"):
        workspace.workflow_step_data(run.id, "nope", "output")


# ---- the command line and the API --------------------------------------------------------------


def test_run_show_tells_the_size_and_writes_the_output_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf.json").write_text(json.dumps(FLOW), encoding="utf-8")
    cli = CliRunner()
    assert cli.invoke(app, ["workflow", "save", "wf.json"]).exit_code == 0
    ran = cli.invoke(app, ["workflow", "run", "Big", "--json"])
    assert ran.exit_code == 0, ran.output
    summary = json.loads(ran.stdout)
    run_id = summary["run_id"]

    shown = cli.invoke(app, ["workflow", "run-show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "output kept as a file (" in shown.stdout
    assert " KB), its start:" in shown.stdout
    assert "member-detail-002000" not in shown.stdout  # a preview, not the whole
    assert TOKEN not in shown.stdout
    assert f"idms workflow run-show {run_id} --step big --output FILE" in shown.output

    wrote = cli.invoke(
        app, ["workflow", "run-show", run_id[:6], "--step", "big", "--output", "big.json"]
    )
    assert wrote.exit_code == 0, wrote.output
    assert json.loads((tmp_path / "big.json").read_text(encoding="utf-8")) == expected_output()
    wrote = cli.invoke(
        app, ["workflow", "run-show", run_id, "--step", "count", "--input", "in.json"]
    )
    assert wrote.exit_code == 0, wrote.output
    assert (
        json.loads((tmp_path / "in.json").read_text(encoding="utf-8"))["big"]["rows"][-1]["id"]
        == ROWS - 1
    )

    alone = cli.invoke(app, ["workflow", "run-show", run_id, "--output", "x.json"])
    assert alone.exit_code == 2
    assert "--step" in alone.output
    unknown = cli.invoke(app, ["workflow", "run-show", run_id, "--step", "nope"])
    assert unknown.exit_code != 0
    assert "no step 'nope'" in unknown.output


def test_the_api_describes_the_file_and_downloads_it(tmp_path: Path) -> None:
    with served(tmp_path) as api:
        api.workspace.save_workflow(FLOW)
        run = api.workspace.run_workflow("Big")
        steps = api.client.get(f"/api/v1/workflow-runs/{run.id}/steps")
        assert steps.status_code == 200, steps.text
        first = steps.json()[0]
        assert first["output"] is None
        kept = first["output_file"]
        assert kept["bytes"] > LARGE
        assert kept["url"] == f"/api/v1/workflow-runs/{run.id}/steps/big/output"
        assert kept["preview"].startswith('{"rows":')

        got = api.client.get(kept["url"])
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("application/json")
        assert "attachment" in got.headers["content-disposition"]
        assert got.json() == expected_output()
        assert len(got.content) == kept["bytes"]
        # A small one is given too (from its row), by the same URL.
        small = api.client.get(f"/api/v1/workflow-runs/{run.id}/steps/count/output")
        assert small.json() == {"n": ROWS, "last": f"member-detail-{ROWS - 1:06d}" + "x" * 40}

        assert api.open.get(kept["url"]).status_code == 401  # the token is needed
        missing = api.client.get(f"/api/v1/workflow-runs/{run.id}/steps/nope/output")
        assert missing.status_code == 404
        assert "no step 'nope'" in missing.json()["message"]
        assert api.client.get(f"/api/v1/workflow-runs/{run.id}/steps/big/x").status_code == 404
        assert api.client.get("/api/v1/workflow-runs/0000/steps/big/output").status_code == 404

        runs = api.client.get("/api/v1/workflows/Big/runs").json()
        assert runs[0]["rows"] == 0
        assert runs[0]["steps"] == {"total": 2, "succeeded": 2, "failed": 0, "skipped": 0}


# ---- a workflow run's counts -------------------------------------------------------------------


def test_a_workflow_runs_counts_add_up_and_its_steps_are_counted_apart(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(
        {
            "name": "Mixed",
            "steps": [
                {"id": "one", "action": "big", "with": {"rows": 1}},
                {"id": "off", "action": "wait", "enabled": False, "on_failure": "ignore",
                 "with": {"seconds": 0}},
                {"id": "bad", "action": "json_schema_validation", "on_failure": "ignore",
                 "with": {"schema": {"type": "object", "required": ["nothere"]}}},
                {"id": "two", "action": "wait", "with": {"seconds": 0}},
            ],
        }
    )  # fmt: skip
    run = workspace.run_workflow("Mixed")
    assert run.status == "succeeded", run.message
    assert [s.status for s in workspace.workflow_steps(run.id)] == [
        "succeeded",
        "skipped",
        "failed",
        "succeeded",
    ]
    assert run.counts == Counts().as_dict()  # no rows of its own
    assert Counts.of(run.counts).rows == run.counts["rows"]  # which add up
    assert run.steps == {"total": 4, "succeeded": 2, "failed": 1, "skipped": 1}
    assert run.as_dict()["steps"] == run.steps
    assert run.message == "Finished: 3 steps run (1 skipped, 1 failed and passed over)."
    notice = RunNotice.of(run, workspace.runs)  # a notification tells the steps, not rows
    assert notice.data()["steps"] == run.steps
    assert "Steps: 4 (2 succeeded, 1 failed, 1 skipped)" in notice.body()
    assert "Rows read" not in notice.body()

    queued = workspace.start_workflow("Mixed", trigger="api")
    report = workspace.execute(queued.id)
    summary = report.summary()
    assert summary["steps"] == {"total": 4, "succeeded": 2, "failed": 1, "skipped": 1}
    outcomes = ("inserted", "updated", "unchanged", "deleted", "skipped", "errors")
    assert summary["rows"] == sum(summary[k] for k in outcomes) == 0
    assert report.exit_code == 0


# ---- resumed after SIGKILL ---------------------------------------------------------------------

LEASE = 120

SCRIPT = r"""
import sys
from pydantic import BaseModel
from idms.config import Settings
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionSpec, StepResult
from idms.workspace import Workspace

class Params(BaseModel):
    pass

def big(params, data, context):
    rows = [{"id": i, "note": f"member-detail-{i:06d}" + "x" * 60} for i in range(5000)]
    return StepResult(output={"rows": rows})

def measure(params, data, context):
    return StepResult(output={"n": len(data["big"]["rows"]), "last": data["big"]["rows"][-1]})

actions()["big"] = ActionSpec("big", "Big", "a large output", Params, big)
actions()["measure"] = ActionSpec("measure", "Measure", "counts rows", Params, measure)
what, ref = sys.argv[1:]
with Workspace.open(Settings.load()) as workspace:
    if what == "save":
        import json
        workspace.save_workflow(json.loads(ref))
    elif what == "run":
        workspace.run_workflow(ref, {"start": 1})
    else:
        from idms.runs.leases import Leases
        Leases(workspace.suite).recover_lapsed()
        report = workspace.execute(ref)
        print(report.status.value, report.summary()["steps"]["total"])
"""

SLOW = {
    "name": "Slow",
    "steps": [
        {"id": "big", "action": "big"},
        {"id": "pause", "action": "wait", "with": {"seconds": 3}},
        {"id": "count", "action": "measure"},
    ],
}


def _step_rows(workspace: Path) -> list[tuple[str, str, int]]:
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    WorkflowStep.step_id, WorkflowStep.status, WorkflowStep.sealed_data
                ).order_by(WorkflowStep.seq)
            ).all()
    finally:
        engine.dispose()
    return [(str(a), str(b), len(c or "")) for a, b, c in rows]


def test_killed_after_a_large_step_then_resumed_from_its_file(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(workspace), IDMS_LEASE_SECONDS=str(LEASE))

    def script(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", SCRIPT, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    saved = script("save", json.dumps(SLOW))
    _, err = saved.communicate(timeout=60)
    assert saved.returncode == 0, err
    running = script("run", "Slow")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert running.poll() is None, running.communicate()
            if [r[:2] for r in _step_rows(workspace)][-1:] == [("pause", "running")]:
                break
            time.sleep(0.02)
        running.send_signal(signal.SIGKILL)
    finally:
        running.communicate(timeout=30)
    assert running.returncode == -signal.SIGKILL
    rows = _step_rows(workspace)
    assert rows[0][:2] == ("big", "succeeded")
    assert rows[0][2] < 1000  # its data is a note in the row ...
    (run_dir,) = [p for p in workspace.joinpath("runs").iterdir() if (p / "steps").is_dir()]
    assert (run_dir / "steps" / "1.data.sealed").stat().st_size > LARGE  # ... and a file

    resumed = script("resume", run_dir.name)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.split() == ["succeeded", "3"]
    with Workspace.open(Settings.load(workspace=workspace, environ={})) as ws:
        steps = ws.workflow_steps(run_dir.name)
        assert [(s.step_id, s.status) for s in steps] == [
            ("big", "succeeded"),
            ("pause", "succeeded"),
            ("count", "succeeded"),
        ]
        assert steps[2].output == {
            "n": 5000,
            "last": {"id": 4999, "note": "member-detail-004999" + "x" * 60},
        }
        assert steps[0].output_file is not None
