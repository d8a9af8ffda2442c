"""The one JSON codec: what it writes for the types JSON lacks, and the iMIS wire built on it."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from uuid import UUID

from idms import jsontext
from idms.targets.imis import wire


class Colour(Enum):
    RED = "red"


VALUES = {
    "day": date(2024, 2, 29),
    "at": datetime(2024, 2, 29, 9, 5, 7),
    "time": time(9, 5),
    "amount": Decimal("1E+3"),
    "key": UUID(int=1),
    "path": Path("/tmp/x.csv"),
    "colour": Colour.RED,
    "tags": {"b", "a"},
    "pair": (1, 2),
}
EXPECTED = {
    "day": "2024-02-29",
    "at": "2024-02-29T09:05:07",
    "time": "09:05:00",
    "amount": "1000",
    "key": "00000000-0000-0000-0000-000000000001",
    "path": "/tmp/x.csv",
    "colour": "red",
    "tags": ["a", "b"],
    "pair": [1, 2],
}


def test_every_type_json_lacks_is_written_one_way() -> None:
    assert json.loads(jsontext.dumps(VALUES)) == EXPECTED
    # the standard library's path (orjson refuses integer keys) gives the same values
    assert json.loads(jsontext.dumps({**VALUES, 1: 2}))["day"] == "2024-02-29"
    assert jsontext.plain(VALUES) == EXPECTED


def test_indented_text_is_the_standard_librarys() -> None:
    value = {"a": [1, {}, []], "b": "Zoë", "c": {"d": None}}
    assert jsontext.dumps(value, indent=True) == json.dumps(value, indent=2, ensure_ascii=False)


def test_loads_keeps_big_integers_exact() -> None:
    assert jsontext.loads(jsontext.dumps({"n": 2**70})) == {"n": 2**70}


def test_the_wire_writes_dates_and_amounts_as_imis_does() -> None:
    body = {
        "On": date(2024, 2, 29),
        "At": datetime(2024, 2, 29, 9, 5, 7, 123),
        "Dues": Decimal("12.50"),
    }
    assert wire.dumps(body) == '{"On":"2024-02-29T00:00:00","At":"2024-02-29T09:05:07","Dues":12.5}'
    assert json.loads(wire.dumps({"Tags": {"x"}, "Key": UUID(int=1)})) == {
        "Tags": ["x"],
        "Key": "00000000-0000-0000-0000-000000000001",
    }
