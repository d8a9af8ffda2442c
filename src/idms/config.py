"""Settings: where the workspace is, which target and platform, and the store's policies.

Precedence, highest first: explicit arguments (CLI flags), ``IDMS_*`` environment variables,
defaults. A :class:`Settings` is immutable; interfaces build one and hand it down.

| setting            | variable                 | default                  |
|--------------------|--------------------------|--------------------------|
| workspace          | IDMS_WORKSPACE           | ./idms-data              |
| target             | IDMS_TARGET              | embedded                 |
| platform           | IDMS_PLATFORM            | ems                      |
| lockout_threshold  | IDMS_LOCKOUT_THRESHOLD   | 5 failed logins          |
| password_min_length| IDMS_PASSWORD_MIN_LENGTH | 6 (the iMIS default)     |
| secret_key         | IDMS_SECRET_KEY          | a key file in workspace  |
| suite_database     | IDMS_SUITE_DATABASE      | sqlite in the workspace  |
| imis_query_endpoint| IDMS_IMIS_QUERY_ENDPOINT | iqa (or query, EMS only) |
| imis_concurrency   | IDMS_IMIS_CONCURRENCY    | 8 calls in flight per run |
| imis_rate_limit    | IDMS_IMIS_RATE_LIMIT     | none (calls/s, every worker together) |
| notify_on          | IDMS_NOTIFY_ON           | failure (or always, never)|
| notify_email       | IDMS_NOTIFY_EMAIL        | nobody (comma-separated)  |
| smtp_url           | IDMS_SMTP_URL            | none (smtp[s]://…)        |
| notify_from        | IDMS_NOTIFY_FROM         | idms@HOST                 |
| notify_webhook_url | IDMS_NOTIFY_WEBHOOK_URL  | none                      |
| notify_webhook_secret | IDMS_NOTIFY_WEBHOOK_SECRET | none (whsec_…)       |
| serve_input_folders| IDMS_SERVE_INPUT_FOLDERS | none: uploads only (os.pathsep between) |
| serve_max_body     | IDMS_SERVE_MAX_BODY      | 1 MiB (a JSON request)    |
| serve_max_upload   | IDMS_SERVE_MAX_UPLOAD    | 100 MiB (an uploaded file)|
| upload_retention_days | IDMS_UPLOAD_RETENTION_DAYS | 7 (none: kept until deleted) |
| change_notify_urls | IDMS_CHANGE_NOTIFY_URLS  | none (comma-separated http[s]:// URLs) |
| export_folders     | IDMS_EXPORT_FOLDERS      | none: no Write to Folder (os.pathsep between) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Literal

from idms.errors import ConfigError

DEFAULT_WORKSPACE = "idms-data"
STORE_FILE = "imis.db"
SUITE_FILE = "suite.db"
KEY_FILE = "secret.key"


class Platform(StrEnum):
    """Which iMIS rules apply."""

    EMS = "ems"
    IMIS_2017 = "2017"


def parse_platform(value: str) -> Platform:
    try:
        return Platform(value.strip().lower())
    except ValueError:
        raise ConfigError(f"Unknown platform '{value}': use 'ems' or '2017'.") from None


QueryEndpoint = Literal["iqa", "query"]


def parse_query_endpoint(value: str) -> QueryEndpoint:
    """Where a REST target runs saved queries: ``iqa`` (every iMIS) or ``query`` (EMS 20.3.77+)."""
    cleaned = value.strip().lower()
    if cleaned == "iqa":
        return "iqa"
    if cleaned == "query":
        return "query"
    raise ConfigError(
        f"IDMS_IMIS_QUERY_ENDPOINT must be 'iqa' (/api/iqa, every iMIS) or 'query' "
        f"(/api/query, iMIS EMS), not '{value}'."
    )


def _int_setting(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not '{raw}'.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    return value


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2}
_UNITS |= {"mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def parse_size(name: str, raw: str) -> int:
    """A size in bytes from ``1048576``, ``512K``, ``1 MiB``, ``100M`` or ``2G`` (binary units)."""
    text = raw.strip().lower().replace(" ", "")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits) :]
    if not digits.isdigit() or unit not in _UNITS or int(digits) < 1:
        raise ConfigError(
            f"{name} must be a size such as 1048576, 512K, 1M or 2G (bytes, KiB, MiB, GiB), "
            f"not '{raw}'."
        )
    return int(digits) * _UNITS[unit]


def show_size(size: int) -> str:
    """``1048576`` -> ``1 MiB``; ``1536`` -> ``1.5 KiB``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _folders(raw: str) -> tuple[Path, ...]:
    """Folders listed as a PATH is (``os.pathsep``), each made absolute (links followed)."""
    return tuple(Path(p.strip()).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip())


def _optional_int(name: str, raw: str) -> int | None:
    """A whole number of at least 1, or 'none' / 'off' / '' for no limit."""
    if raw.strip().lower() in ("", "none", "off", "0"):
        return None
    return _int_setting(name, raw, minimum=1)


