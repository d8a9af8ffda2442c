"""The suite database's tables, as SQLAlchemy 2 declarative models on their own metadata.

The schema itself is owned by the Alembic tree in ``migrations/``: every change to these models
comes with a new revision there (tests check that the two agree). The metadata carries a naming
convention so that every constraint has a stable name, which later ``ALTER``\\ s (and SQLite's
batch mode) need in order to find them. ``Run``, ``RunStage`` and ``RunRow`` are mapped onto
the Core tables of :mod:`idms.state.tables`, which ``idms runs`` uses without the ORM.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from idms.state import tables
from idms.state.tables import NAME_LENGTH as NAME_LENGTH  # imported from here too, as ever
from idms.state.tables import UTCDateTime as UTCDateTime
from idms.state.tables import utcnow as utcnow


class Base(DeclarativeBase):
    """The declarative base of every suite-database model (and only those)."""

    metadata = tables.metadata
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it once


class Secret(Base):
    """A named secret (a password, an API key...), stored only as a Fernet token.

    ``updated_at`` is when the value was last set; re-encrypting under a new key leaves it alone.
    """

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        # Never the ciphertext: a token is still a secret's stand-in in logs and tracebacks.
        return f"Secret(name={self.name!r})"


class Meta(Base):
    """Small facts about the suite database itself, by key (e.g. when it was created)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"Meta(key={self.key!r})"


class Template(Base):
    """A saved job (mappings, options, source, action) reused by name; its input can change."""

    __tablename__ = "templates"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str] = mapped_column(Text)  # the job document, as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Query(Base):
    """A saved query (the IQA equivalent), run by name; ``iqa_key`` is its IQA path folded to
    lower case, unique, so that the sandbox finds it by path as iMIS does."""

    __tablename__ = "queries"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    iqa_key: Mapped[str] = mapped_column(String(500), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str] = mapped_column(Text)  # the query document, as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One execution (or plan) of a job, or an undo of one, with its outcome counts."""

    __table__ = tables.runs

    id: Mapped[str]
    kind: Mapped[str]
    name: Mapped[str]
    source: Mapped[str]
    action: Mapped[str]
    target: Mapped[str]
    platform: Mapped[str]
    status: Mapped[str]
    plan_only: Mapped[bool]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    rows: Mapped[int]
    inserted: Mapped[int]
    updated: Mapped[int]
    unchanged: Mapped[int]
    deleted: Mapped[int]
    skipped: Mapped[int]
    errors: Mapped[int]
    job: Mapped[str]
    columns: Mapped[str]
    detected: Mapped[str]
    message: Mapped[str | None]
    error_file: Mapped[str | None]
    undo_of: Mapped[str | None]
    undone_by: Mapped[str | None]
    trigger: Mapped[str]
    started_by: Mapped[str | None]
    schedule_id: Mapped[str | None]
    sealed_job: Mapped[str | None]
    input_ref: Mapped[str | None]
    queued_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int]
    checkpoint_rows: Mapped[int]
    cancel_requested: Mapped[bool]


class RunStage(Base):
    """The batch a run is writing, staged before it is sent: what was decided for each of its
    rows (sealed: it may hold passwords). Found after a crash, it tells a resumed run which
    writes were in doubt; cleared once the batch's row results are recorded."""

    __table__ = tables.run_stages

    run_id: Mapped[str]
    batch_key: Mapped[str]
    payload: Mapped[str]
    created_at: Mapped[datetime]


class RunRow(Base):
    """One input row's outcome; ``seq`` orders the writes (undo replays them backwards).

    ``before``/``after`` are JSON: for an insert the new record, for an update only the fields
    that changed (with the record's identity), for a delete the whole removed record. ``input``
    keeps the original cells of rows that failed, for the error file (passwords masked).
    """

    __table__ = tables.run_rows

    run_id: Mapped[str]
    seq: Mapped[int]
    row_number: Mapped[int]
    outcome: Mapped[str]
    code: Mapped[str | None]
    message: Mapped[str | None]
    field: Mapped[str | None]
    column: Mapped[str | None]
    identity: Mapped[str | None]
    before: Mapped[str | None]
    after: Mapped[str | None]
    input: Mapped[str | None]


