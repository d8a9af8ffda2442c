"""The core of iWorkflow through the workspace facade: a workflow checked whole before it is
saved, kept and exported as written, run step by step with iDMS's flow control, its steps'
data shown with secrets masked, rerun from a step, started by a queued run like any other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import create_engine, select

from idms.config import Settings
from idms.errors import Conflict, NotFound
from idms.secrets import SecretStore
from idms.state.models import Run, WorkflowStep
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult
from idms.workflows.model import WorkflowInvalid, WorkflowState
from idms.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws"))
    yield ws
    ws.close()


class FlakyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_times: int = 0  # attempts that fail before one succeeds (-1: always)
    secret: str | None = None  # a stored secret to fetch and give back in the output


CALLS: list[tuple[str, int]] = []


def flaky(params: FlakyParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    """A test action: fails its first ``fail_times`` attempts, then succeeds."""
    CALLS.append((context.step_id, context.attempt))
    if params.fail_times < 0 or context.attempt <= params.fail_times:
        raise StepFailed(f"attempt {context.attempt} failed", output={"attempt": context.attempt})
    output: dict[str, Any] = {"attempt": context.attempt}
    if params.secret:
        value = context.services.secret(params.secret)
        output["header"] = f"Bearer {value}"
        output["echo"] = value
    return StepResult(output=output, message=f"done on attempt {context.attempt}")


@pytest.fixture(autouse=True)
def flaky_action() -> Iterator[None]:
    """The test action, in the registry for the test's length."""
    CALLS.clear()
    registry = actions()
    registry["flaky"] = ActionSpec("flaky", "Flaky", "fails then succeeds", FlakyParams, flaky)
    yield
    registry.pop("flaky", None)


def step(step_id: str, action: str = "flaky", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "action": action, **extra}


def save(workspace: Workspace, *steps: dict[str, Any], **top: Any) -> str:
    name = str(top.pop("name", "Flow"))
    workspace.save_workflow({"name": name, "steps": list(steps), **top})
    return name


def statuses(workspace: Workspace, run_id: str) -> list[tuple[str, str]]:
    return [(s.step_id, s.status) for s in workspace.workflow_steps(run_id)]


# ---- the document ------------------------------------------------------------------------------


def test_a_malformed_workflow_is_refused_with_every_problem_listed(workspace: Workspace) -> None:
    document = {
        "name": "Broken",
        "state": "paused",
        "trigger": {"type": "webhook", "respond_status": 204},
        "steps": [
            {"id": "1st", "action": "gate"},
            {"id": "pick", "action": "select", "with": {"mode": "sideways", "columns": {}}},
            {"id": "pick", "action": "gate", "with": {"mode": "goto"}},
            {"id": "go", "action": "teleport"},
            {"id": "tpl", "action": "gate", "with": {"when": "{{ input.x "}},
            {"id": "back", "action": "wait", "with": {"seconds": 1}, "on_failure": {"goto": "go"}},
        ],
    }
    with pytest.raises(WorkflowInvalid) as caught:
        workspace.save_workflow(document)
    problems = "\n".join(caught.value.problems)
    for expected in (
        "state:",
        "trigger.respond_status:",
        "steps[0].id:",
        "steps[1].with.mode:",
        "steps[1].with.columns:",
        "steps[2].id: 'pick' is also step 1",
        "steps[2].with: mode goto needs the step",
        "steps[3].action: no action 'teleport' (the actions: ",
        "steps[4].with.when: the template does not parse",
        "steps[5].on_failure.goto: 'go' is not after this step",
    ):
        assert expected in problems, (expected, problems)
    assert workspace.workflows() == []


def test_a_template_stands_for_any_type_and_is_checked_for_syntax_only(
    workspace: Workspace,
) -> None:
    save(workspace, step("pause", "wait", **{"with": {"seconds": "{{ input.delay }}"}}))
    with pytest.raises(WorkflowInvalid) as caught:
        save(workspace, step("pause", "wait", **{"with": {"seconds": "{% if %}"}}))
    assert caught.value.problems[0].startswith("steps[0].with.seconds: the template does not")


