"""How soon an idle Celery worker starts a queued run (goal: within 1 s).

An ``idms worker`` (prefork, the default pool) waits on the broker; the suite database is
PostgreSQL. N small runs (a 5-row import each) are queued and submitted one at a time, each only
once the previous one has finished, so the worker is idle every time. Measured per run: from just
before ``CeleryExecutor.submit`` to the run's ``started_at``, the moment the worker claimed its
lease (both clocks are this machine's). Reported: p50, p99 and max, against the goal of 1 s; on
Redis, then on RabbitMQ when one answers.

    .venv/bin/python bench/bench_celery_start.py [--runs 50] [--brokers redis,rabbitmq]

Brokers and database: IDMS_TEST_REDIS_URL (redis://127.0.0.1:6379/0), IDMS_TEST_AMQP_URL
(amqp://guest:guest@127.0.0.1:5672//), IDMS_TEST_POSTGRES_URL (the server's ``postgres``
database, where a throw-away database is created and dropped).
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text

from idms.config import Settings
from idms.execution.celery_app import CeleryExecutor
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import build_job
from idms.runs.record import RunStore
from idms.workspace import Workspace

GOAL = 1.0
BROKERS = {
    "redis": os.environ.get("IDMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("IDMS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}
ADMIN_URL = os.environ.get(
    "IDMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def forget_queue(url: str, name: str) -> None:
    """Delete a queue from the broker, with the direct exchange of the same name Celery made."""
    with Connection(url, connect_timeout=5) as conn:
        bound = Queue(name, Exchange(name, "direct"), routing_key=name)(conn.default_channel)
        bound.declare()  # so that the channel knows the binding it is to remove (Redis)
        bound.delete()
        bound.exchange.delete()


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(broker: str, suite_url: str, folder: Path, runs: int) -> tuple[list[float], float]:
    queue = f"idms-bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(folder / "ws"),
        IDMS_SUITE_DATABASE=suite_url,
        IDMS_BROKER_URL=broker,
        IDMS_EXECUTOR="celery",
        IDMS_NOTIFY_ON="never",
    )
    settings = Settings.load(environ=env)
    workspace = Workspace.open(settings)
    data = folder / "five.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["E-mail", "First", "Last"])
        writer.writerows([f"p{i}@example.org", f"F{i}", f"L{i}"] for i in range(5))
    job = build_job(
        {
            "name": "Five contacts",
            "input": str(data),
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "E-mail", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
            ],
        }
    )
    store = RunStore(workspace.suite)
    log = (folder / f"worker-{queue}.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "idms.cli.app",
            "worker",
            "--queues",
            queue,
            "--loglevel",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    executor = CeleryExecutor(settings, queue=queue)

    def one() -> float:
        run_id = enqueue_job(workspace, job, trigger="api")
        sent = datetime.now(UTC)
        executor.submit(run_id)
        deadline = time.monotonic() + 60
        started: datetime | None = None
        while time.monotonic() < deadline:
            info = store.get(run_id)
            if started is None and info.started_at is not None:
                started = info.started_at
            if info.finished:
                break
            time.sleep(0.002 if started is None else 0.02)
        if started is None or not info.finished:
            raise SystemExit(f"run {run_id} did not finish within 60 s; see {log.name}")
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return (started - sent).total_seconds()

    try:
        first = one()  # submitted while the worker is still starting
        latencies = [one() for _ in range(runs)]
    finally:
        executor.close()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
        workspace.close()
        forget_queue(broker, queue)
    return latencies, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--brokers", default="redis,rabbitmq")
    args = parser.parse_args()
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    print(f"runs per broker: {args.runs}, each submitted to an idle worker (prefork, 2 processes)")
    for name in [b.strip() for b in args.brokers.split(",") if b.strip()]:
        url = BROKERS[name]
        if not reachable(url, 6379 if name == "redis" else 5672):
            print(f"{name}: no broker at {urlsplit(url).hostname}; skipped")
            continue
        database = f"idms_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        try:
            with tempfile.TemporaryDirectory() as tmp:
                suite = f"{ADMIN_URL.rsplit('/', 1)[0]}/{database}"
                latencies, first = measure(url, suite, Path(tmp), args.runs)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": database},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        p50, p99, worst = (
            statistics.median(latencies),
            percentile(latencies, 0.99),
            max(latencies),
        )
        verdict = "meets" if worst <= GOAL else "misses"
        print(
            f"{name}: submit -> run claimed: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {worst * 1000:.0f} ms ({verdict} the goal of {GOAL:.0f} s for every run); "
            f"the first run, submitted while the worker was starting: {first * 1000:.0f} ms"
        )
    admin.dispose()


if __name__ == "__main__":
    main()
