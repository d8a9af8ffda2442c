"""How the store compares IDs, codes and text: without case, with its indexes serving."""

from __future__ import annotations

from typing import Any

from idms.sources.model import FieldDef
from idms.values.types import FieldType

# How many keys one ``IN (...)`` look-up carries.
MATCH_CHUNK = 500


def spellings(values: Any) -> list[str]:
    """The spellings a folded ID or code is stored in: as typed, upper, lower, title case.

    IDs and codes are compared with ``col IN (spellings)`` so the column's own index serves the
    look-up (``lower(col)`` would scan the table); the exact, case-free comparison is then made
    in Python. IDs and codes are stored in one case (``AB100``, ``GLD``, ``Address``), so every
    stored spelling of a value is among these.
    """
    out: set[str] = set()
    for v in values:
        text = str(v).strip()
        out.update((text, text.lower(), text.upper(), text.title(), text.capitalize()))
    return sorted(out)


def is_key_like(fdef: FieldDef) -> bool:
    """IDs and codes: matched through their spellings so that indexes serve the look-up."""
    return fdef.type in (FieldType.CODE, FieldType.GUID) or fdef.name.endswith("Id")


def fold_text(value: Any) -> Any:
    """The form text takes for case-insensitive comparison (as SQL ``lower`` does)."""
    return value.strip().lower() if isinstance(value, str) else value
