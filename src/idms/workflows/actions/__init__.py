"""Every action a workflow step may name, one module each (``gate.py``, ``http_request.py``…).

A module of this package that defines ``ACTION`` (an
:class:`~idms.workflows.actions.base.ActionSpec`) is an action, named as its module; adding an
action is adding its module and its name to :data:`MODULES`. A test imports every module of the
package and checks that the list and the modules agree.

:func:`actions` is the registry. It imports an action's module only when the action is asked
for, so that a run imports the actions its steps name and no others: the SFTP, FTP and HTTP
actions bring their client libraries (asyncssh, httpx…), which take most of a second to import,
and an export to SFTP has no use for the HTTP client. Listing the names costs nothing; the
specs (``values()``, ``items()``) import every action, as listing them with their labels must.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from functools import cache

from idms.workflows.actions.base import ActionSpec

MODULES: tuple[str, ...] = (
    "convert",
    "delta_hashing",
    "fetch_query",
    "ftp_upload",
    "gate",
    "http_request",
    "insert_record",
    "json_schema_validation",
    "run_job",
    "select",
    "send_email",
    "sftp_upload",
    "wait",
    "write_file",
)
"""The action modules of this package, each defining ``ACTION`` named as the module."""


class ActionRegistry(MutableMapping[str, ActionSpec]):
    """Action name -> spec, each action's module imported the first time it is looked up.

    It is a mutable mapping so that a test (or a plug-in) may add an action of its own for a
    while and take it away again, as with a plain dict."""

    def __init__(self, package: str, modules: tuple[str, ...]) -> None:
        self._package = package
        self._names = dict.fromkeys(modules)  # every action's name, in order (a set that keeps it)
        self._specs: dict[str, ActionSpec] = {}  # those imported (or added) so far

    def __getitem__(self, name: str) -> ActionSpec:
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        if name not in self._names:
            raise KeyError(name)
        spec = getattr(importlib.import_module(f"{self._package}.{name}"), "ACTION", None)
        if not isinstance(spec, ActionSpec) or spec.name != name:
            raise LookupError(f"the module {self._package}.{name} has no action named {name!r}")
        self._specs[name] = spec
        return spec

    def __contains__(self, name: object) -> bool:
        """Whether there is such an action, without importing it."""
        return name in self._names

    def __setitem__(self, name: str, spec: ActionSpec) -> None:
        self._names[name] = None
        self._specs[name] = spec

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._specs.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


@cache
def actions() -> ActionRegistry:
    """Every action by name (each module imported when its action is first looked up)."""
    return ActionRegistry(__name__, MODULES)
