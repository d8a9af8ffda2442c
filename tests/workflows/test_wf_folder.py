"""Write to Folder: a file of the run copied into a folder the administrator lists
(IDMS_EXPORT_FOLDERS) under a temporary name then renamed; refused everywhere else (no folder
listed, a path or a link leading out), a missing folder named, overwrite honoured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from wf_io_support import Services, context, run_action, workspace

from idms.config import Settings
from idms.workflows.actions.base import ActionContext, StepFailed

CONTENT = b"ID,Name\r\n101,Ann Ames\r\n" * 1000


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    (folder / "board").mkdir(parents=True)
    return folder


@pytest.fixture
def services(tmp_path: Path, exports: Path) -> Iterator[Services]:
    with workspace(tmp_path, export_folders=(exports.resolve(),)) as found:
        yield found


@pytest.fixture
def ctx(services: Services, tmp_path: Path) -> ActionContext:
    ctx = context(services, tmp_path, step_id="drop", run_id="run-7")
    (ctx.files / "members.csv").write_bytes(CONTENT)
    return ctx


def test_the_file_is_written_into_an_export_folder_replacing_the_old_one(
    exports: Path, ctx: ActionContext
) -> None:
    (exports / "board" / "members.csv").write_bytes(b"last week")
    result = run_action(
        "write_file",
        {"folder": str(exports / "board"), "file": {"file_name": "members.csv"}},
        ctx,
    )
    assert (exports / "board" / "members.csv").read_bytes() == CONTENT
    assert sorted(p.name for p in (exports / "board").iterdir()) == ["members.csv"]
    assert result.output == {
        "folder": str(exports / "board"),
        "remote_path": str(exports / "board" / "members.csv"),
        "file_name": "members.csv",
        "bytes": len(CONTENT),
    }


def test_a_relative_folder_is_inside_the_first_export_folder_and_may_be_created(
    exports: Path, ctx: ActionContext
) -> None:
    with pytest.raises(StepFailed, match="does not exist: create it, or set create_folder"):
        run_action("write_file", {"folder": "daily/2026", "file": "members.csv"}, ctx)
    run_action(
        "write_file",
        {
            "folder": "daily/2026",
            "file": "members.csv",
            "file_name": "m.csv",
            "create_folder": True,
        },
        ctx,
    )
    assert (exports / "daily" / "2026" / "m.csv").read_bytes() == CONTENT


def test_overwrite_false_keeps_the_file_there(exports: Path, ctx: ActionContext) -> None:
    (exports / "board" / "members.csv").write_bytes(b"last week")
    params = {"folder": str(exports / "board"), "file": "members.csv", "overwrite": False}
    with pytest.raises(StepFailed, match="already exists and overwrite is false"):
        run_action("write_file", params, ctx)
    assert (exports / "board" / "members.csv").read_bytes() == b"last week"
    run_action("write_file", {**params, "file_name": "new.csv"}, ctx)
    assert (exports / "board" / "new.csv").read_bytes() == CONTENT
    assert not [p for p in (exports / "board").iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("folder", ["../outside", "/etc", "board/../../outside"])
def test_a_folder_outside_the_export_folders_is_refused(
    exports: Path, ctx: ActionContext, folder: str
) -> None:
    (exports.parent / "outside").mkdir(exist_ok=True)
    with pytest.raises(StepFailed, match="not inside a folder workflows may write into"):
        run_action("write_file", {"folder": folder, "file": "members.csv"}, ctx)
    assert list((exports.parent / "outside").iterdir()) == []


def test_a_link_out_of_an_export_folder_is_refused(exports: Path, ctx: ActionContext) -> None:
    outside = exports.parent / "outside"
    outside.mkdir()
    os.symlink(outside, exports / "escape")
    with pytest.raises(StepFailed, match="not inside a folder workflows may write into"):
        run_action("write_file", {"folder": "escape", "file": "members.csv"}, ctx)
    assert list(outside.iterdir()) == []


def test_nothing_is_written_inside_the_workspace_even_in_an_export_folder(
    tmp_path: Path,
) -> None:
    with workspace(tmp_path, export_folders=(tmp_path.resolve(),)) as services:
        ctx = context(services, tmp_path)
        (ctx.files / "members.csv").write_bytes(CONTENT)
        for folder in ("ws", "ws/runs/run-1/files"):
            with pytest.raises(StepFailed, match="inside the workspace of idms"):
                run_action("write_file", {"folder": folder, "file": "members.csv"}, ctx)
        result = run_action(
            "write_file", {"folder": "out", "file": "members.csv", "create_folder": True}, ctx
        )
        assert result.output["remote_path"] == "out/members.csv"
        assert str(tmp_path) not in str(result.output) + str(result.message)


def test_no_export_folder_listed_refuses_the_action_saying_how_to_allow_it(
    tmp_path: Path,
) -> None:
    with workspace(tmp_path / "none") as services:
        ctx = context(services, tmp_path / "none")
        (ctx.files / "members.csv").write_bytes(CONTENT)
        with pytest.raises(StepFailed, match="listed none in IDMS_EXPORT_FOLDERS"):
            run_action("write_file", {"folder": str(tmp_path), "file": "members.csv"}, ctx)


def test_the_setting_lists_folders_as_path_does(tmp_path: Path) -> None:
    environ = {"IDMS_EXPORT_FOLDERS": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"}
    assert Settings.load(environ=environ).export_folders == (
        (tmp_path / "a").resolve(),
        (tmp_path / "b").resolve(),
    )
    assert Settings.load(environ={}).export_folders == ()


@pytest.mark.parametrize("name", ["sftp_upload", "ftp_upload", "write_file"])
def test_each_transfer_action_is_documented_and_its_examples_are_workflows_it_accepts(
    name: str,
) -> None:
    import re

    import yaml

    from idms.workflows.actions import actions
    from idms.workflows.check import check_workflow

    spec = actions()[name]
    page = Path(__file__).parents[2] / "docs" / "workflows" / f"{name}.md"
    text = page.read_text(encoding="utf-8")
    assert f"`{name}`" in text.splitlines()[0]
    for field_name, field in spec.params.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"
        assert f"| `{field_name}` |" in text, f"docs/workflows/{name}.md does not explain it"
    examples = [spec.example, *re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]
    for example in examples:
        document = yaml.safe_load(example)
        if isinstance(document, list):
            document = {"name": "Example", "steps": document}
        check_workflow(document)  # raises WorkflowInvalid naming what is wrong
    assert sum(f"action: {name}" in e for e in examples) >= 2
