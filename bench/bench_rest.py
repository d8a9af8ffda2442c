"""The REST target's speed against the sandbox, with 20 ms of latency on every call.

1. N GETs (``GET /api/Party/{id}``) through ImisClient at concurrency 8. With 20 ms per call,
   eight calls in flight can do at most 8 / 0.020 = 400 calls/s; the goal is 0.8 of that,
   320 calls/s. The ratio printed is calls/s over 320.
2. An insert-update of R contacts (CSV -> ``run_job`` through the RestTarget, matched on
   Email), first inserting them, then again with new titles (updates): rows/s and the calls each
   row cost, ``--repeat`` times (min / median / max). Two ratios: rows/s over the ceiling the
   calls allow, concurrency / latency / calls per row (the goal is 0.8), and rows/s over
   concurrency / latency (one call per row at full concurrency). The CPU per row of this process
   and of the sandbox's say when the machine, not the latency, is what bounds the rows/s; the
   share of the slots that held a call (the rest idle, at the seams of batches) and how long a
   call held its slot (the latency, and the CPU of both ends) say which of the two is lost.

The sandbox runs in a process of its own (this script with ``--serve``), as a real iMIS would,
so that client and server do not share one interpreter lock; ``--in-process`` serves it from a
thread of this process instead. Last, the same GETs against a stub server that only waits the
latency show the client's own ceiling, apart from the sandbox's work per call.

    .venv/bin/python bench/bench_rest.py [--gets 2000] [--rows 10000] [--latency-ms 20] [--repeat 3]

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from idms.demo.generate import fill_demo
from idms.gcpause import settle_heap
from idms.jobs.model import Job, build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget

PASSWORD = "Bench-Manager-1"
CONCURRENCY = 8


def make_csv(path: Path, rows: int, prefix: str = "bench", title: str = "Engineer") -> None:
    rng = random.Random(1)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Email", "First", "Last", "Title", "MemberType", "City"])
        for i in range(rows):
            w.writerow(
                [f"{prefix}{i}@example.org", f"First{i}", f"Last{i % 5000}", title,
                 rng.choice(["GLD", "SLV", "REG"]), "Springfield"]
            )  # fmt: skip


def contact_job(path: Path) -> Job:
    return build_job(
        {
            "name": "bench insert-update",
            "input": {"file": str(path)},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "Title", "column": "Title"},
                {"field": "MemberType", "column": "MemberType"},
                {"field": "City", "column": "City"},
            ],
        }
    )


def bench_gets(url: str, ids: list[str], count: int, latency: float, what: str = "GETs") -> None:
    with ImisClient(url, "MANAGER", PASSWORD, concurrency=CONCURRENCY) as client:
        client.get(f"api/Party/{ids[0]}")  # the token, and a warm connection
        start, cpu = time.perf_counter(), time.process_time()
        client.map_concurrent(lambda i: client.get(f"api/Party/{ids[i % len(ids)]}"), range(count))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = count / elapsed
    ceiling = CONCURRENCY / latency if latency else float("inf")
    goal = 0.8 * ceiling
    print(f"{what}: {count} in {elapsed:.2f} s = {rate:.0f} calls/s at concurrency {CONCURRENCY}")
    print(f"      ceiling {ceiling:.0f} calls/s, goal {goal:.0f}: ratio {rate / goal:.2f}")
    print(f"      client CPU {1000 * cpu / count:.2f} ms per call (this process, all threads)")


SERVER_PID: list[int] = []  # the sandbox process's, for its CPU time


def server_cpu() -> float | None:
    """The sandbox process's CPU seconds so far (Linux), or None."""
    if not SERVER_PID:
        return None
    try:
        fields = Path(f"/proc/{SERVER_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_pass(
    url: str, tmp: Path, rows: int, latency: float, prefix: str, title: str
) -> dict[str, float]:
    """One insert-update of ``rows`` contacts; its figures."""
    file = tmp / f"{prefix}-{title}.csv"
    make_csv(file, rows, prefix, title)
    runs = RunStore(open_suite(f"sqlite:///{tmp / 'suite.db'}"))
    client = ImisClient(url, "MANAGER", PASSWORD, concurrency=CONCURRENCY)
    target = RestTarget(client)
    target.sources()
    spans = in_flight(client)
    before, served, cpu = client.calls, server_cpu(), time.process_time()
    start = time.perf_counter()
    report = run_job(contact_job(file), target=target, runs=runs, target_label="rest")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    calls = client.calls - before
    after = server_cpu()
    summary = report.summary()
    client.close()
    runs.engine.dispose()
    assert summary["errors"] == 0, summary
    rate, per_row = rows / elapsed, calls / rows
    figures = {"rows/s": rate, "calls/row": per_row, "retried": float(client.retried)}
    if latency:
        figures["÷ ceiling"] = rate / (CONCURRENCY / latency / per_row)
        figures["÷ conc/lat"] = rate / (CONCURRENCY / latency)
    if spans:
        # How much of the run's slots held a call (idle slots: the batches' seams), and how long
        # a call held one (the latency, and the CPU of both ends): the ratio is about their
        # product's, busy x latency / ms per call.
        busy = sum(end - begin for begin, end in spans)
        figures["slots busy"] = busy / (CONCURRENCY * elapsed)
        figures["ms per call"] = 1000 * busy / len(spans)
    figures["client ms/row"] = 1000 * cpu / rows
    if served is not None and after is not None:
        figures["sandbox ms/row"] = 1000 * (after - served) / rows
    figures["inserted"], figures["updated"] = summary["inserted"], summary["updated"]
    return figures


