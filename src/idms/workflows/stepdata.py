"""Large step data kept as files: what a step received and gave, when too big for a row of the
suite database, sealed into the run's private folder.

Each step of a run keeps three things (:mod:`idms.workflows.store`): its input and output as
the run page shows them (JSON, secrets masked) and the pipeline object after it, sealed, from
which a resumed run carries on. A step that fetched 200,000 members would put megabytes into
one row — and into every read of the run's steps — so beyond :data:`LARGE` bytes of JSON each
of the three is written to ``RUNS/RUN_ID/steps/SEQ.PART.sealed`` instead, sealed with the
workspace key (:mod:`idms.runs.sealed`: the masked input and output hold member data as much
as the pipeline object does), and the row holds a small note: its size and, for what is shown,
the first :data:`PREVIEW` characters.

A file is named by the run, the step's number and the part, never by what a row says: a note
forged by a webhook's body (``{"$file": "../../suite.db"}``) names nothing. A file is written
whole (``.part``, fsync, rename) before the row that refers to it is committed, so a process
killed in between leaves at worst a file no row refers to, replaced when the step runs again.
The files go with the run's folder when the run is pruned.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import IO, Any, Literal

from idms import jsontext
from idms.errors import NotFound
from idms.private import private_folder, private_open
from idms.runs.sealed import CHUNK, SealedReader, SealedWriter
from idms.secrets import SecretBox

LARGE = 256 * 1024  # bytes of JSON beyond which a step's data is kept as a file
PREVIEW = 2000  # characters of a large shown value kept in the row
FILE = "$file"  # the note's key: the value is the file's name (never read back as a path)
FOLDER = "steps"

Part = Literal["input", "output", "data"]


def note_of(value: Any) -> dict[str, Any] | None:
    """The note of a file-backed value as a row holds it (``{"$file", "bytes", "preview"}``);
    None for a value kept inline."""
    if isinstance(value, dict) and isinstance(value.get(FILE), str) and "bytes" in value:
        return value
    return None


def human_size(size: int) -> str:
    """``12.3 MB``, ``840.0 KB``, ``512 bytes``."""
    if size < 1000:
        return f"{size} bytes"
    value = size / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


class StepFiles:
    """The step-data files of the runs kept under ``runs_folder``."""

    def __init__(self, runs_folder: Path, box: SecretBox) -> None:
        self.runs_folder = runs_folder
        self.box = box

    def path(self, run_id: str, seq: int, part: Part) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise NotFound(f"No run {run_id!r}.")
        return self.runs_folder / run_id / FOLDER / f"{int(seq)}.{part}.sealed"

    # ---- writing ----

    def keep_shown(self, run_id: str, seq: int, part: Part, text: str | None) -> str | None:
        """What the row holds of a shown value (masked JSON ``text``): the text itself when
        small, else a note (size, preview) after the text is written to its file."""
        if text is None:
            self.forget(run_id, seq, part)
            return None
        raw = text.encode("utf-8")
        if len(raw) <= LARGE:
            self.forget(run_id, seq, part)
            return text
        path = self._write(run_id, seq, part, raw)
        return jsontext.dumps({FILE: path.name, "bytes": len(raw), "preview": text[:PREVIEW]})

    def keep_sealed(self, run_id: str, seq: int, text: str | None) -> str | None:
        """What the row holds of the pipeline object after a step (JSON ``text``), sealed: the
        text sealed when small, else a sealed note after the text is sealed into its file."""
        if text is None:
            self.forget(run_id, seq, "data")
            return None
        raw = text.encode("utf-8")
        if len(raw) <= LARGE:
            self.forget(run_id, seq, "data")
            return self.box.encrypt(text)
        path = self._write(run_id, seq, "data", raw)
        return self.box.encrypt(jsontext.dumps({FILE: path.name, "bytes": len(raw)}))

    def forget(self, run_id: str, seq: int, part: Part) -> None:
        """Remove a file a step left (run again, it now keeps its data in the row)."""
        self.path(run_id, seq, part).unlink(missing_ok=True)

    def _write(self, run_id: str, seq: int, part: Part, raw: bytes) -> Path:
        path = self.path(run_id, seq, part)
        private_folder(path.parent)
        partial = path.with_name(path.name + ".part")
        with private_open(partial, "wb") as handle:
            writer = SealedWriter(self.box, handle)
            for start in range(0, len(raw), CHUNK):
                writer.write(raw[start : start + CHUNK])
            writer.finish()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        return path

    # ---- reading ----

    def unseal(self, run_id: str, seq: int, sealed: str) -> Any:
        """The pipeline object (and the rest) a step left, from its row's sealed text (and
        its file, when the row holds a note)."""
        value = jsontext.loads(self.box.decrypt(sealed, name="a workflow step's data"))
        if isinstance(value, dict) and FILE in value and "data" not in value:
            with self.open(run_id, seq, "data") as handle:
                return jsontext.loads(handle.read().decode("utf-8"))
        return value

    def open(self, run_id: str, seq: int, part: Part) -> IO[bytes]:
        """The plain bytes of a step's file, a chunk at a time; NotFound when there is none,
        InvalidInputError when it was changed or sealed with another key."""
        path = self.path(run_id, seq, part)
        if not path.is_file():
            raise NotFound(
                f"Step {seq} of run {run_id} has no {part} kept as a file (the run's folder "
                "was removed, or the run was pruned)."
            )
        broken = (
            f"The {part} of step {seq} of run {run_id} cannot be read: its file was changed, "
            "cut short, or sealed with another workspace key."
        )
        reader = SealedReader(self.box, path, name=path.name, broken=broken)
        return io.BufferedReader(reader, buffer_size=CHUNK)


def carry_files(runs_folder: Path, old_run: str, new_run: str) -> None:
    """Copy the files a run's steps wrote (row sets, converted files) into a rerun's folder:
    the data a rerun from a step starts with refers to them by name, and the old run may be
    pruned before the rerun runs."""
    source = runs_folder / old_run / "files"
    if not source.is_dir():
        return
    target = private_folder(runs_folder / new_run / "files")
    for path in source.iterdir():
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as reading, private_open(target / path.name, "wb") as writing:
                shutil.copyfileobj(reading, writing, 1 << 20)