def _rate(raw: str) -> float | None:
    """IDMS_IMIS_RATE_LIMIT: calls per second (a positive number), or none / off / '' for none."""
    if raw.strip().lower() in ("", "none", "off", "0"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(
            f"IDMS_IMIS_RATE_LIMIT must be a number of calls per second, e.g. 20, not '{raw}'."
        )
    return value


NotifyOn = Literal["failure", "always", "never"]


def _notify_on(raw: str) -> NotifyOn:
    value = raw.strip().lower()
    if value == "failure":
        return "failure"
    if value == "always":
        return "always"
    if value == "never":
        return "never"
    raise ConfigError(f"IDMS_NOTIFY_ON must be 'failure', 'always' or 'never', not '{raw}'.")


def _addresses(raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.replace(";", ",").split(",") if a.strip())


def _change_urls(raw: str) -> tuple[str, ...]:
    """The URLs the embedded store sends its change notifications to (comma-separated)."""
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    for number, url in enumerate(urls, 1):
        if not url.startswith(("http://", "https://")):  # the URL itself is not shown: a token
            raise ConfigError(
                f"IDMS_CHANGE_NOTIFY_URLS: URL {number} does not start with http:// or "
                "https://; list such URLs, comma-separated, e.g. the one 'idms workflow "
                "change-url' shows."
            )
    return urls


def _executor(raw: str) -> Literal["local", "celery"]:
    value = raw.strip().lower()
    if value == "local":
        return "local"
    if value == "celery":
        return "celery"
    raise ConfigError(f"IDMS_EXECUTOR must be 'local' or 'celery', not '{raw}'.")


def _local_executor(raw: str) -> Literal["processes", "threads"]:
    value = raw.strip().lower()
    if value == "processes":
        return "processes"
    if value == "threads":
        return "threads"
    raise ConfigError(f"IDMS_LOCAL_EXECUTOR must be 'processes' or 'threads', not '{raw}'.")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where it works and under which rules."""

    workspace: Path = field(default_factory=lambda: Path(DEFAULT_WORKSPACE))
    target: str = "embedded"
    platform: Platform = Platform.EMS
    lockout_threshold: int = 5
    password_min_length: int = 6
    secret_key: str | None = field(default=None, repr=False)  # never printed
    suite_database: str | None = None
    imis_query_endpoint: QueryEndpoint = "iqa"
    # iMIS over REST: the calls a run keeps in flight at most (fewer while iMIS answers 429),
    # and the calls per second every worker of the installation sends it together (None: no
    # limit), shared through the suite database (targets/imis/ratelimit.py).
    imis_concurrency: int = 8
    imis_rate_limit: float | None = None
    # Durable runs and executors (idms serve, idms worker).
    lease_seconds: int = 60  # a run's lease; a run not renewed for this long is resumed elsewhere
    history_days: int | None = 90  # finished runs older than this are pruned (None: never)
    history_max: int | None = 10000  # at most this many finished runs are kept (None: all)
    executor: Literal["local", "celery"] = "local"
    broker_url: str | None = None  # celery: redis://… or amqp://…
    workers: int = 2  # runs the local executor of idms serve carries out at once
    # The local executor's runs: in child processes (the API's interpreter stays free for its
    # answers) or in threads of idms serve.
    local_executor: Literal["processes", "threads"] = "processes"
    stop_grace_seconds: int = 10  # idms serve, stopping: how long runs get to reach their next row
    # Notifications when a background run ends (idms.notify).
    notify_on: NotifyOn = "failure"
    notify_email: tuple[str, ...] = ()
    smtp_url: str | None = field(default=None, repr=False)  # may hold the SMTP password
    notify_from: str | None = None
    notify_webhook_url: str | None = field(default=None, repr=False)  # may hold a token
    notify_webhook_secret: str | None = field(default=None, repr=False)
    # idms serve: the folders whose files a request may name as a job's input (none: uploads
    # only), and the largest request body accepted, for JSON and for an uploaded file.
    serve_input_folders: tuple[Path, ...] = ()
    serve_max_body: int = 1024**2
    serve_max_upload: int = 100 * 1024**2
    # Uploads older than this are pruned, unless a template or a schedule names them (None:
    # kept until deleted).
    upload_retention_days: int | None = 7
    # Where the embedded store sends a change notification (Event Grid, as iMIS) for every
    # change committed through it (idms.targets.embedded.notify); the URLs hold a token.
    change_notify_urls: tuple[str, ...] = field(default=(), repr=False)
    # The folders a workflow's Write to Folder step may write into (and below); none: the
    # action is refused, since a workflow must not be able to write wherever the server can.
    export_folders: tuple[Path, ...] = ()

    @classmethod
    def load(
        cls,
        *,
        workspace: str | Path | None = None,
        target: str | None = None,
        platform: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from explicit values, then ``IDMS_*`` variables, then defaults."""
        env = os.environ if environ is None else environ
        ws = workspace or env.get("IDMS_WORKSPACE") or DEFAULT_WORKSPACE
        tgt = (target or env.get("IDMS_TARGET") or "embedded").strip()
        plat = parse_platform(platform or env.get("IDMS_PLATFORM") or "ems")
        lockout = _int_setting(
            "IDMS_LOCKOUT_THRESHOLD", env.get("IDMS_LOCKOUT_THRESHOLD", "5"), minimum=1
        )
        min_len = _int_setting(
            "IDMS_PASSWORD_MIN_LENGTH", env.get("IDMS_PASSWORD_MIN_LENGTH", "6"), minimum=1
        )
        settings = cls(
            workspace=Path(ws).expanduser(),
            target=tgt,
            platform=plat,
            lockout_threshold=lockout,
            password_min_length=min_len,
            secret_key=env.get("IDMS_SECRET_KEY") or None,
            suite_database=env.get("IDMS_SUITE_DATABASE") or None,
            imis_query_endpoint=parse_query_endpoint(env.get("IDMS_IMIS_QUERY_ENDPOINT") or "iqa"),
            imis_concurrency=_int_setting(
                "IDMS_IMIS_CONCURRENCY", env.get("IDMS_IMIS_CONCURRENCY", "8"), minimum=1
            ),
            imis_rate_limit=_rate(env.get("IDMS_IMIS_RATE_LIMIT") or ""),
            lease_seconds=_int_setting(
                "IDMS_LEASE_SECONDS", env.get("IDMS_LEASE_SECONDS", "60"), minimum=2
            ),
            history_days=_optional_int(
                "IDMS_RUN_HISTORY_DAYS", env.get("IDMS_RUN_HISTORY_DAYS", "90")
            ),
            history_max=_optional_int(
                "IDMS_RUN_HISTORY_MAX", env.get("IDMS_RUN_HISTORY_MAX", "10000")
            ),
            executor=_executor(env.get("IDMS_EXECUTOR") or "local"),
            broker_url=env.get("IDMS_BROKER_URL") or None,
            workers=_int_setting("IDMS_WORKERS", env.get("IDMS_WORKERS", "2"), minimum=1),
            local_executor=_local_executor(env.get("IDMS_LOCAL_EXECUTOR") or "processes"),
            stop_grace_seconds=_int_setting(
                "IDMS_STOP_GRACE_SECONDS", env.get("IDMS_STOP_GRACE_SECONDS", "10"), minimum=1
            ),
            notify_on=_notify_on(env.get("IDMS_NOTIFY_ON") or "failure"),
            notify_email=_addresses(env.get("IDMS_NOTIFY_EMAIL") or ""),
            smtp_url=env.get("IDMS_SMTP_URL") or None,
            notify_from=env.get("IDMS_NOTIFY_FROM") or None,
            notify_webhook_url=env.get("IDMS_NOTIFY_WEBHOOK_URL") or None,
            notify_webhook_secret=env.get("IDMS_NOTIFY_WEBHOOK_SECRET") or None,
            serve_input_folders=_folders(env.get("IDMS_SERVE_INPUT_FOLDERS") or ""),
            serve_max_body=parse_size(
                "IDMS_SERVE_MAX_BODY", env.get("IDMS_SERVE_MAX_BODY") or "1M"
            ),
            serve_max_upload=parse_size(
                "IDMS_SERVE_MAX_UPLOAD", env.get("IDMS_SERVE_MAX_UPLOAD") or "100M"
            ),
            upload_retention_days=_optional_int(
                "IDMS_UPLOAD_RETENTION_DAYS", env.get("IDMS_UPLOAD_RETENTION_DAYS", "7")
            ),
            change_notify_urls=_change_urls(env.get("IDMS_CHANGE_NOTIFY_URLS") or ""),
            export_folders=_folders(env.get("IDMS_EXPORT_FOLDERS") or ""),
        )
        target_kind(settings.target)  # refuse a malformed target before anything runs
        return settings

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the embedded store this target names."""
        t = self.target
        kind = target_kind(t)
        if kind == "embedded":
            return f"sqlite:///{(self.workspace / STORE_FILE).resolve()}"
        if kind == "database":
            return normalise_database_url(t)
        raise ConfigError(f"Target '{t}' is a remote iMIS; this command needs the embedded store.")

    @property
    def suite_url(self) -> str:
        """The SQLAlchemy URL of the suite database (jobs, runs, secrets...)."""
        if self.suite_database:
            return normalise_database_url(self.suite_database)
        return f"sqlite:///{(self.workspace / SUITE_FILE).resolve()}"

    @property
    def key_file(self) -> Path:
        return self.workspace / KEY_FILE


def target_kind(target: str) -> str:
    """'embedded' (the workspace's store), 'database' (a store elsewhere) or 'rest' (an iMIS)."""
    if target == "embedded":
        return "embedded"
    if target.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        return "database"
    if target.startswith(("imis+https://", "imis+http://")):
        return "rest"
    raise ConfigError(
        f"Unknown target '{target}': use 'embedded', 'sqlite:///PATH', 'postgresql://...' "
        "or 'imis+https://HOST/'."
    )


def normalise_database_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver idms ships with."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
