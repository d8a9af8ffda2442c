"""How a run is kept durable: who holds it (a lease owner per host, process and thread), the key
that seals its job and staged batches, and the folder its files live in."""

from __future__ import annotations

import os
import pickle
import socket
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idms.secrets import SecretBox

DEFAULT_LEASE_SECONDS = 60.0


def worker_name() -> str:
    """Who holds a lease: host, process and thread, so two threads never share one."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


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
        path = self.run_dir / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def seal(self, value: Any) -> str:
        # Compressed before it is encrypted: a staged batch is written and cleared once per
        # batch, and compressing (level 1) costs less than the bytes it saves writing.
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return self.box.encrypt_bytes(zlib.compress(raw, 1))

    def unseal(self, token: str) -> Any:
        raw = zlib.decompress(self.box.decrypt_bytes(token, name="the run's staged batch"))
        return pickle.loads(raw)  # our own data, sealed with the workspace's key
