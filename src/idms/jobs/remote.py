"""What a job may read when it comes over the network (``idms serve``): uploads, and files in the
folders the administrator lists (``IDMS_SERVE_INPUT_FOLDERS``), nothing else.

The command line reads any path: whoever types it owns the machine. A request does not: it may
name an upload (``"input": {"upload": ID}``, see :mod:`idms.io.uploads`) or a file inside one of
the listed folders, by a path relative to the first folder (``"roster.csv"``) or absolute. A path
counts once resolved, links followed and ``..`` taken out: a link in a listed folder pointing
outside it is refused like the path it points to. Nothing in the workspace is ever read but the
uploads (not its key, its databases, nor the inputs of other runs), even inside a listed
folder. A refusal never repeats the path sent (it may be absolute) nor says whether a file is
there outside the folders.

:class:`RemoteInputs` is that rule, in one place; the API calls it on every job, template run
and schedule it builds, and reads no path by itself.

The other way round, :func:`shown_path` says how a path of the server is shown to a remote
caller (a run's failed-rows file, a template's or a schedule's input): never as the server's
absolute path, but as ``upload:ID`` for an upload, the path inside the input folder that holds it,
or else the file's name alone. The command line shows full paths: its user owns the machine.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idms.errors import NotFound
from idms.io.uploads import UploadStore
from idms.jobs.assemble import finish_document
from idms.jobs.model import Job, JobInvalid
from idms.state.templates import TemplateStore

__all__ = ["RemoteInputs", "input_files", "shown_path"]

NOT_ALLOWED = (
    "this server reads only uploaded files (POST /api/v1/uploads, then "
    '{"upload": ID}) and files in the folders its administrator lists '
    "(IDMS_SERVE_INPUT_FOLDERS); this path is not in one"
)
NO_FOLDERS = (
    "this server reads no file by its path: upload it (POST /api/v1/uploads) and give its ID, "
    '{"upload": ID} (or have the administrator list input folders in IDMS_SERVE_INPUT_FOLDERS)'
)


def shown_path(
    path: str | Path | None,
    *,
    folders: Sequence[Path] = (),
    uploads: UploadStore | None = None,
) -> str | None:
    """How the server's ``path`` is shown to a remote caller: ``upload:ID`` for a file of
    ``uploads``, the path relative to the first of ``folders`` that holds it, else the file's
    name alone; never the server's absolute path."""
    if path is None:
        return None
    given = Path(path)
    if uploads is not None and (upload_id := uploads.id_of(given)) is not None:
        return f"upload:{upload_id}"
    resolved = given.resolve()
    for folder in folders:
        for root in (folder, folder.resolve()):
            for candidate in (given, resolved):
                if candidate.is_absolute() and candidate.is_relative_to(root):
                    return candidate.relative_to(root).as_posix()
    return given.name


def input_files(document: Mapping[str, Any] | None) -> list[str]:
    """The files a job document's input names (``"input": PATH`` or ``{"file": PATH}``)."""
    spec = (document or {}).get("input")
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, Mapping) and isinstance(spec.get("file"), str):
        return [spec["file"]]
    return []


