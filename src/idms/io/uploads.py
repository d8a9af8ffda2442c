"""Files sent to ``idms serve`` for jobs to read (``POST /api/v1/uploads``): the only way a
request brings an input file that is not in a folder the administrator lists.

An upload is kept in ``WORKSPACE/uploads`` as ``ID.EXT`` (the file, as sent) and ``ID.json``
(its name, size, time and columns), both readable by the server's user alone, the folder too.
It is written as it arrives, chunk by chunk, never held in memory, and refused as soon as it
passes the size limit (``IDMS_SERVE_MAX_UPLOAD``); a half-written one is removed. Its ID is
random and is all a job needs: ``"input": {"upload": ID}``. It stays until deleted
(``DELETE /api/v1/uploads/{id}``) or until pruned, once older than ``IDMS_UPLOAD_RETENTION_DAYS``
(unless a saved template or a schedule still reads it: :meth:`UploadStore.prune`); a run queued
from it keeps its own copy, so removing it never breaks a run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from idms.config import show_size
from idms.errors import InvalidInputError, NotFound
from idms.io.reader import READ_EXTENSIONS, open_input
from idms.private import private_folder, private_open

__all__ = ["UploadInfo", "UploadStore", "UploadTooLarge", "UploadWriter"]

_ID = re.compile(r"[0-9a-f]{24}")
NAME_LENGTH = 200


class UploadTooLarge(InvalidInputError):
    """The file is larger than the uploads' size limit; nothing was kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"The file is larger than the {show_size(limit)} an upload may be; nothing was kept.",
            hint="The limit is IDMS_SERVE_MAX_UPLOAD.",
        )


@dataclass(frozen=True)
class UploadInfo:
    """An upload: its ID, the name it was sent with, its size and its columns (as first read,
    with the default reading options)."""

    id: str
    name: str
    size: int
    created_at: datetime
    columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "created_at": self.created_at,
            "columns": list(self.columns),
        }


def clean_name(name: str) -> str:
    """The file's own name from what a client sent (a path on its machine, maybe): no folder,
    no control character, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    shown = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return shown[:NAME_LENGTH] or "upload"


class UploadWriter:
    """One upload being received: :meth:`write` each chunk as it arrives, then :meth:`finish`
    (or :meth:`discard`, which a failed or abandoned upload gets)."""

    def __init__(self, store: UploadStore, name: str, extension: str) -> None:
        self.store = store
        self.name = name
        self.id = secrets.token_hex(12)
        self.path = store.folder / f"{self.id}{extension}"
        self.size = 0
        self._file: IO[bytes] | None = private_open(self.path, "xb")

    def write(self, data: bytes) -> None:
        """Append ``data``; :class:`UploadTooLarge` (the file removed) past the limit."""
        if self._file is None:
            raise InvalidInputError("The upload was already finished or discarded.")
        self.size += len(data)
        if self.size > self.store.max_bytes:
            self.discard()
            raise UploadTooLarge(self.store.max_bytes)
        self._file.write(data)

    def finish(self) -> UploadInfo:
        """Keep the file: read its header row (a file idms cannot read is refused and removed)
        and record it."""
        if self._file is None:
            raise InvalidInputError("The upload was already finished or discarded.")
        self._file.close()
        self._file = None
        try:
            if self.size == 0:
                raise InvalidInputError(f"{self.name} is empty: there is nothing to read.")
            with open_input(self.path) as reader:
                columns = list(reader.detected.columns)
            info = UploadInfo(self.id, self.name, self.size, datetime.now(UTC), columns)
            self.store._write_meta(info)
        except BaseException:
            self.discard()
            raise
        return info

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
        self.store.meta_path(self.id).unlink(missing_ok=True)


class UploadStore:
    """The uploads of a workspace (``folder``), each at most ``max_bytes``."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def _ensure_folder(self) -> None:
        private_folder(self.folder)

    def begin(self, name: str) -> UploadWriter:
        """Start receiving a file sent as ``name``; refused at once unless idms reads its kind
        (by its extension: .csv, .tsv, .txt, .xlsx, .xlsm)."""
        shown = clean_name(name)
        extension = Path(shown).suffix.lower()
        if extension not in READ_EXTENSIONS:
            kind = f"'{extension}'" if extension else "no extension"
            raise InvalidInputError(
                f"Cannot take {shown}: files with {kind} cannot be read by a job. "
                f"Accepted file types: {', '.join(READ_EXTENSIONS)}."
            )
        self._ensure_folder()
        return UploadWriter(self, shown, extension)

    def meta_path(self, upload_id: str) -> Path:
        return self.folder / f"{upload_id}.json"

    def _write_meta(self, info: UploadInfo) -> None:
        data = json.dumps(
            {**info.as_dict(), "created_at": info.created_at.isoformat()}, ensure_ascii=False
        ).encode("utf-8")
        part = self.folder / f".{info.id}.json.part"
        with private_open(part, "wb") as handle:
            handle.write(data)
        os.replace(part, self.meta_path(info.id))

    def get(self, upload_id: str) -> UploadInfo:
        """An upload by ID (NotFound when there is none: deleted, or never sent)."""
        meta = self.meta_path(upload_id) if _ID.fullmatch(upload_id or "") else None
        try:
            if meta is None:
                raise FileNotFoundError
            raw = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise NotFound(
                f"No upload '{_shown_id(upload_id)}': it was deleted, or never sent.",
            ) from None
        return UploadInfo(
            id=raw["id"],
            name=raw["name"],
            size=int(raw["size"]),
            created_at=datetime.fromisoformat(raw["created_at"]),
            columns=list(raw.get("columns") or []),
        )

    def path(self, upload_id: str) -> Path:
        """The file of upload ``upload_id`` (NotFound when there is none)."""
        info = self.get(upload_id)
        return self.folder / f"{info.id}{Path(info.name).suffix.lower()}"

    def id_of(self, path: str | Path) -> str | None:
        """The ID of the upload whose file ``path`` is (whether or not it is still there), or
        None when it is no upload's file."""
        given = Path(path)
        if not _ID.fullmatch(given.stem) or given.suffix.lower() not in READ_EXTENSIONS:
            return None
        parent = given.parent
        if parent == self.folder or parent.resolve() == self.folder.resolve():
            return given.stem
        return None

    def list(self) -> list[UploadInfo]:
        """Every upload, newest first."""
        if not self.folder.is_dir():
            return []
        found: list[UploadInfo] = []
        for meta in self.folder.glob("*.json"):
            try:
                found.append(self.get(meta.stem))
            except NotFound:
                continue
        return sorted(found, key=lambda i: i.created_at, reverse=True)

    def prune(
        self, *, max_age_days: int, keep: Collection[str] = (), now: datetime | None = None
    ) -> int:
        """Remove the uploads older than ``max_age_days``, except those whose IDs are in
        ``keep`` (the ones a template or a schedule still reads); how many were removed."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=max_age_days)
        removed = 0
        for info in self.list():
            if info.created_at < cutoff and info.id not in keep:
                self.delete(info.id)
                removed += 1
        return removed

    def delete(self, upload_id: str) -> UploadInfo:
        """Remove an upload (runs queued from it keep their own copy)."""
        info = self.get(upload_id)
        self.path(info.id).unlink(missing_ok=True)
        self.meta_path(info.id).unlink(missing_ok=True)
        return info


def _shown_id(upload_id: str) -> str:
    """An ID as a message may repeat it: what an ID can hold, at most 40 characters."""
    return "".join(c for c in str(upload_id) if c.isalnum() or c in "-_")[:40]
