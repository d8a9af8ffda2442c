"""What the server tests share: a real API server (uvicorn on a free port, in a thread) with
an httpx client holding a token, files and jobs to send it."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from idms.config import Settings
from idms.execution.executors import LocalExecutor
from idms.server.loop import ServerLoop
from idms.workspace import Workspace

PEOPLE = [
    {"First": "Ada", "Last": "Lovelace", "E-mail": "ada@example.org"},
    {"First": "Bad", "Last": "Row", "E-mail": "not-an-email"},
    {"First": "Alan", "Last": "Turing", "E-mail": "alan@example.org"},
    {"First": "Grace", "Last": "Hopper", "E-mail": "grace@example.org"},
    {"First": "Worse", "Last": "Row", "E-mail": "also bad"},
]
CONTACT_JOB: dict[str, Any] = {
    "name": "People by e-mail",
    "source": "Contact",
    "action": "insert-update",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "LastName", "column": "Last"},
        {"field": "FirstName", "column": "First"},
    ],
}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@dataclass
class Api:
    """The server under test: its workspace, its base URL, a client holding a valid token."""

    workspace: Workspace
    base: str
    client: httpx.Client
    token: str
    executor: LocalExecutor | None
    loop: ServerLoop | None

    def wait_for(self, run_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """The run once it has ended (polled through the API)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.client.get(f"/api/v1/runs/{run_id}")
            assert answer.status_code == 200, answer.text
            run: dict[str, Any] = answer.json()
            if run["status"] not in ("queued", "running"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} did not end: {run}"
            time.sleep(0.05)


def settings_for(root: Path, **changes: Any) -> Settings:
    """The test's folder is the one input folder a request may name files in (the workspace,
    inside it, stays out of reach)."""
    changes.setdefault("serve_input_folders", (root.resolve(),))
    return Settings(workspace=root / "ws", lease_seconds=2, **changes)