def in_flight(client: ImisClient) -> list[tuple[float, float]]:
    """When each call of ``client`` took its slot and let it go, noted from now."""
    spans: list[tuple[float, float]] = []
    slot = client.limit.slot

    @contextmanager
    def timed() -> Iterator[int]:
        with slot() as epoch:
            begin = time.perf_counter()
            try:
                yield epoch
            finally:
                spans.append((begin, time.perf_counter()))

    client.limit.slot = timed  # type: ignore[method-assign]
    return spans


def bench_import(url: str, tmp: Path, rows: int, latency: float, repeat: int) -> None:
    print(f"Import: {rows} rows insert-update at concurrency {CONCURRENCY}, {repeat} times")
    for kind, title in (("insert", "Engineer"), ("update", "Manager")):
        results = [import_pass(url, tmp, rows, latency, f"bench{n}-", title) for n in range(repeat)]
        done = {k: results[0][k] for k in ("inserted", "updated")}
        print(f"  {kind}s ({', '.join(f'{k} {v:.0f}' for k, v in done.items())}):")
        for key in results[0]:
            if key in ("inserted", "updated"):
                continue
            values = sorted(r[key] for r in results)
            low, mid, high = values[0], statistics.median(values), values[-1]
            print(f"    {key:>15}: min {low:8.2f}  median {mid:8.2f}  max {high:8.2f}")


async def stub(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that does nothing but wait: the client's own ceiling (``--serve stub``)."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(STUB_LATENCY[0])
    body = b'{"access_token": "stub", "Id": "1"}'
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


STUB_LATENCY = [0.0]


def serve(store_path: str, port: int, latency_ms: int) -> None:
    """The sandbox over the store at ``store_path``, in the foreground (``--serve``)."""
    app: Any = stub
    STUB_LATENCY[0] = latency_ms / 1000
    if store_path != "stub":
        store = EmbeddedTarget(f"sqlite:///{store_path}")
        app = create_app(store, manager_password=PASSWORD, latency_ms=latency_ms)
        settle_heap()  # as ``idms sandbox`` does before it serves
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )


@contextmanager
def sandbox_process(store_path: Path | str, latency_ms: int) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, __file__, "--serve", str(store_path), "--port", str(port),
               "--latency-ms", str(latency_ms)]  # fmt: skip
    process = subprocess.Popen(command)
    SERVER_PID[:] = [process.pid] if store_path != "stub" else []
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/token", data={"grant_type": "none"}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("The sandbox process did not start.") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="import passes of each kind")
    parser.add_argument("--in-process", action="store_true", help="serve from a thread here")
    parser.add_argument("--serve", metavar="STORE", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.latency_ms)
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "imis.db"
        store = EmbeddedTarget(f"sqlite:///{path}")
        fill_demo(store.engine, contacts=300, seed=3)
        ids = [str(r["ImisId"]) for r in store.read("Contact")]
        if args.in_process:
            app = create_app(store, manager_password=PASSWORD, latency_ms=args.latency_ms)
            server = running_sandbox(app)
        else:
            store.close()
            server = sandbox_process(path, args.latency_ms)
        with server as url:
            where = "in this process" if args.in_process else "in its own process"
            print(f"Sandbox {where} at {url}, {args.latency_ms} ms latency per call")
            bench_gets(url, ids, args.gets, args.latency_ms / 1000)
            if args.rows:
                bench_import(url, tmp, args.rows, args.latency_ms / 1000, args.repeat)
        store.close()
        if not args.in_process:
            with sandbox_process("stub", args.latency_ms) as url:
                bench_gets(url, ids, args.gets, args.latency_ms / 1000, "Stub server")


if __name__ == "__main__":
    main()
