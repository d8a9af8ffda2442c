"""The shipped test doubles: MockTarget answers through a handler, FaultyTarget injects faults."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.errors import (
    ConfigError,
    RetryableTargetError,
    TerminalTargetError,
    UnknownSourceError,
)
from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.sources.catalog import BUILTIN_SOURCES
from idms.sources.registry import resolve_source
from idms.state.store import open_suite
from idms.targets.base import (
    ApplyOptions,
    ApplyResult,
    BatchJournal,
    Change,
    ChangeKind,
    Queryable,
    Readable,
    Record,
    Target,
    capability,
    require,
)
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.testing import Apply, Describe, FaultyTarget, Match, MockTarget, TargetCall

STORED = {"ada@example.org": {"ImisId": "101", "Email": "ada@example.org", "FirstName": "Ada"}}


def handler(call: TargetCall) -> Any:
    match call:
        case Describe(source=name):
            return resolve_source(name, BUILTIN_SOURCES)
        case Match(criteria=rows):
            return [[STORED[r["Email"]]] if r["Email"] in STORED else [] for r in rows]
        case Apply(changes=changes):
            return [
                ApplyResult(c.ref, True, after={"ImisId": str(200 + c.ref), **c.values})
                for c in changes
            ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedTarget]:
    with EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}") as target:
        yield target


def people(n: int, start: int = 0) -> list[Change]:
    return [
        Change(ChangeKind.INSERT, {"FirstName": f"P{i}", "LastName": "Doe"}, ref=i)
        for i in range(start, start + n)
    ]


# ---- MockTarget -------------------------------------------------------------------------------


def test_a_mock_target_answers_through_its_handler_and_keeps_every_call() -> None:
    with MockTarget(handler, platform="2017") as target:
        assert isinstance(target, Target)
        assert target.platform == "2017"
        assert target.describe("contact").name == "Contact"
        found = target.match("Contact", ["Email"], [{"Email": "ada@example.org"}, {"Email": "x"}])
        assert found == [[STORED["ada@example.org"]], []]
        (result,) = target.apply("Contact", people(1))
        assert (result.ok, result.after) == (True, {"ImisId": "200", **people(1)[0].values})
    assert target.closed
    assert target.calls == [
        Describe("contact"),
        Match("Contact", ("Email",), ({"Email": "ada@example.org"}, {"Email": "x"})),
        Apply("Contact", tuple(people(1)), ApplyOptions()),
    ]


def test_a_mock_target_passes_on_the_errors_its_handler_raises() -> None:
    target = MockTarget(handler)
    with pytest.raises(UnknownSourceError):
        target.describe("NoSuchSource")


@pytest.mark.parametrize(
    ("answer", "call"),
    [
        ([], lambda t: t.match("Contact", ["Email"], [{"Email": "a"}])),
        ([ApplyResult(0, True)], lambda t: t.apply("Contact", people(2))),
        (["ok"], lambda t: t.apply("Contact", people(1))),
        ("Contact", lambda t: t.describe("Contact")),
    ],
)
def test_a_mock_target_refuses_an_answer_of_the_wrong_shape(answer: Any, call: Any) -> None:
    with pytest.raises(ValueError, match="handler answered"):
        call(MockTarget(lambda _: answer))


def test_a_mock_target_has_the_core_only() -> None:
    target = MockTarget(handler)
    assert capability(target, Readable) is None
    assert capability(target, BatchJournal) is None
    with pytest.raises(ConfigError) as info:
        require(target, Queryable, "run saved queries")
    assert info.value.message == (
        "This target (MockTarget) cannot run saved queries: it has no sources or query."
    )


def test_a_job_runs_against_a_mock_target(tmp_path: Path) -> None:
    """The whole engine on a handler: the row that matches is updated, the other inserted."""
    data = tmp_path / "people.csv"
    data.write_text(
        "Email,First,Last\nada@example.org,Augusta,King\ngrace@example.org,Grace,Hopper\n"
    )
    job = build_job(
        {
            "name": "people",
            "input": {"file": str(data)},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
            ],
        }
    )
    writes: list[Change] = []

    def recording(call: TargetCall) -> Any:
        if not isinstance(call, Apply):
            return handler(call)
        writes.extend(call.changes)
        ada = STORED["ada@example.org"]
        return [
            ApplyResult(c.ref, True, before=ada, after={**ada, **c.values})
            if c.kind is ChangeKind.UPDATE
            else ApplyResult(c.ref, True, after={"ImisId": "200", **c.values})
            for c in call.changes
        ]

    runs = RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
    report = run_job(job, target=MockTarget(recording), runs=runs)
    counts = report.counts.as_dict()
    assert (counts["inserted"], counts["updated"], counts["errors"]) == (1, 1, 0)
    assert [(w.kind, w.values.get("FirstName")) for w in writes] == [
        (ChangeKind.UPDATE, "Augusta"),
        (ChangeKind.INSERT, "Grace"),
    ]
    assert writes[0].identity == {"ImisId": "101"}


# ---- FaultyTarget: errors and latency ---------------------------------------------------------


def test_faults_fail_the_calls_named_and_nothing_of_them_is_written(
    store: EmbeddedTarget,
) -> None:
    faulty = FaultyTarget(store, fail_calls={2}, methods=("apply",))
    assert all(r.ok for r in faulty.apply("Contact", people(2)))
    with pytest.raises(RetryableTargetError, match="Injected fault: call 2 \\(apply\\)"):
        faulty.apply("Contact", people(3, start=2))
    assert all(r.ok for r in faulty.apply("Contact", people(1, start=5)))
    assert faulty.calls["apply"] == 3
    assert faulty.faults == 1
    assert sorted(r["FirstName"] for r in store.read("Contact")) == ["P0", "P1", "P5"]


def test_a_terminal_or_a_given_error() -> None:
    terminal = FaultyTarget(MockTarget(handler), error="terminal", fail_calls={1})
    with pytest.raises(TerminalTargetError):
        terminal.match("Contact", ["Email"], [{"Email": "x"}])
    disk = TerminalTargetError("The embedded store failed: disk on fire")
    given = FaultyTarget(MockTarget(handler), error=disk, fail_calls={1, 2})
    for _ in range(2):
        with pytest.raises(TerminalTargetError) as info:
            given.apply("Contact", people(1))
        assert info.value is disk
    with pytest.raises(ValueError, match="'retryable', 'terminal' or an IdmsError"):
        FaultyTarget(MockTarget(handler), error="sometimes")  # type: ignore[arg-type]


def test_a_seeded_rate_fails_the_same_calls_every_time() -> None:
    def failures(seed: int) -> list[int]:
        faulty = FaultyTarget(MockTarget(handler), fail_rate=0.3, seed=seed)
        failed = []
        for number in range(1, 201):
            try:
                faulty.match("Contact", ["Email"], [{"Email": "x"}])
            except RetryableTargetError:
                failed.append(number)
        assert faulty.faults == len(failed)
        return failed

    first = failures(7)
    assert first == failures(7)
    assert first != failures(8)
    assert 30 <= len(first) <= 90  # about 60 of 200


def test_faults_apply_to_the_methods_named_only(store: EmbeddedTarget) -> None:
    faulty = FaultyTarget(store, fail_rate=1.0, methods=("read",))
    assert faulty.describe("Contact").name == "Contact"
    assert all(r.ok for r in faulty.apply("Contact", people(1)))
    with pytest.raises(RetryableTargetError):
        list(faulty.read("Contact"))
    assert faulty.calls == {"describe": 1, "apply": 1, "read": 1}


def test_latency_is_added_to_each_faulted_call() -> None:
    faulty = FaultyTarget(MockTarget(handler), latency=0.05, methods=("match",))
    start = time.monotonic()
    for _ in range(3):
        faulty.match("Contact", ["Email"], [{"Email": "x"}])
    assert time.monotonic() - start >= 0.15
    start = time.monotonic()
    faulty.describe("Contact")
    assert time.monotonic() - start < 0.05


def test_a_faulty_target_offers_what_it_wraps(store: EmbeddedTarget) -> None:
    faulty = FaultyTarget(store)
    assert isinstance(faulty, Target)
    assert faulty.platform == store.platform
    journal = capability(faulty, BatchJournal)
    assert journal is not None
    assert journal.applied_batch("no-such-batch") is None
    assert require(faulty, Readable, "read records") is faulty
    assert capability(FaultyTarget(MockTarget(handler)), BatchJournal) is None
    with pytest.raises(AttributeError):
        faulty.no_such_method  # noqa: B018
    mock = MockTarget(handler)
    with FaultyTarget(mock):
        pass
    assert mock.closed


# ---- FaultyTarget: a crash right after an apply -----------------------------------------------

CRASH = """
import sys
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.testing import FaultyTarget

target = FaultyTarget(EmbeddedTarget(sys.argv[1]), crash_after_apply=2)
for batch in range(3):
    changes = [
        Change(ChangeKind.INSERT, {"FirstName": f"B{batch}-{i}", "LastName": "Doe"}, ref=i)
        for i in range(2)
    ]
    target.apply("Contact", changes)
    print(f"recorded {batch}", flush=True)
"""


def test_crash_after_apply_kills_the_process_once_the_batch_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'imis.db'}"
    EmbeddedTarget(url).close()  # the store's tables, created before the clock starts
    script = textwrap.dedent(CRASH)
    done = subprocess.run(
        [sys.executable, "-c", script, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split("\n") == ["recorded 0", ""]  # killed before recording batch 1
    with EmbeddedTarget(url) as store:
        names: list[Record] = list(store.read("Contact"))
    assert sorted(r["FirstName"] for r in names) == ["B0-0", "B0-1", "B1-0", "B1-1"]
