"""iTransfer export speed and memory (issue 16): a saved query's rows sent as CSV to an SFTP
server, against a bare script doing the same, measured in the same run.

A workspace is made and its embedded store filled with N contacts (raw executemany into the
store's tables, each contact with its default-purpose address). A local asyncssh SFTP server
(password login, its host key pinned in the step) runs in a thread of this process. Then,
alternately, each side in a fresh subprocess (so that its peak memory and CPU time are its own):

1. bare: one ``sqlite3`` SELECT of the query's 8 columns (same join and order), written with
   ``csv.writer`` (UTF-8 with BOM, CRLF) to a temporary file, then ``asyncssh`` ``sftp.put``.
2. idms: a saved iTransfer (no delta hashing) as the workflow it compiles to
   (:func:`idms.transfers.compile.compile_transfer`), run through the facade
   (``Workspace.run_workflow``, the query's rows limited by the run's input): ``convert``
   reading the query itself (CSV) -> ``gate`` -> ``sftp_upload``.

Goal: idms's time at most twice the bare script's (ratio bare/idms >= 0.5). Memory: the idms
run of N/10 rows (the query's ``limit``) is run too; peak memory should not grow with the rows
(flat: less than 1.5x for 10x the rows). The two uploaded files are compared (rows, and bytes).

The bare script's memory does grow (some 130 MiB at N/10, 255 MiB at 1,000,000 rows): not
SQLite's sort (its RSS stays near 50 MiB while the rows are written) but ``sftp.put`` with
asyncssh's defaults, 16 requests of the server's largest write (4 MiB here) in flight, each
copied into its packet and encrypted. idms's SFTP Upload sends 256 KiB blocks, 16 in flight.

    .venv/bin/python bench/bench_transfer.py [--rows 1000000] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

USER, PASSWORD, SECRET = "transfer", "Bench-S3cret!", "bench-sftp"
QUERY, WORKFLOW, TRANSFER = "All contacts", "Contacts to SFTP", "Contacts nightly"
COLUMNS = {
    "ID": "ImisId",
    "First": "FirstName",
    "Last": "LastName",
    "Email": "Email",
    "Type": "MemberType",
    "Joined": "JoinDate",
    "City": "City",
    "Zip": "PostalCode",
}
BARE_SQL = (
    "SELECT c.imis_id, c.first_name, c.last_name, c.email, c.member_type, c.join_date, "
    "a.city, a.postal_code FROM contacts c LEFT JOIN addresses a "
    "ON a.imis_id = c.imis_id AND a.address_purpose = 'Address' "
    "ORDER BY length(c.imis_id), c.imis_id"
)
CITIES = ["Liège", "Paris", "New York, NY", "São Paulo", "Zürich", "Leeds", "Oslo", "Springfield"]


# ---- set-up --------------------------------------------------------------------------------------


def build_store(db_path: Path, rows: int) -> None:
    """N contacts with their addresses, straight into the store's tables (set-up, not timed)."""
    from datetime import UTC, datetime

    from idms.targets.embedded.adapters.folding import register_fold
    from idms.targets.embedded.keys import new_guid
    from idms.targets.embedded.store import open_store

    open_store(f"sqlite:///{db_path}").dispose()
    rng = random.Random(16)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "seconds")
    conn = sqlite3.connect(db_path)
    register_fold(conn)  # the e-mail and last-name indexes are on idms_fold(...)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    contact_sql = (
        "INSERT INTO contacts (imis_id, contact_key, is_organization, first_name, last_name, "
        "email, member_type, status, join_date, mark_for_erasure, created_on, updated_on) "
        "VALUES (?,?,0,?,?,?,?,'A',?,0,?,?)"
    )
    address_sql = (
        "INSERT INTO addresses (imis_id, address_purpose, city, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        "VALUES (?, 'Address', ?, ?, 1, 1, 0)"
    )
    for start in range(0, rows, 10_000):
        people: list[tuple[object, ...]] = []
        places: list[tuple[object, ...]] = []
        for n in range(start + 1, min(start + 10_000, rows) + 1):
            joined = f"{2000 + n % 25}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            people.append(
                (str(n), new_guid(), f"First{n}", f"Last{n % 5000}", f"person{n}@example.org",
                 rng.choice(["GLD", "SLV", "REG"]), joined, now, now)
            )  # fmt: skip
            places.append((str(n), rng.choice(CITIES), f"{n % 100000:05d}"))
        conn.executemany(contact_sql, people)
        conn.executemany(address_sql, places)
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def settings_for(workspace: Path) -> Any:
    from idms.config import Settings

    return Settings.load(workspace=workspace, environ={})


