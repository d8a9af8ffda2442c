"""What the credentials tests share: a small association, import jobs from CSV files, sandboxes.

A :class:`World` is one workspace folder (``ws``: the store, the suite databases, the error
files) with the input files kept apart (``input``), so that a test can search every file of the
workspace for a password. ``World.serve`` runs the sandbox over the world's own store on real
HTTP (``running_sandbox``) and gives the REST target on it and a ``/token`` helper.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from idms.jobs.model import Job, build_job
from idms.jobs.runner import RunReport, run_job
from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.sources.filters import Filter, Operator
from idms.state.store import open_suite
from idms.targets.base import Change, ChangeKind, Record, Target
from idms.targets.embedded import schema
from idms.targets.embedded.adapters.base import StorePolicy
from idms.targets.embedded.passwords import fast_hash_password, username_key
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget
from input_rows import data_rows

MANAGER = "MANAGER"
MANAGER_PASSWORD = "Manager-Secret-9"
INCORRECT = "The user name or password is incorrect."
LOCKED = "The user account is locked out."
# name -> (first name, last name, e-mail); "nomail" is a person without an e-mail address.
PEOPLE: dict[str, tuple[str, str, str | None]] = {
    "ada": ("Ada", "Lovelace", "ada@example.org"),
    "grace": ("Grace", "Hopper", "grace@example.org"),
    "alan": ("Alan", "Turing", "alan@example.org"),
    "nomail": ("Nemo", "Nomail", None),
}
# What differs between two runs of the same jobs without meaning anything: times and new keys.
VOLATILE = {"CreatedOn", "UpdatedOn", "LastLoginDate", "LastLockoutDate", "ContactKey"}
COUNT_KEYS = ("rows", "inserted", "updated", "unchanged", "deleted", "skipped", "errors")


@dataclass
class Sandbox:
    """A running sandbox over a world's store: its URL, a REST target on it, ``/token``."""

    url: str
    platform: str
    rest: RestTarget
    http: httpx.Client

    def token(self, username: str, password: str) -> httpx.Response:
        form = {"grant_type": "password", "username": username, "password": password}
        return self.http.post(f"{self.url}/token", data=form)

    def logs_in(self, username: str, password: str) -> bool:
        return self.token(username, password).status_code == 200

    def lock(self, username: str, threshold: int = 5) -> None:
        """Five failed logins (the iMIS default), the last of which locks the account."""
        answers = [self.token(username, "not-the-password") for _ in range(threshold)]
        assert [a.status_code for a in answers] == [400] * threshold
        assert answers[-1].json() == {"error": "invalid_grant", "error_description": LOCKED}


