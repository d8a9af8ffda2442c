"""The Celery executor against real workers (``idms worker`` subprocesses) on Redis and RabbitMQ,
with the suite database on PostgreSQL and the embedded store on a SQLite file in the shared
workspace: a queued import runs to the end; a worker killed with SIGKILL mid-run hands its run to
another, which finishes it with exact counts and no duplicate contact.

Each test has its own queue, so tests running at the same time on the same broker never take each
other's runs. Skipped, with the reason, where a broker or PostgreSQL does not answer (failed under
CI).
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import text
from typer.testing import CliRunner

from idms.cli.app import app
from idms.cli.worker import Pool, worker_warnings
from idms.config import Settings
from idms.errors import IdmsError
from idms.execution.celery_app import CeleryExecutor, visibility_timeout
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import build_job
from idms.runs.record import RunInfo, RunStore
from idms.state.store import display_url
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace
from services import need_service

BROKERS = {
    "redis": os.environ.get("IDMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("IDMS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}
VARIABLE = {"redis": "IDMS_TEST_REDIS_URL", "rabbitmq": "IDMS_TEST_AMQP_URL"}
LEASE = 2  # seconds: a killed worker's lease expires quickly (Redis redelivers after 3 leases)


def forget_queue(url: str, name: str) -> None:
    """Delete a queue from the broker, with the direct exchange of the same name Celery made."""
    with Connection(url, connect_timeout=5) as conn:
        bound = Queue(name, Exchange(name, "direct"), routing_key=name)(conn.default_channel)
        bound.declare()  # so that the channel knows the binding it is to remove (Redis)
        bound.delete()
        bound.exchange.delete()


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or (6379 if parts.scheme.startswith("redis") else 5672)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    """A broker URL: Redis, then RabbitMQ."""
    url = BROKERS[request.param]
    if not reachable(url):
        reason = f"no broker at {display_url(url)}; set {VARIABLE[request.param]}"
        need_service(request.param, reason)
    return url


@dataclass
class Cluster:
    """A workspace shared by the test and its workers: PostgreSQL suite, SQLite store."""

    root: Path
    settings: Settings
    env: dict[str, str]
    queue: str
    workspace: Workspace
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def runs(self) -> RunStore:
        return RunStore(self.workspace.suite)

    def start_worker(
        self, *, pool: str = "prefork", concurrency: int = 1
    ) -> subprocess.Popen[bytes]:
        number = len(self.workers) + 1
        log = (self.root / f"worker{number}.log").open("wb")
        command = [sys.executable, "-m", "idms.cli.app", "worker", "--pool", pool]
        command += ["--concurrency", str(concurrency), "--queues", self.queue]
        command += ["--hostname", f"w{number}-{self.queue}@%h"]
        process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.workers.append(process)
        return process

    def log_of(self, number: int) -> str:
        return (self.root / f"worker{number}.log").read_text(errors="replace")

    def enqueue(self, rows: int, *, batch: int = 1000) -> str:
        data = self.root / f"people-{uuid.uuid4().hex[:6]}.csv"
        with data.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["E-mail", "First", "Last"])
            for i in range(rows):
                writer.writerow([f"person{i:05d}@example.org", f"First{i}", f"Last{i:05d}"])
        job = build_job(
            {
                "name": f"Roster of {rows}",
                "input": str(data),
                "source": "Contact",
                "action": "insert-update",
                "mappings": [
                    {"field": "Email", "column": "E-mail", "match": True},
                    {"field": "FirstName", "column": "First"},
                    {"field": "LastName", "column": "Last"},
                ],
                "options": {"batch_size": batch},
            }
        )
        return enqueue_job(self.workspace, job, trigger="api")

    def wait(self, run_id: str, *, timeout: float = 60, until: str = "finished") -> RunInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.runs.get(run_id)
            if until == "finished" and info.finished:
                return info
            if until == "checkpoint" and (info.checkpoint_rows > 0 or info.finished):
                return info
            for number, worker in enumerate(self.workers, start=1):
                code = worker.poll()
                if code is not None and code != -signal.SIGKILL:
                    pytest.fail(f"worker {number} exited ({code}):\n{self.log_of(number)}")
            time.sleep(0.05)
        logs = "\n".join(self.log_of(n) for n in range(1, len(self.workers) + 1))
        pytest.fail(f"run {run_id} not {until} after {timeout} s: {info}\n{logs}")

    def contacts(self) -> tuple[int, int]:
        """(contacts, distinct e-mails) in the embedded store."""
        store = EmbeddedTarget.from_settings(self.settings)
        try:
            with store.engine.connect() as conn:
                total, distinct = conn.execute(
                    text("SELECT count(*), count(DISTINCT email) FROM contacts")
                ).one()
        finally:
            store.close()
        return int(total), int(distinct)

    def stop(self) -> None:
        """Stop the workers the way an operator does (a warm shutdown acknowledges what they
        took), or kill them if they will not stop."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


@pytest.fixture
def cluster(tmp_path: Path, broker: str, postgres_url: str) -> Iterator[Cluster]:
    queue = f"idms-test-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(tmp_path / "ws"),
        IDMS_SUITE_DATABASE=postgres_url,
        IDMS_BROKER_URL=broker,
        IDMS_EXECUTOR="celery",
        IDMS_LEASE_SECONDS=str(LEASE),
        IDMS_NOTIFY_ON="never",
    )
    settings = Settings.load(environ=env)
    workspace = Workspace.open(settings)  # the suite's schema and the key, before any worker
    EmbeddedTarget.from_settings(settings).close()  # the store, created once
    found = Cluster(tmp_path, settings, env, queue, workspace)
    try:
        yield found
    finally:
        found.stop()
        workspace.close()
        forget_queue(broker, queue)