def set_up_workspace(workspace: Path, port: int, fingerprint: str, rows: int) -> None:
    """The workspace: its store filled, the saved query, the SFTP password, the workflow."""
    from idms.queries.model import build_query
    from idms.secrets import open_secrets
    from idms.workspace import Workspace

    settings = settings_for(workspace)
    with Workspace.open(settings) as ws:
        build_store(settings.workspace / "imis.db", rows)
        ws.queries.save(build_query({"name": QUERY, "from": "Contact", "columns": COLUMNS}))
        with open_secrets(ws.settings) as secrets:
            secrets.set(SECRET, PASSWORD)
        transfer = {
            "name": TRANSFER,
            "source": {"query": QUERY},
            "file_name": "contacts.csv",
            "steps": [
                {
                    "order": 10,
                    "name": "Upload",
                    "connection": {
                        "type": "sftp",
                        "host": "127.0.0.1",
                        "port": port,
                        "username": USER,
                        "password_secret": SECRET,
                        "host_key": fingerprint,
                        "file_name": "{{ input.remote }}",
                        "retries": 0,
                    },
                }
            ],
        }
        ws.save_transfer(transfer)  # checked as any transfer is
        ws.save_workflow(bench_workflow(transfer))


def bench_workflow(transfer: dict[str, Any]) -> dict[str, Any]:
    """The workflow the transfer compiles to (what ``run_transfer`` runs), with the query's
    rows limited by the run's input (``max_rows``: the N/10 run of the memory check)."""
    from idms.transfers.compile import check_transfer, compile_transfer
    from idms.workflows.store import document_of

    document = document_of(compile_transfer(check_transfer(transfer)))
    document["name"] = WORKFLOW
    for step in document["steps"]:
        source = step["with"].get("input")
        if isinstance(source, dict) and "query" in source:  # the fused fetch-and-write step
            source["limit"] = "{{ input.max_rows }}"
        elif step["action"] == "fetch_query":  # delta hashing or chunks: the two-step pipeline
            step["with"]["limit"] = "{{ input.max_rows }}"
    return document


@contextmanager
def sftp_server(root: Path) -> Iterator[tuple[int, str]]:
    """An asyncssh SFTP server on 127.0.0.1 serving ``root`` (password login) in a thread of
    this process (its CPU is the parent's, so neither side is charged for it): port and host
    key fingerprint."""
    import asyncssh

    root.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")

    class Login(asyncssh.SSHServer):  # type: ignore[misc]
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (USER, PASSWORD)

    class Files(asyncssh.SFTPServer):  # type: ignore[misc]
        def __init__(self, channel: Any) -> None:
            super().__init__(channel, chroot=str(root).encode())

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> Any:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=Login,
            sftp_factory=Files, allow_scp=False,
        )  # fmt: skip

    listener = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield int(listener.get_port()), str(host_key.get_fingerprint("sha256"))
    finally:

        async def stop() -> None:
            listener.close()
            await listener.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)


# ---- the two sides, each in a child process ------------------------------------------------------


def bare(workspace: Path, port: int, remote: str, limit: int) -> int:
    """The reference: the script a data manager would write (sqlite3, csv, asyncssh)."""
    import asyncssh

    sql = BARE_SQL + (f" LIMIT {limit}" if limit else "")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "contacts.csv"
        conn = sqlite3.connect(workspace / "imis.db")
        count = 0
        with local.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(list(COLUMNS))
            cursor = conn.execute(sql)
            while chunk := cursor.fetchmany(4096):
                writer.writerows(chunk)
                count += len(chunk)
        conn.close()

        async def upload() -> None:
            async with (
                asyncssh.connect(
                    "127.0.0.1",
                    port,
                    username=USER,
                    password=PASSWORD,
                    known_hosts=None,
                    config=[],
                    agent_path=None,
                    client_keys=None,
                ) as connection,  # fmt: skip
                connection.start_sftp_client() as sftp,
            ):
                await sftp.put(str(local), remote)

        asyncio.run(upload())
    return count


