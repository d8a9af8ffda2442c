"""When a schedule fires: cron expressions (and presets) read in an IANA time zone, correctly
across daylight-saving changes, and one-time moments. Every instant leaves here in UTC.

A cron expression describes wall-clock times in the schedule's zone; croniter walks those wall
times (naive, so its arithmetic is plain calendar arithmetic) and each one is then placed on the
time line with :mod:`zoneinfo`. Twice a year a wall time does not map to exactly one instant:

* **Spring gap** (e.g. 02:00-03:00 on the spring-forward day in America/New_York): a time in the
  gap does not exist. A cron with fixed hours (``30 2 * * *``) fires once, at the first instant
  after the gap (03:00 local, the moment the clocks jump). A cron whose hour field is ``*`` or
  ``*/N`` (hourly, every 15 minutes...) follows elapsed time instead: 02:30 is read as 03:30,
  one hour after 01:30, which is also its own next slot, so it fires once and never twice.
* **Autumn repeat** (01:00-02:00 occurs twice): a cron with fixed hours fires once, at the first
  occurrence. A cron whose hour field is ``*`` or ``*/N`` fires at both, as they are an hour
  apart: an hourly schedule runs every hour of that 25-hour day.

This is the rule of Vixie cron (fixed-time jobs once, wildcard jobs by the clock), with the gap
resolved to its end rather than skipped, so a daily job never misses a day.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter

from idms.errors import InvalidInputError, suggest

PRESETS = {
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 0",
    "monthly": "0 0 1 * *",
    "yearly": "0 0 1 1 *",
    "annually": "0 0 1 1 *",
}
"""Names accepted where a cron expression is (also as ``@daily``): midnight, Sunday, the 1st."""

FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31 or L for the last day"),
    ("month", "1-12 or JAN-DEC"),
    ("day of week", "0-6 (Sunday is 0 or 7) or SUN-SAT"),
)

DEFAULT_ZONE = "UTC"

# Daylight-saving changes move the clock by an hour (two at most, anywhere, these days): wall
# times further apart than this from a change are placed on the time line without looking.
_MARGIN = timedelta(hours=3)

CRON_HELP = (
    "Write five fields, minute hour day-of-month month day-of-week, e.g. '30 9 * * 1-5' "
    "(09:30 on weekdays), or a preset: hourly, daily, weekly, monthly."
)


@dataclass(frozen=True)
class Cron:
    """A validated cron expression: ``text`` as stored (a preset as ``@daily``), ``expression``
    its five fields."""

    text: str
    expression: str

    @property
    def every_hour(self) -> bool:
        """Whether the hour field is ``*`` or ``*/N``: then the schedule follows elapsed time
        across daylight-saving changes (see the module's docstring)."""
        return self.expression.split()[1].startswith("*")

    @property
    def preset(self) -> str | None:
        return self.text[1:] if self.text.startswith("@") else None


def parse_cron(text: str) -> Cron:
    """A cron expression or preset, checked; :class:`InvalidInputError` saying what is wrong."""
    given = " ".join(str(text).split())
    if not given:
        raise InvalidInputError(f"The cron expression is empty. {CRON_HELP}")
    name = given.lower().removeprefix("@")
    if name in PRESETS:
        return Cron(f"@{name}", PRESETS[name])
    if given.startswith("@"):
        close = suggest(name, PRESETS)
        hint = f" Did you mean '{close}'?" if close else ""
        raise InvalidInputError(
            f"'{given}' is not a preset.{hint} The presets are {', '.join(PRESETS)}."
        )
    fields = given.split(" ")
    if len(fields) != 5:
        extra = " (seconds and years are not supported)" if len(fields) in (6, 7) else ""
        raise InvalidInputError(
            f"'{given}' is not a cron expression: it has {len(fields)} "
            f"field{'s' if len(fields) != 1 else ''}, not 5{extra}. {CRON_HELP}"
        )
    try:
        _croniter(given)
    except CroniterError:
        raise InvalidInputError(_explain(given, fields)) from None
    cron = Cron(given, given)
    try:
        _wall_next(cron.expression, datetime(2000, 1, 1))
    except CroniterBadDateError:
        raise InvalidInputError(
            f"'{given}' never fires (no date matches it, e.g. February 30). {CRON_HELP}"
        ) from None
    return cron


def _explain(given: str, fields: list[str]) -> str:
    """Which field croniter refused, found by trying each one alone."""
    for index, (field, allowed) in enumerate(FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        try:
            _croniter(" ".join(probe))
        except CroniterError:
            return (
                f"'{given}' is not a valid cron expression: the {field} field "
                f"'{fields[index]}' is wrong (allowed: {allowed}; lists 1,15, ranges 1-5 "
                f"and steps */10 work too). {CRON_HELP}"
            )
    return f"'{given}' is not a valid cron expression. {CRON_HELP}"


def parse_zone(name: str | None) -> ZoneInfo:
    """An IANA time zone by name (default UTC); an unknown one is refused with close names."""
    name = (name or DEFAULT_ZONE).strip()
    if name.upper() in ("UTC", "Z"):
        name = "UTC"
    zones = _zones()
    if name not in zones:
        folded = {z.casefold(): z for z in zones}
        if name.casefold() in folded:
            name = folded[name.casefold()]
        else:
            close = _close_zones(name, zones)
            hint = f" Did you mean {' or '.join(repr(z) for z in close)}?" if close else ""
            raise InvalidInputError(
                f"Unknown time zone '{name}'.{hint} Give an IANA name such as "
                "'America/New_York', 'Europe/London' or 'UTC'."
            )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # listed but unreadable: a broken tzdata
        raise InvalidInputError(f"The time zone '{name}' cannot be loaded.") from None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _close_zones(name: str, zones: frozenset[str]) -> list[str]:
    from difflib import get_close_matches

    by_folded = {z.casefold(): z for z in zones}
    wanted = name.casefold().replace(" ", "_")
    found = get_close_matches(wanted, list(by_folded), n=3, cutoff=0.6)
    # 'New York' or 'london': match the city part too.
    cities = {z.rsplit("/", 1)[-1].casefold(): z for z in zones}
    found += [cities[c] for c in get_close_matches(wanted, list(cities), n=2, cutoff=0.75)]
    return list(dict.fromkeys(by_folded.get(f, f) for f in found))[:3]


def parse_at(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 moment (``2026-12-01T09:00``; a time without an offset is in ``zone``), in
    UTC. A wall time that does not exist in the zone (the spring gap) is refused."""
    given = str(text).strip()
    try:
        moment = datetime.fromisoformat(given.replace(" ", "T", 1) if " " in given else given)
    except ValueError:
        raise InvalidInputError(
            f"'{given}' is not an ISO 8601 date and time: write e.g. 2026-12-01T09:00 "
            "(in the schedule's time zone) or 2026-12-01T14:00Z."
        ) from None
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    instants = _instants(moment, zone, every_hour=True)
    if _kind(moment, zone) == "gap":
        raise InvalidInputError(
            f"{given} does not exist in {zone.key}: the clocks go forward over it. "
            "Give a time after the change, or one with its UTC offset."
        )
    return instants[0]  # the first of two in the autumn repeat


# ---- next fire times -------------------------------------------------------------------------


def next_fire(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after ``after`` (aware) at which ``cron`` fires, in UTC."""
    after = after.astimezone(UTC)
    wall = after.astimezone(zone).replace(tzinfo=None)
    if _steady(zone, after):
        slot = _wall_next(cron.expression, wall)
        if _kind(slot, zone) == "regular":
            return slot.replace(tzinfo=zone).astimezone(UTC)
    # Near a daylight-saving change (or the next slot is in one): look at every slot around,
    # as a slot before ``after`` on the wall can come after it on the time line.
    best: datetime | None = None
    slot = wall - _MARGIN
    while True:
        slot = _wall_next(cron.expression, slot)
        for instant in _instants(slot, zone, every_hour=cron.every_hour):
            if instant > after and (best is None or instant < best):
                best = instant
        if best is not None and slot > best.astimezone(zone).replace(tzinfo=None) + _MARGIN:
            return best


@lru_cache(maxsize=16_384)
def next_fire_cached(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime:
    """:func:`next_fire`, remembered: schedules due together mostly share their crons."""
    return next_fire(cron, zone, after)


def fire_times(cron: Cron, zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``after``, in UTC."""
    times: list[datetime] = []
    moment = after
    for _ in range(count):
        moment = next_fire(cron, zone, moment)
        times.append(moment)
    return times


def _steady(zone: ZoneInfo, moment: datetime) -> bool:
    """No offset change within the margin either side of ``moment``."""
    offset = moment.astimezone(zone).utcoffset()
    return (moment - _MARGIN).astimezone(zone).utcoffset() == offset and (
        moment + _MARGIN
    ).astimezone(zone).utcoffset() == offset


def _kind(wall: datetime, zone: ZoneInfo) -> str:
    """``regular``, ``gap`` (the wall time does not exist) or ``fold`` (it exists twice)."""
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None
    assert second is not None
    if first == second:
        return "regular"
    return "fold" if first > second else "gap"


def _instants(wall: datetime, zone: ZoneInfo, *, every_hour: bool) -> list[datetime]:
    """The instants (UTC) at which a slot at wall time ``wall`` fires (module docstring)."""
    kind = _kind(wall, zone)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if kind == "regular":
        return [first]
    if kind == "fold":
        second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        return [first, second] if every_hour else [first]
    # In the gap, fold=0 reads the wall time with the offset from before the change: the
    # instant one gap-length later on the new clock (02:30 -> 03:30). That is the elapsed-time
    # reading; fixed-hour crons fire at the change itself (03:00).
    return [first] if every_hour else [_gap_end(wall, zone)]


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jumped over ``wall`` (a wall time in a spring gap), in UTC."""
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # read with the new offset
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # read with the old offset
    old = before.astimezone(zone).utcoffset()
    low, high = before, after  # offset(low) is the old one, offset(high) the new one
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == old:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)  # changes happen on whole seconds


# croniter parses an expression in ~0.2 ms and finds the next slot in ~0.05 ms: parsed ones are
# kept, one set per thread (a croniter carries its current position).
_local = threading.local()


def _croniter(expression: str) -> croniter:
    cache: dict[str, croniter] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    found = cache.get(expression)
    if found is None:
        if len(cache) > 10_000:
            cache.clear()
        found = cache[expression] = croniter(expression, datetime(2000, 1, 1))
    return found


def _wall_next(expression: str, wall: datetime) -> datetime:
    """The first wall time after ``wall`` (naive) that the expression matches."""
    result = _croniter(expression).get_next(datetime, start_time=wall)
    assert isinstance(result, datetime)
    return result


def describe(cron: Cron | None, zone: str, at: datetime | None = None) -> str:
    """``daily (00:00) in Europe/London`` / ``30 9 * * 1-5 in UTC`` / ``once at ...``."""
    if cron is None:
        assert at is not None
        local = at.astimezone(ZoneInfo(zone))
        return f"once at {local.strftime('%Y-%m-%d %H:%M')} {zone}"
    what = cron.text
    if cron.preset is not None:
        what = f"{cron.preset} ({cron.expression})"
    return f"{what} in {zone}"


def server_zone() -> str:
    """The IANA name of this machine's time zone (``TZ``, else ``/etc/localtime``'s link, else
    ``/etc/timezone``), or UTC when it cannot be told: the zone a new schedule starts in."""
    import os
    from pathlib import Path

    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).partition("zoneinfo/")[2])
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8", errors="replace").strip())
    for name in candidates:
        if name in _zones():
            return name
    return DEFAULT_ZONE


def zone_names() -> list[str]:
    """Every IANA zone name this machine knows, sorted (UTC first)."""
    return ["UTC", *sorted(z for z in _zones() if z != "UTC" and "/" in z)]
