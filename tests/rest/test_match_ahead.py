"""A REST run matches its next batch while it writes the current one (``jobs/ahead.py``).

What it must not change is what a row finds: a row keyed as a row of the batch being written
(whose insert, update or delete it must see), or as a record that batch wrote, is matched again
once that batch is written; the others take what the match ahead found. The outcomes are those
of the same run on the embedded store, which never matches ahead.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from idms.jobs.ahead import AheadMatch
from idms.jobs.model import build_job
from idms.jobs.rows import WorkRow
from idms.jobs.runner import _with_next, run_job
from idms.runs.record import RunStore
from idms.state.store import open_suite
from idms.targets.base import ApplyResult, Change, ChangeKind, Record
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.carried import Carried
from idms.targets.imis.target import RestTarget
from idms.targets.imis.throttle import AdaptiveLimit

from .conftest import Serve
from .test_writes import setup

NewStore = Callable[[str], EmbeddedTarget]


def people(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Email", "First", "Last", "Title"])
        for email, title in rows:
            w.writerow([email, "F", "L", title])
    return path


def job(file: Path, action: str = "insert-update") -> Any:
    return build_job(
        {
            "input": {"file": str(file)},
            "source": "Contact",
            "action": action,
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "Title", "column": "Title"},
            ],
            "options": {"batch_size": 3},
        }
    )


class Spying:
    """The REST target, noting the criteria of each ``match`` and ``match_ahead``."""

    def __init__(self, target: RestTarget) -> None:
        self.target = target
        self.matched: list[list[str]] = []
        self.ahead: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        self.matched.append([c["Email"] for c in criteria])
        return self.target.match(source, fields, criteria)

    def match_ahead(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        self.ahead.append([c["Email"] for c in criteria])
        return self.target.match_ahead(source, fields, criteria)


def outcomes(target: Any, file: Path, suite: Path, action: str = "insert-update") -> list[Any]:
    runs = RunStore(open_suite(f"sqlite:///{suite}"))
    try:
        report = run_job(job(file, action), target=target, runs=runs, target_label="t")
        return [(r.row_number, r.outcome, r.message) for r in runs.rows(report.run_id)]
    finally:
        runs.engine.dispose()


def person(email: str) -> dict[str, str]:
    return {"Email": email, "FirstName": "F", "LastName": "L"}


def titles(store: EmbeddedTarget) -> dict[str, str]:
    return {str(r["Email"]).casefold(): r["Title"] for r in store.read("Contact") if r["Email"]}


def test_a_later_batch_sees_what_the_batch_before_it_wrote(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    _, rest, _, store = setup(new_store, serve)
    existing = ["old1@example.org", "old2@example.org"]
    for email in existing:
        store.apply(
            "Contact",
            [Change(ChangeKind.INSERT, person(email))],
        )
    rows = [
        ("a@example.org", "1"), ("old1@example.org", "1"), ("b@example.org", "1"),  # batch 1
        ("A@EXAMPLE.ORG ", "2"), ("c@example.org", "2"), ("old2@example.org", "2"),  # batch 2
        ("Old1@example.org", "3"), ("old2@example.org", "3"), ("d@example.org", "3"),  # 3
        ("c@example.org", "4"), ("e@example.org", "4"), ("a@example.org", "4"),  # batch 4
    ]  # fmt: skip
    file = people(tmp_path / "in.csv", rows)
    # the same run on the embedded store, which matches every batch when it is decided
    local = new_store("local")
    for email in existing:
        local.apply(
            "Contact",
            [Change(ChangeKind.INSERT, person(email))],
        )
    expected = outcomes(local, file, tmp_path / "suite-local.db")

    spying = Spying(rest)
    got = outcomes(spying, file, tmp_path / "suite.db")
    assert [(n, o) for n, o, _ in got] == [(n, o) for n, o, _ in expected]
    assert [o for _, o, _ in got] == [
        *("inserted", "updated", "inserted"),
        *("updated", "inserted", "updated"),
        *("updated", "updated", "inserted"),
        *("updated", "inserted", "updated"),
    ]
    assert titles(store) == titles(local)
    # batch 1 matched when decided; each later batch matched ahead, while the one before it
    # was written, but for its rows keyed as that batch's rows, matched again after its writes
    assert spying.ahead == [
        ["c@example.org", "old2@example.org"],
        ["Old1@example.org", "d@example.org"],
        ["c@example.org", "e@example.org", "a@example.org"],
    ]
    assert spying.matched == [
        ["a@example.org", "old1@example.org", "b@example.org"],
        ["A@EXAMPLE.ORG"],
        ["old2@example.org"],
    ]


def test_a_delete_is_seen_by_the_batch_after_it(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    _, rest, _, store = setup(new_store, serve)
    for email in ("x@example.org", "y@example.org"):
        store.apply(
            "Contact",
            [Change(ChangeKind.INSERT, person(email))],
        )
    rows = [("x@example.org", "1"), ("n1@example.org", "1"), ("n2@example.org", "1"),
            ("X@example.org", "2"), ("y@example.org", "2")]  # fmt: skip
    file = people(tmp_path / "in.csv", rows)
    spying = Spying(rest)
    # Contacts cannot be deleted: an update run fails its rows of no match instead, and a row
    # of the next batch keyed as one of them is matched again all the same
    got = outcomes(spying, file, tmp_path / "suite.db", action="update")
    assert [o for _, o, _ in got] == ["updated", "error", "error", "updated", "updated"], got
    assert spying.ahead == [["y@example.org"]]
    assert spying.matched[-1] == ["X@example.org"]


class Fixed:
    """A target whose match ahead answers ``found`` (after ``wait`` is set)."""

    def __init__(self, found: list[list[Record]]) -> None:
        self.found = found
        self.wait = threading.Event()
        self.wait.set()
        self.asked: list[Any] = []

    def match_ahead(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        self.wait.wait(5)
        return self.found

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        self.asked.append([c["Email"] for c in criteria])
        return [[{"Email": c["Email"], "Id": "fresh"}] for c in criteria]


def work_rows(emails: list[str]) -> list[WorkRow]:
    return [WorkRow(i, {}, {"Email": e}) for i, e in enumerate(emails, 1)]


def test_a_row_keyed_as_a_record_the_batch_before_wrote_is_matched_again() -> None:
    rows = work_rows(["p@example.org", "q@example.org", "r@example.org"])
    fixed = Fixed([[{"Email": "p@example.org", "Id": "ahead"}], []])
    ahead = AheadMatch(
        fixed, "Contact", ["Email"], [], rows, rows, {("r@example.org",)}, skip_blank=False
    )
    # the batch being written changed a record to Q@example.org (its key, as a row keys it)
    ahead.wrote([ApplyResult(0, True, before={"Email": "z@example.org"},
                             after={"Email": " Q@example.org"})])  # fmt: skip
    target = ahead.target(fixed)  # type: ignore[arg-type]
    criteria = [{"Email": r.values["Email"]} for r in rows]
    found = target.match("Contact", ["Email"], criteria)
    assert [[r["Id"] for r in f] for f in found] == [["ahead"], ["fresh"], ["fresh"]]
    assert fixed.asked == [["q@example.org", "r@example.org"]]


def test_a_failed_match_ahead_is_made_again() -> None:
    class Failing(Fixed):
        def match_ahead(self, *args: Any) -> list[list[Record]]:
            raise RuntimeError("gone")

    rows = work_rows(["p@example.org"])
    failing = Failing([])
    ahead = AheadMatch(failing, "Contact", ["Email"], [], rows, rows, set(), skip_blank=False)
    found = ahead.target(failing).match("Contact", ["Email"], [{"Email": "p@example.org"}])  # type: ignore[arg-type]
    assert [[r["Id"] for r in f] for f in found] == [["fresh"]]


def test_a_failure_reading_the_next_batch_comes_after_this_one() -> None:
    def batches() -> Iterator[list[Any]]:
        yield [1]
        yield [2]
        raise ValueError("unreadable")

    seen: list[Any] = []
    pairs = _with_next(batches())
    seen.append(next(pairs))
    seen.append(next(pairs))
    with pytest.raises(ValueError, match="unreadable"):
        next(pairs)
    assert seen == [([1], [2]), ([2], None)]
    assert list(_with_next(iter([]))) == []


def test_places_go_to_calls_in_the_order_they_asked() -> None:
    limit = AdaptiveLimit(1)
    order: list[str] = []
    held = limit.slot()
    held.__enter__()
    started = threading.Event()

    def waiter() -> None:
        started.set()
        with limit.slot():
            order.append("waiter")

    thread = threading.Thread(target=waiter)
    thread.start()
    started.wait(5)
    deadline = time.monotonic() + 5
    while not limit._queued and time.monotonic() < deadline:
        time.sleep(0.001)
    held.__exit__(None, None, None)
    with limit.slot():  # asked after the waiter: it goes second
        order.append("later")
    thread.join(5)
    assert order == ["waiter", "later"]
    assert limit.in_flight == 0


def test_the_objects_of_two_matches_are_carried() -> None:
    source = _contact()
    carried = Carried()
    carried.keep(source, [({"ImisId": "1"}, "one-a"), ({"ImisId": "2"}, "two")])
    carried.keep(source, [({"ImisId": "1"}, "one-b"), ({"ImisId": "3"}, "three")])
    assert carried.take(source, {"ImisId": "2"}) == "two"  # the older match's
    assert carried.take(source, {"ImisId": "1"}) == "one-b"  # the newer one first ...
    assert carried.take(source, {"ImisId": "1"}) is None  # ... and once, from both
    carried.keep(source, [({"ImisId": "4"}, "four")])  # a third: the first goes
    assert carried.take(source, {"ImisId": "3"}) == "three"
    carried.keep(source, [])
    assert carried.take(source, {"ImisId": "4"}) == "four"


def _contact() -> Any:
    from idms.sources.model import SourceDef

    class Source:
        name = "Contact"
        identity = ("ImisId",)

    source: SourceDef = Source()  # type: ignore[assignment]
    return source


def test_the_first_batch_is_matched_ahead_behind_its_head(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    _, rest, _, store = setup(new_store, serve)
    local = new_store("local")
    for email in ("m3@example.org", "m20@example.org"):
        for where in (store, local):
            where.apply("Contact", [Change(ChangeKind.INSERT, person(email))])
    # one batch of 80 rows (one segment): the first 10 are matched, then written while the 70
    # others are matched; what each row finds is what it finds on the embedded store
    rows = [(f"m{i}@example.org", "T") for i in range(80)]
    file = people(tmp_path / "in.csv", rows)
    big = job(file).model_copy(update={"options": job(file).options.model_copy(
        update={"batch_size": 100, "stop_after_errors": 1})})  # fmt: skip

    def run(target: Any, suite: str) -> list[Any]:
        runs = RunStore(open_suite(f"sqlite:///{tmp_path / suite}"))
        try:
            report = run_job(big, target=target, runs=runs, target_label="t")
            return [(r.row_number, r.outcome) for r in runs.rows(report.run_id)]
        finally:
            runs.engine.dispose()

    expected = run(local, "suite-local.db")
    spying = Spying(rest)
    assert run(spying, "suite.db") == expected
    assert [o for _, o in expected].count("updated") == 2
    assert spying.matched == [[f"m{i}@example.org" for i in range(10)]]  # an eighth of 80
    assert spying.ahead == [[f"m{i}@example.org" for i in range(10, 80)]]
    assert titles(store) == titles(local)


def test_an_error_in_the_head_stops_the_run_where_it_stopped_before(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    _, rest, _, store = setup(new_store, serve)
    local = new_store("local")
    for i in range(1, 80):
        for where in (store, local):
            where.apply("Contact", [Change(ChangeKind.INSERT, person(f"u{i}@example.org"))])
    # an update run stopping after one error: the first row matches nothing (an error), the
    # batch's other rows are written all the same (the head is no segment of its own), and
    # the next batch is not processed
    rows = [(f"u{i}@example.org", "T") for i in range(100)]
    file = people(tmp_path / "in.csv", rows)
    base = job(file, "update")
    options = base.options.model_copy(update={"batch_size": 80, "stop_after_errors": 1})
    stopping = base.model_copy(update={"options": options})

    def run(target: Any, suite: str) -> list[Any]:
        runs = RunStore(open_suite(f"sqlite:///{tmp_path / suite}"))
        try:
            report = run_job(stopping, target=target, runs=runs, target_label="t")
            return [(r.row_number, r.outcome, r.code) for r in runs.rows(report.run_id)]
        finally:
            runs.engine.dispose()

    expected = run(local, "suite-local.db")
    assert run(rest, "suite.db") == expected
    outcomes_seen = [o for _, o, _ in expected]
    assert outcomes_seen[:80] == ["error"] + ["updated"] * 79
    assert set(outcomes_seen[80:]) == {"skipped"}
    assert titles(store) == titles(local)
