"""Test doubles for the Target protocol, shipped with the package (like httpx's ``MockTransport``).

* :class:`MockTarget` answers ``describe``, ``match`` and ``apply`` through one handler function:
  an engine test states what the target holds and says, with no store behind it.
* :class:`FaultyTarget` wraps any target and injects faults by knobs: errors (retryable or
  terminal, on given calls or with a seeded probability), latency, and a crash of the whole
  process right after an apply (what a durable run must survive).

A handler for :class:`MockTarget` receives one of :class:`Describe`, :class:`Match` or
:class:`Apply` and returns what the target method returns (a ``SourceDef``, one list of records
per criteria row, one ``ApplyResult`` per change), or raises an ``IdmsError`` as a target would::

    from idms.sources.catalog import BUILTIN_SOURCES
    from idms.sources.registry import resolve_source
    from idms.targets.base import ApplyResult
    from idms.targets.testing import Apply, Describe, Match, MockTarget

    stored = {"ada@example.org": {"ImisId": "101", "Email": "ada@example.org"}}

    def handler(call):
        match call:
            case Describe(source=name):
                return resolve_source(name, BUILTIN_SOURCES)
            case Match(criteria=rows):
                return [[stored[r["Email"]]] if r["Email"] in stored else [] for r in rows]
            case Apply(changes=changes):
                return [ApplyResult(c.ref, True, after=c.values) for c in changes]

    with MockTarget(handler) as target:
        report = run_job(job, target=target, runs=runs)
    assert [type(call).__name__ for call in target.calls] == ["Describe", "Match", "Apply"]
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, ParamSpec, Self, TypeVar

from idms.errors import IdmsError, RetryableTargetError, TerminalTargetError
from idms.sources.model import SourceDef
from idms.targets.base import ApplyOptions, ApplyResult, Change, Record, Target

P = ParamSpec("P")
R = TypeVar("R")

# ---- MockTarget ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Describe:
    """``describe(source)`` asked of a :class:`MockTarget`."""

    source: str


@dataclass(frozen=True)
class Match:
    """``match(source, fields, criteria)`` asked of a :class:`MockTarget`."""

    source: str
    fields: tuple[str, ...]
    criteria: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Apply:
    """``apply(source, changes, options)`` asked of a :class:`MockTarget`."""

    source: str
    changes: tuple[Change, ...]
    options: ApplyOptions


TargetCall = Describe | Match | Apply
Handler = Callable[[TargetCall], SourceDef | list[list[Record]] | list[ApplyResult]]


class MockTarget:
    """A target whose every answer comes from ``handler`` (see the module docstring).

    Every call is kept, in order, in :attr:`calls`. An answer of the wrong shape (not one list
    per criteria row, not one result per change) is a bug in the test: it raises ValueError.
    It has the core only: no reads, queries or batch journal.
    """

    def __init__(self, handler: Handler, *, platform: str = "ems") -> None:
        self.handler = handler
        self._platform = platform
        self.calls: list[TargetCall] = []
        self.closed = False

    @property
    def platform(self) -> str:
        return self._platform

    def describe(self, source: str) -> SourceDef:
        answer = self._ask(Describe(source))
        if not isinstance(answer, SourceDef):
            raise ValueError(f"The handler answered describe('{source}') with {answer!r}.")
        return answer

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        answer = self._ask(Match(source, tuple(fields), tuple(criteria)))
        if not isinstance(answer, list) or len(answer) != len(criteria):
            raise ValueError(
                f"The handler answered match on {source} with {answer!r}: it must be a list of "
                f"{len(criteria)} lists of records, one per criteria row."
            )
        return [list(found) for found in answer]

    def apply(
        self, source: str, changes: Sequence[Change], options: ApplyOptions = ApplyOptions()
    ) -> list[ApplyResult]:
        answer = self._ask(Apply(source, tuple(changes), options))
        if (
            not isinstance(answer, list)
            or len(answer) != len(changes)
            or not all(isinstance(r, ApplyResult) for r in answer)
        ):
            raise ValueError(
                f"The handler answered apply on {source} with {answer!r}: it must be a list of "
                f"{len(changes)} ApplyResults, one per change."
            )
        return list(answer)

    def _ask(self, call: TargetCall) -> Any:
        self.calls.append(call)
        return self.handler(call)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---- FaultyTarget ----------------------------------------------------------------------------


class FaultyTarget:
    """``inner`` with faults injected, for tests of retries, recovery and crashes.

    The knobs (all off by default):

    * ``error``: what a faulted call raises: ``"retryable"`` (a RetryableTargetError, the
      default), ``"terminal"`` (a TerminalTargetError), or any ``IdmsError`` given;
    * ``fail_calls``: which calls fail, by number (1 = the first) among the calls of
      ``methods``, counted together;
    * ``fail_rate`` and ``seed``: or each such call fails with this probability, drawn from a
      generator seeded with ``seed``, so that a seed always fails the same calls;
    * ``methods``: the calls the faults and the latency apply to: ``match`` and ``apply`` unless
      told, or any other method of ``inner`` (``describe``, ``read``, ``query``...);
    * ``latency``: seconds slept before each of those calls;
    * ``crash_after_apply``: the process kills itself (SIGKILL, no clean-up) right after the
      N-th ``apply`` returned (inside an ``exclusive`` scope, once the scope has committed it),
      before its caller can record anything: the window in which a durable run's batch is
      written but not known to be.
    * ``crash_before_commit``: the process kills itself right after the N-th ``apply`` returned
      inside an ``exclusive`` scope, before the scope commits: the batch was staged and
      decided, and nothing of it is written.

    A faulted call raises before it reaches ``inner``, so nothing of it is written. Everything
    else goes to ``inner`` unchanged, its optional capabilities included: ``capability`` and
    ``require`` (targets/base.py) see what ``inner`` offers. :attr:`calls` counts the calls by
    method; :attr:`faults` the calls made to fail.
    """

    def __init__(
        self,
        inner: Target,
        *,
        error: Literal["retryable", "terminal"] | IdmsError = "retryable",
        fail_calls: Collection[int] = (),
        fail_rate: float = 0.0,
        seed: int | None = None,
        methods: Collection[str] = ("match", "apply"),
        latency: float = 0.0,
        crash_after_apply: int | None = None,
        crash_before_commit: int | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate is a probability, not {fail_rate}.")
        if not isinstance(error, IdmsError) and error not in ("retryable", "terminal"):
            raise ValueError(f"error is 'retryable', 'terminal' or an IdmsError, not {error!r}.")
        self.inner = inner
        self.error = error
        self.fail_calls = frozenset(fail_calls)
        self.fail_rate = fail_rate
        self.methods = frozenset(methods)
        self.latency = latency
        self.crash_after_apply = crash_after_apply
        self.crash_before_commit = crash_before_commit
        self.calls: Counter[str] = Counter()
        self.faults = 0
        self._random = random.Random(seed)  # nosec B311 # repeatable faults, not a secret
        self._faulted_calls = 0
        self._applied = 0
        self._lock = threading.Lock()
        self._scope = threading.local()  # whether this thread is inside an exclusive scope

    def __repr__(self) -> str:
        return f"FaultyTarget({self.inner!r})"

    # ---- the core, through the faults ----------------------------------------------------------

    @property
    def platform(self) -> str:
        return self.inner.platform

    def describe(self, source: str) -> SourceDef:
        return self._call("describe", self.inner.describe, source)

    def match(
        self, source: str, fields: Sequence[str], criteria: Sequence[Mapping[str, Any]]
    ) -> list[list[Record]]:
        return self._call("match", self.inner.match, source, fields, criteria)

    def apply(
        self, source: str, changes: Sequence[Change], options: ApplyOptions = ApplyOptions()
    ) -> list[ApplyResult]:
        results = self._call("apply", self.inner.apply, source, changes, options)
        with self._lock:
            self._applied += 1
            applied = self._applied
        if not getattr(self._scope, "open", False):  # else once the scope has committed
            self._crash_if_due()
        elif self.crash_before_commit is not None and applied >= self.crash_before_commit:
            os.kill(os.getpid(), signal.SIGKILL)
        return results

    @property
    def exclusive(self) -> Callable[[str], AbstractContextManager[None]] | None:
        """``inner``'s :class:`~idms.targets.base.Exclusive` scope (None when it has none)."""
        inner: Callable[[str], AbstractContextManager[None]] | None
        inner = getattr(self.inner, "exclusive", None)
        if inner is None:
            return None

        @contextmanager
        def held(source: str) -> Iterator[None]:
            assert inner is not None
            with inner(source):
                self._scope.open = True
                try:
                    yield
                finally:
                    self._scope.open = False
            self._crash_if_due()

        return held

    def _crash_if_due(self) -> None:
        with self._lock:
            crash = self.crash_after_apply is not None and self._applied >= self.crash_after_apply
        if crash:
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- everything else: forwarded --------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "inner":  # not set yet, or asked by copy/pickle
            raise AttributeError(name)
        found = getattr(self.inner, name)
        if name in self.methods and callable(found):

            def faulty(*args: Any, **kwargs: Any) -> Any:
                return self._call(name, found, *args, **kwargs)

            return faulty
        return found

    def _call(self, method: str, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if method not in self.methods:
            self.calls[method] += 1
            return call(*args, **kwargs)
        with self._lock:
            self.calls[method] += 1
            self._faulted_calls += 1
            number = self._faulted_calls
            fail = number in self.fail_calls or (
                self.fail_rate > 0 and self._random.random() < self.fail_rate
            )
            if fail:
                self.faults += 1
        if self.latency:
            time.sleep(self.latency)
        if fail:
            raise self._error(method, number)
        return call(*args, **kwargs)

    def _error(self, method: str, number: int) -> IdmsError:
        if isinstance(self.error, IdmsError):
            return self.error.with_traceback(None)
        what = f"Injected fault: call {number} ({method}) failed."
        if self.error == "terminal":
            return TerminalTargetError(what)
        return RetryableTargetError(what)
