"""Finding a source by the name a user typed: canonical name, iDMS label, or 'Panel <Name>'."""

from __future__ import annotations

from collections.abc import Iterable

from idms.errors import UnknownSourceError
from idms.sources.catalog import BUILTIN_SOURCES
from idms.sources.model import SourceDef, fold


def builtin_sources() -> tuple[SourceDef, ...]:
    return BUILTIN_SOURCES


def resolve_source(name: str, available: Iterable[SourceDef]) -> SourceDef:
    """The source called ``name`` among ``available``, compared without case or punctuation."""
    sources = list(available)
    wanted = fold(name)
    if wanted.startswith("panel") and len(wanted) > len("panel"):
        bare = wanted[len("panel") :]
    else:
        bare = wanted
    for candidate in (wanted, bare):
        for s in sources:
            if fold(s.name) == candidate:
                return s
        for s in sources:
            if fold(s.label) == candidate:
                return s
    raise UnknownSourceError(name, [s.name for s in sources])
