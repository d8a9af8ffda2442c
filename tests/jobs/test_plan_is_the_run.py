"""A plan is exactly what the run would do: the same rules, the same messages, the same diffs,
on the embedded store and over REST (through the sandbox), and it keeps nothing."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from idms.cli.app import app as cli_app
from idms.demo.generate import fill_demo
from idms.errors import TerminalTargetError
from idms.jobs.assemble import job_from_file
from idms.jobs.model import Job, build_job
from idms.jobs.runner import run_job
from idms.queries.model import load_query_file
from idms.queries.store import QueryStore
from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.base import ApplyOptions, Change, ChangeKind, Target
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
MANAGER_PASSWORD = "Sandbox-Manager-3"
TIMES = ("CreatedOn", "UpdatedOn")
NEW_ID = re.compile(r"^\(new \d+\)$")


@dataclass
class World:
    store: EmbeddedTarget
    runs: RunStore
    queries: QueryStore
    folder: Path

    @contextmanager
    def target(self, through: str) -> Iterator[Target]:
        """The store itself, or the store served by a sandbox and reached over REST."""
        if through == "embedded":
            yield self.store
            return
        app = create_app(
            self.store, manager_password=MANAGER_PASSWORD, queries=self.queries.find_by_path
        )
        with (
            running_sandbox(app) as url,
            ImisClient(url, "MANAGER", MANAGER_PASSWORD, retries=3) as client,
        ):
            yield RestTarget(client, "ems")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    fill_demo(store.engine, contacts=60, seed=8)
    store.refresh()
    suite = open_suite(f"sqlite:///{tmp_path / 'suite.db'}")
    yield World(store, RunStore(suite), QueryStore(suite), tmp_path)
    store.close()
    suite.dispose()


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def comparable(value: Any, *, rest: bool) -> Any:
    """A recorded image without what differs between any two runs (timestamps) and, over
    REST, the numbers iMIS gives on write (a plan shows them as "(new N)")."""
    if isinstance(value, list):
        return [comparable(v, rest=rest) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in TIMES:
            continue
        if rest and key in ("ImisId", "Seqn") and (item is None or NEW_ID.match(str(item))):
            item = "(new)"
        out[key] = item
    return out


def row_results(runs: RunStore, run_id: str, *, rest: bool) -> list[tuple[Any, ...]]:
    return [
        (
            r.row_number,
            r.outcome,
            r.code,
            r.message,
            r.field,
            comparable(r.identity, rest=rest),
            comparable(r.before, rest=rest),
            comparable(r.after, rest=rest),
        )
        for r in runs.rows(run_id)
    ]


def plan_then_run(world: World, target: Target, job: Job, *, rest: bool) -> tuple[Any, Any]:
    """The job planned, then run on the same store (the plan kept nothing); the rows of each,
    comparable, with the ImisIds the run gave put where the plan shows "(new N)"."""
    state = snapshot(world.store)
    plan = run_job(job, target=target, runs=world.runs, plan=True, queries=world.queries)
    assert plan.message is None, plan.message
    assert snapshot(world.store) == state, "the plan wrote to the store"
    ran = run_job(job, target=target, runs=world.runs, queries=world.queries)
    assert ran.message is None, ran.message
    planned = row_results(world.runs, plan.run_id, rest=rest)
    done = row_results(world.runs, ran.run_id, rest=rest)
    if rest:
        new_ids = {r.identity.get("ImisId") for r in world.runs.rows(ran.run_id) if r.identity}
        old_ids = {r.get("ImisId") for r in state["Contact"]}
        fresh = new_ids - old_ids
        done = [
            tuple(comparable_ids(v, fresh) for v in row) for row in done
        ]  # a contact the run created shows as "(new)", as in the plan
    return planned, done


def comparable_ids(value: Any, fresh: set[Any]) -> Any:
    if isinstance(value, list):
        return [comparable_ids(v, fresh) for v in value]
    if isinstance(value, dict):
        return {
            k: ("(new)" if k == "ImisId" and v in fresh else comparable_ids(v, fresh))
            for k, v in value.items()
        }
    return value


def snapshot(store: EmbeddedTarget) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted(store.read(name), key=repr)
        for name in ("Contact", "Address", "UserCredentials")
    }


# ---- the reproduction ----------------------------------------------------------------


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_a_plan_refuses_what_the_run_refuses_with_the_same_words(
    world: World, through: str
) -> None:
    file = write_csv(
        world.folder / "people.csv",
        ["Email", "First", "Last", "Type", "Country"],
        [
            ["plat@example.org", "Pat", "Plat", "Platinum", ""],
            ["usa@example.org", "Uma", "Sam", "", "USA"],
            ["nolast@example.org", "Nora", "", "", ""],
            ["good@example.org", "Gil", "Good", "gld", "Canada"],
            ["good@example.org", "Gil", "Goode", "", ""],  # the second batch updates the first
        ],
    )
    job = build_job(
        {
            "input": {"file": str(file)},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "MemberType", "column": "Type"},
                {"field": "Country", "column": "Country"},
            ],
            "options": {"batch_size": 2},
        }
    )
    with world.target(through) as target:
        planned, done = plan_then_run(world, target, job, rest=through == "rest")
    assert planned == done
    outcomes = [(row[1], row[2]) for row in planned]
    assert outcomes == [
        ("error", "invalid_code"),
        ("error", "invalid_code"),
        ("error", "required"),
        ("inserted", None),
        ("updated", None),
    ]
    assert planned[0][3] == (
        "Member/Customer Type 'Platinum' is not a code in the MEMBER_TYPE lookup table."
    )
    assert planned[1][3] == "Country 'USA' is not a code in the COUNTRY lookup table."
    assert planned[2][3] == "Last Name is required for a new person."
    inserted = planned[3][7]
    assert (inserted["MemberType"], inserted["Country"]) == ("GLD", "Canada")  # as iMIS keeps it
    assert (planned[4][6], planned[4][7]) == ({"LastName": "Good"}, {"LastName": "Goode"})


@pytest.mark.parametrize("through", ["embedded", "rest"])
def test_the_unlock_plan_shows_each_account_unlocked(world: World, through: str) -> None:
    locked = list(world.store.read("UserCredentials", [Filter("IsLockedOut", Operator.IS_TRUE)]))
    assert locked
    world.queries.save(load_query_file(EXAMPLES / "unlock-locked-out" / "query.yml"))
    job = job_from_file(EXAMPLES / "unlock-locked-out" / "job.yml")
    with world.target(through) as target:
        planned, done = plan_then_run(world, target, job, rest=through == "rest")
    assert planned == done
    assert [row[1] for row in planned] == ["updated"] * len(locked)
    for row in planned:
        assert row[6]["IsLockedOut"] is True
        assert row[7]["IsLockedOut"] is False
        assert row[7]["FailedPasswordAttemptCount"] == 0


def test_what_would_change_lists_only_changes(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    flags = ["-s", "Contact", "-a", "insert-update", "-m", "Email=Email", "--match", "Email"]
    flags += ["-m", "Last=LastName", "-m", "First=FirstName"]
    runner = CliRunner()
    first = write_csv(
        tmp_path / "a.csv",
        ["Email", "First", "Last"],
        [[f"p{i}@example.org", "P", f"L{i}"] for i in range(3)],
    )
    assert runner.invoke(cli_app, ["import", str(first), *flags]).exit_code == 0
    rows = [[f"p{i}@example.org", "P", f"L{i}"] for i in range(3)]  # unchanged
    rows += [["", "Blank", "Email"]] * 25  # skipped: blank match value
    rows += [["p0@example.org", "P", "Changed"]]  # the one change
    second = write_csv(tmp_path / "b.csv", ["Email", "First", "Last"], rows)
    result = runner.invoke(cli_app, ["import", str(second), *flags, "--plan"])
    assert result.exit_code == 0, result.output
    assert "What would change" in result.stdout
    assert "the first 20" not in result.stdout
    assert "LastName: L0 → Changed" in result.stdout
    assert "Skipped: the match value" not in result.stdout


def test_a_plan_over_rest_says_what_only_imis_checks_on_write(world: World) -> None:
    """What a REST client cannot read before writing (a group's roles; a lookup table iMIS
    does not list) is said on the planned row, never passed over in silence."""
    contact = next(iter(world.store.read("Contact", limit=1)))
    group = sorted(world.store.lookup_codes("GROUP"))[0]
    file = write_csv(world.folder / "members.csv", ["ID", "Group"], [[contact["ImisId"], group]])
    job = build_job(
        {
            "input": {"file": str(file)},
            "source": "GroupMember",
            "action": "insert",
            "mappings": [
                {"field": "ImisId", "column": "ID"},
                {"field": "GroupName", "column": "Group"},
            ],
        }
    )
    with world.target("rest") as target:
        plan = run_job(job, target=target, runs=world.runs, plan=True)
    (row,) = list(world.runs.rows(plan.run_id))
    assert row.outcome == "inserted"
    assert row.message is not None
    assert row.message.startswith("Planned, but not fully checked:")
    assert "iMIS checks the group's roles only when the run writes." in row.message


def test_a_rehearsal_is_seen_only_by_the_plan_and_keeps_nothing(world: World) -> None:
    """The plan's own thread sees what it planned; another reader is not blocked and sees
    the store as it is; leaving the rehearsal forgets everything; a real write is refused."""
    store = world.store
    wanted = [{"Email": "rehearsed@example.org"}]
    values = {"FirstName": "Re", "LastName": "Hearsed", "Email": "rehearsed@example.org"}
    with store.rehearse():
        (result,) = store.apply(
            "Contact", [Change(ChangeKind.INSERT, values)], ApplyOptions(dry_run=True)
        )
        assert result.ok
        assert len(store.match("Contact", ["Email"], wanted)[0]) == 1
        with ThreadPoolExecutor(1) as other:
            assert other.submit(store.match, "Contact", ["Email"], wanted).result() == [[]]
        with pytest.raises(TerminalTargetError):
            store.apply("Contact", [Change(ChangeKind.INSERT, values)])
    assert store.match("Contact", ["Email"], wanted) == [[]]