@dataclass
class World:
    """One workspace: the store, its people, the suite databases, input files apart."""

    root: Path
    store: EmbeddedTarget
    people: dict[str, str]  # name -> iMIS ID
    stack: ExitStack = field(repr=False)
    _runs: dict[str, RunStore] = field(default_factory=dict, repr=False)

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    # ---- jobs ---------------------------------------------------------------------------------

    def csv(self, name: str, rows: Sequence[dict[str, Any]]) -> Path:
        folder = self.root / "input"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.csv"
        header: list[str] = []
        for row in rows:
            header.extend(k for k in row if k not in header)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, restval="")
            writer.writeheader()
            writer.writerows(rows)
        return path

    def job(
        self,
        name: str,
        source: str,
        action: str,
        mappings: list[dict[str, Any]],
        rows: Sequence[dict[str, Any]],
        **options: Any,
    ) -> Job:
        document = {
            "name": name,
            "input": str(self.csv(name, rows)),
            "source": source,
            "action": action,
            "mappings": mappings,
            "options": options,
        }
        return build_job(document)

    def runs(self, label: str = "embedded") -> RunStore:
        store = self._runs.get(label)
        if store is None:
            store = RunStore(open_suite(f"sqlite:///{self.workspace / f'suite-{label}.db'}"))
            self.stack.callback(store.engine.dispose)
            self._runs[label] = store
        return store

    def run(
        self, target: Target, job: Job, *, label: str = "embedded", plan: bool = False
    ) -> RunReport:
        report = run_job(
            job,
            target=target,
            runs=self.runs(label),
            plan=plan,
            error_dir=self.workspace / "errors",
            target_label=label,
        )
        assert report.message is None, report.message
        assert report.counts.rows == data_rows(job.input.file)  # every row written gets an outcome
        return report

    def outcomes(self, report: RunReport, label: str = "embedded") -> list[tuple[Any, ...]]:
        """(row, outcome, code, field, message) of every row of a run."""
        return [
            (r.row_number, r.outcome, r.code, r.field, r.message)
            for r in self.runs(label).rows(report.run_id)
        ]

    # ---- the sandbox ----------------------------------------------------------------------------

    @contextmanager
    def serve(self, platform: str = "ems") -> Iterator[Sandbox]:
        """The world's store served as iMIS ``platform`` (which the store's rules follow)."""
        app = create_app(self.store, platform=platform, manager_password=MANAGER_PASSWORD)
        with (
            running_sandbox(app) as url,
            httpx.Client(timeout=30) as http,
            ImisClient(url, MANAGER, MANAGER_PASSWORD) as client,
        ):
            yield Sandbox(url, platform, RestTarget(client, platform), http)

    # ---- the store ------------------------------------------------------------------------------

    def set_platform(self, platform: str) -> None:
        """Put the embedded store under ``platform``'s rules (as ``--platform`` does)."""
        self.store.policy.platform = platform
        self.store.refresh()

    def give_credentials(self, *names: str, password: str) -> None:
        """Credentials made outside any job (on 2017, by iMIS itself): the e-mail as username.

        Written straight into the store, as ``idms demo`` writes its users, with the cheaper
        argon2 parameters (a hash carries its own parameters, so logins check it alike)."""
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        rows = []
        for name in names:
            email = PEOPLE[name][2]
            assert email is not None
            rows.append(
                {
                    "imis_id": self.people[name],
                    "username": email,
                    "username_key": username_key(email),
                    "password_hash": fast_hash_password(password),
                    "is_locked_out": False,
                    "failed_password_attempt_count": 0,
                    "is_disabled": False,
                    "created_on": now,
                }
            )
        with self.store.engine.begin() as conn:
            conn.execute(insert(schema.users), rows)

    def credentials(self, name: str) -> Record:
        """The stored credentials of person ``name`` (one of :data:`PEOPLE`)."""
        wanted = [Filter("ImisId", Operator.EQ, self.people[name])]
        (found,) = self.store.read("UserCredentials", wanted)
        return found


def new_world(root: Path, stack: ExitStack, *, store_name: str = "imis") -> World:
    """A fresh store (EMS rules) holding :data:`PEOPLE`, in ``root/ws``."""
    (root / "ws").mkdir(parents=True, exist_ok=True)
    store = EmbeddedTarget(f"sqlite:///{root / 'ws' / store_name}.db", StorePolicy())
    stack.callback(store.close)
    changes = []
    for first, last, email in PEOPLE.values():
        values = {"FirstName": first, "LastName": last}
        if email:
            values["Email"] = email
        if first == "Grace":
            values["OrganizationName"] = "United States Navy"  # her employer, not her name
        changes.append(Change(ChangeKind.INSERT, values))
    results = store.apply("Contact", changes)
    assert all(r.ok and r.after for r in results), results
    people = {
        name: str(r.after["ImisId"]) for name, r in zip(PEOPLE, results, strict=True) if r.after
    }
    return World(root, store, people, stack)


def counts(report: RunReport) -> dict[str, int]:
    summary = report.counts.as_dict()
    return {k: summary[k] for k in COUNT_KEYS}


def expect(**numbers: int) -> dict[str, int]:
    """The counts of a run with these outcomes and no other: ``expect(inserted=2, errors=1)``."""
    out = dict.fromkeys(COUNT_KEYS, 0)
    out.update(numbers)
    out["rows"] = sum(numbers.values())
    return out


def comparable(records: Sequence[Record], *, drop: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Records without what varies between two stores (times, new keys), in a stable order."""
    out = [{k: v for k, v in r.items() if k not in VOLATILE and k not in drop} for r in records]
    return sorted(out, key=repr)


def store_state(store: EmbeddedTarget) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything a credentials job could change: the logins and the contacts, in full."""
    return list(store.read("UserCredentials")), list(store.read("Contact"))
