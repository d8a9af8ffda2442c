"""The stored objects a match read, carried to the batch's writes: no second GET before a PUT.

An update over REST sends iMIS the whole stored object, modified (``PUT /api/Party/{id}``).
Matching a batch already read those objects whole, so the write takes the one its match read
instead of reading it again (``GET /api/Party/{id}``): one call per updated row, not two.

What the re-read gave, and what stands in for it. iMIS offers no conditional write (no ETag or
If-Match; ``UpdateInformation.UpdatedOn`` is stamped by the server, never checked on a PUT), so
neither way can refuse a write to a record someone changed meanwhile: the row's values were
always decided on what the match read, and the re-read only narrowed the window in which a
change made by someone else to the *other* fields of the object could be written over, from a
batch's time to one round trip. Other idms runs never race a run there (runs writing one source
of an iMIS take turns, ``runs/serial.py``). A carried object is taken only while it is younger
than :data:`FRESH_SECONDS`, the writes of a batch of a thousand updates at 20 a second; an
older one (a batch whose writes were held up, retried or throttled) is read again, as before.
A record deleted meanwhile still fails its row with ``not_found``: the PUT answers 404. Each
object is taken once: a second change naming the same record (two rows, or a retried batch)
reads it again.

A run may match its next batch while it writes the current one (``MatchAhead``, see
:mod:`idms.jobs.ahead`): so the objects of the two latest matches of a source are held, the
newest taken first, and a third match lets the oldest go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.values.folding import fold_value

# How long a matched object may be written from without reading it again, in seconds.
FRESH_SECONDS = 60.0
# The matches of a source whose objects are held: a batch being written, and the next one.
GENERATIONS = 2


class Carried:
    """The objects the latest matches of each source read, by identity, for one write each."""

    def __init__(
        self, fresh_seconds: float = FRESH_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fresh_seconds = fresh_seconds
        self.clock = clock
        self._lock = threading.Lock()
        # Per source, the objects of its latest matches, oldest first.
        self._objects: dict[str, list[dict[tuple[Any, ...], tuple[float, Any, Record]]]] = {}
        self.taken = 0  # writes that needed no GET

    def keep(self, source: SourceDef, found: Sequence[tuple[Mapping[str, Any], Any]]) -> None:
        """What one match of ``source`` read (records and their objects); it lets go of what
        the match before the latest kept, so at most two batches' objects are held per source."""
        now = self.clock()
        objects = {}
        for record, obj in found:
            key = _key(source, record)
            if key is not None and obj is not None:
                objects[key] = (now, obj, dict(record))
        with self._lock:
            held = self._objects.setdefault(source.name, [])
            held.append(objects)
            del held[:-GENERATIONS]

    def take(self, source: SourceDef, identity: Mapping[str, Any]) -> Any | None:
        """The object a recent match read for ``identity`` (once), or None: read it."""
        read = self.take_read(source, identity)
        return None if read is None else read[0]

    def take_read(
        self, source: SourceDef, identity: Mapping[str, Any]
    ) -> tuple[Any, Record] | None:
        """The object a recent match read for ``identity`` and the record the match made of
        it (a copy, kept when the match read it: the write need not decode the object again),
        once; or None: read it."""
        key = _key(source, identity)
        if key is None:
            return None
        with self._lock:
            entry = None
            for objects in self._objects.get(source.name, ()):  # once: gone from every match
                entry = objects.pop(key, None) or entry  # the newest match's, if several
            if entry is None or self.clock() - entry[0] > self.fresh_seconds:
                return None
            self.taken += 1
            return entry[1], entry[2]

    def forget(self) -> None:
        with self._lock:
            self._objects.clear()


def _key(source: SourceDef, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    key = tuple(fold_value(values.get(k)) for k in source.identity)
    return None if not key or any(v in (None, "") for v in key) else key
