"""One meaning of "equal ignoring case": the Python fold, and the stores' SQL fold agreeing with
it on every Unicode character (SQLite and PostgreSQL), plus the iMIS ID order."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import text

from idms.targets.embedded.adapters.folding import register_fold
from idms.targets.embedded.target import EmbeddedTarget
from idms.values.folding import fold, fold_value, id_order, same_text


def assigned_characters() -> list[str]:
    """Every character Unicode assigns (as this Python knows it), surrogates left out."""
    return [chr(c) for c in range(1, 0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]


# (one spelling, another, equal?) - the decisions the fold stands for, spelled out.
DECISIONS = [
    ("ÅBERG", "åberg", True),
    ("Ó BRIAIN", "ó briain", True),
    ("ŁUKASZ", "łukasz", True),
    ("ПЕТРОВ", "петров", True),
    ("ΣΊΣΥΦΟΣ", "σίσυφος", True),  # final sigma folds to sigma ...
    ("σίσυφοσ", "σίσυφος", True),  # ... wherever it stands
    ("STRASSE", "Straße", True),  # sharp s is ss, as in SQL Server's collations
    ("STRAẞE", "strasse", True),
    ("İstanbul", "istanbul", True),  # Turkish dotted capital I is i ...
    ("ISTANBUL", "istanbul", True),  # ... and so is the plain capital I
    ("Işık", "IŞIK", True),  # dotless small i is i too
    ("A\u030angstrom", "Ångstrom", True),  # decomposed and precomposed Å
    ("Ｓｍｉｔｈ", "smith", True),  # full width
    ("ﬁnn", "FINN", True),  # ligature
    ("Müller", "Muller", False),  # accents count, as in iMIS's accent-sensitive collation
    ("Łukasz", "Lukasz", False),
    ("Sørensen", "Sorensen", False),
    ("Straße", "Strase", False),
]


@pytest.mark.parametrize(("one", "other", "equal"), DECISIONS)
def test_what_counts_as_the_same_text(one: str, other: str, equal: bool) -> None:
    assert (fold(one) == fold(other)) is equal
    assert same_text(f" {one} ", other) is equal


def test_fold_is_idempotent_and_values_other_than_text_pass_through() -> None:
    texts = assigned_characters() + [t for one, other, _ in DECISIONS for t in (one, other)]
    assert [t for t in texts if fold(fold(t)) != fold(t)] == []
    assert fold_value("  ÅBERG ") == "åberg"
    assert fold_value(42) == 42
    assert fold_value(None) is None


def test_imis_ids_sort_as_numbers_by_length_then_text() -> None:
    ids = ["1045", "106", "A20", "99", "0110", "a3", "7", "1000"]
    assert sorted(ids, key=id_order) == ["7", "99", "a3", "106", "A20", "0110", "1000", "1045"]


def test_sqlite_folds_every_character_as_python_does(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "fold.db")
    register_fold(conn)
    chars = assigned_characters()
    query = "SELECT idms_fold(value) FROM json_each(?) ORDER BY key"
    folded = [row[0] for row in conn.execute(query, (json.dumps(chars),))]
    conn.close()
    assert folded == [fold(c) for c in chars]


@pytest.mark.postgres
def test_postgresql_folds_every_character_as_python_does(postgres_url: str) -> None:
    """idms_fold in SQL (migration 0003_store) against ``fold``, character by character, then
    on whole names (where final sigma's context and NFKC's composition come in)."""
    target = EmbeddedTarget(postgres_url)
    try:
        chars = assigned_characters()
        names = [one for one, _, _ in DECISIONS] + [other for _, other, _ in DECISIONS]
        names += ["ΟΔΥΣΣΕΥΣ", "Ἀλέξανδρος", "ΣΑΣ Σ", "I\u0307stanbul", "ǅemal", "ΐ"]
        with target.engine.connect() as conn:
            got = conn.execute(
                text(
                    "SELECT idms_fold(v) FROM unnest(CAST(:values AS text[])) "
                    "WITH ORDINALITY AS u(v, n) ORDER BY n"
                ),
                {"values": chars + names},
            ).scalars()
            folded = list(got)
        expected = [fold(c) for c in chars + names]
        differ = [
            f"U+{ord(c[0]):04X} {c!r}: {g!r} != {e!r}"
            for c, g, e in zip(chars + names, folded, expected, strict=True)
            if g != e
        ]
        assert not differ, "\n".join(differ[:40])
    finally:
        target.close()
