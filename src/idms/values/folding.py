"""What "equal ignoring case" means in idms, once, for every store and every comparison.

iMIS compares text with a case-insensitive SQL Server collation (``SQL_Latin1_General_CP1_CI_AS``
by default: case- and width-insensitive, accent-sensitive). idms folds text to one spelling and
compares the folded spellings; two values are equal ignoring case when their folds are equal:

1. **NFKC**: a letter typed precomposed (``Å``, U+00C5) or as base plus combining mark (``A`` +
   U+030A, as macOS and some exports write it) is one letter; full-width and ligature forms
   (``Ｓｍｉｔｈ``, ``ﬁ``) are their plain letters, as a width-insensitive collation has them.
2. **Turkish i**: ``İ`` and ``ı`` fold to ``i``, so that a name upper- or lower-cased with Turkish
   rules (``İnce``/``ince``, ``Işık``/``IŞIK``) matches the same name cased without them.
3. **Unicode lower case** (full mapping, not ASCII only): ``ÅBERG`` → ``åberg``, ``ŁUKASZ`` →
   ``łukasz``, ``ПЕТРОВ`` → ``петров``, ``ΣΊΣΥΦΟΣ`` → ``σίσυφος``.
4. ``ß`` (and capital ``ẞ``) fold to ``ss`` and final ``ς`` to ``σ``: ``STRASSE`` = ``Straße``,
   ``ΟΔΟΣ`` = ``οδος``, as Unicode case folding and SQL Server's collations have them.

This is Unicode's case folding (Python's ``str.casefold``) of NFKC text in every respect but
three that no name needs: the iota subscript (``ᾳ`` ≠ ``αι``), the old Cyrillic letter variants
(U+1C80..U+1C88) and Cherokee small letters fold to their lower-case form rather than their
folded one (Cherokee stays case-insensitive). It is defined this way so that SQL can compute the
very same spelling cheaply (``lower``/``translate``/``replace``/``normalize`` on PostgreSQL):
idms compares values folded in Python with values folded by the database, so both must agree
character for character. Accents still count (``Müller`` ≠ ``Muller``), as in iMIS.

The embedded store computes this fold in SQL as ``idms_fold(text)`` (see
``idms.targets.embedded.adapters.folding``); tests check that the two agree on every Unicode
character (tests/values/test_folding.py).
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Applied after NFKC, before lower-casing: the Turkish dotted capital and dotless small i.
_TURKISH_I = str.maketrans({"\u0130": "i", "\u0131": "i"})
# Applied after lower-casing: sharp s and final sigma, folded as Unicode case folding does.
_AFTER_LOWER = str.maketrans({"\u00df": "ss", "\u03c2": "\u03c3"})


def fold(text: str) -> str:
    """``text`` in its case-free spelling (see the module docstring): equal folds, equal text."""
    if text.isascii():
        return text.lower()
    normal = unicodedata.normalize("NFKC", text)
    return normal.translate(_TURKISH_I).lower().translate(_AFTER_LOWER)


def fold_value(value: Any) -> Any:
    """A value as comparisons ignoring case see it: text stripped and folded, others as given."""
    if isinstance(value, str):
        text = value.strip()
        # fold's ASCII shortcut, inlined: matching calls this for every criterion and record.
        return text.lower() if text.isascii() else fold(text)
    return value


def same_text(a: str, b: str) -> bool:
    """Whether two texts are equal ignoring case (and surrounding spaces)."""
    return fold(a.strip()) == fold(b.strip())


def id_order(value: Any) -> tuple[int, str]:
    """The sort key of an iMIS ID: shorter IDs first, IDs of one length in text order.

    iMIS numbers contacts from a counter, so its IDs are digit strings without leading zeros,
    and for those this is their number order (``7``, ``99``, ``106``, ``1045``), where text order
    reads as shuffled (``1045`` before ``106``). Any other ID keeps a place by the same rule
    (``A20`` after ``999``, before ``1000``). The stores sort by ``length(id), id``, which an
    index serves, so the first page of a large table comes at once.
    """
    text = str(value)
    return (len(text), text)