def test_save_list_show_export_round_trip(workspace: Workspace) -> None:
    document = {
        "name": "Nightly",
        "description": "Members changed since last night",
        "trigger": {"type": "schedule", "input": {"since": "yesterday"}},
        "steps": [
            {
                "id": "shape",
                "action": "select",
                "with": {"columns": {"Since": "{{ input.since }}"}},
                "on_failure": {"goto": "done"},
                "retry": {"attempts": 3, "backoff_seconds": 0.5},
            },
            {"id": "done", "action": "gate", "enabled": False, "on_failure": "ignore"},
        ],
    }
    info, created = workspace.save_workflow(document)
    assert created is True
    assert (info.name, info.trigger_type, info.state) == ("Nightly", "schedule", "active")
    assert info.has_hook is False
    again = workspace.workflow("Nightly")
    assert again.document == info.document
    assert again.document["steps"][0]["with"] == document["steps"][0]["with"]  # type: ignore[index]
    # The export saved again is the same workflow.
    workspace.delete_workflow("Nightly")
    saved, created_again = workspace.save_workflow(again.document)
    assert saved.document == again.document
    assert created_again is True  # deleted first, so new again
    assert workspace.save_workflow(again.document)[1] is False  # now replaced
    assert [w.name for w in workspace.workflows()] == ["Nightly"]
    assert workspace.workflows(state=WorkflowState.DISABLED) == []
    with pytest.raises(NotFound, match="Did you mean 'Nightly'"):
        workspace.workflow("Nightlly")


def test_states_decide_what_may_start_a_workflow(workspace: Workspace) -> None:
    name = save(workspace, step("one"))
    workspace.set_workflow_state(name, WorkflowState.DISABLED)
    assert workspace.workflow(name).document["state"] == "disabled"
    with pytest.raises(Conflict, match="disabled"):
        workspace.start_workflow(name, trigger="schedule")
    assert workspace.start_workflow(name, trigger="manual").status == "queued"
    workspace.set_workflow_state(name, WorkflowState.ARCHIVED)
    with pytest.raises(Conflict, match="archived"):
        workspace.start_workflow(name, trigger="manual")


def test_a_webhook_workflow_has_a_secret_url_that_can_be_regenerated(
    workspace: Workspace,
) -> None:
    name = save(workspace, step("one"), trigger={"type": "webhook"}, name="Hook")
    token = workspace.hook_token(name)
    assert len(token) >= 32  # 24 random bytes: 192 bits
    assert workspace.workflow_by_hook(token).name == name
    save(workspace, step("one"), step("two"), trigger={"type": "webhook"}, name="Hook")
    assert workspace.hook_token(name) == token  # kept when replaced
    new = workspace.regenerate_hook(name)
    assert new != token
    assert workspace.workflow_by_hook(new).name == name
    with pytest.raises(NotFound):
        workspace.workflow_by_hook(token)
    # Only its hash and its sealed form are stored.
    engine = create_engine(workspace.settings.suite_url)
    with engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM workflows"))
    engine.dispose()
    assert new not in dump
    manual = save(workspace, step("one"), name="Manual")
    with pytest.raises(Conflict, match="not started by a webhook"):
        workspace.hook_token(manual)


# ---- flow control ------------------------------------------------------------------------------


def test_quit_failure_is_the_default(workspace: Workspace) -> None:
    name = save(workspace, step("a"), step("b", **{"with": {"fail_times": -1}}), step("c"))
    run = workspace.run_workflow(name)
    assert run.status == "failed"
    assert run.message == "Step 'b' (flaky) failed: attempt 1 failed"
    assert statuses(workspace, run.id) == [("a", "succeeded"), ("b", "failed")]
    # No rows of its own (its counts are zero, and add up); its steps tell what it did.
    assert run.counts == dict.fromkeys(run.counts, 0)
    assert run.steps == {"total": 2, "succeeded": 1, "failed": 1, "skipped": 0}
    assert run.kind == "workflow"


def test_quit_success(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a", **{"with": {"fail_times": -1}, "on_failure": "quit_success"}),
        step("b"),
    )
    run = workspace.run_workflow(name)
    assert run.status == "succeeded"
    assert "Ended as succeeded at step 'a'" in str(run.message)
    assert statuses(workspace, run.id) == [("a", "failed")]


