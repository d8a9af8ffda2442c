"""A transfer without delta hashing runs as one step that reads the query and writes the file
(issue 16's speed: no object per row, no row set in between), and writes the very file the
two-step pipeline (Fetch Query Data, then Convert over its rows) writes; its history still
counts the rows fetched. Convert given a query directly refuses a query whose prompt is
needed and not given, naming it. Over a real workspace (the embedded demo association) and a
real export folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tr_support import QUERY, open_workspace, transfer

from idms.queries.model import build_query
from idms.runs.status import RunStatus
from idms.transfers.compile import compile_transfer
from idms.transfers.model import parse_transfer
from idms.workspace import Workspace

FORMAT = {"format": "csv", "delimiter": ";", "date_format": "%d/%m/%Y", "columns": ["Email", "ID"]}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "out").mkdir()
    ws = open_workspace(tmp_path, export_folders=(tmp_path / "out",))
    yield ws
    ws.close()


def to_folder(root: Path, **extra: Any) -> dict[str, Any]:
    document = transfer("http://unused", file_name="members.csv", **extra)
    del document["delta"]
    document["steps"] = [
        {
            "order": 10,
            "name": "Drop in the export folder",
            "connection": {"type": "folder", "folder": str(root / "out"), "overwrite": True},
        }
    ]
    return document


def test_a_transfer_without_delta_reads_the_query_in_its_file_step(
    workspace: Workspace, tmp_path: Path
) -> None:
    document = to_folder(tmp_path, format=FORMAT)
    compiled = compile_transfer(parse_transfer(document))
    assert [s.id for s in compiled.steps] == ["file", "nothing_to_send", "step_10"]
    assert compiled.steps[0].action == "convert"
    assert compiled.steps[0].with_["input"] == {"query": QUERY, "params": {}}

    workspace.save_transfer(document)
    run = workspace.run_transfer("LMS nightly")
    assert run.status == RunStatus.SUCCEEDED, run.message
    written = (tmp_path / "out" / "members.csv").read_bytes()

    # The same file as Fetch Query Data -> Convert over its rows (the two-step pipeline).
    workspace.save_workflow(
        {
            "name": "Two steps",
            "steps": [
                {"id": "fetch", "action": "fetch_query", "with": {"query": QUERY}},
                {
                    "id": "file",
                    "action": "convert",
                    "with": {**FORMAT, "input": "{{ steps.fetch }}", "file_name": "members.csv"},
                },
            ],
        }
    )
    two = workspace.run_workflow("Two steps")
    assert two.status == "succeeded", two.message
    assert written == (workspace.runs_folder / two.id / "files" / "members.csv").read_bytes()
    lines = written.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Email;ID"
    assert len([line for line in lines[1:] if line]) == 8

    [history] = workspace.transfer_runs("LMS nightly")
    assert history["rows_fetched"] == 8
    assert history["rows_in_file"] == 8
    assert history["rows_changed"] is None
    assert history["rows_sent"] == 8
    file_step = workspace.workflow_steps(run.id)[0]
    assert file_step.message is not None
    assert file_step.message.startswith(f"8 rows from query '{QUERY}' written to members.csv (")


def test_delta_hashing_or_chunks_keep_the_fetch_step(tmp_path: Path) -> None:
    with_delta = compile_transfer(parse_transfer(transfer("http://x")))
    assert [s.id for s in with_delta.steps][:3] == ["fetch", "changed", "file"]
    chunked = transfer("http://x")
    del chunked["delta"]
    chunked["steps"][0]["connection"]["chunk"] = 5
    compiled = compile_transfer(parse_transfer(chunked))
    assert [s.id for s in compiled.steps][:2] == ["fetch", "file"]
    assert compiled.steps[1].with_["input"] == "{{ steps.fetch }}"


def test_convert_from_a_query_refuses_a_missing_prompt(workspace: Workspace) -> None:
    workspace.queries.save(
        build_query(
            {
                "name": "By last name",
                "from": "Contact",
                "columns": {"ID": "ImisId", "Last": "LastName"},
                "filters": [
                    {"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}
                ],
            }
        )
    )
    step = {"id": "file", "action": "convert", "with": {"input": {"query": "By last name"}}}
    workspace.save_workflow({"name": "No prompt", "steps": [step]})
    run = workspace.run_workflow("No prompt")
    assert run.status == "failed"
    assert "the prompt 'last' is required" in (run.message or "")

    given = {**step, "with": {"input": {"query": "By last name", "params": {"last": "A"}}}}
    workspace.save_workflow({"name": "With prompt", "steps": [given]})
    ok = workspace.run_workflow("With prompt")
    assert ok.status == "succeeded", ok.message
    [record] = workspace.workflow_steps(ok.id)
    assert record.output["query"] == "By last name"
    assert record.output["columns"] == ["ID", "Last"]


def test_a_list_in_a_table_cell_is_the_json_text_convert_writes() -> None:
    from datetime import date

    from idms.workflow_services import json_text, json_tuples
    from idms.workflows.actions.convert import _cell

    assert json_text(("Gold", "Ré")) == _cell(["Gold", "Ré"]) == '["Gold","Ré"]'
    rows = [(1, ("a", "b"), date(2024, 3, 1)), (2, None, date(2024, 3, 2))]
    assert list(json_tuples(rows, json_text)) == [
        (1, '["a","b"]', "2024-03-01"),
        (2, None, "2024-03-02"),
    ]


DATED = {"ID": "ImisId", "Joined": "JoinDate", "Updated": "UpdatedOn", "Email": "Email"}


@pytest.mark.parametrize(
    "layout",
    [
        {"format": "csv"},
        {"format": "csv", "date_format": "%d/%m/%Y", "quoting": "nonnumeric"},
        {"format": "tsv", "datetime_format": "%Y%m%d %H%M"},
        {"format": "json"},
    ],
)
def test_dates_read_straight_from_the_query_are_written_as_the_pipeline_writes_them(
    workspace: Workspace, layout: dict[str, Any]
) -> None:
    """A CSV written from the query is given its dates as dates (not ISO text made and read
    again); the file is still the one Convert writes over the fetched rows' JSON."""
    workspace.queries.save(build_query({"name": "Dated", "from": "Contact", "columns": DATED}))
    name = "dated." + ("txt" if layout["format"] == "tsv" else layout["format"])
    fused = {"id": "file", "action": "convert"}
    fused["with"] = {**layout, "input": {"query": "Dated"}, "file_name": name}
    fetched = {"id": "file", "action": "convert"}
    fetched["with"] = {**layout, "input": "{{ steps.fetch }}", "file_name": name}
    fetch = {"id": "fetch", "action": "fetch_query", "with": {"query": "Dated"}}
    workspace.save_workflow({"name": "Fused", "steps": [fused]})
    workspace.save_workflow({"name": "Two steps", "steps": [fetch, fetched]})
    files = []
    for workflow in ("Fused", "Two steps"):
        run = workspace.run_workflow(workflow)
        assert run.status == "succeeded", run.message
        files.append((workspace.runs_folder / run.id / "files" / name).read_bytes())
    assert files[0] == files[1]
    text = files[0].decode("utf-8-sig")
    assert text.count("\n") >= 8
    if layout.get("date_format") is None and layout["format"] != "json":
        assert re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", text)  # a join date, as ISO text


def test_a_csv_may_be_given_a_column_of_dates_as_it_is() -> None:
    from datetime import date, datetime

    from idms.workflow_services import KEEP_DATES, json_text, json_tuples

    rows = [
        (date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), date(2024, 3, 1)),
        (None, None, "2024-03-02"),
    ]
    assert list(json_tuples(rows, json_text, keep=KEEP_DATES)) == [
        (date(2024, 3, 1), "2024-03-01T09:30:00", "2024-03-01"),
        (None, None, "2024-03-02"),
    ]
    assert next(iter(json_tuples(rows, json_text)))[0] == "2024-03-01"
