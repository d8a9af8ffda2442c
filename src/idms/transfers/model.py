"""The transfer document (iTransfer's outbound job): a data source, optional delta hashing, a
file format, ordered steps each sending the file somewhere, and e-mail alerts.

Written as YAML or JSON (``idms transfer save FILE``, ``POST /api/v1/transfers``), checked here
before it is saved or run with every problem listed by where it is (``steps[1].connection.url:
…``), and kept in the suite database as JSON. An example::

    name: LMS nightly
    state: active                       # active | disabled
    source:
      query: Members for the LMS        # a saved query (or an IQA's $/ path)
      parameters: {chapter: North}      # its prompts' values: every prompt it needs
    delta:
      key: ID                           # only new or changed rows are sent
      report_removed: false
    format: {format: csv, header: true, line_ending: crlf}   # Convert's parameters
    file_name: "members-{{ now | date: '%Y%m%d' }}.csv"
    steps:
      - order: 10
        name: Upload to the LMS
        connection: {type: sftp, host: sftp.lms.example.org, username: assoc,
                     password_secret: lms-sftp, host_key: "SHA256:…", folder: /incoming}
      - order: 20
        name: Tell the LMS it failed
        when: failure                   # always | success (the default) | failure
        connection: {type: http, url: https://lms.example.org/hooks/failed,
                     body: {job: LMS nightly}}
    alerts: {recipients: [it@example.org], when: failure}

A transfer may also (or only) receive records: ``inbound: {schema, source, mappings…}``
(legacy iTransfer webhooks, :mod:`idms.transfers.inbound`); ``source`` and ``steps`` are then
optional.

A connection's fields are its action's parameters (``http_request``, ``sftp_upload``,
``ftp_upload``, ``send_email``, ``write_file``), checked by that action's own model when the
transfer is compiled (:mod:`idms.transfers.compile`); credentials are only ever the names of
stored secrets (``idms secrets set NAME``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from idms.errors import InvalidInputError, printable
from idms.workflows.model import problems_of

MAX_STEPS = 50
CONNECTION_TYPES = ("http", "sftp", "ftp", "ftps", "email", "folder")
# A key column or a parameter: plain text, no template (the key names a column of the rows).
_PLAIN = re.compile(r"^[^{}%]*$")


class TransferState(StrEnum):
    """An active transfer runs on its schedules; a disabled one only when run by hand."""

    ACTIVE = "active"
    DISABLED = "disabled"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """The rows: a saved query (or an IQA by its ``$/`` path) with its prompts' values. Every
    prompt the query needs must be given here (iDMS refuses a data source with prompts)."""

    query: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class Delta(Strict):
    """Delta hashing: only rows whose key is new or whose content changed since the last run
    that succeeded are sent (``key``: the column that tells rows apart)."""

    key: str = Field(min_length=1, max_length=200)
    report_removed: bool = False  # also list the keys that are gone (steps.changed.removed_keys)

    @field_validator("key")
    @classmethod
    def _plain(cls, value: str) -> str:
        if not _PLAIN.match(value):
            raise ValueError("the key is a column's name, not a template")
        return value


class Connection(BaseModel):
    """Where a step sends the file: ``type`` and that connection's own fields (its action's
    parameters, checked when the transfer is compiled)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["http", "sftp", "ftp", "ftps", "email", "folder"]

    @property
    def params(self) -> dict[str, Any]:
        """The fields given beside ``type``."""
        return dict(self.model_extra or {})


class When(StrEnum):
    """When a step runs, by how the step before it ended (iDMS's conditional steps)."""

    SUCCESS = "success"
    FAILURE = "failure"
    ALWAYS = "always"


class TransferStep(Strict):
    """One send: its order (ascending; gaps allowed, 10, 20, 30 leave room), a name for
    people, when it runs, and its connection."""

    order: int = Field(ge=0, le=1_000_000)
    name: str = Field(min_length=1, max_length=200)
    when: When = When.SUCCESS
    connection: Connection