def test_ignore_passes_the_input_on(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a", **{"with": {"fail_times": -1}, "on_failure": "ignore"}),
        step("b"),
    )
    run = workspace.run_workflow(name, {"keep": 1})
    assert run.status == "succeeded"
    assert run.message == "Finished: 2 steps run (1 failed and passed over)."
    steps = workspace.workflow_steps(run.id)
    assert steps[1].input == {"keep": 1}  # the input passed through, as iDMS
    assert steps[0].output == {"attempt": 1}


def test_goto_goes_forward(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a", **{"with": {"fail_times": -1}, "on_failure": {"goto": "d"}}),
        step("b"),
        step("c"),
        step("d"),
    )
    run = workspace.run_workflow(name)
    assert run.status == "succeeded"
    assert statuses(workspace, run.id) == [("a", "failed"), ("d", "succeeded")]


def test_a_disabled_step_is_skipped_per_its_on_failure(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a", enabled=False, on_failure="ignore"),
        step("b", enabled=False, on_failure={"goto": "d"}),
        step("c"),
        step("d"),
        step("e", enabled=False),
        step("f"),
    )
    run = workspace.run_workflow(name)
    assert statuses(workspace, run.id) == [
        ("a", "skipped"),
        ("b", "skipped"),
        ("d", "succeeded"),
        ("e", "skipped"),
    ]
    assert run.status == "failed"  # e: quit_failure, the default
    assert run.message == "Step 'e' is disabled, and its on_failure is quit_failure."
    assert [c[0] for c in CALLS] == ["d"]


def test_retry_then_success(workspace: Workspace) -> None:
    name = save(
        workspace,
        step(
            "a",
            **{"with": {"fail_times": 2}, "retry": {"attempts": 3, "backoff_seconds": 0.05}},
        ),
    )
    started = time.monotonic()
    run = workspace.run_workflow(name)
    assert run.status == "succeeded"
    assert time.monotonic() - started >= 0.15  # 0.05, then 0.1
    (only,) = workspace.workflow_steps(run.id)
    assert (only.status, only.attempts, only.message) == ("succeeded", 3, "done on attempt 3")
    assert CALLS == [("a", 1), ("a", 2), ("a", 3)]


def test_retries_run_out(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a", **{"with": {"fail_times": 5}, "retry": {"attempts": 2, "backoff_seconds": 0}}),
    )
    run = workspace.run_workflow(name)
    assert run.status == "failed"
    assert run.message == "Step 'a' (flaky) failed: attempt 2 failed"


# ---- templates ----------------------------------------------------------------------------------


def test_templates_see_input_trigger_steps_and_now_with_native_values(
    workspace: Workspace,
) -> None:
    name = save(
        workspace,
        step("first"),
        step(
            "shape",
            "select",
            **{
                "with": {
                    "keep_other_properties": True,
                    "columns": {
                        "rows": "{{ trigger.members }}",
                        "count": "{{ trigger.members | size }}",
                        "attempt": "{{ steps.first.attempt }}",
                        "text": "{{ trigger.members | size }} members",
                        "one": "{{ trigger.one | array }}",
                        "none": "{{ input.missing }}",
                        "json": "{{ trigger.members | json }}",
                        "now": "{{ now }}",
                        "plain": "GET",
                    },
                }
            },
        ),
    )
    run = workspace.run_workflow(name, {"members": [{"id": 1}, {"id": 2}], "one": "x"})
    assert run.status == "succeeded", run.message
    out = workspace.workflow_steps(run.id)[1].output
    assert out["rows"] == [{"id": 1}, {"id": 2}]
    assert out["count"] == 2
    assert out["attempt"] == 1
    assert out["text"] == "2 members"
    assert out["one"] == ["x"]
    assert out["none"] is None
    assert out["json"] == '[{"id":1},{"id":2}]'
    assert out["now"].startswith(str(run.started_at.year))
    assert out["plain"] == "GET"
    assert out["first"] == {"attempt": 1}  # kept: keep_other_properties


def test_template_tester(workspace: Workspace) -> None:
    assert workspace.test_template("{{ input.a | upcase }}", {"a": "hi"}) == "HI"
    assert workspace.test_template("{{ input.rows }}", {"rows": [1, 2]}) == [1, 2]
    with pytest.raises(Exception, match="does not parse"):
        workspace.test_template("{{ input.a ", {})


# ---- Gate and Select ---------------------------------------------------------------------------


