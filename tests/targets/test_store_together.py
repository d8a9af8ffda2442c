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
