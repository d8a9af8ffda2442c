"""The XLSX reader builds its rows a chunk at a time with the cycle collector paused; what it
yields is the same as row by row, and the collector runs again whenever a row is handed over."""

from __future__ import annotations

import gc
from pathlib import Path

import xlsxwriter

from idms.io import xlsx
from idms.io.reader import open_input


def test_rows_across_chunks_are_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["Name", "Count", "Note"])
    rows = 2 * xlsx.CHUNK + 7
    blank_at = {xlsx.CHUNK, xlsx.CHUNK + 1}  # sheet rows left empty, at a chunk's edge
    for r in range(1, rows + 1):
        if r not in blank_at:
            sheet.write_row(r, 0, [f"n{r}", float(r), ""])
    book.close()

    seen = []
    with open_input(path) as reader:
        for row in reader:
            assert gc.isenabled()  # never paused while the caller holds a row
            seen.append(row)
        assert reader.blank_rows == len(blank_at)
    expected = [r for r in range(1, rows + 1) if r not in blank_at]
    assert [row.number for row in seen] == [r + 1 for r in expected]
    assert [row.values for row in seen] == [
        {"Name": f"n{r}", "Count": r, "Note": None} for r in expected
    ]
    assert all(type(row.values["Count"]) is int for row in seen)