def gate_run(workspace: Workspace, with_: dict[str, Any], data: dict[str, Any]) -> Any:
    name = save(workspace, step("g", "gate", **{"with": with_}), step("b"), step("c"), name="Gate")
    return workspace.run_workflow(name, data)


@pytest.mark.parametrize(
    ("with_", "data", "status", "ran"),
    [
        ({"mode": "success"}, {}, "succeeded", ["g"]),
        ({"mode": "error", "message": "nothing to do"}, {}, "failed", ["g"]),
        ({"mode": "goto", "step": "c"}, {}, "succeeded", ["g", "c"]),
        (
            {"mode": "success", "when": "{% if input.rows.size == 0 %}true{% endif %}"},
            {"rows": []},
            "succeeded",
            ["g"],
        ),
        (
            {"mode": "error", "when": "{% if input.rows.size == 0 %}true{% endif %}"},
            {"rows": [1]},
            "succeeded",
            ["g", "b", "c"],
        ),
        ({"mode": "error", "when": "{{ input.stop }}"}, {"stop": True}, "failed", ["g"]),
    ],
)
def test_gate(
    workspace: Workspace,
    with_: dict[str, Any],
    data: dict[str, Any],
    status: str,
    ran: list[str],
) -> None:
    run = gate_run(workspace, with_, data)
    assert run.status == status, run.message
    assert [s.step_id for s in workspace.workflow_steps(run.id)] == ran
    assert workspace.workflow_steps(run.id)[0].status == "succeeded"  # a gate never fails


def test_a_gate_goes_forward_only_checked_when_saved(workspace: Workspace) -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        save(
            workspace,
            step("a"),
            step("g", "gate", **{"with": {"mode": "goto", "step": "a"}}),
            step("h", "gate", **{"with": {"mode": "goto", "step": "nowhere"}}),
        )
    assert caught.value.problems == [
        "steps[1].with: 'a' is not after this step (steps go forward only)",
        "steps[2].with: no step 'nowhere' to go to",
    ]


def test_gate_says_why_it_stopped_the_run(workspace: Workspace) -> None:
    run = gate_run(workspace, {"mode": "error", "message": "Zero rows"}, {})
    assert run.message == "Stopped as failed at step 'g': Zero rows"
    assert workspace.workflow_steps(run.id)[0].output == "true"


def select_run(workspace: Workspace, with_: dict[str, Any], data: dict[str, Any]) -> Any:
    name = save(workspace, step("s", "select", **{"with": with_}), name="Select")
    run = workspace.run_workflow(name, data)
    return run, workspace.workflow_steps(run.id)[0]


def test_select_standard_mode_reshapes_the_object(workspace: Workspace) -> None:
    data = {"member": {"Email": "a@example.org", "email": "lower"}, "other": 1}
    run, record = select_run(
        workspace,
        {
            "columns": {
                "Email": "{{ input.member.Email }}",
                "Source": "Web",
                "Contact": {"to": ["{{ input.member.Email }}"], "n": 1},
            }
        },
        data,
    )
    assert run.status == "succeeded"
    assert record.output == {
        "Email": "a@example.org",
        "Source": "Web",
        "Contact": {"to": ["a@example.org"], "n": 1},
    }
    run, record = select_run(
        workspace,
        {"columns": {"Email": "{{ input.member.email }}"}, "keep_other_properties": True},
        data,
    )
    assert record.output == {**data, "Email": "lower"}  # case-sensitive


def test_select_array_mode_reshapes_each_row(workspace: Workspace) -> None:
    rows = [{"ID": "1", "Amount": 250}, {"ID": "2", "Amount": 100}]
    run, record = select_run(
        workspace,
        {
            "mode": "array",
            "array": "{{ input.rows }}",
            "columns": {
                "ImisId": "{{ item.ID }}",
                "Cents": "{{ item.Amount | times: 100 }}",
                "Total": "{{ input.rows | size }}",
                "Src": "Web",
            },
            "iteration_output": "shaped",
        },
        {"rows": rows},
    )
    assert run.status == "succeeded", run.message
    assert record.output == [
        {"ImisId": "1", "Cents": 25000, "Total": 2, "Src": "Web"},
        {"ImisId": "2", "Cents": 10000, "Total": 2, "Src": "Web"},
    ]
    run, record = select_run(
        workspace,
        {
            "mode": "array",
            "array": "{{ input.rows }}",
            "columns": {"X": "{{ item.ID }}"},
            "keep_other_properties": True,
        },
        {"rows": rows},
    )
    assert record.output == [{**rows[0], "X": "1"}, {**rows[1], "X": "2"}]


