"""The job most run tests import: contacts from a First, Last, E-mail file, matched on the
e-mail (insert-update by default). One definition, so that a change to how a job is written
is made once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idms.jobs.model import Job, build_job


def people_document(
    path: Path, *, name: str = "People", action: str = "insert-update", batch: int | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": name,
        "input": {"file": str(path)},
        "source": "Contact",
        "action": action,
        "mappings": [
            {"field": "Email", "column": "E-mail", "match": True},
            {"field": "LastName", "column": "Last"},
            {"field": "FirstName", "column": "First"},
        ],
    }
    if batch is not None:
        document["options"] = {"batch_size": batch}
    return document


def people_job(path: Path, **options: Any) -> Job:
    """:func:`people_document` as a job."""
    return build_job(people_document(path, **options))
