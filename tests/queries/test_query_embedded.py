"""Saved queries as SQL on the embedded store, on SQLite and PostgreSQL.

Every expectation is worked out in Python from ``Target.read`` (which the contract suite covers),
not from the SQL under test: joins, left joins, panel fields, filters, order, distinct, windows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from idms.demo.generate import fill_demo
from idms.errors import InvalidInputError
from idms.queries.compile import CompiledQuery, compile_query
from idms.queries.model import build_query, iqa_only
from idms.sources.filters import Filter
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.values.folding import fold, id_order

Row = tuple[Any, ...]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedTarget]:
    """One demo association on SQLite, shared by the module's read-only tests."""
    path = tmp_path_factory.mktemp("q") / "imis.db"
    target = EmbeddedTarget(f"sqlite:///{path}")
    fill_demo(target.engine, contacts=400, seed=5)
    target.refresh()
    yield target
    target.close()


def run(store: EmbeddedTarget, params: dict[str, Any] | None = None, **document: Any) -> list[Row]:
    return list(store.query(compiled(store, **document), params or {}))


def compiled(store: EmbeddedTarget, **document: Any) -> CompiledQuery:
    document.setdefault("name", "Q")
    return compile_query(build_query(document), store.sources())


def by_id(store: EmbeddedTarget, source: str) -> dict[str, dict[str, Any]]:
    return {r["ImisId"]: r for r in store.read(source)}


def text_key(value: Any) -> tuple[bool, Any]:
    """iMIS's order: blanks first, then text without case."""
    return (value is not None, fold(value) if isinstance(value, str) else value)


def test_fields_of_a_related_contact_come_with_each_credential(store: EmbeddedTarget) -> None:
    rows = run(
        store,
        **{"from": "UserCredentials"},
        columns={
            "ID": "ImisId",
            "User": "Username",
            "Mail": "Contact.Email",
            "Last": "Contact.LastName",
        },
        order_by=["ID"],
    )
    contacts = by_id(store, "Contact")
    users = sorted(store.read("UserCredentials"), key=lambda u: id_order(u["ImisId"]))
    assert rows == [
        (
            u["ImisId"],
            u["Username"],
            contacts[u["ImisId"]]["Email"],
            contacts[u["ImisId"]]["LastName"],
        )
        for u in users
    ]
    assert len(rows) > 10


def test_a_filter_on_a_related_field_with_a_prompt(store: EmbeddedTarget) -> None:
    document = {
        "from": "Activity",
        "columns": {"Seqn": "Seqn", "Type": "ActivityType", "Last": "Contact.LastName"},
        "filters": [
            {"field": "Contact.LastName", "op": "startsWith", "prompt": "last"},
            {"field": "ActivityType", "op": "in", "value": ["MEETING", "WEBINAR"]},
        ],
        "order_by": ["Last", "-Seqn"],
    }
    contacts = by_id(store, "Contact")
    activities = [a for a in store.read("Activity") if a["ActivityType"] in ("MEETING", "WEBINAR")]

    def expected(prefix: str) -> list[Row]:
        chosen = [
            a
            for a in activities
            if str(contacts[a["ImisId"]]["LastName"] or "").lower().startswith(prefix.lower())
        ]
        chosen.sort(key=lambda a: -a["Seqn"])
        chosen.sort(key=lambda a: text_key(contacts[a["ImisId"]]["LastName"]))
        return [(a["Seqn"], a["ActivityType"], contacts[a["ImisId"]]["LastName"]) for a in chosen]

    with_prompt = run(store, {"last": "m"}, **document)
    assert with_prompt == expected("m")
    assert with_prompt
    assert run(store, {}, **document) == expected("")  # an optional prompt left out


def test_a_left_join_finds_contacts_without_credentials(store: EmbeddedTarget) -> None:
    having = {u["ImisId"] for u in store.read("UserCredentials")}
    persons = [c for c in store.read("Contact") if not c["IsOrganization"]]
    rows = run(
        store,
        **{"from": "Contact"},
        columns={"ID": "ImisId", "User": "UserCredentials.Username"},
        filters=[
            {"field": "IsOrganization", "op": "isFalse"},
            {"field": "UserCredentials.Username", "op": "isEmpty"},
        ],
    )
    assert sorted(r[0] for r in rows) == sorted(
        c["ImisId"] for c in persons if c["ImisId"] not in having
    )
    assert {r[1] for r in rows} == {None}
    required = run(
        store,
        **{"from": "Contact"},
        columns={"ID": "ImisId"},
        related={"Login": {"source": "UserCredentials", "required": True}},
    )
    assert sorted(r[0] for r in required) == sorted(having)


def test_panel_fields_are_typed_and_a_multi_instance_panel_gives_a_row_each(
    store: EmbeddedTarget,
) -> None:
    profiles = by_id(store, "MemberProfile")
    rows = run(
        store,
        **{"from": "Contact"},
        columns={
            "ID": "ImisId",
            "Years": "MemberProfile.YearsInPractice",
            "Interests": "MemberProfile.Interests",
            "Printed": "MemberProfile.Newsletter",
            "Certified": "MemberProfile.CertifiedOn",
        },
        related={"MemberProfile": {"source": "MemberProfile", "required": True}},
    )
    assert len(rows) == len(profiles)
    for imis_id, years, interests, printed, certified in rows:
        p = profiles[imis_id]
        assert (years, interests, printed, certified) == (
            p["YearsInPractice"],
            p["Interests"],
            p["Newsletter"],
            p["CertifiedOn"],
        )
        assert years is None or isinstance(years, int)
        assert interests is None or isinstance(interests, tuple)
        assert printed is None or isinstance(printed, bool)
        assert certified is None or isinstance(certified, date)
    volunteering = list(store.read("Volunteering"))
    rows = run(
        store,
        **{"from": "Volunteering"},
        columns={"ID": "ImisId", "Role": "Role", "Hours": "Hours", "Last": "Contact.LastName"},
    )
    assert len(rows) == len(volunteering) > 0
    assert all(h is None or isinstance(h, Decimal) for _, _, h, _ in rows)