@pytest.mark.parametrize(
    ("array", "why"),
    [
        ({"a": 1}, "needs an array of rows; it got an object"),
        ([1, 2], "needs an array of objects"),
        ([{"a": 1}, {"b": 1}], "row 2 has ['b'], row 1 has ['a']"),
    ],
)
def test_select_array_mode_fails_unless_rows_of_one_shape(
    workspace: Workspace, array: Any, why: str
) -> None:
    run, record = select_run(
        workspace,
        {"mode": "array", "array": "{{ input.rows }}", "columns": {"X": "{{ item.a }}"}},
        {"rows": array},
    )
    assert run.status == "failed"
    assert record.status == "failed"
    assert why in str(record.message)


# ---- what is shown, rerun, queued runs, cancel -----------------------------------------------


def test_step_data_is_shown_with_secrets_masked_and_never_stored_plain(
    workspace: Workspace,
) -> None:
    secret = "s3cr3t-VALUE-that-must-not-leak"
    with SecretStore(workspace.suite, workspace.box) as store:
        store.set("crm_key", secret)
    name = save(
        workspace,
        step("call", **{"with": {"secret": "crm_key"}}),
        step(
            "after",
            "select",
            **{
                "with": {
                    "keep_other_properties": True,
                    "columns": {"copy": "{{ input.call.echo }}"},
                }
            },
        ),
    )
    run = workspace.run_workflow(
        name, {"password": "hunter2-plain", "headers": {"Authorization": "Basic abc"}}
    )
    assert run.status == "succeeded", run.message
    first, second = workspace.workflow_steps(run.id)
    assert first.input == {"password": "********", "headers": {"Authorization": "********"}}
    assert first.output == {"attempt": 1, "header": "Bearer ********", "echo": "********"}
    assert second.output["copy"] == "********"
    engine = create_engine(workspace.settings.suite_url)
    with engine.connect() as conn:
        stored = "\n".join(str(r) for r in conn.execute(select(WorkflowStep)).all())
        stored += "\n".join(str(r) for r in conn.execute(select(Run.job, Run.message)).all())
    engine.dispose()
    for plain in (secret, "hunter2-plain", "Basic abc"):
        assert plain not in stored


def test_rerun_from_a_step_starts_with_the_data_it_received(workspace: Workspace) -> None:
    name = save(
        workspace,
        step("a"),
        step("b", **{"with": {"fail_times": 1}}),
        step("c"),
    )
    first = workspace.run_workflow(name, {"n": 7})
    assert first.status == "failed"
    # The data manager mends step b, then reruns the run from it: the workflow as saved now.
    save(workspace, step("a"), step("b"), step("c"))
    CALLS.clear()
    again = workspace.rerun_workflow(first.id, from_step="b")
    assert again.status == "queued"
    done = workspace.execute(again.id)
    assert done is not None
    assert done.status == "succeeded"
    steps = workspace.workflow_steps(again.id)
    assert [s.step_id for s in steps] == ["b", "c"]
    assert steps[0].input == {"n": 7, "a": {"attempt": 1}}
    assert [c[0] for c in CALLS] == ["b", "c"]
    with pytest.raises(Exception, match="did not run"):
        workspace.rerun_workflow(first.id, from_step="c")


def test_a_queued_workflow_run_is_executed_by_execute_run(workspace: Workspace) -> None:
    name = save(workspace, step("a"), trigger={"type": "schedule", "input": {"x": 1}})
    queued = workspace.start_workflow(name, trigger="schedule", schedule_id="s1")
    assert (queued.status, queued.kind, queued.trigger) == ("queued", "workflow", "schedule")
    assert queued.schedule_id == "s1"
    report = workspace.execute(queued.id)
    assert report is not None
    assert report.status == "succeeded"
    assert workspace.execute(queued.id) is None  # finished: not run twice
    assert workspace.workflow_steps(queued.id)[0].input == {"x": 1}
    assert [r.id for r in workspace.workflow_runs(name)] == [queued.id]
    assert [r.id for r in workspace.workflow_runs()] == [queued.id]


