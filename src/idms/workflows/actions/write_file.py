"""Write to Folder (beyond iDMS; iTransfer's "local folder"): a file of the run (a Convert step's
output) copied into a folder of the server, for a program or a share that picks files up there.

A workflow may write only inside the folders the administrator lists (``IDMS_EXPORT_FOLDERS``,
separated as PATH is; none listed: the action is refused): a template fed by a webhook must not
be able to write wherever the server's account can. The folder is resolved (links followed)
before it is compared, so a link out of an export folder does not lead out of it; nothing is
written inside the workspace (its key, its database), whatever folders are listed. Messages and
the output show the folder as the step gives it, not where the server resolved it.

The file is copied (streamed, any size) under a temporary name in the same folder
(``.NAME.RUN.part``), flushed to the disk, then renamed to its name (``os.replace``: one step,
replacing the old file), so a program watching the folder never reads half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from idms.errors import printable
from idms.workflows.actions._files import run_file_path
from idms.workflows.actions._transfer import part_name, target_name
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult


class WriteFileParams(BaseModel):
    """A step's ``with:`` for ``write_file``."""

    model_config = ConfigDict(extra="forbid")

    folder: str = Field(
        min_length=1,
        description="The folder to write into: inside one of IDMS_EXPORT_FOLDERS, absolute, "
        "or relative to the first of them.",
    )
    file: str | dict[str, Any] = Field(
        description="The file to write: a Convert step's output (`{{ steps.csv }}`) or the "
        "name of a file of this run."
    )
    file_name: str | None = Field(
        default=None, description="Its name in the folder (default: the file's own name)."
    )
    overwrite: bool = Field(
        default=True,
        description="Replace a file of that name already there (false: fail instead).",
    )
    create_folder: bool = Field(
        default=False,
        description="Create the folder (inside an export folder) when it does not exist.",
    )


def _allowed(context: ActionContext) -> tuple[Path, ...]:
    folders = context.services.settings.export_folders
    if not folders:
        raise StepFailed(
            "No folder may be written to: the administrator has listed none in "
            "IDMS_EXPORT_FOLDERS (e.g. IDMS_EXPORT_FOLDERS=/srv/exports). Ask them to list the "
            "folders workflows may write into.",
            retryable=False,
        )
    return tuple(f.resolve() for f in folders)


def _folder(params: WriteFileParams, context: ActionContext) -> tuple[Path, str]:
    """The folder to write into, resolved, and as the step gave it (what messages and the
    output show: never a server path the workflow's author did not write); StepFailed unless
    inside an export folder and outside the workspace."""
    allowed = _allowed(context)
    given = params.folder.strip()
    shown = printable(given)
    if any(ord(c) < 32 for c in given):
        raise StepFailed(
            f"The folder {shown!r} holds a control character: give a plain path.",
            retryable=False,
        )
    folder = Path(given).expanduser()
    if not folder.is_absolute():
        folder = allowed[0] / folder
    folder = folder.resolve()
    if not any(folder.is_relative_to(root) for root in allowed):
        raise StepFailed(
            f"The folder {shown!r} is not inside a folder workflows may write into: the "
            "administrator lists those in IDMS_EXPORT_FOLDERS (a relative folder is inside the "
            "first one).",
            retryable=False,
        )
    workspace = context.services.settings.workspace.resolve()
    if folder.is_relative_to(workspace):
        # An export folder around the workspace must not let a workflow replace its
        # secret.key or suite.db, or another run's files.
        raise StepFailed(
            f"The folder {shown!r} is inside the workspace of idms: workflows may not write "
            "there. Choose a folder outside it.",
            retryable=False,
        )
    if not folder.is_dir():
        if folder.exists():
            raise StepFailed(f"{shown!r} is a file, not a folder.", retryable=False)
        if not params.create_folder:
            raise StepFailed(
                f"The folder {shown!r} does not exist: create it, or set create_folder: true.",
                retryable=False,
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StepFailed(
                f"The folder {shown!r} cannot be created: {exc.strerror or exc}.",
                retryable=False,
            ) from None
    return folder, shown


def _copy(source: Path, temporary: Path) -> int:
    with source.open("rb") as reading, temporary.open("wb") as writing:
        shutil.copyfileobj(reading, writing, 1024 * 1024)
        writing.flush()
        os.fsync(writing.fileno())
        return writing.tell()


def _place(temporary: Path, target: Path) -> None:
    """``temporary`` named ``target`` unless that name is taken (FileExistsError): a hard link
    fails if the name was taken meanwhile, so what is there is never replaced."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links (FAT, some shares): the check, then the rename.
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(temporary, target)
        return
    temporary.unlink()


def run(params: WriteFileParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    found, source = run_file_path(params.file, context)
    name = target_name(params.file_name, found)
    folder, shown = _folder(params, context)
    where = f"{shown.rstrip('/')}/{name}" if shown.rstrip("/") else f"/{name}"
    target = folder / name
    temporary = folder / part_name(name, context)
    if not params.overwrite and target.exists():
        raise StepFailed(
            f"{where} already exists and overwrite is false: nothing was written.",
            retryable=False,
        )
    try:
        size = _copy(source, temporary)
        if params.overwrite:
            os.replace(temporary, target)
        else:
            _place(temporary, target)
    except FileExistsError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise StepFailed(
            f"{where} already exists and overwrite is false: nothing was written.",
            retryable=False,
        ) from None
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        retryable = exc.errno not in (errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR)
        raise StepFailed(
            f"{name} could not be written into {shown!r}: {exc.strerror or exc}. Check that "
            "the server's account may write there and that the disk has room.",
            retryable=retryable,
        ) from None
    return StepResult(
        output={
            "folder": shown,
            "remote_path": where,
            "file_name": name,
            "bytes": size,
        },
        message=f"{size:,} bytes written to {where}",
    )


ACTION = ActionSpec(
    name="write_file",
    label="Write to Folder",
    summary="Copy a file of the run into a folder of the server (IDMS_EXPORT_FOLDERS)",
    params=WriteFileParams,
    run=run,
    example="""\
- id: drop
  action: write_file
  with:
    folder: /srv/exports/board
    file: "{{ steps.csv }}"
    file_name: "members-{{ now | date: '%Y-%m-%d' }}.csv"
""",
)
