"""Files of a run that steps hand to each other: a Convert step writes one into the run's private
folder (``context.files``); Send E-mail attaches it, HTTP Request, SFTP Upload and FTP Upload
upload it, Write to Folder copies it.

A step names such a file by its name in that folder, or by the Convert step's whole output
(``{{ steps.csv }}``: an object with ``file_name``). A file anywhere else is refused, whatever
the name says (``../``, an absolute path): a template fed by a webhook must not be able to send
the server's own files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idms.errors import printable
from idms.workflows.actions.base import ActionContext, StepFailed

MAX_FILE_BYTES = 25 * 1024 * 1024  # an attachment or an upload read from the run's folder


def safe_file_name(name: str) -> str:
    """``name`` if it is a plain file name (no folder, not hidden); StepFailed otherwise."""
    if (
        not name
        or name != name.strip()
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or "\x00" in name
        or len(name) > 200
    ):
        raise StepFailed(
            f"{printable(name)!r} is not a plain file name: give a name such as members.csv, "
            "without a folder and not starting with a dot.",
            retryable=False,
        )
    return name


def run_file_path(
    reference: str | dict[str, Any], context: ActionContext, *, max_bytes: int | None = None
) -> tuple[str, Path]:
    """The name and path of a file in the run's folder, named by ``reference``: a file name, or a
    Convert step's output (an object with ``file_name``). For a step that streams the file (an
    upload to a file server, a copy to a folder): it is never read whole, so it may be as large
    as ``max_bytes`` (None: any size)."""
    if isinstance(reference, dict):
        name = reference.get("file_name")
        if not isinstance(name, str):
            raise StepFailed(
                "The file given is an object without a file_name: give a Convert step's output "
                "({{ steps.STEP }}) or the name of a file of this run.",
                retryable=False,
            )
    else:
        name = reference
    name = safe_file_name(name)
    folder = context.files.resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise StepFailed(
            f"This run has no file named {printable(name)!r}: a file to send is written by an "
            "earlier Convert step of the same run.",
            retryable=False,
        )
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise StepFailed(
            f"{name} is {size:,} bytes, more than the {max_bytes:,} a step may send.",
            retryable=False,
        )
    return name, path


def run_file(reference: str | dict[str, Any], context: ActionContext) -> tuple[str, bytes]:
    """The name and bytes of a file in the run's folder, named by ``reference`` (as
    :func:`run_file_path`), at most :data:`MAX_FILE_BYTES`: for a step that holds it whole (an
    attachment, a request body)."""
    name, path = run_file_path(reference, context, max_bytes=MAX_FILE_BYTES)
    return name, path.read_bytes()
