"""What a Party call costs the sandbox: index look-ups, one transaction per write.

A ``PUT /api/Party/{id}`` reads the contact and its addresses before and after writing them.
Those reads once filtered addresses on ``idms_fold(imis_id)``, which no index serves, so every
call read every address of the store (the sandbox's CPU per call grew with the store); and each
read opened a connection of its own. Both are checked here on the statements the store runs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sandbox_support import Api
from sqlalchemy import event


def _contact_with_addresses(api: Api) -> str:
    count = Counter(str(r["ImisId"]) for r in api.target.read("Address"))
    imis_id, addresses = count.most_common(1)[0]
    assert addresses >= 2, "the demo store has contacts with several addresses"
    return imis_id


def test_a_party_put_reads_addresses_off_the_index_in_the_writes_transaction(api: Api) -> None:
    imis_id = _contact_with_addresses(api)
    party = api.get(f"/api/Party/{imis_id}").json()
    party["PersonName"]["InformalName"] = "Dougie"
    engine = api.target.engine
    statements: list[tuple[str, Any]] = []
    transactions: list[object] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    def began(conn: Any) -> None:
        transactions.append(conn)

    event.listen(engine, "before_cursor_execute", keep)
    event.listen(engine, "begin", began)
    try:
        answer = api.put(f"/api/Party/{imis_id}", party)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
        event.remove(engine, "begin", began)
    assert answer.status_code == 200, answer.text
    assert answer.json()["PersonName"]["InformalName"] == "Dougie"
    assert answer.json() == api.get(f"/api/Party/{imis_id}").json()
    # The contact and its addresses, read before and after the write, in the write's transaction.
    assert len(transactions) == 1
    reads = [(s, p) for s, p in statements if s.lstrip().startswith("SELECT") and "addresses" in s]
    assert reads, "the addresses are read"
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        for statement, parameters in reads:
            assert "idms_fold(addresses.imis_id)" not in statement
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "SCAN addresses" not in plan, plan
        cursor.close()


def test_a_party_post_answers_the_party_as_a_get_then_reads_it(api: Api) -> None:
    imis_id = _contact_with_addresses(api)
    party = api.get(f"/api/Party/{imis_id}").json()
    for key in ("Id", "PartyId", "UniformId"):
        party.pop(key, None)
    party["Emails"] = {"$type": party["Emails"]["$type"], "$values": []}
    party["PersonName"]["FirstName"] = "Twin"
    answer = api.post("/api/Person", party)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["Id"] != imis_id
    assert created == api.get(f"/api/Party/{created['Id']}").json()
    assert len(created["Addresses"]["$values"]) == len(party["Addresses"]["$values"])


def _statements(api: Api, call: Any) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def keep(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(api.target.engine, "before_cursor_execute", keep)
    try:
        answer = call()
    finally:
        event.remove(api.target.engine, "before_cursor_execute", keep)
    return answer, seen


def test_a_party_post_and_put_read_and_write_each_record_once(api: Api) -> None:
    body = {
        "$type": "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
        "PersonName": {"FirstName": "Once", "LastName": "Only"},
        "Emails": {"$values": [{"Address": "once.only@example.org", "IsPrimary": True}]},
        "Addresses": {"$values": [{"Address": {"CityName": "Springfield"}}]},
    }
    created, statements = _statements(api, lambda: api.post("/api/Person", body))
    assert created.status_code == 201, created.text
    # The contact's own address is written with it; its empty extras are no second write.
    assert not [s for s in statements if s.startswith("UPDATE addresses")]
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == 1
    party = created.json()
    assert party == api.get(f"/api/Party/{party['Id']}").json()
    party["PersonName"]["InformalName"] = "Oncey"
    answer, statements = _statements(api, lambda: api.put(f"/api/Party/{party['Id']}", party))
    assert answer.status_code == 200, answer.text
    assert answer.json() == api.get(f"/api/Party/{party['Id']}").json()
    assert answer.json()["PersonName"]["InformalName"] == "Oncey"
    # The contact is read once (the write's before-image), its addresses once (no write
    # touched them), and the answer is the contact as the write gave it back.
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len([s for s in reads if "FROM contacts" in s]) == 1, reads
    assert len([s for s in reads if ' AS "AddressPurpose"' in s]) == 1, reads
