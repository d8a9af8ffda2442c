"""Next fire times: cron and presets in a time zone, across daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st
from schedules_support import utc

from idms.errors import InvalidInputError
from idms.schedules.timing import fire_times, next_fire, parse_at, parse_cron, parse_zone

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def times(expr: str, zone: ZoneInfo, after: datetime, count: int) -> list[str]:
    """Fire times as 'UTC instant / local wall time' strings, easy to read in a failure."""
    return [
        f"{t:%Y-%m-%d %H:%M}Z / {t.astimezone(zone):%H:%M %Z}"
        for t in fire_times(parse_cron(expr), zone, after, count)
    ]


# ---- spring gap: the wall time does not exist ----------------------------------------------


def test_a_daily_time_in_the_new_york_spring_gap_fires_once_at_the_end_of_the_gap() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT; 02:30 does not exist that day.
    assert times("30 2 * * *", NEW_YORK, utc(2026, 3, 6, 12), 4) == [
        "2026-03-07 07:30Z / 02:30 EST",
        "2026-03-08 07:00Z / 03:00 EDT",  # the first instant after the gap, once
        "2026-03-09 06:30Z / 02:30 EDT",
        "2026-03-10 06:30Z / 02:30 EDT",
    ]


def test_a_daily_time_in_the_london_spring_gap_fires_once_at_the_end_of_the_gap() -> None:
    # 2026-03-29: 01:00 GMT becomes 02:00 BST; 01:30 does not exist that day.
    assert times("30 1 * * *", LONDON, utc(2026, 3, 27, 12), 3) == [
        "2026-03-28 01:30Z / 01:30 GMT",
        "2026-03-29 01:00Z / 02:00 BST",
        "2026-03-30 00:30Z / 01:30 BST",
    ]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # Every real hour fires once: the 02:00 slot, which does not exist, is the 03:00 one.
        (
            "0 * * * *",
            [
                "05:00Z / 00:00 EST",
                "06:00Z / 01:00 EST",
                "07:00Z / 03:00 EDT",
                "08:00Z / 04:00 EDT",
            ],
        ),
        # 02:30 is read as 03:30 (one hour after 01:30): one fire, not one at 03:00 as well.
        (
            "30 * * * *",
            [
                "05:30Z / 00:30 EST",
                "06:30Z / 01:30 EST",
                "07:30Z / 03:30 EDT",
                "08:30Z / 04:30 EDT",
            ],
        ),
    ],
)
def test_an_hourly_cron_across_the_new_york_spring_gap_fires_every_real_hour_once(
    expr: str, expected: list[str]
) -> None:
    got = times(expr, NEW_YORK, utc(2026, 3, 8, 4, 59), 4)
    assert [t.split(" ", 1)[1] for t in got] == expected


def test_an_hourly_cron_across_the_london_spring_gap_fires_every_real_hour_once() -> None:
    got = times("15 * * * *", LONDON, utc(2026, 3, 28, 23, 59), 4)
    assert got == [
        "2026-03-29 00:15Z / 00:15 GMT",
        "2026-03-29 01:15Z / 02:15 BST",
        "2026-03-29 02:15Z / 03:15 BST",
        "2026-03-29 03:15Z / 04:15 BST",
    ]


def test_every_15_minutes_across_the_gap_never_fires_twice_at_one_instant() -> None:
    got = fire_times(parse_cron("*/15 * * * *"), NEW_YORK, utc(2026, 3, 8, 6), 8)
    assert got == [utc(2026, 3, 8, 6, 15) + timedelta(minutes=15 * i) for i in range(8)]


# ---- autumn repeat: the wall time occurs twice ---------------------------------------------


def test_a_daily_time_in_the_new_york_autumn_repeat_fires_once_at_the_first() -> None:
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 occurs at 05:30Z and at 06:30Z.
    assert times("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), 3) == [
        "2026-11-01 05:30Z / 01:30 EDT",
        "2026-11-02 06:30Z / 01:30 EST",
        "2026-11-03 06:30Z / 01:30 EST",
    ]


def test_a_daily_time_in_the_london_autumn_repeat_fires_once_at_the_first() -> None:
    # 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:30 occurs at 00:30Z and at 01:30Z.
    assert times("30 1 * * *", LONDON, utc(2026, 10, 24, 12), 2) == [
        "2026-10-25 00:30Z / 01:30 BST",
        "2026-10-26 01:30Z / 01:30 GMT",
    ]


def test_a_daily_time_is_not_fired_again_from_inside_the_repeated_hour() -> None:
    # Between the two 01:30s (after the first fired), the next fire is the next day's.
    after = utc(2026, 11, 1, 5, 45)  # 01:45 EDT
    assert next_fire(parse_cron("30 1 * * *"), NEW_YORK, after) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        (NEW_YORK, utc(2026, 11, 1, 3, 59), ["04:30Z", "05:30Z", "06:30Z", "07:30Z"]),
        (LONDON, utc(2026, 10, 24, 23, 59), ["00:30Z", "01:30Z", "02:30Z", "03:30Z"]),
    ],
)
def test_an_hourly_cron_across_the_autumn_repeat_fires_every_real_hour(
    zone: ZoneInfo, after: datetime, expected: list[str]
) -> None:
    # The repeated hour is a real hour: an hourly schedule runs in both (25 runs that day).
    got = fire_times(parse_cron("30 * * * *"), zone, after, 4)
    assert [f"{t:%H:%M}Z" for t in got] == expected


def test_an_hourly_schedule_runs_25_times_on_the_autumn_day_and_23_on_the_spring_day() -> None:
    cron = parse_cron("hourly")

    def count(day_start: datetime, day_end: datetime) -> int:
        moments = fire_times(cron, NEW_YORK, day_start - timedelta(seconds=1), 30)
        return sum(1 for m in moments if m < day_end)

    autumn = datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK)
    spring = datetime(2026, 3, 8, tzinfo=NEW_YORK), datetime(2026, 3, 9, tzinfo=NEW_YORK)
    assert count(*autumn) == 25
    assert count(*spring) == 23


# ---- everywhere else: the same as croniter's own zone-aware iteration ------------------------


CRONS = ["*/7 * * * *", "0 * * * *", "30 9 * * 1-5", "15 3 1 * *", "0 0 * * 0", "5 4,16 * * *"]
ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney"]


@settings(max_examples=200, deadline=None)
@given(
    expr=st.sampled_from(CRONS),
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_away_from_changes_next_fire_is_croniters(
    expr: str, zone_name: str, start: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    after = start.replace(tzinfo=UTC)
    got = next_fire(parse_cron(expr), zone, after)
    local_after = after.astimezone(zone)
    expected = croniter(expr, local_after).get_next(datetime).astimezone(UTC)
    offsets = {
        (after + timedelta(hours=h)).astimezone(zone).utcoffset()
        for h in range(-3, int((expected - after).total_seconds() // 3600) + 4)
    }
    if len(offsets) == 1:  # no daylight-saving change anywhere near
        assert got == expected
    assert got > after


@settings(max_examples=200, deadline=None)
@given(
    expr=st.sampled_from([*CRONS, "30 2 * * *", "30 1 * * *", "*/20 * * * *"]),
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_fire_times_always_increase_and_follow_the_cron_on_the_wall(
    expr: str, zone_name: str, start: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    cron = parse_cron(expr)
    moments = fire_times(cron, zone, start.replace(tzinfo=UTC), 6)
    assert all(a < b for a, b in itertools.pairwise(moments))
    for moment in moments:
        wall = moment.astimezone(zone).replace(tzinfo=None)
        # Either the wall time matches the cron, or it is the end of a gap the slot fell in.
        matches = croniter.match(cron.expression, wall)
        offset = moment.astimezone(zone).utcoffset()
        after_gap = (moment - timedelta(hours=3)).astimezone(zone).utcoffset() != offset
        assert matches or after_gap, f"{moment} ({wall}) does not match {expr}"


# ---- presets, expressions, zones, one-time moments -----------------------------------------


@pytest.mark.parametrize(
    ("text", "expression", "first"),
    [
        ("hourly", "0 * * * *", utc(2026, 6, 3, 11)),
        ("@hourly", "0 * * * *", utc(2026, 6, 3, 11)),
        ("daily", "0 0 * * *", utc(2026, 6, 4)),
        ("@daily", "0 0 * * *", utc(2026, 6, 4)),
        ("Weekly", "0 0 * * 0", utc(2026, 6, 7)),  # Sunday
        ("@monthly", "0 0 1 * *", utc(2026, 7, 1)),
        ("yearly", "0 0 1 1 *", utc(2027, 1, 1)),
    ],
)
def test_presets(text: str, expression: str, first: datetime) -> None:
    cron = parse_cron(text)
    assert cron.expression == expression
    assert cron.text.startswith("@")
    assert next_fire(cron, ZoneInfo("UTC"), utc(2026, 6, 3, 10, 30)) == first


def test_a_preset_is_read_in_the_schedules_zone() -> None:
    first = next_fire(parse_cron("daily"), NEW_YORK, utc(2026, 6, 3, 10, 30))
    assert first == utc(2026, 6, 4, 4)  # midnight EDT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("61 * * * *", "the minute field '61' is wrong (allowed: 0-59"),
        ("* 24 * * *", "the hour field '24' is wrong (allowed: 0-23"),
        ("* * 0 * *", "the day of month field '0' is wrong"),
        ("* * * 13 *", "the month field '13' is wrong"),
        ("0 9 * * MONDAY", "the day of week field 'MONDAY' is wrong"),
        ("* * * *", "it has 4 fields, not 5"),
        ("0 0 * * * *", "it has 6 fields, not 5 (seconds and years are not supported)"),
        ("@fortnightly", "'@fortnightly' is not a preset"),
        ("@dayly", "Did you mean 'daily'?"),
        ("0 0 30 2 *", "never fires"),
        ("", "is empty"),
    ],
)
def test_bad_cron_expressions_are_refused_readably(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_cron(text)
    assert message in caught.value.message
    assert "CroniterBadCronError" not in caught.value.message


def test_zones_are_iana_names_with_suggestions() -> None:
    assert parse_zone(None).key == "UTC"
    assert parse_zone("utc").key == "UTC"
    assert parse_zone("america/new_york").key == "America/New_York"
    for wrong, hint in [
        ("New York", "America/New_York"),
        ("Europe/Londn", "Europe/London"),
        ("London", "Europe/London"),
    ]:
        with pytest.raises(InvalidInputError) as caught:
            parse_zone(wrong)
        assert f"Unknown time zone '{wrong}'" in caught.value.message
        assert hint in caught.value.message
    with pytest.raises(InvalidInputError, match="Unknown time zone 'Mars/Olympus'"):
        parse_zone("Mars/Olympus")


def test_one_time_moments() -> None:
    assert parse_at("2026-12-01T09:00", NEW_YORK) == utc(2026, 12, 1, 14)
    assert parse_at("2026-12-01 09:00", LONDON) == utc(2026, 12, 1, 9)
    assert parse_at("2026-12-01T09:00Z", NEW_YORK) == utc(2026, 12, 1, 9)
    assert parse_at("2026-12-01T09:00+01:00", NEW_YORK) == utc(2026, 12, 1, 8)
    assert parse_at("2026-11-01T01:30", NEW_YORK) == utc(2026, 11, 1, 5, 30)  # the first 01:30
    with pytest.raises(InvalidInputError, match="does not exist in America/New_York"):
        parse_at("2026-03-08T02:30", NEW_YORK)
    with pytest.raises(InvalidInputError, match="not an ISO 8601 date and time"):
        parse_at("next tuesday", NEW_YORK)
