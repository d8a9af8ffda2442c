"""The one exception root of idms, and every exception below it.

Every error idms raises on purpose is an :class:`IdmsError`. Interfaces (CLI, API) catch only this
root and turn it into a message and an exit code (INTERFACES.md: 2 = invalid input, nothing written;
3 = the run failed) or an HTTP status, each in one place per shell. An error's ``hint`` is for the
command line only (what to type next); its ``message`` stands alone everywhere. Third-party errors
(SQLAlchemy, httpx, ...) are translated into this tree at exactly one boundary per target; nothing
above a target catches them.

::

    IdmsError                          exit 3 unless a subclass says otherwise
    ├── InvalidInputError              exit 2: the job, file or command line is wrong (HTTP 400)
    │   ├── NotFound                   no such run, template, query, schedule... (HTTP 404)
    │   ├── Conflict                   its state forbids it: cancel a finished run (HTTP 409)
    │   │   └── DeliveryBusy           a copy of a webhook delivery came while the first ran
    │   ├── ConfigError                a setting (flag, IDMS_* variable) is wrong
    │   ├── UnknownSourceError         no such source (suggests the closest name)
    │   ├── UnknownFieldError          no such field on a source (suggests the closest name)
    │   ├── CoercionError              a value cannot be read as the field's type
    │   ├── FilterError                a filter operator or value is wrong
    │   ├── PanelDefinitionError       a panel definition file is malformed
    │   ├── DocumentError              a YAML/JSON document is malformed, aliased or too deep
    │   ├── UploadTooLarge             a file sent to idms serve passes its size limit (413)
    │   ├── JobInvalid                 the job is wrong (every problem, with its location)
    │   ├── QueryInvalid               the query is wrong, or a prompt is missing (every problem)
    │   ├── WorkflowInvalid            the workflow document is wrong (every problem, where it is)
    │   ├── TransferInvalid            the transfer document is wrong (every problem, where it is)
    │   ├── SignInRefused              a web sign-in refused: wrong name or password, or throttled
    │   └── RowRefused                 an iMIS rule refuses one change (becomes that row's error)
    ├── SecretError                    a secret cannot be stored or read (bad key, tampered data)
    ├── StepFailed                     a workflow step did not do what it was asked (its run says)
    ├── StateError                     the suite database is unusable
    └── TargetError                    talking to the target failed
        ├── RetryableTargetError       worth trying again (busy, time-out, 429, 5xx)
        └── TerminalTargetError        trying again will not help (schema missing, refused)
            ├── PreflightFailed        a run refused at its start: the iMIS account or access
            └── ImisRefused            iMIS refused a request (400, 404, 409 ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import get_close_matches

EXIT_OK = 0
EXIT_ROW_ERRORS = 1
EXIT_INVALID = 2
EXIT_FAILED = 3


# Characters that act on a terminal or reorder text instead of showing: C0 controls (ESC starts
# colour, title and clear-screen sequences; BEL, CR, NUL, ...), DEL, C1 controls (0x9B is a
# one-character CSI), the bidirectional overrides and isolates ("Trojan source"), and the Unicode
# line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` from a file or a request, fit to be put in a message: every control character
    shown as its escape (``\\x1b``, ``\\r``, ``\\n``, ``\\x00``, ``\\u202e``), so a header
    such as ``"\\x1b[31mEmail"`` cannot colour, retitle or clear the terminal that shows the
    message. With ``lines``, line breaks (``\\n``) are kept: a message of several lines.

    Every :class:`IdmsError`'s message, hint and problems pass through it (with ``lines``), so no
    error idms raises carries a raw control character; quote values with it (without ``lines``)
    so a line break inside a column name is shown, not obeyed.
    """
    if lines:
        return "\n".join(_CONTROL.sub(_escape, part) for part in text.split("\n"))
    return _CONTROL.sub(_escape, text)


