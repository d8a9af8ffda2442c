"""``EmbeddedTarget.together``: its block's reads go through its transaction.

The sandbox writes a contact and its addresses in one ``together`` block and reads them back
in it; the reads must see the block's writes (before the commit), and a refusal raised in the
block must undo them. A dry run cannot be part of the block: it would be committed with it.
"""

from __future__ import annotations

import pytest

from idms.errors import TerminalTargetError
from idms.targets.base import ApplyOptions, Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget


def _person(last: str) -> Change:
    return Change(ChangeKind.INSERT, {"FirstName": "Tess", "LastName": last})


def _write_read_and_refuse(target: EmbeddedTarget, written: list[str]) -> None:
    with target.together() as apply:
        imis_id = apply("Contact", [_person("Block")])[0].after["ImisId"]  # type: ignore[index]
        written.append(imis_id)
        found = target.match("Contact", ["ImisId"], [{"ImisId": imis_id}])[0]
        assert [r["LastName"] for r in found] == ["Block"]
        raise RuntimeError("refused")


def test_reads_in_the_block_see_its_writes_and_a_raise_undoes_them(database_url: str) -> None:
    target = EmbeddedTarget(database_url)
    try:
        written: list[str] = []
        with pytest.raises(RuntimeError):
            _write_read_and_refuse(target, written)
        (imis_id,) = written
        assert target.match("Contact", ["ImisId"], [{"ImisId": imis_id}]) == [[]]
        with target.together() as apply:
            imis_id = apply("Contact", [_person("Kept")])[0].after["ImisId"]  # type: ignore[index]
        assert target.match("Contact", ["ImisId"], [{"ImisId": imis_id}])[0][0]["LastName"] == (
            "Kept"
        )
    finally:
        target.close()


def test_a_dry_run_inside_the_block_is_refused(database_url: str) -> None:
    target = EmbeddedTarget(database_url)
    try:
        with target.together(), pytest.raises(TerminalTargetError):
            target.apply("Contact", [_person("Dry")], ApplyOptions(dry_run=True))
    finally:
        target.close()


def test_what_the_block_matched_is_its_next_writes_before_image(database_url: str) -> None:
    """On SQLite the block holds the write lock, so a record it matched is still the stored one
    when it writes: the update plans on it instead of reading it again (one contacts read)."""
    from sqlalchemy import event

    target = EmbeddedTarget(database_url)
    try:
        with target.together() as apply:
            imis_id = apply("Contact", [_person("Before")])[0].after["ImisId"]  # type: ignore[index]
        reads: list[str] = []

        def keep(conn: object, cursor: object, statement: str, *_: object) -> None:
            if statement.lstrip().startswith("SELECT") and "FROM contacts" in statement:
                reads.append(statement)

        event.listen(target.engine, "before_cursor_execute", keep)
        try:
            with target.together() as apply:
                (current,) = target.match("Contact", ["ImisId"], [{"ImisId": imis_id}])[0]
                change = Change(ChangeKind.UPDATE, {"LastName": "After"}, {"ImisId": imis_id})
                (result,) = apply("Contact", [change])
        finally:
            event.remove(target.engine, "before_cursor_execute", keep)
        assert result.ok
        assert result.before == current
        assert result.after is not None
        assert result.after["LastName"] == "After"
        expected = 1 if target.engine.dialect.name == "sqlite" else 2
        assert len(reads) == expected, reads
        assert target.match("Contact", ["ImisId"], [{"ImisId": imis_id}])[0][0]["LastName"] == (
            "After"
        )
    finally:
        target.close()
