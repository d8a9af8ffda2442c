"""Webhook accepted -> run recorded (issue 15's goal: p99 <= 50 ms at 100 requests/s for 60 s,
none lost), against a real ``idms serve`` with the local executor.

    python bench/bench_webhook.py [--rate 100] [--seconds 60] [--workers 2]

It makes a workspace of its own, saves a webhook workflow of one step (a Wait of no time),
starts ``idms serve --port 0`` (the ``idms`` next to this Python), then sends POSTs to the
workflow's ``/hooks/{token}`` at a steady rate from a pool of client threads (each request's
send time is planned in advance, so a slow answer does not slow the rate down), and prints the
answers' latency percentiles and the runs recorded against the requests answered 200.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

IDMS = str(Path(sys.executable).with_name("idms"))

WORKFLOW = {
    "name": "Bench hook",
    "trigger": {"type": "webhook"},
    "steps": [{"id": "pause", "action": "wait", "with": {"seconds": 0}}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="IDMS_WORKERS of idms serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
        env.update(IDMS_WORKSPACE=f"{root}/ws", IDMS_WORKERS=str(args.workers))
        flow = Path(root) / "hook.json"
        flow.write_text(json.dumps(WORKFLOW), encoding="utf-8")
        subprocess.run([IDMS, "workflow", "save", str(flow)], env=env, check=True)
        url = subprocess.run(
            [IDMS, "workflow", "hook-url", "Bench hook", "--base", "http://x"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        path = "/hooks/" + url.split("/hooks/")[1]
        log = Path(root) / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [IDMS, "serve", "--port", "0"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            base = _started(log, server)
            latencies, statuses = _fire(base + path, args.rate, args.seconds)
            accepted = statuses.count(200)
            deadline = time.monotonic() + 120
            recorded = 0
            while time.monotonic() < deadline:
                with sqlite3.connect(f"{root}/ws/suite.db", timeout=30) as db:
                    (recorded,) = db.execute(
                        "SELECT count(*) FROM runs WHERE kind = 'workflow'"
                    ).fetchone()
                if recorded >= accepted:
                    break
                time.sleep(1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"requests: {len(statuses)} at {args.rate:g}/s for {args.seconds:g} s")
    print(f"answers: { {s: statuses.count(s) for s in sorted(set(statuses))} }")
    print(
        f"latency ms: p50 {p(0.50):.1f}  p90 {p(0.90):.1f}  p99 {p(0.99):.1f}  "
        f"max {latencies[-1] * 1000:.1f}  mean {statistics.mean(latencies) * 1000:.1f}"
    )
    print(f"runs recorded: {recorded} of {accepted} accepted (lost: {accepted - recorded})")


def _started(log: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("idms serve:"):
                return line.split()[2].split("/api/")[0]
        if server.poll() is not None:
            raise SystemExit(log.read_text(errors="replace"))
        time.sleep(0.1)
    raise SystemExit("idms serve did not start")


def _fire(url: str, rate: float, seconds: float) -> tuple[list[float], list[int]]:
    count = int(rate * seconds)
    start = time.monotonic() + 0.5
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    local = threading.local()

    def one(index: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        due = start + index / rate
        time.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        try:
            status = client.post(url, json={"n": index}).status_code
        except httpx.HTTPError:
            status = 0
        took = time.monotonic() - sent
        with lock:
            latencies.append(took)
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(count)))
    return latencies, statuses


if __name__ == "__main__":
    main()
