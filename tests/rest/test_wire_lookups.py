"""wire's member look-ups without case and its copy of decoded JSON (the hot paths of every
Party read and PUT), against what they stand for: a scan of the keys, and ``copy.deepcopy``."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from idms.sandbox.jsonbody import loads
from idms.targets.imis import wire


def scanned(mapping: dict[str, Any], name: str, default: Any = None) -> Any:
    """What ``find`` answers, as a scan of the keys finds it."""
    if name in mapping:
        return mapping[name]
    return next((v for k, v in mapping.items() if k.casefold() == name.casefold()), default)


def test_find_answers_as_a_scan_of_the_keys_whatever_the_spelling() -> None:
    bodies = [
        {"PersonName": 1, "Title": "x", "$type": "t"},
        {"personname": 2, "TITLE": None, "$TYPE": "u"},  # the same names in another case
        {"Title": 3, "title": 4},  # two spellings: the first in order wins, as a scan finds it
        {"title": 5, "Title": 6},
        {},
    ]
    for body in bodies * 2:  # the second time from the kept index of each set of names
        for name in ("PersonName", "PERSONNAME", "title", "Title", "$type", "$Type", "Gender"):
            assert wire.find(body, name, "absent") == scanned(body, name, "absent"), (body, name)
            found = wire.spelled(body, name)
            assert (found is None) == (scanned(body, name, "absent") == "absent")
            assert found is None or found.casefold() == name.casefold()


def test_find_reads_request_bodies_as_they_bind() -> None:
    body = loads('{"personName": {"firstName": "Ada"}, "$TYPE": "x"}')
    assert wire.find(body, "PersonName") == {"firstName": "Ada"}
    assert wire.find(wire.find(body, "PersonName"), "FirstName") == "Ada"
    assert wire.find(body, "$type") == "x"  # as the scan found it before
    assert wire.find(body, "Gender", "none") == "none"


def test_a_request_body_learns_members_set_after_a_lookup_without_case() -> None:
    body = loads('{"Name": 1}')
    assert body.get("NAME") == 1  # the folded index is made here
    body["Title"] = 2
    assert (body.get("title"), "TITLE" in body, body["tItLe"]) == (2, True, 2)
    assert copy.deepcopy(body) == {"Name": 1, "Title": 2}
    assert copy.deepcopy(body).get("name") == 1


def test_copied_is_a_deep_copy() -> None:
    obj: dict[str, Any] = {
        "$type": "PersonData",
        "Emails": {"$values": [{"Address": "a@example.org", "IsPrimary": True}]},
        "Numbers": [1, 2.5, None, False, [3]],
        "Other": (date(2020, 1, 2), Decimal("1.5")),
    }
    made = wire.copied(obj)
    assert made == copy.deepcopy(obj)
    made["Emails"]["$values"][0]["Address"] = "b@example.org"
    made["Numbers"][4].append(4)
    assert obj["Emails"]["$values"][0]["Address"] == "a@example.org"
    assert obj["Numbers"][4] == [3]
