"""``idms serve`` as a real process, its runs in child processes (the default local executor):
a webhook's run is carried out to its end by a child; a child killed in the middle of a run is
replaced and the run taken over at once (its lease's holder is gone), ending with a second
attempt; and the webhook's answer keeps its form."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
from test_serve import IDMS, environment, make_token, said, serving, wait_until


def save_hook(env: dict[str, str], tmp_path: Path, seconds: float) -> str:
    flow = tmp_path / "hook.json"
    flow.write_text(
        json.dumps(
            {
                "name": "Hook",
                "trigger": {"type": "webhook"},
                "steps": [{"id": "pause", "action": "wait", "with": {"seconds": seconds}}],
            }
        ),
        encoding="utf-8",
    )
    subprocess.run([IDMS, "workflow", "save", str(flow)], env=env, check=True, timeout=60)
    url = subprocess.run(
        [IDMS, "workflow", "hook-url", "Hook", "--base", "http://x"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()[0]
    return "/hooks/" + url.split("/hooks/")[1]


def ended(client: httpx.Client, run_id: str) -> dict[str, Any] | None:
    run: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
    return run if run["status"] not in ("queued", "running") else None


def test_a_webhook_run_is_carried_out_by_a_child_killed_midway_and_taken_over(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path / "ws")
    env["IDMS_LEASE_SECONDS"] = "60"  # taken over because its holder is gone, not by expiry
    token = make_token(env)
    hook = save_hook(env, tmp_path, 3)
    log = tmp_path / "serve.log"
    with serving(env, token, log) as (client, process):
        assert "Runs execute here, 2 at a time (IDMS_WORKERS)." in said(log)
        answer = client.post(hook, json={"n": 1})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert sorted(body) == ["error", "id", "queueTime"]
        assert body["error"] is False
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["queueTime"])
        run_id = body["id"]
        wait_until(
            lambda: client.get(f"/api/v1/runs/{run_id}").json()["status"] == "running",
            "the run did not start",
        )
        holder = _holder(tmp_path / "ws", run_id)
        child = int(holder.split(":")[1])
        assert child not in (process.pid, os.getpid())
        os.kill(child, signal.SIGKILL)
        done = wait_until(lambda: ended(client, run_id), "the run was not taken over", 120)
        assert (done["status"], done["attempts"]) == ("succeeded", 2), done

        again = client.post(hook, json={"n": 2}).json()["id"]  # the new children work too
        assert (
            wait_until(lambda: ended(client, again), "the next run did not end")["status"]
            == "succeeded"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def _holder(workspace: Path, run_id: str) -> str:
    """The run's lease owner, read from the suite database (the API does not show it)."""
    with sqlite3.connect(workspace / "suite.db", timeout=30) as db:
        row = db.execute("SELECT lease_owner, status FROM runs WHERE id = ?", (run_id,)).fetchone()
    assert row is not None
    assert row[1] == "running", row
    return str(row[0])
