"""An undo over HTTP: queued (202 at once) and followed, against the old synchronous answer.

A real API server (uvicorn on a loopback port, the background loop, the thread executor) over
the embedded store. N contacts are imported, then updated (their last name changed); then:

1. ``POST /runs/{update}/undo``: how long the answer (202) takes, how long until the undo has
   ended (polling ``GET /runs/{id}/status`` every 0.2 s), and how many different row counts the
   polling saw on the way (the progress a person following it sees). Goal: the answer in under
   a second whatever N, and progress seen (more than one count) once N spans several batches.
2. ``POST /runs/{undo}/undo?wait=true`` (undoing that undo, the same N rows): the old answer,
   given once the whole undo has ended; how long a caller (or a proxy) waits for it.

    .venv/bin/python bench/bench_undo.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from idms.config import Settings
from idms.execution.executors import LocalExecutor
from idms.jobs.model import build_job
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.server.loop import ServerLoop
from idms.state.tokens import TokenStore
from idms.workspace import Workspace


def people(folder: Path, rows: int, last: str) -> Path:
    path = folder / f"people-{last}.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("First,Last,E-mail\n")
        for i in range(rows):
            handle.write(f"P{i},{last},p{i}@example.org\n")
    return path


def job(path: Path) -> dict[str, object]:
    return {
        "name": f"People ({path.stem})",
        "input": {"file": str(path)},
        "source": "Contact",
        "action": "insert-update",
        "mappings": [
            {"field": "Email", "column": "E-mail", "match": True},
            {"field": "LastName", "column": "Last"},
            {"field": "FirstName", "column": "First"},
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        workspace = Workspace.open(Settings(workspace=folder / "ws"))
        started = time.perf_counter()
        workspace.run(build_job(job(people(folder, rows, "Person"))))
        update = workspace.run(build_job(job(people(folder, rows, "Renamed"))))
        assert update.counts.as_dict()["updated"] == rows
        setup = time.perf_counter() - started
        _, token = TokenStore(workspace.suite).create("bench")
        executor = LocalExecutor(workspace, 2)
        loop = ServerLoop(workspace, executor, interval=0.1)
        app = create_server_app(workspace, None)
        loop.start()
        try:
            with (
                running_sandbox(app) as base,
                httpx.Client(
                    base_url=f"{base}/api/v1",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=3600,
                ) as client,
            ):
                sent = time.perf_counter()
                answer = client.post(f"/runs/{update.run_id}/undo")
                answered = time.perf_counter() - sent
                assert answer.status_code == 202, answer.text
                undo_id = answer.json()["run_id"]
                seen: list[int] = []
                while True:
                    status = client.get(f"/runs/{undo_id}/status")
                    counts = status.json()
                    if not seen or seen[-1] != counts["rows"]:
                        seen.append(counts["rows"])
                    if status.status_code == 200:
                        break
                    time.sleep(0.2)
                ended = time.perf_counter() - sent
                assert counts["status"] == "succeeded", counts
                assert counts["updated"] == rows, counts

                sent = time.perf_counter()
                waited = client.post(f"/runs/{undo_id}/undo", params={"wait": "true"})
                synchronous = time.perf_counter() - sent
                assert waited.status_code == 200, waited.text
                assert waited.json()["updated"] == rows
        finally:
            loop.stop()
            executor.close()
            workspace.close()
    report = {
        "rows": rows,
        "setup_seconds": round(setup, 1),
        "queued_answer_seconds": round(answered, 3),
        "queued_undo_ended_after_seconds": round(ended, 2),
        "queued_undo_rows_per_second": round(rows / ended),
        "progress_counts_seen": len(seen),
        "progress_first_counts": seen[:6],
        "wait_true_answer_seconds": round(synchronous, 2),
        "goal_answer_under_1s": answered < 1.0,
        "goal_progress_seen": len(seen) > 2 or rows <= 500,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
