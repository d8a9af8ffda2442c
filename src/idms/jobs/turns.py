"""Which runs take turns: the one rule, for job runs and undos alike.

A run that writes to a target that can hold each batch exclusive (:class:`Exclusive`, the
embedded store) needs no turn: its batches are atomic with respect to every other writer. A run
that writes to one that cannot (iMIS over REST) takes the turn of its source on its target
before its first batch (:class:`~idms.runs.serial.SourceTurn`); a plan writes nothing and takes
none.
"""

from __future__ import annotations

from idms.runs.durable import DEFAULT_LEASE_SECONDS, worker_name
from idms.runs.record import RunStore
from idms.runs.serial import SourceTurn
from idms.targets.base import Exclusive, Target, capability


def turn_for(
    target: Target,
    runs: RunStore,
    run_id: str,
    source: str,
    *,
    owner: str | None = None,
    seconds: float = DEFAULT_LEASE_SECONDS,
) -> SourceTurn | None:
    """The turn run ``run_id`` must take before it writes ``source`` on ``target`` (the target
    as the run records it), or None when ``target`` holds batches exclusive itself."""
    if capability(target, Exclusive) is not None:
        return None
    return SourceTurn(
        runs.engine,
        target=runs.get(run_id).target,
        source=source,
        run_id=run_id,
        owner=owner or worker_name(),
        seconds=seconds,
    )