def ours(workspace: Path, remote: str, limit: int, profile: bool) -> tuple[int, dict[str, float]]:
    """The idms workflow run through the facade; rows sent, and the seconds it took to open the
    workspace and to run each step."""
    from idms.runs.status import RunStatus
    from idms.workspace import Workspace

    opened = time.perf_counter()
    ws = Workspace.open(settings_for(workspace))
    opening = time.perf_counter() - opened
    values: dict[str, Any] = {"remote": remote, "max_rows": limit}

    def run() -> Any:
        return ws.run_workflow(WORKFLOW, values)

    try:
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(run)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(
                os.environ.get("BENCH_SORT", "tottime")
            ).print_stats(int(os.environ.get("BENCH_TOP", "30")))
        else:
            ran = time.perf_counter()
            result = run()
            values["ran"] = time.perf_counter() - ran
        if result.status != RunStatus.SUCCEEDED:
            raise SystemExit(f"the workflow run failed: {result.message}")
        steps = {s.step_id: s for s in ws.workflow_steps(result.id)}
        times = {"opening": opening, "run_workflow": values.get("ran", 0.0)}
        for step in steps.values():
            times[step.step_id] = (step.finished_at - step.started_at).total_seconds()
        closing = time.perf_counter()
        ws.close()
        times["closing"] = time.perf_counter() - closing
        return int(steps["file"].output["rows"]), times
    finally:
        ws.close()


def child(args: argparse.Namespace) -> None:
    """One side, timed from the first line of its work (imports done, but not the suite's:
    idms imports it as it goes); its own peak memory and CPU time (and its children's)."""
    workspace, kind = Path(args.workspace), args.child
    started, cpu = time.perf_counter(), time.process_time()
    times: dict[str, float] = {}
    if kind == "bare":
        rows = bare(workspace, args.port, args.remote, args.limit)
    else:
        rows, times = ours(workspace, args.remote, args.limit, args.profile)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = own_peak_mib()
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu, "peak_mib": peak,
                      "times": times}))  # fmt: skip