def test_a_queued_import_runs_on_a_worker(cluster: Cluster) -> None:
    rows = 3000
    executor = CeleryExecutor(cluster.settings, queue=cluster.queue)
    try:
        cluster.start_worker(pool="prefork")
        executor.submit("0123456789ab")  # not a run of this suite: logged and dropped
        run_id = cluster.enqueue(rows)
        executor.submit(run_id)
        info = cluster.wait(run_id)
    finally:
        executor.close()
    assert info.status == "succeeded", info.message
    assert info.counts == {
        "rows": rows,
        "inserted": rows,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "skipped": 0,
        "errors": 0,
    }
    assert info.attempts == 1
    assert info.trigger == "api"
    assert cluster.runs.count_rows(run_id) == {"inserted": rows}
    assert cluster.contacts() == (rows, rows)
    store = EmbeddedTarget.from_settings(cluster.settings)
    try:
        found = store.match("Contact", ["Email"], [{"Email": "person00042@example.org"}])[0]
    finally:
        store.close()
    assert [(r["FirstName"], r["LastName"]) for r in found] == [("First42", "Last00042")]
    assert "not in the suite database" in cluster.log_of(1)


def test_a_worker_killed_mid_run_is_taken_over_without_duplicates(cluster: Cluster) -> None:
    rows, batch = 3000, 10  # 300 batches: a few seconds of work
    executor = CeleryExecutor(cluster.settings, queue=cluster.queue)
    try:
        first = cluster.start_worker(pool="prefork")
        run_id = cluster.enqueue(rows, batch=batch)
        executor.submit(run_id)
        during = cluster.wait(run_id, until="checkpoint", timeout=30)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool, mid-batch
        first.wait()
        killed = cluster.runs.get(run_id)
        assert during.status == killed.status == "running", "the run ended before the kill"
        assert 0 < killed.checkpoint_rows < rows
        cluster.start_worker(pool="threads")
        info = cluster.wait(run_id, timeout=45)
    finally:
        executor.close()
    assert info.status == "succeeded", info.message
    assert info.attempts >= 2
    assert info.counts["rows"] == info.counts["inserted"] == rows
    results = list(cluster.runs.rows(run_id))
    assert len(results) == rows
    assert sorted(r.row_number for r in results) == list(range(2, rows + 2))
    assert {r.outcome for r in results} == {"inserted"}
    assert cluster.contacts() == (rows, rows)


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_pool_process_killed_mid_run_is_replaced_and_the_run_resumed(cluster: Cluster) -> None:
    """Only the process carrying the run dies (an out-of-memory kill): the worker hands the
    message back (reject_on_worker_lost), a new pool process takes it, waits for the dead one's
    lease and resumes."""
    rows, batch = 2000, 10
    executor = CeleryExecutor(cluster.settings, queue=cluster.queue)
    try:
        worker = cluster.start_worker(pool="prefork")
        run_id = cluster.enqueue(rows, batch=batch)
        executor.submit(run_id)
        cluster.wait(run_id, until="checkpoint", timeout=30)
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)
        info = cluster.wait(run_id, timeout=45)
    finally:
        executor.close()
    assert worker.poll() is None  # the worker itself lives on
    assert info.status == "succeeded", info.message
    assert info.attempts >= 2
    assert info.counts["inserted"] == rows
    assert cluster.runs.count_rows(run_id) == {"inserted": rows}
    assert cluster.contacts() == (rows, rows)
    assert "WorkerLostError" in cluster.log_of(1)


# ---- without a worker ---------------------------------------------------------------------------


def test_worker_without_a_broker_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "IDMS_BROKER_URL" in result.stderr
    monkeypatch.setenv("IDMS_BROKER_URL", "http://user:hunter2@queue.example.org/")
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "redis://" in result.stderr
    assert "hunter2" not in result.stderr


def test_worker_warns_about_what_only_works_on_one_machine(tmp_path: Path) -> None:
    local = Settings.load(environ={"IDMS_WORKSPACE": str(tmp_path / "ws")})
    warnings = worker_warnings(local, Pool.PREFORK)
    assert any("SQLite" in w and "PostgreSQL" in w for w in warnings)
    assert any("same key" in w for w in warnings)
    shared = Settings.load(
        environ={
            "IDMS_WORKSPACE": str(tmp_path / "ws"),
            "IDMS_SUITE_DATABASE": "postgresql://idms@db.example.org/idms",
            "IDMS_SECRET_KEY": "x" * 44,
        }
    )
    assert worker_warnings(shared, Pool.PREFORK) == []


def test_submit_to_an_unreachable_broker_says_so(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={
            "IDMS_WORKSPACE": str(tmp_path / "ws"),
            "IDMS_BROKER_URL": "redis://:s3cret@127.0.0.1:1/0",
        }
    )
    executor = CeleryExecutor(settings)
    try:
        with pytest.raises(IdmsError, match="did not take it") as caught:
            executor.submit("0123456789ab")
    finally:
        executor.close()
    assert "s3cret" not in caught.value.message
    assert "127.0.0.1:1" in caught.value.message


def test_the_redis_visibility_timeout_outlasts_the_lease() -> None:
    settings = Settings.load(environ={"IDMS_BROKER_URL": "redis://127.0.0.1:6379/0"})
    assert visibility_timeout(settings) > settings.lease_seconds
    executor = CeleryExecutor(settings)
    try:
        conf = executor.app.conf
        assert conf.task_acks_late is True
        assert conf.task_reject_on_worker_lost is True
        assert conf.worker_prefetch_multiplier == 1
        assert conf.task_serializer == "json"
        options = conf.broker_transport_options
        assert options["visibility_timeout"] == visibility_timeout(settings)
    finally:
        executor.close()