class SourceLock(Base):
    """Whose turn it is to write one source of a target that cannot hold a batch exclusive
    (iMIS over REST; see ``runs/serial.py``): the run that holds it, the process that renews it
    (a lease owner, ``HOST:PID:STAMP:THREAD``) and until when. ``key`` is a digest of the
    target and the source, which are kept as they are for people to read."""

    __tablename__ = "source_locks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(NAME_LENGTH))
    run_id: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A job run on a cron schedule (in its own time zone) or once at a given moment.

    What it runs is a job document stored when the schedule was added (``kind`` ``job``; its
    input file is read afresh at each fire) or a template by name (``kind`` ``template``, with
    an optional input file). ``next_fire_at`` is set only while the schedule is ``active``: the
    scheduler finds due schedules by its index alone, and advances it with a compare-and-set so
    that a slot never fires twice. ``state`` is active | paused | disabled (after
    ``max_failures`` failed runs in a row) | done (a one-time schedule that has fired).
    """

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))  # job | template
    job_document: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, kind job
    job_file: Mapped[str | None] = mapped_column(Text, default=None)  # where it was read from
    template: Mapped[str | None] = mapped_column(String(NAME_LENGTH), default=None)
    input_file: Mapped[str | None] = mapped_column(Text, default=None)
    target: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(10))
    cron: Mapped[str | None] = mapped_column(String(200), default=None)  # or a preset, @daily
    run_at: Mapped[datetime | None] = mapped_column(default=None)  # a one-time schedule
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    misfire: Mapped[str] = mapped_column(String(20), default="run-once")
    overlap: Mapped[str] = mapped_column(String(20), default="skip")
    max_failures: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(20), default="active")
    state_reason: Mapped[str | None] = mapped_column(Text, default=None)
    next_fire_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_fire_at: Mapped[datetime | None] = mapped_column(default=None)  # the slot, not the run
    last_run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    last_outcome: Mapped[str | None] = mapped_column(String(30), default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    counted_run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    skipped_fires: Mapped[int] = mapped_column(default=0)
    last_skip: Mapped[str | None] = mapped_column(Text, default=None)  # when and why
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Schedule(name={self.name!r})"


class RateBucket(Base):
    """The calls per second every worker of an installation shares toward one iMIS
    (``targets/imis/ratelimit.py``): the permits left (below zero: reserved ahead, a queue) as
    counted at ``stamp`` (seconds since the epoch). ``key`` is a digest of the iMIS's address,
    which ``target`` keeps as it is for people to read."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(Text)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)


class SchedulerLease(Base):
    """Who is the scheduler leader, on a database without advisory locks (SQLite): the owner
    holds the lease until ``expires_at`` and renews it as it ticks; another process takes it
    over only once it has expired (one atomic ``UPDATE ... WHERE expires_at < now``)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    acquired_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(Base):
    """A bearer token for the JSON API (``idms token create``): only its SHA-256 is kept.

    The token itself is shown once, when it is made; a request's token is hashed and looked up
    by its hash. A revoked token stays listed (``revoked_at``) until its name is used again.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:
        return f"ApiToken(name={self.name!r})"


class ApiRequestKey(Base):
    """An ``Idempotency-Key`` an API client sent with a request that queues a run, and the run
    it queued: the same request sent again (a retry after a time-out) gets that run back
    instead of a second one. ``run_id`` is empty while the first request is being handled."""

    __tablename__ = "api_request_keys"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Workflow(Base):
    """A workflow (iWorkflow): its document (``idms.workflows.model.WorkflowDoc`` as JSON), its
    state (active | disabled | archived, as iDMS) and the secret part of its webhook URL.

    The URL token is the webhook's credential: it is kept sealed with the workspace key (shown
    again by ``hook-url``) and found by its SHA-256 (``hook_hash``), so a look-up takes the same
    time whatever the token. ``hook_hash`` changes when the URL is regenerated: the old URL then
    answers 401.
    """

    __tablename__ = "workflows"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    trigger_type: Mapped[str] = mapped_column(String(30), index=True)
    document: Mapped[str] = mapped_column(Text)  # JSON
    hook_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    hook_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowStep(Base):
    """One step of a workflow run, in the order the steps ran (``seq``; a retried step keeps its
    row and counts ``attempts``). ``shown_input``/``shown_output`` are what the run page shows
    (JSON, secrets masked, large values cut to a reference); ``sealed_data`` is the pipeline
    object after the step, sealed, from which a resumed run carries on without running the step
    again."""

    __tablename__ = "workflow_steps"

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # running | succeeded | failed | skipped
    attempts: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    shown_input: Mapped[str | None] = mapped_column(Text, default=None)
    shown_output: Mapped[str | None] = mapped_column(Text, default=None)
    sealed_data: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkflowHash(Base):
    """Delta hashing: the hash of each row a workflow's (or a transfer's) step last passed on,
    by key (only the key and the hash are kept, as iDMS keeps them). ``workflow_id`` is the
    owner's ID, a workflow's or a transfer's (no reference: deleting either deletes its
    hashes itself)."""

    __tablename__ = "workflow_hashes"

    workflow_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """A transfer (iTransfer outbound job): its document (``idms.transfers.model.TransferDoc``
    as JSON) and its state (active | disabled). Its runs are runs of kind ``transfer``."""

    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    document: Mapped[str] = mapped_column(Text)  # JSON
    # An inbound transfer's URL token (legacy iTransfer webhooks), sealed, and found by its
    # SHA-256, as a webhook workflow's.
    hook_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    hook_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HookDelivery(Base):
    """A delivery seen: a signed webhook's ``webhook-id``, or an Event Grid event's id
    (``event:ID``), so a repeat is answered with the first run instead of a second one
    (``idms.workflows.deliveries``; kept a day)."""

    __tablename__ = "hook_deliveries"

    workflow_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class User(Base):
    """A person who signs in to the web UI (``idms user add``): a role (admin | editor |
    viewer) and an argon2 hash of the password, never the password. ``name_key`` is the name
    case-folded, and carries the uniqueness: 'Ann' and 'ann' are one account."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)


class WebSession(Base):
    """A signed-in browser: the SHA-256 of the random token its ``idms_session`` cookie holds
    (a database read gives no one a session), the form token (CSRF) its pages carry, and when
    it ends: ``expires_at`` moves with each request (the idle timeout) up to ``ends_at``."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]


class SignInThrottle(Base):
    """Failed sign-ins counted by what was tried: ``name:<folded name>`` or
    ``address:<client address>``. Kept for names that exist and names that do not alike, so
    neither the answer nor its delay tells whether an account exists."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(NAME_LENGTH + 20), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
