"""Webhook accepted -> run recorded (issue 15's goal: p99 <= 50 ms at 100 requests/s for 60 s,
none lost), against a real ``idms serve`` with the local executor.

    PYTHONPATH=src python bench/bench_webhook.py [--rate 100] [--seconds 60] [--workers 2]
        [--local-executor processes|threads] [--drain SECONDS]

It makes a workspace of its own, saves a webhook workflow of one step (a Wait of no time),
starts ``idms serve --port 0`` (this Python, importing the ``idms`` this script imports: a
worktree's code with PYTHONPATH=src), sends one webhook and waits for its run to end (the
server and its executor are up), then sends POSTs to the workflow's ``/hooks/{token}`` at a
steady rate from a pool of client threads. Each request's send time is planned in advance and
its latency counts from that planned moment, so a slow answer neither slows the rate down nor
hides the wait of the requests behind it. It prints the latency percentiles, checks every run
ID answered with a 200 against the suite database (a run not recorded is lost), the runs
finished, and whether the goal is met.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

# The idms of this Python, importing the idms this script imports (PYTHONPATH is passed on):
# a worktree's code, not whatever an ``idms`` script next to the Python was installed from.
SOURCE = str(Path(importlib.util.find_spec("idms").origin).parent.parent)  # type: ignore[union-attr]
IDMS = [sys.executable, "-c", "from idms.cli.app import main; main()"]

WORKFLOW = {
    "name": "Bench hook",
    "trigger": {"type": "webhook"},
    "steps": [{"id": "pause", "action": "wait", "with": {"seconds": 0}}],
}


GOAL_P99_MS, GOAL_RATE, GOAL_SECONDS = 50.0, 100.0, 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="IDMS_WORKERS of idms serve")
    parser.add_argument(
        "--local-executor", choices=("processes", "threads"), default="processes",
        help="IDMS_LOCAL_EXECUTOR of idms serve",
    )  # fmt: skip
    parser.add_argument(
        "--drain", type=float, default=0.0,
        help="after the requests, wait up to this many seconds for every run to end",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
        env.update(
            IDMS_WORKSPACE=f"{root}/ws",
            IDMS_WORKERS=str(args.workers),
            IDMS_LOCAL_EXECUTOR=args.local_executor,
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, env.get("PYTHONPATH")]))
        flow = Path(root) / "hook.json"
        flow.write_text(json.dumps(WORKFLOW), encoding="utf-8")
        subprocess.run([*IDMS, "workflow", "save", str(flow)], env=env, check=True)
        url = subprocess.run(
            [*IDMS, "workflow", "hook-url", "Bench hook", "--base", "http://x"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        path = "/hooks/" + url.split("/hooks/")[1]
        log = Path(root) / "serve.log"
        database = f"{root}/ws/suite.db"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*IDMS, "serve", "--port", "0"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            base = _started(log, server)
            warm = _warm_up(base + path, database)
            fired = _fire(base + path, args.rate, args.seconds)
            finished_then = _count(database, warm, "status = 'succeeded'")
            ids = [i for i in fired.run_ids if i]
            recorded = _recorded(database, ids)
            drained = _drain(database, warm, len(ids), args.drain) if args.drain else None
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    latencies = sorted(fired.latencies)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    accepted = fired.statuses.count(200)
    lost = accepted - recorded
    print(f"requests: {len(fired.statuses)} at {args.rate:g}/s for {args.seconds:g} s "
          f"({args.local_executor}, {args.workers} workers)")  # fmt: skip
    print(f"answers: { {s: fired.statuses.count(s) for s in sorted(set(fired.statuses))} }")
    print(
        f"latency ms (from each request's planned send time): p50 {p(0.50):.1f}  "
        f"p90 {p(0.90):.1f}  p99 {p(0.99):.1f}  max {latencies[-1] * 1000:.1f}  "
        f"mean {statistics.mean(latencies) * 1000:.1f}  (sent late: max "
        f"{max(fired.lags) * 1000:.1f} ms)"
    )
    if fired.errors:
        print(f"no answer: {len(fired.errors)}, e.g. {sorted(set(fired.errors))[:3]}")
    print(f"runs recorded: {recorded} of {accepted} answered 200 (lost: {lost})")
    print(f"runs finished when the requests ended: {finished_then} of {recorded}")
    if drained is not None:
        done, took = drained
        print(f"runs finished after the requests: {done} of {recorded} within {took:.0f} s")
    problems = []
    if args.rate < GOAL_RATE or args.seconds < GOAL_SECONDS:
        problems.append(f"the goal is {GOAL_RATE:g}/s for {GOAL_SECONDS:g} s")
    if p(0.99) > GOAL_P99_MS:
        problems.append(f"p99 {p(0.99):.1f} ms > {GOAL_P99_MS:g} ms")
    if lost or accepted != len(fired.statuses):
        problems.append(f"{lost} lost, {len(fired.statuses) - accepted} not answered 200")
    verdict = "MET" if not problems else "NOT met (" + "; ".join(problems) + ")"
    print(f"goal (p99 <= {GOAL_P99_MS:g} ms at {GOAL_RATE:g}/s for {GOAL_SECONDS:g} s, none "
          f"lost): {verdict}")  # fmt: skip


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


@dataclass
class Fired:
    latencies: list[float] = field(default_factory=list)  # answered - planned send time
    lags: list[float] = field(default_factory=list)  # sent - planned send time
    statuses: list[int] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)  # "" for an answer without one
    errors: list[str] = field(default_factory=list)  # requests without an answer: why


def _fire(url: str, rate: float, seconds: float) -> Fired:
    """Send ``rate * seconds`` POSTs, request ``i`` planned at ``start + i / rate``; latency
    counts from that planned moment, so a request the client could only send late counts its
    wait too.

    The client is one asyncio loop writing HTTP/1.1 by hand over keep-alive connections (a new
    one whenever none is idle): it must cost the machine little, as it shares it with the
    server; a pool of threads with an HTTP library each took more CPU than the server and
    sent seconds late."""
    return asyncio.run(_fire_async(url, rate, seconds))


async def _fire_async(url: str, rate: float, seconds: float) -> Fired:
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    count = int(rate * seconds)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    fired = Fired()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5

    async def one(index: int) -> None:
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        sent = loop.time()
        status, run_id = 0, ""
        body = json.dumps({"n": index}).encode()
        request = (
            f"POST {parsed.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            try:
                reader, writer = idle.pop() if idle else await asyncio.open_connection(host, port)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError):
                # A kept-alive connection the server closed (idle too long) before it read the
                # request, which it never saw: sent again on a new connection, as browsers do.
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            length = next(
                int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                if k.lower() == "content-length"
            )  # fmt: skip
            answer = await reader.readexactly(length)
            idle.append((reader, writer))
            if status == 200:
                run_id = str(json.loads(answer).get("id") or "")
        except (OSError, ValueError, StopIteration, asyncio.IncompleteReadError) as exc:
            status = 0
            fired.errors.append(f"{type(exc).__name__}: {exc}")
        fired.latencies.append(loop.time() - due)
        fired.lags.append(sent - due)
        fired.statuses.append(status)
        fired.run_ids.append(run_id)

    await asyncio.gather(*(one(i) for i in range(count)))
    for _, writer in idle:
        writer.close()
    return fired


def _warm_up(url: str, database: str) -> str:
    """One webhook, its run followed to its end: the server and its executor are up (and the
    run is left out of the counts). Its ID."""
    run_id = str(httpx.post(url, json={"warm": True}, timeout=60).json()["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sqlite3.connect(database, timeout=30) as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row and row[0] == "succeeded":
            return run_id
        time.sleep(0.2)
    raise SystemExit("the warm-up run did not end")


def _recorded(database: str, ids: list[str]) -> int:
    """How many of the run IDs the answers gave are runs of the suite database."""
    found = 0
    with sqlite3.connect(database, timeout=30) as db:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            (n,) = db.execute(
                f"SELECT count(*) FROM runs WHERE id IN ({marks})",
                chunk,
            ).fetchone()
            found += n
    return found


def _count(database: str, warm: str, where: str) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        (n,) = db.execute(
            f"SELECT count(*) FROM runs WHERE kind = 'workflow' AND id != ? AND {where}",
            (warm,),
        ).fetchone()
    return int(n)


def _drain(database: str, warm: str, expected: int, limit: float) -> tuple[int, float]:
    began = time.monotonic()
    done = 0
    while time.monotonic() - began < limit:
        done = _count(database, warm, "status NOT IN ('queued', 'running')")
        if done >= expected:
            break
        time.sleep(1)
    return done, time.monotonic() - began


if __name__ == "__main__":
    main()
