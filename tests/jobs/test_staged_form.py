"""What a durable run seals per batch (``staged_form``): on a target with a journal, a row to
update or delete keeps only its matched records' identities and a decided row none, and the
rows themselves are given back as they were; without a journal (REST) the records stay whole,
as reconcile needs them."""

from __future__ import annotations

import pickle

from idms.jobs.durable import staged_form
from idms.jobs.rows import WorkRow
from idms.runs.status import Outcome

RECORD = {"ImisId": "101", "Email": "ada@example.org", "LastName": "Lovelace", "City": "London"}
OTHER = {"ImisId": "102", "Email": "ada@example.org", "LastName": "Byron", "City": "Paris"}


def rows() -> list[WorkRow]:
    update = WorkRow(1, {}, {"LastName": "King"}, matches=[RECORD, OTHER], write="update")
    delete = WorkRow(2, {}, matches=[RECORD], write="delete")
    unchanged = WorkRow(
        3, {}, matches=[OTHER], outcome=Outcome.UNCHANGED, identity={"ImisId": "102"}
    )
    insert = WorkRow(4, {}, {"LastName": "New"}, write="insert")
    return [update, delete, unchanged, insert]


def test_with_a_journal_only_identities_are_staged_and_the_rows_are_given_back() -> None:
    batch = rows()
    with staged_form(batch, ("ImisId",), journal=True) as staged:
        sealed = pickle.loads(pickle.dumps(staged))
    assert [r.matches for r in sealed] == [
        [{"ImisId": "101"}, {"ImisId": "102"}],
        [{"ImisId": "101"}],
        [],
        [],
    ]
    assert [r.identity for r in sealed] == [None, None, {"ImisId": "102"}, None]
    assert [r.matches for r in batch] == [[RECORD, OTHER], [RECORD], [OTHER], []]


def test_without_a_journal_the_matched_records_are_staged_whole() -> None:
    batch = rows()
    with staged_form(batch, ("ImisId",), journal=False) as staged:
        sealed = pickle.loads(pickle.dumps(staged))
    assert [r.matches for r in sealed] == [[RECORD, OTHER], [RECORD], [OTHER], []]
