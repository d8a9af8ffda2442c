"""A workflow run queued for the Celery executor is run by a real ``idms worker`` (on Redis, the
suite database on PostgreSQL), through ``execute_run`` as every run: the worker opens the
workspace facade, which runs the workflow's steps."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from idms.config import Settings
from idms.execution.celery_app import CeleryExecutor
from idms.workspace import Workspace
from services import need_service

REDIS = os.environ.get("IDMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Settings, dict[str, str], str]]:
    if not reachable("127.0.0.1", 6379) and "127.0.0.1:6379" in REDIS:
        need_service("Redis", "nothing answers on 127.0.0.1:6379; set IDMS_TEST_REDIS_URL")
    queue = f"idms-wf-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(tmp_path / "ws"),
        IDMS_SUITE_DATABASE=postgres_url,
        IDMS_BROKER_URL=REDIS,
        IDMS_EXECUTOR="celery",
        IDMS_LEASE_SECONDS="5",
        IDMS_NOTIFY_ON="never",
    )
    yield Settings.load(environ=env), env, queue
    with Connection(REDIS, connect_timeout=5) as conn:
        bound = Queue(queue, Exchange(queue, "direct"), routing_key=queue)(conn.default_channel)
        bound.declare()
        bound.delete()
        bound.exchange.delete()


def test_a_workflow_run_is_executed_by_a_celery_worker(
    settings: tuple[Settings, dict[str, str], str], tmp_path: Path
) -> None:
    config, env, queue = settings
    with Workspace.open(config) as workspace:
        workspace.save_workflow(
            {
                "name": "On a worker",
                "steps": [
                    {
                        "id": "shape",
                        "action": "select",
                        "with": {"columns": {"n": "{{ input.rows | size }}"}},
                    },
                    {"id": "stop", "action": "gate", "with": {"when": "{{ input.n }}"}},
                ],
            }
        )
        queued = workspace.start_workflow("On a worker", {"rows": [1, 2, 3]}, trigger="api")
        executor = CeleryExecutor(config, queue=queue)
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "idms.cli.app", "worker", "--pool", "solo", "--queues", queue],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            executor.submit(queued.id)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = workspace.runs.get(queued.id)
                if info.finished:
                    break
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                time.sleep(0.1)
        finally:
            executor.close()
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        assert info.status == "succeeded", (info.message, (tmp_path / "worker.log").read_text())
        steps = workspace.workflow_steps(queued.id)
        assert [(s.step_id, s.status) for s in steps] == [
            ("shape", "succeeded"),
            ("stop", "succeeded"),
        ]
        assert steps[1].input == {"n": 3}
        assert info.message == "Finished: 2 steps run."  # 3 is not true: the gate passed on