class Alerts(Strict):
    """An e-mail after a run, to ``recipients``: on ``failure`` only (the default) or
    ``always``; sent through the workspace's SMTP server (``IDMS_SMTP_URL``)."""

    recipients: list[str] = Field(min_length=1, max_length=100)
    when: Literal["failure", "always"] = "failure"

    @field_validator("recipients", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = []
        for address in value:
            try:
                validate_email(address, check_deliverability=False)
            except EmailNotValidError:
                bad.append(printable(address))
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(repr(b) for b in bad)}")
        return value


class Inbound(Strict):
    """A legacy iTransfer inbound webhook: ``POST /hooks/{token}`` with one JSON object that
    matches ``schema`` inserts it as one row of ``source`` through the import engine, with the
    job's ``mappings`` (``column`` names the body's properties), and answers as iDMS did."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: dict[str, Any] | bool = Field(alias="schema")
    source: str = Field(min_length=1)
    action: str = "insert"
    mappings: list[dict[str, Any]] = Field(min_length=1)
    match_on: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


class TransferDoc(Strict):
    """A whole transfer, as saved, exported and imported."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    state: TransferState = TransferState.ACTIVE
    source: Source | None = None
    delta: Delta | None = None
    format: dict[str, Any] = Field(default_factory=dict)  # Convert's parameters
    file_name: str | None = Field(default=None, max_length=500)  # templated
    send_empty: bool = False  # send a file with no rows (default: a run with none sends nothing)
    steps: list[TransferStep] = Field(default_factory=list, max_length=MAX_STEPS)
    alerts: Alerts | None = None
    inbound: Inbound | None = None

    @model_validator(mode="after")
    def _orders(self) -> TransferDoc:
        problems = order_problems(list(enumerate(self.steps)))
        if self.source is None and self.steps:
            problems.append("source: the steps send a query's rows: name the query (source:)")
        elif self.source is None and self.inbound is None:
            problems.append(
                "source: a transfer sends a query's rows (source: and steps:) or receives "
                "records (inbound:)"
            )
        elif self.source is not None and not self.steps:
            problems.append("steps: at least one step sends the file (steps: [{order, ...}])")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def sends(self) -> bool:
        """Whether the transfer sends rows (it may only receive them: ``inbound``)."""
        return self.source is not None and bool(self.steps)

    @property
    def ordered(self) -> list[TransferStep]:
        """The steps in the order they run."""
        return sorted(self.steps, key=lambda s: s.order)


def order_problems(steps: list[tuple[int, TransferStep]]) -> list[str]:
    """Two steps with the same order number; a first step that runs only after a failure."""
    problems: list[str] = []
    seen: dict[int, int] = {}
    for index, step in steps:
        if step.order in seen:
            problems.append(
                f"steps[{index}].order: {step.order} is also the order of steps[{seen[step.order]}]"
                " (each step needs its own number; gaps are fine: 10, 20, 30)"
            )
        seen.setdefault(step.order, index)
    if steps:
        index, first = min(steps, key=lambda pair: pair[1].order)
        if first.when == When.FAILURE:
            problems.append(
                f"steps[{index}].when: the first step runs after the file is written, which "
                "either works or ends the run: 'failure' would never run it"
            )
    return problems


class TransferInvalid(InvalidInputError):
    """A transfer document with problems: every one listed, each with where it is."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = [printable(p) for p in problems]
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The transfer is not valid:\n{listed}", hint=hint)


def parse_transfer(document: Any) -> TransferDoc:
    """``document`` (parsed YAML/JSON) as a :class:`TransferDoc`, or :class:`TransferInvalid`
    listing every problem of its shape. Connections and the format are checked against their
    actions by :func:`idms.transfers.compile.check_transfer`."""
    if not isinstance(document, dict):
        raise TransferInvalid(["(top level): a transfer is a mapping (name:, source:, steps:)"])
    try:
        return TransferDoc.model_validate(document)
    except ValidationError as exc:
        problems: list[str] = []
        for line in problems_of(exc):
            # The whole document's checks name their place themselves ("steps[1].order: …").
            if line.startswith("(top level): "):
                problems += line.removeprefix("(top level): ").split("\n")
            else:
                problems.append(line)
        raise TransferInvalid(problems) from None
