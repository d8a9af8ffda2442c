"""Delta hashing's memory (``idms.workflows.hashes``) on each suite database, and Delta Hashing
over big inputs: a row set read a row at a time, the rows passed on given as a row set beyond a
thousand, the fingerprints waiting in a file of the run until the run succeeds (then streamed
into the store and the file removed), and what a person sees of it through the facade (View
Hashing Info). Real workspaces, real runs through the runner; no fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from idms.config import Settings
from idms.errors import InvalidInputError, NotFound
from idms.runs.status import RunStatus
from idms.state.models import Workflow
from idms.workflow_services import WorkspaceServices
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext, StepFailed
from idms.workflows.actions.delta_hashing import (
    PENDING,
    PENDING_SUFFIX,
    commit_pending,
    public_output,
)
from idms.workflows.actions.rowsets import INLINE_ROWS, is_row_set, iter_rows, write_row_set
from idms.workflows.hashes import (
    HASH_CHUNK,
    MAX_LIMIT,
    HashOwner,
    HashTable,
    clear_hashes,
    delete_hash,
    hashing_info,
)
from idms.workspace import Workspace

WF = "wf0000000000000000000000000042"
BIG = INLINE_ROWS + 500  # past an array: a row set


def members(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"ID": str(1000 + i), "Email": f"m{i}@example.org", "Dues": 100 + i % 7}
        for i in range(start, start + n)
    ]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    with ws.suite.begin() as conn:
        conn.execute(insert(Workflow).values(id=WF, name="n", trigger_type="manual", document="{}"))
    yield ws
    ws.close()


def context(services: WorkspaceServices, run_id: str = "run1") -> ActionContext:
    return ActionContext(
        services=services,
        workflow_id=WF,
        workflow="n",
        run_id=run_id,
        step_id="changed",
        attempt=1,
        files=services.run_files(run_id),
        render=lambda text, extra: text,
    )


def delta(ctx: ActionContext, given: Any, **more: Any) -> dict[str, Any]:
    spec = actions()["delta_hashing"]
    params = spec.params.model_validate({"key_column": "ID", "input": given, **more})
    output = spec.run(params, {}, ctx).output
    assert isinstance(output, dict)
    return output


# ---- Delta Hashing over a row set ---------------------------------------------------------------


def test_a_row_set_in_a_row_set_out_and_the_fingerprints_in_a_file_until_committed(
    workspace: Workspace,
) -> None:
    services = WorkspaceServices(workspace)
    ctx = context(services)
    rows = members(BIG)
    given = write_row_set(rows, ctx, "members")
    first = delta(ctx, given)
    assert is_row_set(first["rows"]), "more rows than an array holds: a row set"
    assert first["rows"]["count"] == first["count"] == first["total"] == BIG
    assert list(iter_rows(first["rows"], ctx)) == rows
    reference = first[PENDING]
    assert set(reference) == {"$pending", "run_id", "count"}, "only a reference in the output"
    assert reference["count"] == BIG
    pending = ctx.files / reference["$pending"]
    assert pending.name == f"changed{PENDING_SUFFIX}"
    lines = [json.loads(line) for line in pending.read_text().splitlines()]
    assert [len(line) for line in lines] == [HASH_CHUNK] * (BIG // HASH_CHUNK) + [BIG % HASH_CHUNK]
    assert PENDING not in public_output(first)
    store = services.hashes(WF, "changed")
    assert store.count() == 0, "nothing stored before the run succeeds"

    assert commit_pending(services, WF, {"changed": first}) == BIG
    assert store.count() == BIG
    assert not pending.exists(), "the pending file is removed once committed"
    assert commit_pending(services, WF, {"changed": first}) == 0, "committed once only"

    later = [dict(r) for r in rows]
    later[5]["Email"] = "new@example.org"
    later[1400]["Dues"] = 1
    second = delta(ctx, write_row_set(later + members(1, start=BIG), ctx, "members"))
    assert [r["ID"] for r in second["rows"]] == ["1005", "2400", str(1000 + BIG)]
    assert second["total"] == BIG + 1
    assert second[PENDING]["count"] == 3
    assert commit_pending(services, WF, {"changed": second}) == 3
    assert delta(ctx, later)["rows"] == [], "the same rows again, from an array: none changed"


def test_keys_gone_are_read_from_the_store_a_chunk_at_a_time_and_forgotten_on_commit(
    workspace: Workspace,
) -> None:
    services = WorkspaceServices(workspace)
    ctx = context(services)
    rows = members(HASH_CHUNK + 10)
    commit_pending(services, WF, {"changed": delta(ctx, rows)})
    out = delta(ctx, rows[7:], removed_keys=True)
    assert out["removed_keys"] == [r["ID"] for r in rows[:7]]
    assert out["rows"] == []
    assert commit_pending(services, WF, {"changed": out}) == 7
    assert services.hashes(WF, "changed").count() == HASH_CHUNK + 3


def test_a_step_that_stops_half_way_leaves_no_pending_file_and_says_where(
    workspace: Workspace,
) -> None:
    services = WorkspaceServices(workspace)
    ctx = context(services)
    rows = members(BIG)
    rows[1300] = {**rows[1300], "ID": rows[12]["ID"]}
    with pytest.raises(StepFailed, match=r"'1012' of column 'ID' is on rows 13 and 1301"):
        delta(ctx, write_row_set(rows, ctx, "members"))
    assert not list(ctx.files.glob("*pending*")), "no pending file, not even a partial one"
    del rows[1300]["ID"]
    with pytest.raises(StepFailed, match=r"Row 1301 has no value in the key column 'ID'"):
        delta(ctx, rows)
    with pytest.raises(StepFailed, match=r"this run has no rows named 'gone\.jsonl'"):
        delta(ctx, {"$rows": "gone.jsonl", "count": 3})
    assert services.hashes(WF, "changed").count() == 0


def test_a_forged_pending_reference_is_refused(workspace: Workspace) -> None:
    services = WorkspaceServices(workspace)
    for reference in (
        {"$pending": "../../suite.db", "run_id": "run1", "count": 1},
        {"$pending": "x.pending-hashes.jsonl", "run_id": "../..", "count": 1},
        {"$pending": "suite.db", "run_id": "run1", "count": 1},
    ):
        with pytest.raises((StepFailed, InvalidInputError)):
            commit_pending(services, WF, {"changed": {PENDING: reference}})


# ---- through the runner -------------------------------------------------------------------------


def two_steps() -> dict[str, Any]:
    """Delta Hashing of the trigger's rows, then of the first step's rows (a row set when
    there are many), then a gate that fails the run when asked to."""
    return {
        "name": "Nightly",
        "steps": [
            {
                "id": "changed",
                "action": "delta_hashing",
                "with": {"key_column": "ID", "input": "{{ input.rows }}"},
            },
            {
                "id": "again",
                "action": "delta_hashing",
                "with": {"key_column": "ID", "input": "{{ steps.changed.rows }}"},
            },
            {
                "id": "send",
                "action": "gate",
                "with": {"mode": "error", "when": "{% if input.fail %}true{% endif %}"},
            },
        ],
    }


def pending_files(workspace: Workspace, run_id: str) -> list[str]:
    return sorted(p.name for p in (workspace.runs_folder / run_id / "files").glob("*pending*"))


def test_a_failed_run_stores_nothing_and_a_succeeded_one_commits_and_removes_the_files(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(two_steps())
    rows = members(BIG)
    failed = workspace.run_workflow("Nightly", {"rows": rows, "fail": True})
    assert failed.status == RunStatus.FAILED
    assert workspace.workflow_hashes("Nightly").count == 0
    assert pending_files(workspace, failed.id) == [
        f"again{PENDING_SUFFIX}",
        f"changed{PENDING_SUFFIX}",
    ], "left with the failed run, never committed"

    done = workspace.run_workflow("Nightly", {"rows": rows})
    assert done.status == RunStatus.SUCCEEDED, done.message
    info = workspace.workflow_hashes("Nightly")
    assert [(s.step, s.count) for s in info.steps] == [("again", BIG), ("changed", BIG)]
    assert info.count == 2 * BIG
    assert pending_files(workspace, done.id) == []
    steps = {s.step_id: s for s in workspace.workflow_steps(done.id)}
    assert steps["again"].output["total"] == BIG, "the second step read the first's row set"
    assert PENDING not in steps["changed"].output

    rows[3] = {**rows[3], "Email": "changed@example.org"}
    later = workspace.run_workflow("Nightly", {"rows": rows})
    steps = {s.step_id: s for s in workspace.workflow_steps(later.id)}
    assert [r["ID"] for r in steps["changed"].output["rows"]] == ["1003"]
    assert [r["ID"] for r in steps["again"].output["rows"]] == ["1003"]


# ---- the store, on each suite database ----------------------------------------------------------


def test_the_store_counts_pages_and_forgets_on_each_database(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings.load(
        workspace=tmp_path / "hs", environ={"IDMS_SUITE_DATABASE": database_url}
    )
    with Workspace.open(settings) as ws:
        with ws.suite.begin() as conn:
            conn.execute(
                insert(Workflow).values(id=WF, name="n", trigger_type="manual", document="{}")
            )
        engine, owner = ws.suite, HashOwner("workflow", "n", WF, ())
        known_b, known_c = (HashOwner("workflow", "n", WF, (step,)) for step in "bc")
        a, b = HashTable(engine, WF, "a"), HashTable(engine, WF, "b")
        n = HASH_CHUNK + 3
        done = a.put_chunks(
            [{f"k{i:05d}": f"{i:064x}" for i in range(start, min(n, start + 1000))}
             for start in range(0, n, 1000)]
        )  # fmt: skip
        assert done == n
        b.put_many({"k00001": "b" * 64, "x": "c" * 64})
        assert a.count() == n
        assert list(a.iter_keys()) == [f"k{i:05d}" for i in range(n)]  # past one chunk
        entry = a.get("k00002")
        assert entry is not None
        assert entry.hash == f"{2:064x}"
        assert entry.updated_at.tzinfo is not None
        assert a.get("absent") is None
        assert [e.key for e in a.items(limit=2, offset=n - 1)] == [f"k{n - 1:05d}"]
        assert a.put_chunks([{"k00000": None, "k00001": "d" * 64}]) == 2  # forgotten, replaced
        assert a.get("k00000") is None
        assert a.get_many(["k00001"]) == {"k00001": "d" * 64}

        info = hashing_info(engine, owner, limit=3, offset=n - 2)
        assert info.count == n - 1 + 2
        assert [(s.step, s.count) for s in info.steps] == [("a", n - 1), ("b", 2)]
        assert [(e.step, e.key) for e in info.keys] == [
            ("a", f"k{n - 1:05d}"),
            ("b", "k00001"),
            ("b", "x"),
        ], "one listing across the steps, in step and key order"
        assert info.more is False
        assert hashing_info(engine, owner, limit=1).more is True
        one = hashing_info(engine, owner, key="k00001")
        assert {(e.step, e.hash) for e in one.keys} == {("a", "d" * 64), ("b", "b" * 64)}
        only_b = hashing_info(engine, owner, step="b", key="k00001")
        assert [e.step for e in only_b.keys] == ["b"]

        with pytest.raises(NotFound, match="No hash is kept for key 'nope'"):
            hashing_info(engine, owner, key="nope")
        with pytest.raises(
            NotFound, match=r"no step 'c' that keeps hashes \(its steps that do: 'a', 'b'\)"
        ):
            hashing_info(engine, owner, step="c")
        assert hashing_info(engine, known_c, step="c").count == 0
        with pytest.raises(InvalidInputError, match="at most"):
            hashing_info(engine, owner, limit=MAX_LIMIT + 1)

        assert delete_hash(engine, owner, "k00001") == 2, "in every step keeping it"
        with pytest.raises(NotFound):
            delete_hash(engine, owner, "k00001", step="a")
        assert delete_hash(engine, owner, "x", step="b") == 1
        with pytest.raises(NotFound, match="no step 'b'"):  # keeps nothing now, and not known
            clear_hashes(engine, owner, step="b")
        assert clear_hashes(engine, known_b, step="b") == 0
        assert clear_hashes(engine, owner) == n - 2
        assert hashing_info(engine, owner).steps == []


def test_the_facade_names_the_workflow_and_its_hashing_steps(workspace: Workspace) -> None:
    workspace.save_workflow(two_steps())
    with pytest.raises(NotFound, match="Nightly"):
        workspace.workflow_hashes("Nightley")
    with pytest.raises(NotFound, match=r"'chnged'.*'changed', 'again'.*Did you mean 'changed'"):
        workspace.workflow_hashes("Nightly", step="chnged")
    empty = workspace.workflow_hashes("Nightly", step="changed")
    assert (empty.count, empty.keys, empty.steps) == (0, [], [])
    assert workspace.clear_workflow_hashes("Nightly") == 0
    with pytest.raises(NotFound, match="key '7'"):
        workspace.delete_workflow_hash("Nightly", "7", step="again")