def own_peak_mib() -> float:
    """This process's peak RSS since it started its program: ``VmHWM`` (Linux). Not
    ``ru_maxrss``, which Linux carries across exec from the process that started it: a child
    of this bench reported at least the bench's own peak (the store filled, the SFTP server),
    some 130 MiB, whatever it did itself."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    kind: str, workspace: Path, port: int, remote: str, *, limit: int = 0, profile: bool = False
) -> dict[str, Any]:
    """A side run in a fresh interpreter: its figures, plus the whole process's wall time and
    CPU time (user + system, with any processes it started) as seen from here."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--workspace", str(workspace),
         "--port", str(port), "--remote", remote, "--limit", str(limit)]
        + (["--profile"] if profile else []),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{kind} failed:\n{done.stderr}")
    if profile:
        sys.stderr.write(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall"] = wall
    result["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


# ---- the report ----------------------------------------------------------------------------------


def same_file(bare_file: Path, idms_file: Path) -> str:
    """Rows in each, and whether the bytes are the same."""
    with bare_file.open(encoding="utf-8-sig", newline="") as a:
        bare_rows = sum(1 for _ in csv.reader(a)) - 1
    with idms_file.open(encoding="utf-8-sig", newline="") as b:
        idms_rows = sum(1 for _ in csv.reader(b)) - 1
    same = bare_file.read_bytes() == idms_file.read_bytes()
    verdict = "identical bytes" if same else "CONTENT DIFFERS"
    if not same:
        pairs = zip(
            bare_file.read_bytes().splitlines(), idms_file.read_bytes().splitlines(), strict=False
        )
        first = next(((n, a, b) for n, (a, b) in enumerate(pairs) if a != b), None)
        if first is not None:
            verdict += f" (line {first[0] + 1}: bare {first[1]!r}, idms {first[2]!r})"
    if bare_rows != idms_rows:
        verdict += f"; ROW COUNTS DIFFER ({bare_rows:,} vs {idms_rows:,})"
    return f"{bare_rows:,} rows sent by each, {verdict}"


def summary(name: str, runs: list[dict[str, Any]]) -> str:
    def fig(key: str) -> str:
        values = [r[key] for r in runs]
        return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"

    peak = max(r["peak_mib"] for r in runs)
    return (
        f"{name:5} work wall {fig('seconds')} s, work CPU {fig('cpu')} s, "
        f"process wall {fig('process_wall')} s, process CPU {fig('process_cpu')} s, "
        f"peak RSS {peak:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating")
    parser.add_argument("--profile", action="store_true", help="cProfile one idms run, and stop")
    parser.add_argument("--child", choices=["bare", "idms"], help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--remote", default="", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        workspace, served = base / "ws", base / "sftp"
        with sftp_server(served) as (port, fingerprint):
            started = time.perf_counter()
            set_up_workspace(workspace, port, fingerprint, args.rows)
            print(f"set-up: {args.rows:,} contacts in a new workspace in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            if args.profile:
                run = measure(
                    "idms", workspace, port, "profiled.csv", limit=args.rows, profile=True
                )
                print(f"profiled idms run: {run['rows']:,} rows in {run['seconds']:.2f} s")
                print(f"(wall seconds: {run['times']})")
                return
            measure(
                "bare", workspace, port, "warm.csv", limit=args.rows
            )  # the page cache, for both
            bares: list[dict[str, Any]] = []
            idmses: list[dict[str, Any]] = []
            for _ in range(args.repeat):  # alternating, so that both see the same load
                bares.append(measure("bare", workspace, port, "bare.csv", limit=args.rows))
                idmses.append(measure("idms", workspace, port, "idms.csv", limit=args.rows))
            tenth = max(args.rows // 10, 1)
            small = measure("idms", workspace, port, "small.csv", limit=tenth)
            small_bare = measure("bare", workspace, port, "small-bare.csv", limit=tenth)
            check = same_file(served / "bare.csv", served / "idms.csv")
    print(f"{args.repeat} runs of each, alternating; figures min/median/max")
    print(summary("bare", bares))
    print(summary("idms", idmses))
    parts = ", ".join(
        f"{name} {statistics.median(r['times'][name] for r in idmses):.2f} s"
        for name in idmses[0]["times"]
    )
    print(f"      idms work, median wall of its parts: {parts}")
    figures = {"seconds": "work wall", "cpu": "work CPU", "process_wall": "process wall",
               "process_cpu": "process CPU"}  # fmt: skip
    for key, what in figures.items():
        best = min(r[key] for r in bares) / min(r[key] for r in idmses)
        median = statistics.median(r[key] for r in bares) / statistics.median(
            r[key] for r in idmses
        )
        worst = max(r[key] for r in bares) / max(r[key] for r in idmses)
        print(
            f"ratio bare/idms, {what}: {best:.2f} (min), {median:.2f} (median), "
            f"{worst:.2f} (max); goal >= 0.5"
        )
    big, big_bare = (max(r["peak_mib"] for r in runs) for runs in (idmses, bares))
    growth, growth_bare = big / small["peak_mib"], big_bare / small_bare["peak_mib"]
    print(
        f"peak RSS, {args.rows:,} rows vs {small['rows']:,}: idms {big:.0f} vs "
        f"{small['peak_mib']:.0f} MiB (x{growth:.2f}), bare {big_bare:.0f} vs "
        f"{small_bare['peak_mib']:.0f} MiB (x{growth_bare:.2f})"
    )
    # The bare script's own growth is asyncssh's default request size (see the docstring); what
    # idms adds on top of it is what must stay flat, if idms's own peak does not.
    extra, extra_small = big - big_bare, small["peak_mib"] - small_bare["peak_mib"]
    verdict = "flat" if growth < 1.5 or extra < 1.5 * max(extra_small, 1) else "NOT FLAT"
    print(
        f"idms's memory over the bare script's: {extra:+.0f} MiB at {args.rows:,} rows, "
        f"{extra_small:+.0f} MiB at {small['rows']:,} ({verdict})"
    )
    print(f"uploaded files: {check}")


if __name__ == "__main__":
    main()
