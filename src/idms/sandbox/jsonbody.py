"""Request bodies as Json.NET reads them on iMIS: member names without case.

Json.NET binds a JSON member to a contract's property by exact name first, then without case, so
``"properties"``, ``"PROPERTIES"`` and ``"Properties"`` all bind. Every JSON object of a request
body is read as a :class:`JsonObject`, whose lookups (``obj["Name"]``, ``obj.get("Name")``,
``"Name" in obj``) do the same; every handler then binds members as iMIS does without knowing it.

Json.NET's own metadata members (``$type``, ``$values``, ``$value``, ``$id``, ``$ref``) are
matched exactly, as Json.NET reads them (ordinal comparison): ``"$TYPE"`` is not a type name.
"""

from __future__ import annotations

import json
from typing import Any


class JsonObject(dict[str, Any]):
    """A JSON object whose member lookups fall back to a match without case.

    The members are stored as the body spells them (``dict``'s own ``__init__``: the decoder
    makes one per JSON object of every request body); the index of their folded names is made
    on the first lookup that does not find a name as spelled, which most never need.
    """

    __slots__ = ("_folded",)
    _folded: dict[str, str]

    def _index(self) -> dict[str, str]:
        try:
            return self._folded
        except AttributeError:
            folded: dict[str, str] = {}
            for key in self:
                folded.setdefault(key.casefold(), key)
            self._folded = folded
            return folded

    def _key(self, key: str) -> str:
        """The key as stored: ``key`` itself, or the member that matches it without case."""
        if not isinstance(key, str) or dict.__contains__(self, key) or key.startswith("$"):
            return key
        return self._index().get(key.casefold(), key)

    def __missing__(self, key: str) -> Any:
        found = self._key(key)
        if found is key or not dict.__contains__(self, found):
            raise KeyError(key)
        return dict.__getitem__(self, found)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return dict.__contains__(self, key) or dict.__contains__(self, self._key(key))

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return dict.get(self, self._key(key), default)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if hasattr(self, "_folded"):
            self._folded.setdefault(key.casefold(), key)


def loads(text: str) -> Any:
    """JSON text with every object a :class:`JsonObject`."""
    return json.loads(text, object_pairs_hook=JsonObject)
