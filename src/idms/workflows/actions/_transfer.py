"""What the file-transfer actions (SFTP Upload, FTP Upload, Write to Folder) share: the
parameters both uploads take (the file, where it goes, how long and how often to try, the
server's name alone), the remote file's name and the temporary name it is written under first,
the stored secrets they read (remembered, to be masked in any message), the remote folder's
check, and trying a transfer again when the failure may pass (a refused connection, a timeout).

A file is written under a temporary name (``.NAME.RUN.part``: hidden, and not matching a
receiver's ``*.csv``) and renamed once whole, so a receiver polling the folder never reads half
a file; the run's id in the name keeps two runs sending the same file apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import Field

from idms.errors import IdmsError, printable
from idms.state.constants import MASK
from idms.workflows.actions._files import safe_file_name
from idms.workflows.actions.base import ActionContext, StepFailed

T = TypeVar("T")

MAX_RETRY_WAIT = 300.0  # seconds: the longest wait between two tries
MAX_TIMEOUT = 6 * 3600  # seconds: the longest one upload may take

# The parameters both uploads take, each declared once (their order is each action's own).
RemoteFolder = Annotated[
    str, Field(description="The remote folder (default: the account's login folder).")
]
FileToSend = Annotated[
    str | dict[str, Any],
    Field(
        description="The file to send: a Convert step's output (`{{ steps.csv }}`) or the name "
        "of a file of this run."
    ),
]
RemoteName = Annotated[
    str | None, Field(description="Its name on the server (default: the file's own name).")
]
TryTimeout = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_TIMEOUT,
        description="The longest one try may take, connecting and sending (default 15 min).",
    ),
]
Backoff = Annotated[
    float,
    Field(
        ge=0,
        le=MAX_RETRY_WAIT,
        description="The first wait before trying again, doubled each time.",
    ),
]


def host_alone(value: str, example: str) -> str:
    """A server's name or address as given to an upload, refused when it is a URL or a path
    (``example``: what to give instead)."""
    value = value.strip()
    if "://" in value or "/" in value or any(c.isspace() for c in value):
        raise ValueError(f"give the server's name or address alone ({example})")
    return value


def target_name(file_name: str | None, found: str) -> str:
    """The name the file gets at its destination: ``file_name`` if given, else its own."""
    return safe_file_name(file_name.strip() if file_name else found)


def part_name(name: str, context: ActionContext) -> str:
    """The temporary name ``name`` is written under before it is renamed."""
    run = "".join(c for c in context.run_id if c.isalnum())[-12:] or "run"
    return f".{name}.{run}.part"


def remote_folder(folder: str) -> str:
    """A remote folder as given (``/outbound``, ``incoming/members``, ``""`` for the login
    folder), refused if it holds a character no path should (a line break would end an FTP
    command early)."""
    folder = folder.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in folder):
        raise StepFailed(
            f"The folder {printable(folder)!r} holds a control character (a line break, a tab): "
            "give a plain path such as /outbound.",
            retryable=False,
        )
    return folder


def join(folder: str, name: str) -> str:
    """``name`` in the remote ``folder`` (``/`` between them, whatever this computer uses)."""
    if not folder:
        return name
    return f"{folder.rstrip('/')}/{name}" if folder.rstrip("/") else f"/{name}"


class Secrets:
    """The stored secrets a transfer reads, kept to be masked out of anything it reports."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context
        self.values: list[str] = []

    def get(self, name: str, field: str) -> str:
        """The value of the stored secret ``name``, which the parameter ``field`` names."""
        try:
            value = self.context.services.secret(name)
        except IdmsError as exc:
            raise StepFailed(
                f"The stored secret {name!r} that {field} names cannot be read: {exc.message}",
                retryable=False,
            ) from None
        if value:
            self.values.append(value)
        return value

    def mask(self, text: str) -> str:
        for value in self.values:
            if len(value) >= 4:
                text = text.replace(value, MASK)
        return text


def with_retries(
    send: Callable[[], T],
    *,
    retries: int,
    backoff_seconds: float,
    context: ActionContext,
    secrets: Secrets,
) -> T:
    """``send()``, tried again (``retries`` more times, waiting ``backoff_seconds`` doubled
    each time) while it fails in a way that may pass; the last failure otherwise. Every
    failure's message is masked of the secrets read."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return send()
        except StepFailed as exc:
            exc.message = secrets.mask(exc.message)
            exc.args = (exc.message,)
            if not exc.retryable or attempt > retries:
                raise
            delay = min(backoff_seconds * 2 ** (attempt - 1), MAX_RETRY_WAIT)
            context.log(f"{exc.message} Trying again in {delay:g} s.")
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if context.stop_requested():
                    raise
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
