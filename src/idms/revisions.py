"""The newest migration in a folder of Alembic scripts, read without Alembic or SQLAlchemy.

Importing Alembic costs about as much as SQLAlchemy itself (~0.15 s, before it reads a single
script), and every command that opens the suite database or the store asks whether the schema
is current; it almost always is. So the head of the chain is read here from the scripts' own
``revision`` / ``down_revision`` lines (``idms.db.schema_is_current`` compares it with the
database's version table); Alembic is imported only to migrate. Nothing here imports
SQLAlchemy either, so a command may ask it before deciding whether it needs an engine at all.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_REVISION_LINE = re.compile(
    r"^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(?:None|\"([^\"\n]*)\"|'([^'\n]*)')\s*$",
    re.MULTILINE,
)


@functools.cache
def newest_revision(versions: Path) -> str | None:
    """The head of the linear chain of migration scripts in ``versions``; None when the scripts
    do not say it plainly (a merge, a branch, a revision not written as one string): then
    Alembic, which reads them properly, decides."""
    parents: dict[str, str | None] = {}
    for script in versions.glob("*.py"):
        found: dict[str, str | None] = {}
        for key, double, single in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            found[key] = double or single or None
        if "revision" not in found and "down_revision" not in found:
            continue  # __init__.py, a helper
        if not found.get("revision") or "down_revision" not in found:
            return None
        parents[str(found["revision"])] = found["down_revision"]
    heads = set(parents) - {parent for parent in parents.values() if parent}
    return heads.pop() if len(heads) == 1 else None
