"""The fast paths of an export pipeline (issue 16's speed goal) give what the plain code gave: a
row set written a batch at a time by orjson and read back by orjson holds exactly what the
standard library would have written and read (long integers, NaN, nested values, blank lines);
a query's rows made pipeline objects a column at a time equal :func:`json_cell` cell by cell;
Convert takes a batch's cells in C and still blanks a column a row lacks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from idms.workflow_services import json_cell, json_rows
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext
from idms.workflows.actions.rowsets import _BATCH, iter_rows, write_row_set


def context(files: Path) -> ActionContext:
    return ActionContext(
        services=None,  # type: ignore[arg-type]  # nothing here asks the suite
        workflow_id="wf",
        workflow="wf",
        run_id="run",
        step_id="step",
        attempt=1,
        files=files,
        render=lambda template, names: template,
    )


COLUMNS = ["id", "name", "ok", "none", "amount", "note", "small", "tags", "obj", "when", "at", "d"]


def test_a_row_set_reads_back_what_json_would_have_read(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    plain = [{"id": n, "name": f"Zoë {n}", "ok": n % 2 == 0, "none": None} for n in range(3000)]
    odd = [
        {"id": 12345678901234567890123, "amount": 1.5},  # past 64 bits: exact
        {"id": -9223372036854775809, "note": "x"},  # just past -2**63: orjson would round it
        {"id": 2**64 - 1},
        {"amount": 1e300, "small": -0.25},
        {"tags": ["a", {"deep": 99999999999999999999999}], "obj": {"k": [1, 2]}},
        {"when": dt.date(2024, 3, 1), "at": dt.datetime(2024, 3, 1, 9, 30), "d": Decimal("1.10")},
    ]
    rows = plain[:1500] + odd + plain[1500:]
    reference = write_row_set(iter(rows), ctx, "mixed")
    assert reference == {
        "$rows": "mixed.jsonl",
        "count": len(rows),
        "columns": COLUMNS,
    }
    # What the standard library reads from the file is what the rows were...
    with (tmp_path / "mixed.jsonl").open(encoding="utf-8") as lines:
        expected = [json.loads(line) for line in lines]
    assert expected[1500 + 5] == {"when": "2024-03-01", "at": "2024-03-01T09:30:00", "d": "1.10"}
    # ...and what the row set gives back, types and all.
    got = list(iter_rows(reference, ctx))
    assert got == expected
    assert [type(v) for row in got for v in row.values()] == [
        type(v) for row in expected for v in row.values()
    ]
    assert got[1500]["id"] == 12345678901234567890123
    assert got[1501]["id"] == -9223372036854775809


def test_a_row_set_with_nan_blank_lines_and_integer_keys(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    rows: list[dict[Any, Any]] = [{"a": n} for n in range(_BATCH + 10)]
    rows[5] = {"a": math.nan, "b": 1.5}  # written as null, as idms.jsontext.dumps writes it
    rows[7] = {1: "integer key"}  # orjson will not write it; json writes "1"
    reference = write_row_set(iter(rows), ctx, "odd.jsonl")
    assert reference["columns"] == ["a", "b", 1]
    text = (tmp_path / "odd.jsonl").read_text(encoding="utf-8")
    assert '{"a":null,"b":1.5}\n' in text
    assert '{"1":"integer key"}\n' in text
    # NaN and Infinity (which json writes, and orjson refuses to read), and blank lines.
    text = text.replace('{"a":null,"b":1.5}', '{"a":NaN,"b":-Infinity}')
    (tmp_path / "odd.jsonl").write_text(text.replace("\n", "\n\n", 3), encoding="utf-8")
    got = list(iter_rows(reference, ctx))
    assert len(got) == len(rows)
    assert math.isnan(got[5]["a"])
    assert got[5]["b"] == -math.inf
    assert got[7] == {"1": "integer key"}
    assert got[:3] == [{"a": 0}, {"a": 1}, {"a": 2}]
    assert got[-1] == {"a": _BATCH + 9}


def test_query_rows_become_the_objects_json_cell_makes() -> None:
    columns = ["ID", "Joined", "At", "Amount", "Mixed", "Codes", "Flag"]
    rows: list[tuple[Any, ...]] = []
    for n in range(2 * _BATCH + 5):
        rows.append(
            (
                str(n),
                dt.date(2020, 1, 1) + dt.timedelta(days=n),
                dt.datetime(2020, 1, 1, 8, 0) + dt.timedelta(minutes=n),
                Decimal(n) / 4,
                None if n % 3 else dt.date(2021, 2, 3),
                ("A", "B") if n % 2 else None,
                n % 2 == 0,
            )
        )
    rows[3] = rows[3][:5]  # a short row: its cells still by name, the rest left out
    got = list(json_rows(columns, iter(rows)))
    expected = [{c: json_cell(v) for c, v in zip(columns, row, strict=False)} for row in rows]
    assert got == expected
    assert got[4] == {
        "ID": "4",
        "Joined": "2020-01-05",
        "At": "2020-01-01T08:04:00",
        "Amount": 1,
        "Mixed": None,
        "Codes": None,
        "Flag": True,
    }
    assert got[3] == {
        "ID": "3",
        "Joined": "2020-01-04",
        "At": "2020-01-01T08:03:00",
        "Amount": 0.75,
        "Mixed": "2021-02-03",
    }
    assert type(got[4]["Amount"]) is int


@pytest.mark.parametrize("missing_at", [1, _BATCH - 1, _BATCH + 3])
def test_convert_blanks_a_column_a_row_lacks_in_a_large_row_set(
    tmp_path: Path, missing_at: int
) -> None:
    ctx = context(tmp_path)
    rows: list[dict[str, Any]] = [
        {"ID": n, "Name": f"M{n}", "Tags": ["x"] if n == 7 else "t"} for n in range(2 * _BATCH)
    ]
    del rows[missing_at]["Name"]
    reference = write_row_set(iter(rows), ctx, "members")
    spec = actions()["convert"]
    params = spec.params.model_validate({"input": reference, "file_name": "m.csv"})
    assert spec.run(params, {}, ctx).output["rows"] == len(rows)
    with (tmp_path / "m.csv").open(encoding="utf-8-sig", newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["ID", "Name", "Tags"]
    assert table[1 + missing_at] == [str(missing_at), "", "t"]
    assert table[1 + 7][2] == '["x"]'
    assert table[-1] == [str(2 * _BATCH - 1), f"M{2 * _BATCH - 1}", "t"]
    assert len(table) == 1 + len(rows)
