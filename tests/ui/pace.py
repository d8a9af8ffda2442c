"""The issue's bound on rendering a page, measured so that a busy machine does not fail it.

A page is asked for up to three times and the fastest answer counts: a page that is slow every
time still fails, a moment's load does not (CI runs the suite on two cores beside the browsers;
one answer there once took 366 ms for a page that takes 66 ms on a quiet machine). Every page
timed here is a GET, so asking again changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

SLOWEST_PAGE = 0.3  # seconds (the bound on rendering a page)
TRIES = 3


def fastest(measure: Callable[[], float]) -> float:
    """The shortest of up to TRIES measurements, stopping at the first within the bound."""
    best = measure()
    for _ in range(TRIES - 1):
        if best < SLOWEST_PAGE:
            break
        best = min(best, measure())
    return best


def timed_get(client: Any, url: str, **params: str) -> tuple[float, Any]:
    """(fastest time, last answer) of GET url, as `fastest` measures it."""
    answers: list[Any] = []

    def once() -> float:
        started = time.perf_counter()
        answers.append(client.get(url, params=params or None))
        return time.perf_counter() - started

    took = fastest(once)
    return took, answers[-1]