def printable_lines(texts: Iterable[str]) -> list[str]:
    """Each of ``texts`` through :func:`printable` (a list of an error's problems)."""
    return [printable(text, lines=True) for text in texts]


class IdmsError(Exception):
    """Root of every error idms raises on purpose.

    Its message and hint are made :func:`printable` here, whatever built them: a value quoted
    from a file or a request reaches a terminal, a log or an API answer as text, never as
    control characters.
    """

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = printable(message, lines=True)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else printable(hint, lines=True)

    def __str__(self) -> str:
        return self.message


class InvalidInputError(IdmsError):
    """The user's input (job, file, flags, values) is wrong; nothing has been written."""

    exit_code = EXIT_INVALID


class NotFound(InvalidInputError):
    """What a command or a request names does not exist (a run, a template, a schedule...)."""


class Conflict(InvalidInputError):
    """What was asked cannot be done in the state the thing is in (undo a run twice, cancel a
    finished run, resume a run another process holds)."""


class ConfigError(InvalidInputError):
    """A setting, from a flag or an ``IDMS_*`` variable, is wrong."""


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``name``, compared without case, or None."""
    by_folded = {c.casefold(): c for c in choices}
    found = get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def did_you_mean(suggestions: Sequence[str], *, prefix: str = "") -> str:
    """`` Did you mean 'A'?`` (or `` 'A', 'B' or 'C'?``), or nothing when there is no suggestion."""
    quoted = [f"'{prefix}{s}'" for s in suggestions]
    if not quoted:
        return ""
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" Did you mean {listed}?"


def _with_suggestion(message: str, name: str, choices: Iterable[str]) -> str:
    close = suggest(name, choices)
    return f"{message} Did you mean '{close}'?" if close else message


class UnknownSourceError(InvalidInputError):
    """No source has this name."""

    def __init__(self, name: str, choices: Iterable[str]) -> None:
        choices = list(choices)
        self.name = name
        self.suggestion = suggest(name, choices)
        super().__init__(
            _with_suggestion(
                f"Unknown source '{name}'. Run 'idms sources' to list them.", name, choices
            )
        )


class UnknownFieldError(InvalidInputError):
    """The source has no field answering to this reference (name, label or alias).

    ``suggestions`` are the closest spellings (at most three, best first), found by the source's
    resolver (``SourceDef.resolve``); ``suggestion`` is the best of them, or None."""

    def __init__(self, source: str, name: str, suggestions: Iterable[str]) -> None:
        self.source = source
        self.name = name
        self.suggestions = list(suggestions)
        self.suggestion = self.suggestions[0] if self.suggestions else None
        super().__init__(
            f"{source} has no field '{name}'.{did_you_mean(self.suggestions)}",
            hint=f"Run 'idms sources {source}' to list its fields.",
        )


class CoercionError(InvalidInputError):
    """A value cannot be read as its field's type. ``code`` is stable for reports."""

    def __init__(self, message: str, *, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.code = code


class FilterError(InvalidInputError):
    """A filter names an unknown operator or carries a value the operator cannot use."""


class PanelDefinitionError(InvalidInputError):
    """A panel definition (PANEL.yml) is malformed; ``problems`` lists every issue found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems = printable_lines(problems)
        super().__init__("Invalid panel definition:\n" + "\n".join(f"  - {p}" for p in problems))


class SecretError(IdmsError):
    """A secret cannot be stored or read: the key is wrong or the stored value was tampered with."""


class StateError(IdmsError):
    """The suite database cannot be used."""


class TargetError(IdmsError):
    """Talking to the target (embedded store or iMIS) failed."""


class RetryableTargetError(TargetError):
    """A failure worth retrying: the target is busy, timed out, or answered 429/5xx."""


class TerminalTargetError(TargetError):
    """A failure that retrying will not fix."""


class PreflightFailed(TerminalTargetError):
    """A run refused before it starts: the checks of the iMIS account (roles, password) or of
    what the job reads found an error, which would otherwise stop the run half way."""
