"""Property: for any job and store, a plan gives each row the outcome, code, message and diff
the run then gives it, row for row: on the embedded store (SQLite and PostgreSQL) and over REST
(a real sandbox server in front of the embedded store).

Every example works in a namespace of its own (e-mails, descriptions) on one store per
database, so that no example sees another's records: the store is never reset. Each example
seeds its store state, plans the job, checks the plan kept nothing, runs it, and compares.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from test_plan_is_the_run import comparable

from idms.demo.generate import fill_demo
from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.state.store import open_suite
from idms.targets.base import Change, ChangeKind, Target
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget
from pgdb import fresh_database

MANAGER_PASSWORD = "Sandbox-Manager-5"
KEYS = 4  # contacts an example may name; the last never exists
example_numbers = itertools.count()

# Values a row may hold: valid, valid in another case, not a code, blank.
MEMBER_TYPES = ["REG", "gld", "Platinum", ""]
COUNTRIES = ["Canada", "USA", ""]
FIRST = ["Ann", ""]
LAST = ["Lee", "Ng", ""]
PURPOSES = ["Home", "work", "Moon", ""]
CITIES = ["Oslo", "Lima", ""]
ACTIVITY_TYPES = ["WEBINAR", "note", "PARTY", ""]
DESCRIPTIONS = ["d1", "d2"]

ACTIONS = {
    "Contact": ["insert", "update", "insert-update", "insert-with-matching"],
    "Address": ["insert", "update", "insert-update"],
    "Activity": ["insert", "update", "insert-update", "delete"],
}


@dataclass
class World:
    store: EmbeddedTarget
    target: Target
    runs: RunStore
    folder: Path
    rest: bool


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "rest"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"plan-{request.param}")
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(fresh_database("idms_plan"))
        else:
            url = f"sqlite:///{folder / 'imis.db'}"
        store = EmbeddedTarget(url)
        stack.callback(store.close)
        fill_demo(store.engine, contacts=0, seed=2)  # lookup tables, no contacts
        store.refresh()
        suite = open_suite(f"sqlite:///{folder / 'suite.db'}")
        stack.callback(suite.dispose)
        target: Target = store
        if request.param == "rest":
            app = create_app(store, manager_password=MANAGER_PASSWORD)
            url = stack.enter_context(running_sandbox(app))
            client = stack.enter_context(ImisClient(url, "MANAGER", MANAGER_PASSWORD, retries=3))
            target = RestTarget(client, "ems")
        yield World(store, target, RunStore(suite), folder, request.param == "rest")


@st.composite
def examples(draw: st.DrawFn) -> dict[str, Any]:
    source = draw(st.sampled_from(sorted(ACTIONS)))
    action = draw(st.sampled_from(ACTIONS[source]))
    existing = [*draw(st.lists(st.booleans(), min_size=KEYS - 1, max_size=KEYS - 1)), False]
    if source == "Contact":
        stored = [draw(st.sampled_from(["REG", "GLD"])) for _ in range(KEYS)]
        cell = st.tuples(
            st.integers(0, KEYS - 1),
            st.sampled_from(FIRST),
            st.sampled_from(LAST),
            st.sampled_from(MEMBER_TYPES),
            st.sampled_from(COUNTRIES),
        )
    elif source == "Address":
        stored = draw(
            st.sets(st.tuples(st.integers(0, KEYS - 2), st.sampled_from(["Home", "Work"])))
        )
        cell = st.tuples(
            st.integers(0, KEYS - 1),
            st.sampled_from(PURPOSES),
            st.sampled_from(COUNTRIES),
            st.sampled_from(CITIES),
        )
    else:
        stored = draw(
            st.sets(
                st.tuples(st.integers(0, KEYS - 2), st.sampled_from(DESCRIPTIONS), st.booleans())
            )
        )
        cell = st.tuples(
            st.integers(0, KEYS - 1),
            st.sampled_from(DESCRIPTIONS),
            st.sampled_from(ACTIVITY_TYPES),
        )
    return {
        "source": source,
        "action": action,
        "existing": existing,
        "stored": stored,
        "rows": draw(st.lists(cell, min_size=1, max_size=7)),
        "batch_size": draw(st.integers(1, 3)),
    }


def seed_store(world: World, n: int, example: dict[str, Any]) -> list[str]:
    """The example's store state; the iMIS IDs its keys name (the last names no contact)."""
    store = world.store
    ids: list[str] = []
    for i, exists in enumerate(example["existing"]):
        if not exists and example["source"] == "Contact":
            ids.append(f"none{n}x{i}")
            continue
        if i == KEYS - 1:
            ids.append(f"none{n}x{i}")
            continue
        member_type = example["stored"][i] if example["source"] == "Contact" else "REG"
        values = {
            "FirstName": "Old",
            "LastName": f"Key{i}",
            "Email": email(n, i),
            "MemberType": member_type,
        }
        (result,) = store.apply("Contact", [Change(ChangeKind.INSERT, values)])
        assert result.ok, result.error
        assert result.after is not None
        ids.append(result.after["ImisId"])
    changes = []
    if example["source"] == "Address":
        for i, purpose in sorted(example["stored"]):
            if example["existing"][i]:
                values = {"ImisId": ids[i], "AddressPurpose": purpose, "Country": "Canada"}
                changes.append(Change(ChangeKind.INSERT, values))
    if example["source"] == "Activity":
        for i, description, financial in sorted(example["stored"]):
            if example["existing"][i]:
                values = {"ImisId": ids[i], "ActivityType": "NOTE", "Description": description}
                if financial:
                    values["OriginatingTransNum"] = 7
                changes.append(Change(ChangeKind.INSERT, values))
    if changes:
        assert all(r.ok for r in store.apply(example["source"], changes))
    return ids


