"""Property: whatever the file and the job, every row read gets exactly one outcome."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idms.demo.generate import fill_demo
from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget

EMAILS = ["a@example.org", "B@example.org", "b@example.org ", "c@example.org", "not-an-email", ""]
LEVELS = ["GLD", "slv", "PLATINUM", ""]
NAMES = ["Ann", "Bo", "", "Zoë"]
counter = itertools.count()


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedTarget, RunStore, Path]]:
    base = tmp_path_factory.mktemp("prop")
    target = EmbeddedTarget(f"sqlite:///{base / 'imis.db'}")
    fill_demo(target.engine, contacts=0, seed=5)
    yield target, RunStore(open_suite(f"sqlite:///{base / 'suite.db'}")), base
    target.close()


rows_strategy = st.lists(
    st.tuples(st.sampled_from(EMAILS), st.sampled_from(NAMES), st.sampled_from(LEVELS)),
    min_size=0,
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows_strategy,
    action=st.sampled_from(["insert", "insert-update", "update", "insert-with-matching"]),
    batch_size=st.integers(min_value=1, max_value=7),
    blank_values=st.sampled_from(["ignore", "clear"]),
    skip_blank=st.booleans(),
    skip_multiple=st.booleans(),
    plan=st.booleans(),
)
def test_outcomes_add_up_to_rows_read(
    world: tuple[EmbeddedTarget, RunStore, Path],
    rows: list[tuple[str, str, str]],
    action: str,
    batch_size: int,
    blank_values: str,
    skip_blank: bool,
    skip_multiple: bool,
    plan: bool,
) -> None:
    target, runs, base = world
    path = base / f"rows{next(counter)}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Email", "First", "Level"])
        writer.writerows(rows)
    match = action != "insert"
    job = build_job(
        {
            "input": str(path),
            "source": "Contact",
            "action": action,
            "mappings": [
                {"field": "Email", "column": "Email", "match": match},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "value": "Property"},
                {"field": "MemberType", "column": "Level"},
            ],
            "options": {
                "batch_size": batch_size,
                "blank_values": blank_values,
                "skip_blank_match_on": skip_blank,
                "skip_update_if_multiple_matches": skip_multiple,
            },
        }
    )
    report = run_job(job, target=target, runs=runs, plan=plan)
    counts = report.counts.as_dict()
    non_blank = [r for r in rows if any(cell.strip() for cell in r)]
    assert counts["rows"] == len(non_blank)
    recorded = list(runs.rows(report.run_id))
    assert len(recorded) == len(non_blank)
    assert sorted(r.row_number for r in recorded) == sorted({r.row_number for r in recorded})
    stored = runs.get(report.run_id)
    assert stored.counts == counts
