"""The transfer document checked whole before anything is saved or run (every problem listed
with where it is, connections checked by their actions' own models, the query's prompts), and
the workflow it compiles to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tr_support import QUERY, open_workspace, transfer

from idms.errors import Conflict
from idms.queries.model import build_query
from idms.transfers.compile import compile_transfer
from idms.transfers.model import TransferInvalid, parse_transfer
from idms.workspace import Workspace

URL = "https://lms.example.org"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(tmp_path)
    yield ws
    ws.close()


def problems(workspace: Workspace, document: dict[str, Any]) -> list[str]:
    with pytest.raises(TransferInvalid) as caught:
        workspace.save_transfer(document)
    return caught.value.problems


def test_every_problem_of_the_shape_is_listed_with_where_it_is(workspace: Workspace) -> None:
    found = problems(
        workspace,
        {
            "name": "Bad",
            "source": {"query": QUERY},
            "delta": {"key": "{{ ID }}"},
            "steps": [
                {"order": 10, "name": "a", "connection": {"type": "http", "url": URL}},
                {"order": 10, "name": "b", "connection": {"type": "pigeon"}},
            ],
            "alerts": {"recipients": ["nobody"], "when": "sometimes"},
            "colour": "blue",
        },
    )
    assert any(p.startswith("delta.key:") for p in found)
    assert any(p.startswith("steps[1].connection.type:") for p in found)
    assert any(p.startswith("steps[1].order: 10 is also the order of steps[0]") for p in found)
    assert any(p.startswith("alerts.recipients:") for p in found)
    assert any(p.startswith("alerts.when:") for p in found)
    assert any(p.startswith("colour:") for p in found)


def test_connections_and_format_are_checked_by_their_actions(workspace: Workspace) -> None:
    document = transfer("ftp://nowhere", format={"format": "pdf"})
    connection = document["steps"][0]["connection"]
    connection.update({"chunk": {"size": 0}, "colour": "blue", "body_file": "x.csv"})
    document["steps"].append(
        {"order": 20, "name": "Mail", "connection": {"type": "email", "to": ["a@example.org"]}}
    )
    document["file_name"] = "{{ now | date: "
    found = problems(workspace, document)
    assert "steps[0].connection.body_file: the transfer supplies it (the file it wrote, or its " \
        "rows): leave it out" in found  # fmt: skip
    del connection["body_file"]
    found = problems(workspace, document)
    assert any(p.startswith("format.format:") for p in found)
    assert any(p.startswith("steps[0].connection.url:") for p in found)
    assert any(p.startswith("steps[0].connection.chunk.size:") for p in found)
    assert any(p.startswith("steps[0].connection.colour:") for p in found)
    assert any(p.startswith("file_name:") for p in found)
    assert not any("steps[1]" in p for p in found), found


def test_a_query_prompt_that_is_not_given_is_refused_at_save_and_at_run(
    workspace: Workspace,
) -> None:
    workspace.queries.save(
        build_query(
            {
                "name": "By last name",
                "from": "Contact",
                "columns": {"ID": "ImisId"},
                "filters": [
                    {"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}
                ],
            }
        )
    )
    document = transfer(URL, source={"query": "By last name"})
    found = problems(workspace, document)
    assert any("prompt 'last'" in p and p.startswith("source.parameters") for p in found)
    document["source"] = {"query": "By last name", "parameters": {"last": "A", "frist": 1}}
    found = problems(workspace, document)
    assert found == [
        "source.parameters.frist: query 'By last name' has no prompt 'frist' (its prompts: last)"
    ]
    document["source"] = {"query": "By last name", "parameters": {"last": "A"}}
    workspace.save_transfer(document)
    # The query changes afterwards: the run is refused before anything is recorded.
    workspace.queries.save(
        build_query(
            {
                "name": "By last name",
                "from": "Contact",
                "columns": {"ID": "ImisId"},
                "filters": [
                    {"field": "LastName", "op": "startsWith", "prompt": "last", "required": True},
                    {"field": "Email", "op": "contains", "prompt": "mail", "required": True},
                ],
            }
        )
    )
    with pytest.raises(TransferInvalid, match="prompt 'mail'"):
        workspace.run_transfer("LMS nightly")
    assert workspace.transfer_runs("LMS nightly") == []
    assert any(p.startswith("source.query: No query") for p in problems(
        workspace, transfer(URL, source={"query": "Nope"})))  # fmt: skip


def test_a_disabled_transfer_runs_only_by_hand(workspace: Workspace) -> None:
    workspace.save_transfer(transfer(URL, state="disabled"))
    with pytest.raises(Conflict, match="disabled"):
        workspace.start_transfer("LMS nightly", trigger="schedule")
    assert workspace.start_transfer("LMS nightly", trigger="api").status == "queued"


def test_the_compiled_workflow_is_the_pipeline_of_the_existing_actions() -> None:
    document = transfer(URL, alerts={"recipients": ["it@example.org"]})
    document["steps"] = [
        {"order": 30, "name": "Failure hook", "when": "failure",
         "connection": {"type": "http", "url": f"{URL}/failed", "body": {"x": 1}}},
        {"order": 10, "name": "Upload", "connection": {"type": "sftp", "host": "h"}},
        {"order": 20, "name": "Mail", "when": "always",
         "connection": {"type": "email", "to": "a@example.org"}},
    ]  # fmt: skip
    flow = compile_transfer(parse_transfer(document))
    assert [(s.id, s.action) for s in flow.steps] == [
        ("fetch", "fetch_query"),
        ("changed", "delta_hashing"),
        ("file", "convert"),
        ("nothing_to_send", "gate"),
        ("step_10", "sftp_upload"),
        ("step_20", "send_email"),
        ("step_30", "http_request"),
    ]
    by_id = {s.id: s for s in flow.steps}
    assert by_id["changed"].with_["key_column"] == "ID"
    assert by_id["file"].with_["input"] == "{{ steps.changed.rows }}"
    assert by_id["step_10"].with_ == {"host": "h", "file": "{{ steps.file }}"}
    assert by_id["step_20"].with_["attachments"][0]["content"] == "{{ steps.file }}"
    assert by_id["step_30"].with_["body"] == {"x": 1}
    assert "body_file" not in by_id["step_30"].with_
    assert [str(by_id[i].when) for i in ("step_10", "step_20", "step_30")] == [
        "success",
        "always",
        "failure",
    ]
    assert {str(by_id[i].on_failure) for i in ("step_10", "step_20", "step_30")} == {"continue"}


def test_the_stored_document_is_what_was_written_and_saves_back(workspace: Workspace) -> None:
    document = transfer(URL)
    document["steps"][0]["connection"]["body"] = {"status": None}  # a null kept as written
    document["inbound"] = {
        "schema": {"type": "object", "default": None},
        "source": "Activity",
        "mappings": [{"field": "ImisId", "column": "imisId"}],
    }
    workspace.save_transfer(document)
    exported = workspace.export_transfer("LMS nightly")
    assert exported["inbound"]["schema"] == {"type": "object", "default": None}
    assert exported["steps"][0]["connection"]["body"] == {"status": None}
    workspace.delete_transfer("LMS nightly")
    workspace.save_transfer(exported)
    assert workspace.export_transfer("LMS nightly") == exported