def email(n: int, i: int) -> str:
    return f"p{n}k{i}@example.org"


def job_for(world: World, n: int, example: dict[str, Any], ids: list[str]) -> Any:
    source, action = example["source"], example["action"]
    match = action != "insert"
    if source == "Contact":
        header = ["Email", "First", "Last", "Type", "Country"]
        rows = [[email(n, k), *rest] for k, *rest in example["rows"]]
        mappings = [
            {"field": "Email", "column": "Email", "match": match},
            {"field": "FirstName", "column": "First"},
            {"field": "LastName", "column": "Last"},
            {"field": "MemberType", "column": "Type"},
            {"field": "Country", "column": "Country"},
        ]
    elif source == "Address":
        header = ["ID", "Purpose", "Country", "City"]
        rows = [[ids[k], *rest] for k, *rest in example["rows"]]
        mappings = [
            {"field": "ImisId", "column": "ID", "match": match},
            {"field": "AddressPurpose", "column": "Purpose", "match": match},
            {"field": "Country", "column": "Country"},
            {"field": "City", "column": "City"},
        ]
    else:
        header = ["ID", "Description", "Type"]
        rows = [[ids[k], *rest] for k, *rest in example["rows"]]
        mappings = [
            {"field": "ImisId", "column": "ID", "match": match},
            {"field": "Description", "column": "Description", "match": match},
            {"field": "ActivityType", "column": "Type"},
        ]
        if action == "delete":
            mappings = mappings[:2]
    path = world.folder / f"rows{n}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return build_job(
        {
            "input": {"file": str(path)},
            "source": source,
            "action": action,
            "mappings": mappings,
            "options": {"batch_size": example["batch_size"]},
        }
    )


def rows_of(world: World, run_id: str, fresh: set[Any]) -> list[tuple[Any, ...]]:
    out = []
    for r in world.runs.rows(run_id):
        images = [comparable(v, rest=world.rest) for v in (r.identity, r.before, r.after)]
        message = r.message
        if world.rest:
            images = [numbered(v, fresh) for v in images]
            message = re.sub(r"\(new \d+\)", "(new)", message or "")
            for number in fresh:
                message = message.replace(f"iMIS ID {number})", "iMIS ID (new))")
        out.append((r.row_number, r.outcome, r.code, message, r.field, *images))
    return out


def numbered(value: Any, fresh: set[Any]) -> Any:
    """The numbers iMIS gave what the run inserted, shown as the plan shows them."""
    if isinstance(value, list):
        return [numbered(v, fresh) for v in value]
    if isinstance(value, dict):
        return {
            k: "(new)" if k in ("ImisId", "Seqn") and v in fresh else numbered(v, fresh)
            for k, v in value.items()
        }
    return value


def state_of(world: World, source: str) -> list[Any]:
    return sorted(repr(sorted(r.items())) for r in world.store.read(source))


@seed(20261202)  # deterministic, for CI
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=examples())
def test_a_plan_gives_every_row_what_the_run_gives_it(
    world: World, example: dict[str, Any]
) -> None:
    n = next(example_numbers)
    ids = seed_store(world, n, example)
    job = job_for(world, n, example, ids)
    source = example["source"]
    before = state_of(world, source), state_of(world, "Contact")
    plan = run_job(job, target=world.target, runs=world.runs, plan=True)
    assert plan.message is None, plan.message
    assert (state_of(world, source), state_of(world, "Contact")) == before  # kept nothing
    run = run_job(job, target=world.target, runs=world.runs)
    assert run.message is None, run.message
    fresh: set[Any] = set()
    if world.rest:  # iMIS numbers what the run inserts; the plan shows "(new N)"
        fresh = {
            v
            for r in world.runs.rows(run.run_id)
            if r.outcome == "inserted" and isinstance(r.identity, dict)
            for v in r.identity.values()
        }
    planned = rows_of(world, plan.run_id, fresh)
    done = rows_of(world, run.run_id, fresh)
    for p, d in zip(planned, done, strict=True):
        assert p == d, f"row {p[0]}: plan {p[1:]} != run {d[1:]}"
    assert plan.counts.as_dict() == run.counts.as_dict()
