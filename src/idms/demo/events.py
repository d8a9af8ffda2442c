"""Events with registration options and program items, and registrations."""

from __future__ import annotations

from datetime import date, timedelta

from idms.demo.base import Bulk, Contact, Demo, Row, insert_new, money
from idms.demo.reference import EVENT_TEMPLATES, SMALL
from idms.targets.embedded import counters
from idms.targets.embedded.schema import event_functions, event_registrations, events


def _event_start(demo: Demo, month: int, day: int) -> date:
    """The template's usual date, in a year that puts it within a year of today."""
    year = demo.today.year
    years = [
        y for y in (year - 1, year, year + 1) if abs((date(y, month, day) - demo.today).days) <= 365
    ]
    return date(demo.rng.choice(years), month, day)


def make_events(demo: Demo) -> None:
    rng = demo.rng
    chosen = rng.sample(EVENT_TEMPLATES, rng.randint(3, 6))
    starts = [_event_start(demo, *t[2]) for t in chosen]
    # At least one past and one coming event.
    if all(start <= demo.today for start in starts):
        latest = starts.index(max(starts))
        starts[latest] = starts[latest].replace(year=starts[latest].year + 1)
    if all(start > demo.today for start in starts):
        earliest = starts.index(min(starts))
        starts[earliest] = starts[earliest].replace(year=starts[earliest].year - 1)
    event_rows: list[Row] = []
    function_rows: list[Row] = []
    options: dict[str, list[Row]] = {}
    items: dict[str, list[Row]] = {}
    active = [p for p in demo.persons if p.status == "A"]
    for start, (stem, name, _, days, venue, opts, progs) in sorted(
        zip(starts, chosen, strict=True)
    ):
        end = start + timedelta(days=days - 1)
        code = f"{stem}{start.year % 100:02d}"
        event_rows.append(
            {
                "event_code": code,
                "event_name": f"{start.year} {name}"[:60],
                "status": "C" if end < demo.today else "A",
                "start_date": start,
                "end_date": end,
                "description": f"The {start.year} {name}, {venue.split(', ', 1)[1]}.",
                "event_contact_id": rng.choice(active).imis_id if active else None,
                "location": venue,
            }
        )
        n_opts = len(opts) if len(opts) <= 2 else rng.randint(2, len(opts))
        for fcode, fname, price in opts[:n_opts]:
            row = {
                "event_code": code,
                "function_code": fcode,
                "function_name": fname,
                "is_registration_option": True,
                "price": money(price) if price is not None else None,
                "capacity": None,
                "begin_date": start,
            }
            function_rows.append(row)
            options.setdefault(code, []).append(row)
        for fcode, fname, price in rng.sample(progs, min(len(progs), rng.randint(2, 4))):
            row = {
                "event_code": code,
                "function_code": fcode,
                "function_name": fname,
                "is_registration_option": False,
                "price": money(price) if price is not None else None,
                "capacity": None,
                "begin_date": start + timedelta(days=rng.randrange(days)),
            }
            function_rows.append(row)
            items.setdefault(code, []).append(row)
    # One option of one event is limited: later registrations go on its wait list.
    small = [o for opts in options.values() for o in opts if o["function_code"] in SMALL]
    capped = rng.choice(small or [opts[-1] for opts in options.values()])
    capped["capacity"] = rng.choice((20, 25, 30))
    demo.summary.events = insert_new(demo.conn, events, ("event_code",), event_rows)
    demo.summary.event_functions = insert_new(
        demo.conn, event_functions, ("event_code", "function_code"), function_rows
    )

    stage = demo.stage("Event registrations", len(demo.persons))
    bulk = Bulk(demo.conn, event_registrations, counters.REGISTRATION, "registration_id")
    taken: dict[tuple[str, str], int] = {}
    for person in demo.persons:
        if person.status == "A":
            for event in event_rows:
                ahead = (event["start_date"] - demo.today).days
                share = 0.12 if ahead <= 0 else (0.06 if ahead <= 120 else 0.015)
                if demo.chance(share):
                    _register(demo, bulk, person, event, options, items, taken)
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.registrations = bulk.count


def _register(
    demo: Demo,
    bulk: Bulk,
    person: Contact,
    event: Row,
    options: dict[str, list[Row]],
    items: dict[str, list[Row]],
    taken: dict[tuple[str, str], int],
) -> None:
    code = event["event_code"]
    offered = options[code]
    by_code = {o["function_code"]: o for o in offered}
    wanted = "NONMEMBER" if person.member_type == "NM" else "MEMBER"
    if person.member_type == "STU" and "STUDENT" in by_code:
        wanted = "STUDENT"
    if wanted in by_code:
        option = by_code[wanted]
    else:
        option = demo.rng.choices(offered, [6] + [1] * (len(offered) - 1))[0]
    key = (code, option["function_code"])
    taken[key] = taken.get(key, 0) + 1
    waitlist = option["capacity"] is not None and taken[key] > option["capacity"]
    start: date = event["start_date"]
    day = min(demo.today, start - timedelta(days=demo.rng.randint(1, 120)))
    bill_to = person.org_id if person.org_id and demo.chance(0.5) else person.imis_id
    chosen = [option]
    if not waitlist:
        chosen += [i for i in items.get(code, []) if demo.chance(0.4)]
    for function in chosen:
        bulk.add(
            {
                "registrant_id": person.imis_id,
                "event_code": code,
                "function_code": function["function_code"],
                "price": function["price"],
                "registered_by_id": person.imis_id,
                "bill_to_id": bill_to,
                "transaction_date": day,
                "waitlist": waitlist,
                "status": "Waitlisted" if waitlist else "Registered",
            }
        )
