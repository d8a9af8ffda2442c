"""Private files: what idms creates in the workspace is its owner's alone, whatever the umask.

The workspace holds the suite database (sealed jobs, secrets, row results), the secret key, the
embedded store, the runs folder (sealed input copies, query spools, failed-rows files): every
folder idms makes there is created 0700 and every file 0600, set explicitly rather than left to
the process's umask (``os.mkdir`` and ``open`` only ever take bits away from what the umask
allows). Everything idms creates goes through the few functions here; an architecture test
(``tests/security/test_sec_secrets_at_rest.py``) finds any other file creation in the package.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "private_file",
    "private_folder",
    "private_open",
    "private_opener",
    "private_temp_folder",
    "tighten",
]

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: str | Path, *, tighten_existing: bool = True) -> Path:
    """``path`` as a folder only its owner can enter: made (with any missing parents) mode
    0700; an existing one is set to 0700 too unless ``tighten_existing`` is False (a folder the
    user made, such as a workspace they chose). The path."""
    path = Path(path)
    missing: list[Path] = []
    here = path
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is that process's doing
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode went through the umask
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    if tighten_existing and not missing:
        tighten([path], FOLDER_MODE)
    return path


def private_temp_folder(parent: str | Path, prefix: str) -> Path:
    """A new folder of a unique name under ``parent``, made mode 0700 whatever the umask
    (``tempfile.mkdtemp``): a download written for one request, removed after it."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open`: a file created is 0600 from its first instant."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if flags & os.O_CREAT:
            os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away, never added any
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_open(path: str | Path, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)`` for writing a file that is created 0600 (see :func:`private_opener`)."""
    return open(path, mode, opener=private_opener, **kwargs)


def private_file(path: str | Path) -> Path:
    """An empty file at ``path``, created 0600 if it was not there (an existing one is left as it
    is, but for its mode, set to 0600). The path."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten(paths: Iterable[str | Path], mode: int) -> None:
    """Set ``mode`` on each of ``paths`` that exists and is not already so; a path owned by
    someone else (or gone meanwhile) is left as it is."""
    for path in paths:
        with contextlib.suppress(OSError):
            if os.stat(path).st_mode & 0o777 != mode:
                os.chmod(path, mode)
