"""What an action is, what it is given and what it gives back: the seam between the workflow
runner (:mod:`idms.workflows.runner`) and the actions (one module each in this package).

An action is an :class:`ActionSpec`: a name (``http_request``), iDMS's label ("HTTP Request"),
a pydantic model of its parameters (a step's ``with:``) and a function::

    def run(params: Params, data: dict[str, Any], context: ActionContext) -> StepResult

``data`` is the pipeline object as it reaches the step (one JSON object flows from the trigger
down the steps). The runner renders the step's templated parameters first (every string holding
``{{`` or ``{%``, except the fields the spec lists in ``literal``: those the action renders
itself, per row, with :meth:`ActionContext.render`), then validates them with ``params``, then
calls ``run``. What ``run`` returns:

* ``StepResult(output=X)``: the step's result ``X`` is put at the step's output property
  (``data[step.output or step.id]``) and the rest of ``data`` is passed on (iDMS's
  "passthrough + output property");
* ``StepResult(output=X, data=D)``: the pipeline object becomes ``D`` (Select in standard mode
  reshapes it);
* ``stop="success"|"failure"`` ends the run there; ``goto="STEP"`` goes on at a later step (Gate).

A step fails by raising :class:`StepFailed` with a message a data manager understands (what went
wrong and what to check); the runner applies the step's retry policy and ``on_failure``. Any
other :class:`~idms.errors.IdmsError` fails the step the same way; an unexpected exception fails
it with a generic message (the traceback goes to the log).

Actions never open the workspace themselves: what they need from the suite (saved queries,
templates, running a job, stored secrets, the delta-hash store, SMTP settings) comes through
``context.services`` (:class:`WorkflowServices`), which the facade implements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from idms.config import Settings
from idms.errors import IdmsError

if TYPE_CHECKING:
    from idms.workflows.hashes import HashEntry


class StepFailed(IdmsError):
    """The step did not do what it was asked; ``output`` (if any) is still stored with the
    step (an HTTP answer's status and body, a schema's errors), so the run page shows why.
    ``data`` (if any) is the pipeline object to pass on should the run carry on past the failure
    (``on_failure: ignore`` or a ``goto``): JSON Schema Validation's error property."""

    def __init__(
        self,
        message: str,
        *,
        output: Any = None,
        retryable: bool = True,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.output = output
        self.retryable = retryable
        self.data = data


@dataclass
class StepResult:
    output: Any = None
    data: dict[str, Any] | None = None
    stop: Literal["success", "failure"] | None = None
    goto: str | None = None
    message: str | None = None  # a line for the run page ("3 of 120 rows changed")


class HashStore(Protocol):
    """Delta hashing's memory for one workflow step: key -> hash of the row last passed on
    (:class:`idms.workflows.hashes.HashTable` over the suite database)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, str]: ...

    def put_many(self, hashes: Mapping[str, str]) -> None: ...

    def put_chunks(self, batches: Iterable[Mapping[str, str | None]]) -> int:
        """Each batch's keys set to their new hash, or forgotten (None), in one transaction;
        the batches read as they come. How many keys."""
        ...

    def get(self, key: str) -> HashEntry | None: ...

    def delete(self, key: str) -> bool: ...

    def delete_many(self, keys: Sequence[str]) -> int: ...

    def clear(self) -> int: ...

    def count(self) -> int: ...

    def keys(self) -> list[str]: ...

    def iter_keys(self) -> Iterator[str]:
        """Every key, in order, without holding them all."""
        ...

    def items(self, *, limit: int, offset: int = 0) -> list[HashEntry]:
        """A page of entries (key, hash, when stored), in key order."""
        ...


class WorkflowServices(Protocol):
    """What actions may ask of the suite; the facade (``idms.workspace.Workspace``) provides it
    (``Workspace.workflow_services()``)."""

    @property
    def settings(self) -> Settings: ...

    def secret(self, name: str) -> str:
        """A stored secret's value (``idms secrets set NAME``); SecretError (an IdmsError) saying
        so, with the closest name, if there is none."""
        ...

    def query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A saved query's rows on the workspace's target, all at once."""
        ...

    def iter_query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """A saved query's rows on the workspace's target, one at a time as the target gives
        them (Fetch Query Data writes a large result to a row set without holding it)."""
        ...

    def query_table(
        self,
        query: str,
        params: Mapping[str, Any],
        *,
        limit: int | None = None,
        tabular: bool = False,
        dates: bool = False,
    ) -> AbstractContextManager[tuple[list[str], Iterator[Sequence[Any]]]]:
        """A saved query's columns and its rows as tuples of cells, streamed while the block
        is open (Convert writes a query's file from them, no object made per row); its prompts
        are checked on entry. ``tabular``: a list is given as its JSON text (a table's cell);
        ``dates``: a column of dates as ``date`` values, not ISO text (a CSV file writes them
        as the same text)."""
        ...

    def run_template(
        self,
        template: str,
        params: Mapping[str, Any],
        *,
        wait: bool,
        trigger: str,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Queue (``wait=False``) or run to its end (``wait=True``) a saved import/iUpdate
        template; the run's summary (``run_id``, ``status``, counts). ``key`` (the step's
        :meth:`ActionContext.idempotency_key`) names the run: asked again with it (a resumed
        workflow run), the same run is carried on or its summary given, never a second run."""
        ...

    def insert_rows(
        self,
        job: Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        *,
        trigger: str,
        key: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Run a job document (source, action, mappings, options; no input) over ``rows``
        through the import engine, every iMIS rule applying; the run's summary with each
        row's outcome (``rows``: [{row, outcome, message, identity}]). ``key`` as for
        :meth:`run_template`: rows are never inserted twice by a step run again. With
        ``columns`` (a row set's), ``rows`` is read once, one row at a time."""
        ...

    def hashes(self, workflow_id: str, step_id: str) -> HashStore: ...

    def run_files(self, run_id: str) -> Path:
        """The private folder of run ``run_id``'s files (:attr:`ActionContext.files` of its
        steps), whether or not it exists: what a step left there for the run's end (Delta
        Hashing's pending hashes) is found by the run's ID, even from a rerun."""
        ...


@dataclass
class ActionContext:
    """Who is running, and the helpers every action may use."""

    services: WorkflowServices
    workflow_id: str
    workflow: str  # its name
    run_id: str
    step_id: str
    attempt: int  # 1 for the first try
    files: Path  # a private folder of this run for large outputs and attachments
    render: Callable[[str, Mapping[str, Any]], Any]  # a template with extra names in scope
    log: Callable[[str], None] = field(default=lambda message: None)
    # Whether the run was asked to stop (cancelled): an action that waits long (a pause, a
    # batch delay) asks it while it waits, and stops waiting.
    stop_requested: Callable[[], bool] = field(default=lambda: False)

    def idempotency_key(self, part: str = "") -> str:
        """A key that stays the same for this step of this run across retries and resumes
        (an outbound request's ``Idempotency-Key``; ``part`` tells a batch's requests apart)."""
        return f"idms-{self.run_id}-{self.step_id}" + (f"-{part}" if part else "")


@dataclass(frozen=True)
class ActionSpec:
    name: str  # as written in a step's ``action:``
    label: str  # iDMS's name for it
    summary: str  # one line for ``idms workflow actions``
    params: type[BaseModel]
    run: Callable[[Any, dict[str, Any], ActionContext], StepResult]
    literal: frozenset[str] = frozenset()  # parameters the action renders itself
    # An output that holds more than later steps should see (Delta Hashing's fingerprints
    # waiting for the run to succeed): what is passed on and shown instead.
    public: Callable[[Any], Any] | None = None
    # Called once per step of this action when the whole run has ended succeeded, with the
    # step's output as the action returned it (services, workflow id, step id, output).
    on_success: Callable[[WorkflowServices, str, str, Any], None] | None = None
    example: str = ""  # a step in YAML, for the docs and --help
