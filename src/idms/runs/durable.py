"""How a run is kept durable: who holds it (a lease owner per host, process and thread), the key
that seals its job and staged batches, and the folder its files live in.

A lease owner names its process so that a process on the same machine can tell, at once, that the
holder has died (:func:`holder_is_gone`): ``HOST:PID:SPACE.START:THREAD``, where ``SPACE`` stands
for the kernel boot and process namespace the PID belongs to and ``START`` is when the process
started (``/proc/PID/stat``), so a PID reused by a later process is not mistaken for the holder.
Where ``/proc`` cannot be read (not Linux) the stamp is ``-`` and the lease guards until it
expires, as it does for holders on other machines.
"""

from __future__ import annotations

import hashlib
import os
import pickle  # nosec B403 # only for sealed data (seal, unseal)
import socket
import threading
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.private import private_folder

if TYPE_CHECKING:  # handed in by the caller: listing runs need not load the cipher
    from idms.secrets import SecretBox

DEFAULT_LEASE_SECONDS = 60.0

PROC = Path("/proc")
UNKNOWN = "-"  # the stamp of a process whose start cannot be read
DEAD = frozenset("ZXx")  # the states of a zombie or dead process: it writes nothing any more


def worker_name() -> str:
    """Who holds a lease: host, process and thread, so two threads never share one."""
    return f"{process_name()}:{threading.get_native_id()}"


def process_name(pid: int | None = None) -> str:
    """This process (or process ``pid`` of this machine: a child), as lease owners name it:
    ``HOST:PID:STAMP`` (a prefix of its owners). The host name is cut short: it is there for
    people to read, and an owner fits in 120 characters."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()[:48]}:{pid}:{_stamp(pid)}"


@cache
def _stamp(pid: int) -> str:
    # Per PID: a forked worker is a process of its own.
    space, started = _space(), _started(pid)
    if space is None or started is None or started[0] in DEAD:
        return UNKNOWN
    return f"{space}.{started[1]}"


@cache
def _space() -> str | None:
    """This kernel boot and PID namespace, shortened: processes whose owners carry the same space
    see each other's process IDs (two containers on one host do not)."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink(PROC / "self/ns/pid")
    except (OSError, UnicodeDecodeError):
        return None
    return hashlib.sha256(f"{boot} {namespace}".encode()).hexdigest()[:8]


def _started(pid: int) -> tuple[str, str] | None:
    """Process ``pid``'s state and start time (clock ticks after boot); None when it cannot be
    read (no such process, or one hidden from this user)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # "PID (COMMAND) STATE PPID ...": the command may hold spaces and parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def _holder(owner: str | None) -> tuple[str, int, str, str] | None:
    """A lease owner's host, PID, space and start; None for an owner of another form."""
    parts = (owner or "").split(":")
    if len(parts) < 4 or not parts[1].isdigit() or int(parts[1]) <= 0:
        return None
    space, _, start = parts[2].partition(".")
    return parts[0], int(parts[1]), space, start


def holder_is_here(owner: str | None) -> bool:
    """Whether ``owner`` is a process of this machine (whose PIDs this process sees)."""
    holder = _holder(owner)
    return holder is not None and bool(holder[3]) and holder[2] == _space()


def describe_holder(owner: str | None) -> str:
    """A lease owner for people: "process 4711 on this machine", "process 4711 on host db2"."""
    holder = _holder(owner)
    if holder is None:
        return f"'{owner}'" if owner else "an unknown process"
    where = "this machine" if holder_is_here(owner) else f"host {holder[0]}"
    return f"process {holder[1]} on {where}"


def holder_is_gone(owner: str | None) -> bool:
    """Whether the process that holds a lease as ``owner`` is known to have ended: it ran on this
    machine (the same kernel boot and PID namespace as this process) and no process with its
    PID and start time is alive now (a zombie counts as ended). False whenever that cannot be
    told (a holder on another machine, an owner without a stamp): such a lease guards until it
    expires."""
    holder = _holder(owner)
    if holder is None or not holder_is_here(owner):
        return False
    pid, start = holder[1], holder[3]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass  # it exists (another user's process)
    now = _started(pid)
    if now is None:  # hidden from this user, or ended this instant: cannot tell
        return False
    return now[0] in DEAD or now[1] != start


@dataclass
class Durable:
    """How a run is kept durable: the key that seals its job and stages, its lease, its folder."""

    box: SecretBox
    run_dir: Path  # the runs folder of the workspace; each run gets a sub-folder
    owner: str = field(default_factory=worker_name)
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    trigger: str = "cli"
    schedule_id: str | None = None

    def folder(self, run_id: str) -> Path:
        return private_folder(self.run_dir / run_id)

    def seal(self, value: Any) -> str:
        # Compressed before it is encrypted: a staged batch is written and cleared once per
        # batch, and compressing (level 1) costs less than the bytes it saves writing.
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return self.box.encrypt_bytes(zlib.compress(raw, 1))

    def unseal(self, token: str) -> Any:
        raw = zlib.decompress(self.box.decrypt_bytes(token, name="the run's staged batch"))
        return pickle.loads(raw)  # nosec B301 # decrypted and authenticated with the key
