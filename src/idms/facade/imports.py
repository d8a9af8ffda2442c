"""The import wizard's part of the facade: what an uploaded file looks like (how it was read,
how many rows it has, its first rows), the sources a job may load on this target, and a job
built from a document the way a request's job is (its input an upload, nothing else).

The web wizard calls these and nothing below them; the reading itself is the readers' own
(:func:`idms.io.reader.open_input`), the rule of what a request may read is
:class:`idms.jobs.remote.RemoteInputs`, as for the API's ``POST /runs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idms.facade.base import WorkspaceBase

if TYPE_CHECKING:
    from idms.io.detect import Detected
    from idms.io.uploads import UploadInfo
    from idms.jobs.model import Job
    from idms.sources.model import SourceDef

PREVIEW_ROWS = 10


@dataclass(frozen=True)
class UploadLook:
    """An upload as read with the given sheet and header row: what was detected, how many
    data rows it has (blank rows not counted), and its first rows (as text, by column)."""

    upload: UploadInfo
    detected: Detected
    rows: int
    preview: list[dict[str, Any]]
    numbers: list[int]  # the preview rows' numbers, as the file shows them

    @property
    def samples(self) -> dict[str, list[Any]]:
        """The first rows' values by column (what auto-mapping weighs)."""
        return {c: [r.get(c) for r in self.preview] for c in self.detected.columns}


class ImportFacade(WorkspaceBase):
    """Uploads looked at, sources listed, jobs built for the import wizard (a part of
    :class:`idms.workspace.Workspace`)."""

    def look_at_upload(
        self,
        upload_id: str,
        *,
        sheet: str | None = None,
        header_row: int = 1,
        preview: int = PREVIEW_ROWS,
    ) -> UploadLook:
        """Read upload ``upload_id`` through (bounded by the upload limit) with ``sheet`` and
        ``header_row``: an unreadable file, an unknown sheet or a bad header row is refused
        (InvalidInputError) as a job reading it would be."""
        from idms.io.reader import open_input
        from idms.io.records import ReadOptions

        info = self.uploads.get(upload_id)
        options = ReadOptions(sheet=sheet or None, header_row=header_row)
        shown: list[dict[str, Any]] = []
        numbers: list[int] = []
        count = 0
        with open_input(self.uploads.path(info.id), options) as reader:
            for row in reader:
                count += 1
                if len(shown) < preview:
                    shown.append(dict(row.values))
                    numbers.append(row.number)
            detected = reader.detected
        return UploadLook(info, detected, count, shown, numbers)

    def import_sources(self) -> tuple[str, list[SourceDef]]:
        """The target's platform and every source a job may load there."""
        with self.target() as target:
            return target.platform, target.sources()

    def describe_source(self, name: str) -> tuple[str, SourceDef]:
        """The target's platform and source ``name`` (NotFound-like refusal when unknown)."""
        with self.target() as target:
            return target.platform, target.describe(name)

    def job_from_request(self, document: dict[str, Any]) -> Job:
        """A job document sent over the network (``"input": {"upload": ID}``), its input
        admitted as a request's is (``remote_inputs``), merged onto the template it names."""
        inputs = self.remote_inputs
        return inputs.job_document(document, templates=self.templates, must_exist=True)[1]
