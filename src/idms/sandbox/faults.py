"""Fault injection: answer a share of API calls with 429 or 5xx, decided before handling.

``FaultPlan.parse("429=0.1,500=0.05")`` answers about 10 % of calls with 429 (``Retry-After: 1``)
and 5 % with 500. The draw is made before the request is handled, so a faulted write never
happens and a client's retry never repeats one. A seed makes the sequence of draws repeatable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from idms.errors import InvalidInputError
from idms.sandbox.http import SERVER_ERROR, ApiError
from idms.targets.imis import wire

MESSAGES = {
    429: "Too many requests. Try again later.",
    500: SERVER_ERROR,
    502: "Bad gateway.",
    503: "The service is unavailable. Try again later.",
    504: "Gateway timeout.",
}


@dataclass
class FaultPlan:
    """Status codes with the share of calls that get them (shares add up to at most 1)."""

    rates: tuple[tuple[int, float], ...] = ()
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # nosec B311 # repeatable faults, not a secret

    @classmethod
    def parse(cls, text: str, *, seed: int | None = None) -> FaultPlan:
        """``STATUS=SHARE[,STATUS=SHARE...]``, e.g. ``429=0.1,500=0.05``; '' means none."""
        rates: list[tuple[int, float]] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            status_text, sep, share_text = part.partition("=")
            try:
                status = int(status_text.strip())
                share = float(share_text.strip())
            except ValueError:
                status, share = 0, -1.0
            if not sep or not 400 <= status <= 599 or not 0.0 <= share <= 1.0:
                raise InvalidInputError(
                    f"Bad fault '{part}': write STATUS=SHARE with a 4xx or 5xx status and a "
                    "share between 0 and 1, e.g. 429=0.1,500=0.05."
                )
            rates.append((status, share))
        if sum(share for _, share in rates) > 1.0 + 1e-9:
            raise InvalidInputError(f"The fault shares in '{text}' add up to more than 1.")
        return cls(tuple(rates), seed)

    def describe(self) -> str:
        return ", ".join(f"{status} for {share:.0%}" for status, share in self.rates) or "none"

    def draw(self) -> int | None:
        """The status to answer this call with, or None to handle it."""
        if not self.rates:
            return None
        with self._lock:
            roll = self._random.random()
        bound = 0.0
        for status, share in self.rates:
            bound += share
            if roll < bound:
                return status
        return None


def fault_error(status: int) -> ApiError:
    """The answer to a faulted call (429 carries ``Retry-After: 1``)."""
    headers = {"Retry-After": "1"} if status in (429, 503) else {}
    message = MESSAGES.get(status, "The request failed (injected fault).")
    return ApiError(status, wire.http_error(message), headers)