@dataclass(frozen=True)
class RemoteInputs:
    """The inputs a request may name: ``uploads``, and the files under ``folders`` but not
    under ``private`` (the workspace: its key, its databases, other runs' inputs), even when a
    listed folder holds it."""

    folders: tuple[Path, ...]
    uploads: UploadStore
    private: tuple[Path, ...] = ()

    # ---- the forms a request gives -------------------------------------------------------------

    def document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A job document with its input as a job reads it: ``{"upload": ID, ...}`` becomes the
        upload's file (an unknown ID is refused); a path is left for :meth:`admit` to check."""
        out = dict(document)
        spec = out.get("input")
        if isinstance(spec, Mapping) and "upload" in spec:
            rest = {k: v for k, v in spec.items() if k != "upload"}
            if "file" in rest or "query" in rest:
                raise JobInvalid(
                    ["input: give 'upload', 'file' or 'query', one of them"], name="The job"
                )
            out["input"] = {**rest, "file": str(self._upload(spec["upload"], "input.upload"))}
        return out

    def job_document(
        self,
        document: Mapping[str, Any],
        *,
        templates: TemplateStore | None,
        must_exist: bool,
    ) -> tuple[dict[str, Any], Job]:
        """A job document as a request sent it, made one a job may be built from later (a
        schedule's: its ``template`` still named, merged at each fire) with its input admitted;
        and the job it describes now."""
        out = self.document(document)
        job = self.admit(
            finish_document(copy.deepcopy(out), templates=templates, input_file=None),
            must_exist=must_exist,
        )
        spec = out.get("input")
        if spec is not None and job.input is not None and job.input.file is not None:
            spec = {"file": spec} if isinstance(spec, str) else dict(spec)
            out["input"] = {**spec, "file": job.input.file}
        return out, job

    def input_file(self, given: str | Mapping[str, Any], *, must_exist: bool) -> str:
        """The file a template run or a schedule is given (a path, or ``{"upload": ID}``), as
        the server's path to it once checked."""
        if isinstance(given, Mapping):
            if set(given) != {"upload"}:
                raise JobInvalid(
                    ['input: give a path in an input folder or {"upload": ID}'], name="The job"
                )
            return str(self._upload(given["upload"], "input.upload"))
        return str(self._checked(given, "input", must_exist=must_exist))

    def admit(self, job: Job, *, must_exist: bool) -> Job:
        """``job`` if every file it reads may be read (its path then resolved), or JobInvalid
        saying why not. ``must_exist``: the file must be there now (a run, a plan), not only
        later (a template, a schedule)."""
        spec = job.input
        if spec is None or spec.file is None:
            return job
        path = self._checked(spec.file, "input.file", must_exist=must_exist)
        return job.model_copy(update={"input": spec.model_copy(update={"file": str(path)})})

    # ---- how the server's paths are shown ------------------------------------------------------

    def shown(self, path: str | Path | None) -> str | None:
        """``path`` as a remote caller sees it (:func:`shown_path`)."""
        return shown_path(path, folders=self.folders, uploads=self.uploads)

    def shown_document(self, document: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A job document as a remote caller sees it: its input file :meth:`shown`."""
        if document is None:
            return None
        out = dict(document)
        spec = out.get("input")
        if isinstance(spec, str):
            out["input"] = self.shown(spec)
        elif isinstance(spec, Mapping) and isinstance(spec.get("file"), str):
            out["input"] = {**spec, "file": self.shown(spec["file"])}
        return out

    # ---- the rule -------------------------------------------------------------------------------

    def _upload(self, upload_id: object, where: str) -> Path:
        if not isinstance(upload_id, str):
            raise JobInvalid(
                [f"{where}: give the ID POST /api/v1/uploads answered"], name="The job"
            )
        try:
            return self.uploads.path(upload_id)
        except NotFound as exc:
            raise JobInvalid([f"{where}: {exc.message}"], name="The job") from None

    def _checked(self, given: str, where: str, *, must_exist: bool) -> Path:
        if not isinstance(given, str) or not given.strip() or "\0" in given:
            raise JobInvalid(
                [f"{where}: give the path of a file in an input folder"], name="The job"
            )
        candidate = Path(given.strip())
        if not candidate.is_absolute():
            if not self.folders:
                raise JobInvalid([f"{where}: {NO_FOLDERS}"], name="The job")
            # In the first folder that has it, else the first folder (a file yet to arrive).
            tries = [(folder / candidate).resolve() for folder in self.folders]
            inside = [p for p in tries if self._root_of(p) is not None]
            there = [p for p in inside if p.exists()]
            resolved = there[0] if there else (inside[0] if inside else None)
        else:
            resolved = candidate.resolve()
            if self._root_of(resolved) is None:
                resolved = None
        if resolved is None:
            raise JobInvalid(
                [f"{where}: {NOT_ALLOWED if self.folders else NO_FOLDERS}"], name="The job"
            )
        shown = resolved.name  # the file's name alone: never a path of the server
        if resolved.is_dir():
            raise JobInvalid([f"{where}: this is a folder, not a file"], name="The job")
        if must_exist and not resolved.is_file():
            raise JobInvalid(
                [f"{where}: there is no file '{shown}' in the input folders"], name="The job"
            )
        return resolved

    def _root_of(self, path: Path) -> Path | None:
        """The listed folder (or the uploads' folder) ``path`` is inside, if any."""
        uploads = self.uploads.folder.resolve()
        if path.is_relative_to(uploads):
            return uploads
        if any(path.is_relative_to(p.resolve()) for p in self.private):
            return None
        return next((root for root in self.folders if path.is_relative_to(root)), None)
