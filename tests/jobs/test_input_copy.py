"""Runs queued at the same moment on one file share one sealed copy, and the copy a run was
recorded with is never replaced by another's (the run would then find its input changed and
fail: it did, once in a while, when one job was posted three times to ``idms serve``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from idms.jobs.durable import check_file_identity, file_identity
from idms.jobs.enqueue import input_copy
from idms.secrets import SecretBox, new_key


def test_copies_made_at_once_are_one_copy_that_no_one_replaces(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("Email\n" + "".join(f"p{i}@example.org\n" for i in range(20000)))
    box = SecretBox([new_key().encode()])
    runs = tmp_path / "runs"
    runs.mkdir()
    start = threading.Barrier(8)
    recorded: list[dict[str, Any]] = []
    lock = threading.Lock()

    def queue() -> None:
        start.wait()
        copy = input_copy(box, runs, str(source))
        assert copy is not None
        identity = file_identity(copy)  # what the run is recorded with
        with lock:
            recorded.append(identity)

    threads = [threading.Thread(target=queue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recorded) == 8
    for identity in recorded:
        check_file_identity(identity)  # each run finds the copy it was recorded with
    assert len({(r["path"], r["mtime_ns"]) for r in recorded}) == 1
    assert [p.name for p in (runs / "inputs").iterdir() if p.name.endswith(".part")] == []
