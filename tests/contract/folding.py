"""Text equal ignoring case in every script, and iMIS IDs in number order, on every target.

A mixin of the contract suite (``TargetContract``'s subclasses inherit it): it runs on the
embedded store on SQLite and on PostgreSQL, and through the REST target against a sandbox.
Each name of :data:`NAMES` is stored in one spelling and looked for in another that iMIS's
case-insensitive collation takes for the same text: by a filter (what ``idms records --where``
sends), by ``match`` and by an insert-with-matching job, and as a username.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.queries.compile import compile_query
from idms.queries.model import SavedQuery, build_query
from idms.runs.record import RunStore
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.base import ApplyOptions, Change, ChangeKind, Target

from .suite import insert, inserted, refused, rows


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# (stored, looked for): each pair is the same text to a case-insensitive collation.
NAMES: list[tuple[str, str]] = [
    ("Smith", "sMITH"),  # ASCII
    ("Müller", "MÜLLER"),
    ("Nørgaard", "NØRGAARD"),
    ("Åberg", "ÅBERG"),
    ("Ó Briain", "ó briain"),
    ("Öztürk", "ÖZTÜRK"),
    ("Łukasiewicz", "ŁUKASIEWICZ"),
    ("Σίσυφος", "ΣΊΣΥΦΟΣ"),  # final sigma ς, capital Σ
    ("σοφός", "ΣΟΦΌΣ"),  # medial σ and final ς
    ("Straße", "STRASSE"),  # sharp s is ss
    ("Weiß", "WEIẞ"),  # and capital sharp s
    ("Петров", "ПЕТРОВ"),  # Cyrillic
    ("Ёлкина", "ёЛКИНА"),
    ("Ἀλέξανδρος", "ἀΛΈΞΑΝΔΡΟΣ"),  # polytonic Greek
    ("İnce", "ince"),  # Turkish dotted capital I
    ("Işık", "IŞIK"),  # Turkish dotless small i
    (nfd("Ångström"), "ÅNGSTRÖM"),  # stored decomposed (as macOS writes), typed precomposed
    ("Ｔａｎａｋａ", "tanaka"),  # full-width, as a Japanese keyboard types it
]
IDS = [f"p{i}" for i in range(len(NAMES))]


def spelled(pair: tuple[str, str]) -> str:
    return f"{pair[0]!r} looked for as {pair[1]!r}"


# ---- saved queries (tests/queries/test_query_folding.py, tests/rest/test_query_folding.py) -----

# Supplied iMIS IDs, in the order a query sorting on ID must give them (length, then text).
IDS = ["7", "99", "a3", "106", "A20", "0110", "1000", "1045", "1046", "2000", "10000", "10001"]
IDS += ["10002", "20000", "20001", "20002", "20003", "20004"]

BY_LAST_NAME = build_query(
    {
        "name": "By last name",
        "from": "Contact",
        "columns": {"ID": "ImisId", "Last": "LastName"},
        "filters": [{"field": "LastName", "op": "eq", "prompt": "last"}],
        "order_by": ["ID"],
    }
)
EVERYONE = build_query(
    {
        "name": "Everyone",
        "from": "Contact",
        "columns": {"ID": "ImisId", "Last": "LastName"},
        "order_by": ["ID"],
    }
)


def people() -> list[tuple[str, str]]:
    """(iMIS ID, stored last name) for every name, the IDs written out of order."""
    return list(zip(reversed(IDS), [stored for stored, _ in NAMES], strict=True))


def seed_numbered(target: Target) -> None:
    """One person per name of NAMES, each with a supplied iMIS ID of IDS (written out of order)."""
    changes = [
        Change(ChangeKind.INSERT, {"ImisId": i, "FirstName": "Test", "LastName": last}, ref=n)
        for n, (i, last) in enumerate(people(), start=1)
    ]
    results = target.apply("Contact", changes, ApplyOptions(skip_validation=True))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]


def run_saved(target: Any, query: SavedQuery, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with target.query(compile_query(query, target.sources()), params) as result:
        return list(result)


class CaseFoldingContract:
    """Unicode case-insensitivity and numeric iMIS ID order, through the Target protocol."""

    @pytest.fixture
    def named(self, seeded: Target) -> dict[str, str]:
        """One person per name of :data:`NAMES`: stored spelling -> iMIS ID."""
        made = inserted(
            seeded,
            "Contact",
            *[
                {"FirstName": "Test", "LastName": stored, "Email": f"{tag}@example.org"}
                for tag, (stored, _) in zip(IDS, NAMES, strict=True)
            ],
        )
        assert [r["LastName"] for r in made] == [stored for stored, _ in NAMES]
        return {stored: r["ImisId"] for (stored, _), r in zip(NAMES, made, strict=True)}

    def test_filters_find_each_name_in_another_case(
        self, target: Target, named: dict[str, str]
    ) -> None:
        missed = []
        for pair in NAMES:
            stored, typed = pair
            wanted = [named[stored]]
            for flt in (
                Filter.parse(f"LastName={typed}"),  # what `idms records --where` sends
                Filter("LastName", Operator.IN, [typed, "nobody"]),
                Filter("LastName", Operator.STARTS_WITH, typed),
                Filter("LastName", Operator.CONTAINS, typed),
                Filter("LastName", Operator.ENDS_WITH, typed),
            ):
                found = [r["ImisId"] for r in rows(target, "Contact", flt)]
                if found != wanted:
                    missed.append(f"{spelled(pair)} with {flt.op.value}: {found}")
            others = {
                r["ImisId"] for r in rows(target, "Contact", Filter.parse(f"LastName=ne:{typed}"))
            }
            if others != set(named.values()) - set(wanted):
                missed.append(f"{spelled(pair)} with ne: {sorted(others)}")
        assert not missed, "\n".join(missed)

    def test_match_finds_each_name_in_another_case(
        self, target: Target, named: dict[str, str]
    ) -> None:
        found = target.match("Contact", ["LastName"], [{"LastName": t} for _, t in NAMES])
        missed = [
            f"{spelled(pair)}: {[r['ImisId'] for r in hits]}"
            for pair, hits in zip(NAMES, found, strict=True)
            if [r["ImisId"] for r in hits] != [named[pair[0]]]
        ]
        assert not missed, "\n".join(missed)

    def test_insert_with_matching_on_last_name_finds_each_name(
        self, target: Target, named: dict[str, str], tmp_path: Path
    ) -> None:
        file = tmp_path / "people.csv"
        with file.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([["First", "Last"], *[["Test", t] for _, t in NAMES]])
        job = build_job(
            {
                "name": "people",
                "input": {"file": str(file)},
                "source": "Contact",
                "action": "insert-with-matching",
                "mappings": [
                    {"field": "FirstName", "column": "First"},
                    {"field": "LastName", "column": "Last", "match": True},
                ],
            }
        )
        runs = RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
        try:
            report = run_job(job, target=target, runs=runs)
            outcomes = [(str(r.outcome), r.message) for r in runs.rows(report.run_id)]
        finally:
            runs.engine.dispose()
        missed = [
            f"{spelled(pair)}: {outcome}"
            for pair, outcome in zip(NAMES, outcomes, strict=True)
            if outcome[0] != "skipped" or named[pair[0]] not in (outcome[1] or "")
        ]
        assert not missed, "\n".join(missed)
        assert len(rows(target, "Contact")) == len(NAMES)  # nothing inserted twice

    def test_usernames_are_unique_ignoring_case_in_every_script(
        self, target: Target, named: dict[str, str]
    ) -> None:
        password = "Correct-Horse-9"
        # Every person takes their name as username; then new people ask for each username in
        # its other spelling: every one of those is taken.
        inserted(
            target,
            "UserCredentials",
            *[
                {"ImisId": named[stored], "Username": f"{stored}.x", "Password": password}
                for stored, _ in NAMES
            ],
        )
        asked = insert(
            target,
            "UserCredentials",
            *[
                {
                    "FirstName": "New",
                    "LastName": "Person",
                    "Email": f"new{i}@example.org",
                    "Username": f"{typed}.X",
                    "Password": password,
                }
                for i, (_, typed) in enumerate(NAMES)
            ],
        )
        missed = [
            f"{spelled(pair)}: {result.error}"
            for pair, result in zip(NAMES, asked, strict=True)
            if result.ok or refused(result) != ("username_taken", "Username")
        ]
        assert not missed, "\n".join(missed)

    def test_imis_ids_read_in_number_order(self, seeded: Target) -> None:
        ids = ["1045", "106", "99", "7", "1000", "A20", "a3", "0110"]
        inserted(
            seeded,
            "Contact",
            *[{"ImisId": i, "FirstName": "N", "LastName": f"Number {i}"} for i in ids],
        )
        expected = ["7", "99", "a3", "106", "A20", "0110", "1000", "1045"]  # length, then text
        assert [r["ImisId"] for r in rows(seeded, "Contact")] == expected
        assert [r["ImisId"] for r in rows(seeded, "Contact", order_by=["ImisId"])] == expected
        ordered = rows(seeded, "Contact", order_by=["-ImisId"], limit=3)
        assert [r["ImisId"] for r in ordered] == ["1045", "1000", "0110"]