def test_distinct_gives_one_row_per_person(store: EmbeddedTarget) -> None:
    meetings = [a for a in store.read("Activity") if a["ActivityType"] == "MEETING"]
    rows = run(
        store,
        **{"from": "Activity"},
        columns={"ID": "ImisId"},
        filters=[{"field": "ActivityType", "op": "eq", "value": "meeting"}],
        distinct=True,
        order_by=["-ID"],
    )
    ids = sorted({a["ImisId"] for a in meetings}, key=id_order, reverse=True)
    assert [r[0] for r in rows] == ids
    assert len(ids) < len(meetings)


def test_windows_page_through_every_row_once_and_count_counts_them(store: EmbeddedTarget) -> None:
    query = compiled(
        store,
        **{"from": "Contact"},
        columns={"ID": "ImisId", "Last": "LastName"},
        order_by=["Last"],
    )
    everything = list(store.query(query))
    result = store.query(query, offset=0, limit=1)
    assert result.count is not None
    assert result.count() == len(everything)
    result.close()
    pages: list[Row] = []
    offset = 0
    while True:
        page = list(store.query(query, offset=offset, limit=37))
        if not page:
            break
        pages.extend(page)
        offset += len(page)
    assert pages == everything
    capped = compiled(
        store, **{"from": "Contact"}, columns={"ID": "ImisId"}, order_by=["ID"], limit=50
    )
    assert len(list(store.query(capped))) == 50
    assert list(store.query(capped, offset=40, limit=100)) == list(store.query(capped))[40:]
    counted = store.query(capped)
    assert counted.count is not None
    assert counted.count() == 50
    counted.close()


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("LastName", "eq", "SMITH"),
        ("LastName", "ne", "Smith"),
        ("LastName", "contains", "son"),
        ("LastName", "notContain", "a"),
        ("Email", "endsWith", "@gmail.com"),
        ("MemberType", "in", "REG|GLD"),
        ("JoinDate", "between", "2015-01-01|2019-12-31"),
        ("JoinDate", "lt", "2010-06-01"),
        ("PaidThrough", "ge", "2026-01-01"),
        ("Designation", "isEmpty", None),
        ("Designation", "notEmpty", None),
        ("MarkForErasure", "isFalse", None),
    ],
)
def test_each_operator_selects_what_a_read_with_the_same_filter_selects(
    store: EmbeddedTarget, field: str, op: str, value: Any
) -> None:
    rows = run(
        store,
        **{"from": "Contact"},
        columns={"ID": "ImisId"},
        filters=[{"field": field, "op": op, "value": value}],
    )
    expected = [
        r["ImisId"] for r in store.read("Contact", [Filter.parse(f"{field}={op}:{value or ''}")])
    ]
    assert sorted(r[0] for r in rows) == sorted(expected)


def test_an_iqa_known_only_by_path_is_refused_on_the_embedded_store(store: EmbeddedTarget) -> None:
    query = compile_query(iqa_only("$/Common/Queries/Locked"), store.sources())
    with pytest.raises(InvalidInputError, match="runs only on an iMIS target"):
        store.query(query)


def test_queries_run_alike_on_postgresql(database_url: str) -> None:
    target = EmbeddedTarget(database_url)
    try:
        fill_demo(target.engine, contacts=120, seed=9)
        target.refresh()
        contacts = by_id(target, "Contact")
        rows = run(
            target,
            **{"from": "Activity"},
            columns={
                "ID": "ImisId",
                "Last": "Contact.LastName",
                "Years": "MemberProfile.YearsInPractice",
            },
            filters=[{"field": "Contact.LastName", "op": "startsWith", "value": "s"}],
            distinct=True,
            order_by=["Last", "ID"],
        )
        profiles = by_id(target, "MemberProfile")
        ids = {a["ImisId"] for a in target.read("Activity")}
        chosen = sorted(
            (i for i in ids if str(contacts[i]["LastName"] or "").lower().startswith("s")),
            key=lambda i: (text_key(contacts[i]["LastName"]), id_order(i)),
        )
        assert rows == [
            (i, contacts[i]["LastName"], (profiles.get(i) or {}).get("YearsInPractice"))
            for i in chosen
        ]
        assert rows
    finally:
        target.close()


def test_reading_a_query_does_not_see_what_a_job_writes_meanwhile(tmp_path: Path) -> None:
    """A query reads one snapshot: rows written while it streams do not shift what it shows."""
    store = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    try:
        fill_demo(store.engine, contacts=60, seed=2)
        store.refresh()
        query = compiled(store, **{"from": "Contact"}, columns={"ID": "ImisId"}, order_by=["ID"])
        first = list(store.query(query))
        with store.query(query) as result:
            rows = iter(result)
            head = [next(rows) for _ in range(5)]
            written = store.apply(
                "Contact",
                [Change(ChangeKind.INSERT, {"ImisId": "0A", "FirstName": "A", "LastName": "Aa"})],
            )
            assert written[0].ok, written[0].error
            rest = list(rows)
        assert head + rest == first
        assert len(list(store.query(query))) == len(first) + 1
    finally:
        store.close()
