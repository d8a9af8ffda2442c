"""Input bombs are defused before they cost memory (issue 14, item 5).

* An XLSX whose sheet inflates a thousandfold: refused from the zip directory, before anything is
  unpacked. The bomb is built here (a few MB on disk, over a gigabyte unpacked) and opened in a
  child process limited to 1 GiB of address space, so a reader that unpacks it fails there
  instead of taking the machine's memory.
* A YAML "billion laughs" (500 bytes standing for a billion values) in a job's ``value:``,
  ``values:`` or ``input.params``, in a query or a panel definition: refused, as every alias is.
* JSON nested deeper than any document needs: refused.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import pytest
import xlsxwriter

from idms.documents import MAX_DEPTH, DocumentError, read_document
from idms.errors import InvalidInputError, PanelDefinitionError
from idms.io.limits import InputLimits
from idms.io.reader import open_input
from idms.io.records import ReadOptions
from idms.jobs.model import JobInvalid, load_job_file, parse_document
from idms.queries.model import QueryInvalid, parse_query_document
from idms.sources.panels import parse_panel

# --- the XLSX bomb ------------------------------------------------------------------------------

_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'
)
_ROW = b'<row><c t="inlineStr"><is><t>' + b"x" * 50 + b"</t></is></c></row>"
_TAIL = b"</sheetData></worksheet>"
_SHEET = "xl/worksheets/sheet1.xml"


def _deflated_sheet(megabytes: int) -> tuple[list[bytes], int, int]:
    """A raw deflate stream of a sheet of ``megabytes`` MiB of rows, as pieces to write, its
    unpacked size and its CRC-32. A full flush resets the compressor, so one compressed MiB of
    rows can be repeated as it is: building a gigabyte bomb takes milliseconds."""
    chunk = _ROW * (1024 * 1024 // len(_ROW))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(_HEAD) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeated = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.compress(_TAIL) + deflate.flush()
    crc = zlib.crc32(_HEAD)
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(_TAIL, crc)
    size = len(_HEAD) + len(chunk) * megabytes + len(_TAIL)
    return [first, *([repeated] * megabytes), last], size, crc


def write_bomb(path: Path, megabytes: int) -> Path:
    """A real workbook (made by XlsxWriter) whose sheet is replaced by ``megabytes`` MiB of rows
    packed about 300 to 1 (the zip is written by hand: zipfile cannot take packed data)."""
    template = path.with_suffix(".template.xlsx")
    book = xlsxwriter.Workbook(str(template))
    book.add_worksheet("People").write_row(0, 0, ["Email"])
    book.close()
    entries: list[tuple[str, list[bytes], int, int]] = []
    with zipfile.ZipFile(template) as source:
        for info in source.infolist():
            if info.filename == _SHEET:
                pieces, size, crc = _deflated_sheet(megabytes)
            else:
                raw = source.read(info.filename)
                deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
                pieces, size, crc = (
                    [deflate.compress(raw) + deflate.flush()],
                    len(raw),
                    zlib.crc32(raw),
                )
            entries.append((info.filename, pieces, size, crc))
    directory = b""
    with path.open("wb") as out:
        for name, pieces, size, crc in entries:
            offset, packed, encoded = out.tell(), sum(map(len, pieces)), name.encode()
            out.write(
                struct.pack(
                    "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, packed, size, len(encoded), 0
                )
                + encoded
            )
            for piece in pieces:
                out.write(piece)
            directory += (
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + encoded
            )
        start = out.tell()
        out.write(directory)
        out.write(
            struct.pack(
                "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), start, 0
            )
        )
    return path


_OPEN_UNDER_1_GIB = textwrap.dedent(
    """
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from idms.errors import IdmsError
    from idms.io.reader import open_input
    started = time.perf_counter()
    try:
        with open_input(sys.argv[1]) as reader:
            rows = sum(1 for _ in reader)
        print("READ", rows)
    except IdmsError as exc:
        print("REFUSED", exc.message)
    print("SECONDS", time.perf_counter() - started)
    # VmHWM: this program's own peak (ru_maxrss keeps the forking pytest's across exec).
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print("PEAK_MB", peak // 1024)
    """
)


def _open_in_a_small_process(path: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_UNDER_1_GIB, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, f"the reader died ({done.returncode}): {done.stderr[-2000:]}"
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return lines


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_unpacked(
    tmp_path: Path,
) -> None:
    bomb = write_bomb(tmp_path / "people.xlsx", 1200)  # 1.2 GB of rows in about 4 MB
    assert bomb.stat().st_size < 8 * 1024 * 1024

    seen = _open_in_a_small_process(bomb)

    assert "REFUSED" in seen, seen
    assert "people.xlsx unpacks to 1.2 GB, more than the 1 GB idms reads" in seen["REFUSED"]
    assert "export the sheet as CSV" in seen["REFUSED"]
    assert float(seen["SECONDS"]) < 2, "refused from the directory, not after unpacking"
    assert int(seen["PEAK_MB"]) < 300


def test_a_part_packed_like_a_bomb_is_refused_even_under_the_total(tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "small-bomb.xlsx", 200)  # 200 MB unpacked, ~300 to 1

    with pytest.raises(InvalidInputError) as refused:
        open_input(bomb)

    message = refused.value.message
    assert "small-bomb.xlsx is refused as a likely zip bomb" in message
    assert f"its part {_SHEET} unpacks to 200 MB" in message
    assert "idms allows 100" in message


def test_the_archive_limits_are_settings_of_the_reader(tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "big.xlsx", 20)
    relaxed = ReadOptions(limits=InputLimits(max_ratio=1000))
    with open_input(bomb, relaxed) as reader:
        assert reader.detected.columns == ("Email",)
    strict = ReadOptions(limits=InputLimits(max_entries=3))
    with pytest.raises(InvalidInputError, match="more than the 3 a workbook needs"):
        open_input(bomb, strict)


def test_a_real_workbook_is_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "real.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    sheet.write_row(0, 0, ["Email", "Name", "Status"])
    for row in range(1, 20_001):
        sheet.write_row(row, 0, [f"p{row}@example.org", f"Person {row}", "Active"])
    book.close()
    with open_input(path) as reader:
        assert sum(1 for _ in reader) == 20_000


# --- YAML and JSON ------------------------------------------------------------------------------

LAUGHS = "\n".join(
    [
        'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)),
    ]
)


def _job(place: str) -> str:
    """A job whose ``place`` holds the last laugh (nine levels of nine: 387 million strings)."""
    mapping = "  - {field: Email, column: E-mail, match: true}\n"
    if place == "value":
        mapping += "  - field: Notes\n    value: *l8\n"
    elif place == "values":
        mapping += "  - field: Status\n    column: Status\n    values: {A: *l8}\n"
    params = "  params: {p: *l8}\n" if place == "params" else ""
    return (
        f"{LAUGHS}\nname: laughs\ninput:\n  query: q\n{params}source: Contact\n"
        f"action: insert-update\nmappings:\n{mapping}"
    )


@pytest.mark.parametrize("place", ["value", "values", "params"])
def test_a_billion_laughs_in_a_job_file_is_refused_as_it_is_read(
    tmp_path: Path, place: str
) -> None:
    path = tmp_path / "job.yml"
    path.write_text(_job(place), encoding="utf-8")
    assert path.stat().st_size < 1000

    started = time.perf_counter()
    with pytest.raises(JobInvalid) as refused:
        load_job_file(path)

    assert time.perf_counter() - started < 1
    assert refused.value.problems == [
        f"{path} uses the YAML alias *l0 (line 2), which idms does not accept: an alias can "
        "make a few lines stand for billions of values. Write the value out in full where it "
        "is needed."
    ]


def test_every_kind_of_document_refuses_aliases() -> None:
    with pytest.raises(JobInvalid, match="alias"):
        parse_document(_job("value"), where="the template")
    with pytest.raises(QueryInvalid, match="uses the YAML alias"):
        parse_query_document(f"{LAUGHS}\nname: q\nfrom: Contact\ncolumns: *l8\n")
    with pytest.raises(PanelDefinitionError, match="the file uses the YAML alias"):
        parse_panel(f"{LAUGHS}\nname: P\nkind: single\nfields: *l8\n")
    with pytest.raises(DocumentError, match="alias"):
        read_document("base: &b {a: 1}\njob:\n  <<: *b\n")


def test_anchors_alone_and_plain_documents_still_read() -> None:
    assert read_document("a: &x 1\nb: [1, 2]\n") == {"a": 1, "b": [1, 2]}
    assert read_document('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, "mappings"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "objects"),
        ("{" + '"a": {' * (MAX_DEPTH + 1) + "}" * (MAX_DEPTH + 2), "objects"),
    ],
)
def test_deep_nesting_is_refused_not_a_crash(text: str, kind: str) -> None:
    with pytest.raises(JobInvalid) as refused:
        parse_document(text)
    assert f"nests lists and {kind} more than {MAX_DEPTH} levels deep" in refused.value.message


def test_a_job_document_as_deep_as_allowed_reads() -> None:
    deep: object = 1
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert read_document(json.dumps({"a": deep}))  # MAX_DEPTH levels in all