def test_a_run_is_cancelled_between_steps(workspace: Workspace) -> None:
    name = save(workspace, step("a"), step("pause", "wait", **{"with": {"seconds": 30}}), step("c"))
    queued = workspace.start_workflow(name, trigger="manual")
    worker = threading.Thread(target=workspace.execute, args=(queued.id,))
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if [s.step_id for s in workspace.workflow_steps(queued.id)][-1:] == ["pause"]:
            break
        time.sleep(0.02)
    cancelled = time.monotonic()
    workspace.cancel(queued.id)
    worker.join(timeout=10)
    assert time.monotonic() - cancelled < 5  # the wait stopped waiting
    run = workspace.runs.get(queued.id)
    assert run.status == "cancelled"
    assert run.message == "Cancelled after step 'pause'; the steps after it were not run."
    assert [c[0] for c in CALLS] == ["a"]
    assert statuses(workspace, queued.id) == [("a", "succeeded"), ("pause", "succeeded")]


class Crash(BaseException):
    """The process dying in the middle of a step (nothing catches it)."""


def test_a_resumed_run_still_masks_the_secrets_used_before_it_stopped(
    workspace: Workspace,
) -> None:
    secret = "k-9f8e7d6c5b4a"
    with SecretStore(workspace.suite, workspace.box) as store:
        store.set("crm_key", secret)
    crashed: list[bool] = []

    def crash_once(params: FlakyParams, data: dict[str, Any], context: ActionContext) -> Any:
        if not crashed:
            crashed.append(True)
            raise Crash
        return StepResult(output={"copy": data["call"]["echo"]})

    actions()["crash_once"] = ActionSpec(
        "crash_once", "Crash", "dies once", FlakyParams, crash_once
    )
    try:
        name = save(
            workspace, step("call", **{"with": {"secret": "crm_key"}}), step("copy", "crash_once")
        )
        with pytest.raises(Crash):
            workspace.run_workflow(name)
        (run,) = workspace.workflow_runs(name)
        assert run.status == "running"
        report = workspace.resume(run.id)  # this thread held it: taken up at once
    finally:
        actions().pop("crash_once", None)
    assert report.status == "succeeded"
    first, second = workspace.workflow_steps(run.id)
    assert (first.attempts, second.attempts) == (1, 2)
    assert second.output == {"copy": "********"}
    assert [c[0] for c in CALLS] == ["call"]  # not run again


def test_what_looks_secret_is_masked_and_nothing_else() -> None:
    from idms.workflows.masking import mask

    shown = mask(
        {
            "Password": "x",
            "passed": 3,
            "X-Api-Key": "k",
            "access_token": "t",
            "Set-Cookie": "c",
            "rows": [{"client_secret": "s", "Email": "a@example.org"}],
            "note": "Bearer abc123 sent",
            "empty": None,
        },
        ["abc123"],
    )
    assert shown == {
        "Password": "********",
        "passed": 3,
        "X-Api-Key": "********",
        "access_token": "********",
        "Set-Cookie": "********",
        "rows": [{"client_secret": "********", "Email": "a@example.org"}],
        "note": "Bearer ******** sent",
        "empty": None,
    }


def test_store_and_run_on_each_database(tmp_path: Path, database_url: str) -> None:
    """The same workflow saved, found by its URL, run and shown on SQLite and PostgreSQL."""
    settings = Settings.load(
        workspace=tmp_path / "ws", environ={"IDMS_SUITE_DATABASE": database_url}
    )
    with Workspace.open(settings) as ws:
        name = save(
            ws,
            step("a"),
            step("b", enabled=False, on_failure="ignore"),
            trigger={"type": "webhook"},
            name="Both",
        )
        assert ws.workflow_by_hook(ws.hook_token(name)).name == name
        run = ws.run_workflow(name, {"x": [1, 2]})
        assert run.status == "succeeded"
        assert statuses(ws, run.id) == [("a", "succeeded"), ("b", "skipped")]
        assert ws.workflow_steps(run.id)[0].input == {"x": [1, 2]}
        assert [r.id for r in ws.workflow_runs(name)] == [run.id]
        ws.delete_workflow(name)
        assert [r.id for r in ws.workflow_runs(name)] == [run.id]  # its runs stay
