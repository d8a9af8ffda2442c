"""Matching a batch over REST: many rows per request (``in:``), and the matched objects carried
to the writes, counted on the wire against the sandbox.

An insert-update costs about one call per row: its write. The match is a few ``GET /api/Party
?Email=in:…`` per batch, each under IIS's 2,048-byte query string, and an update PUTs the object
its match read without reading it again, unless that object has grown stale meanwhile.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.sources.filters import Filter
from idms.state.store import open_suite
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.carried import Carried
from idms.targets.imis.matching import MAX_QUERY_STRING

from .conftest import Serve
from .test_writes import Recording, one, setup

NewStore = Callable[[str], EmbeddedTarget]


def people_file(path: Path, emails: list[str], title: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Email", "First", "Last", "Title"])
        for i, email in enumerate(emails):
            w.writerow([email, f"First{i}", f"Last{i}", title])
    return path


def insert_update(file: Path) -> Any:
    return build_job(
        {
            "input": {"file": str(file)},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "Title", "column": "Title"},
            ],
            "options": {"batch_size": 200},
        }
    )


def test_an_insert_update_costs_about_one_call_per_row(
    new_store: NewStore, serve: Serve, tmp_path: Path
) -> None:
    _, target, wire_log, store = setup(new_store, serve)
    runs = RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
    old = [f"Member{i}@Example.org" for i in range(150)]
    first = run_job(
        insert_update(people_file(tmp_path / "a.csv", old, "Old")), target=target, runs=runs
    )
    assert first.summary()["inserted"] == 150
    wire_log.take()
    # 150 updates (their e-mail in another case), 150 inserts
    again = [e.upper() for e in old] + [f"new{i}@example.org" for i in range(150)]
    report = run_job(
        insert_update(people_file(tmp_path / "b.csv", again, "New")), target=target, runs=runs
    )
    runs.engine.dispose()
    assert (report.summary()["updated"], report.summary()["inserted"]) == (150, 150)
    calls = wire_log.take()
    writes = [c for c in calls if not c.startswith("GET")]
    reads = [c for c in calls if c.startswith("GET")]
    assert len(writes) == 300  # one PUT or POST per row
    assert all(c == "GET /api/Party" for c in reads), reads  # no GET /api/Party/{id}
    assert len(calls) <= 1.1 * 300, f"{len(calls)} calls for 300 rows"
    titles = {r["Email"].casefold(): r["Title"] for r in store.read("Contact")}
    assert all(titles[e.casefold()] == "New" for e in again)


def test_long_values_are_chunked_under_the_query_string_limit(
    new_store: NewStore, serve: Serve
) -> None:
    served, target, _, store = setup(new_store, serve)
    emails = [f"{'x' * 60}.{i}@{'long-domain-' * 4}example.org" for i in range(80)]
    values = [{"FirstName": "F", "LastName": "L", "Email": e} for e in emails]
    store.apply("Contact", [Change(ChangeKind.INSERT, v) for v in values])
    sent: list[int] = []

    class Measuring(Recording):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(len(request.url.query))
            return super().handle_request(request)

    measured = type(target)(served.client(transport=Measuring()), target.platform)
    criteria = [{"Email": e.upper()} for e in emails] + [{"Email": "nobody@example.org"}]
    found = measured.match("Contact", ["Email"], criteria)
    assert [len(f) for f in found] == [1] * 80 + [0]
    assert [f[0]["Email"] for f in found[:80]] == emails
    assert len(sent) > 2  # several chunks ...
    assert max(sent) <= MAX_QUERY_STRING  # ... none too long
    # what IIS (and so the sandbox) answers to a longer one: 404.15
    token = measured.client._current_token()
    long = httpx.get(
        f"{served.url}/api/Party",
        params={"Email": "in:" + "|".join(emails)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert long.status_code == 404
    assert "404.15" in long.text


def test_a_match_on_two_fields_and_blank_values(new_store: NewStore, serve: Serve) -> None:
    _, target, wire_log, store = setup(new_store, serve)
    people = [("Ada", "Byron", "London"), ("ada", "Lovelace", None),
              ("Charles", "Babbage", "London"), ("Ada", "Byron", "Paris")]  # fmt: skip
    store.apply(
        "Contact",
        [
            Change(ChangeKind.INSERT, {"FirstName": first, "LastName": last, "City": city})
            for first, last, city in people
        ],
    )
    found = target.match(
        "Contact",
        ["FirstName", "City"],
        [{"FirstName": "ADA", "City": "london"}, {"FirstName": "Ada", "City": None},
         {"FirstName": "Charles", "City": "London"}, {"FirstName": "Nobody", "City": "Paris"}],
    )  # fmt: skip
    assert [[(r["LastName"], r["City"]) for r in f] for f in found] == [
        [("Byron", "London")],
        [("Lovelace", None)],
        [("Babbage", "London")],
        [],
    ]
    # in: checked on FirstName (two requests, once), then one request on the field with the
    # most values (FirstName=in:ADA|Ada|Charles|Nobody); the City, blank or not, is checked on
    # the records it answers
    assert wire_log.take() == ["GET /api/Party"] * 3
    # a blank value of that field is looked up alone, every field filtered (isEmpty:)
    found = target.match(
        "Contact", ["City", "FirstName"], [{"City": None, "FirstName": "Ada"}, {"City": "Paris"}]
    )
    assert [[r["LastName"] for r in f] for f in found] == [["Lovelace"], []]
    assert wire_log.take() == ["GET /api/Party"] * (2 + 2)  # in: checked on City; two rows


def test_an_update_writes_what_its_match_read_while_it_is_fresh(
    new_store: NewStore, serve: Serve
) -> None:
    _, target, wire_log, store = setup(new_store, serve)
    now = [0.0]
    target.carried = Carried(fresh_seconds=10, clock=lambda: now[0])
    (ada,) = store.apply(
        "Contact", [Change(ChangeKind.INSERT, {"FirstName": "Ada", "LastName": "L"})]
    )
    ada_id = ada.after["ImisId"] if ada.after else None

    def update_title(title: str) -> Any:
        (matched,) = target.match("Contact", ["ImisId"], [{"ImisId": ada_id}])
        identity = {"ImisId": matched[0]["ImisId"]}
        return target.apply("Contact", [Change(ChangeKind.UPDATE, {"Title": title}, identity)])

    def elsewhere(values: dict[str, Any]) -> None:  # someone else, after the match
        store.apply("Contact", [Change(ChangeKind.UPDATE, values, {"ImisId": ada_id})])

    # fresh: the PUT takes the matched object, no GET of it
    one(update_title("Countess"))
    assert wire_log.take() == ["GET /api/Party", f"PUT /api/Party/{ada_id}"]

    # stale (its batch's writes held up past fresh_seconds): read again before the PUT, so a
    # change made meanwhile to another field is kept
    target.match("Contact", ["ImisId"], [{"ImisId": ada_id}])
    elsewhere({"City": "Cambridge"})
    now[0] += 11
    change = Change(ChangeKind.UPDATE, {"Title": "Mathematician"}, {"ImisId": ada_id})
    one(target.apply("Contact", [change]))
    assert wire_log.take()[-2:] == [f"GET /api/Party/{ada_id}", f"PUT /api/Party/{ada_id}"]
    (stored,) = store.read("Contact", [Filter.parse(f"ImisId={ada_id}")])
    assert (stored["Title"], stored["City"]) == ("Mathematician", "Cambridge")

    # each object is written from once: a second change of the record reads it
    one(update_title("One"))
    one(target.apply("Contact", [Change(ChangeKind.UPDATE, {"Title": "Two"}, {"ImisId": ada_id})]))
    assert wire_log.take()[-2:] == [f"GET /api/Party/{ada_id}", f"PUT /api/Party/{ada_id}"]


def test_a_record_deleted_between_match_and_write_fails_its_row(
    new_store: NewStore, serve: Serve
) -> None:
    _, target, wire_log, store = setup(new_store, serve)
    (ada,) = store.apply(
        "Contact", [Change(ChangeKind.INSERT, {"FirstName": "Ada", "LastName": "L"})]
    )
    assert ada.after is not None
    (made,) = store.apply(
        "Activity",
        [Change(ChangeKind.INSERT, {"ImisId": ada.after["ImisId"], "ActivityType": "MEETING"})],
    )
    assert made.after is not None
    seqn = made.after["Seqn"]
    (matched,) = target.match("Activity", ["Seqn"], [{"Seqn": seqn}])
    assert [r["Seqn"] for r in matched] == [seqn]
    store.apply("Activity", [Change(ChangeKind.DELETE, identity={"Seqn": seqn})])
    (result,) = target.apply(
        "Activity", [Change(ChangeKind.UPDATE, {"Note": "late"}, identity={"Seqn": seqn})]
    )
    assert result.error is not None
    assert result.error.code == "not_found"
    assert "deleted since it was matched" in result.error.message
    assert wire_log.take() == ["GET /api/Activity", f"PUT /api/Activity/{seqn}"]
    assert list(store.read("Activity")) == []


class NoInList(Recording):
    """An iMIS that reads ``in:a|b`` as one value (``eq:a|b``): it matches nothing."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        query = request.url.query.decode().replace("=in%3A", "=eq%3A").replace("=in:", "=eq:")
        request.url = request.url.copy_with(query=query.encode())
        return super().handle_request(request)


def test_an_imis_that_does_not_read_in_lists_is_matched_row_by_row(
    new_store: NewStore, serve: Serve
) -> None:
    served, target, wire_log, store = setup(new_store, serve)
    emails = [f"m{i}@example.org" for i in range(5)]
    values = [{"FirstName": "F", "LastName": "L", "Email": e} for e in emails]
    store.apply("Contact", [Change(ChangeKind.INSERT, v) for v in values])
    odd_log = NoInList()
    odd = type(target)(served.client(transport=odd_log), target.platform)
    odd.sources()
    odd_log.take()
    criteria = [{"Email": e.upper()} for e in emails]
    for _ in range(2):  # checked once, then remembered
        found = odd.match("Contact", ["Email"], criteria)
        assert [[r["Email"] for r in f] for f in found] == [[e] for e in emails]
    assert odd_log.take() == ["GET /api/Party"] * (2 + 5 + 5)  # the check, then one per row
    # an iMIS that reads them: checked once, then one request for the five
    wire_log.take()
    for _ in range(2):
        found = target.match("Contact", ["Email"], criteria)
        assert [[r["Email"] for r in f] for f in found] == [[e] for e in emails]
    assert wire_log.take() == ["GET /api/Party"] * (2 + 1 + 1)
