"""Every action a workflow step may name, one module each (``gate.py``, ``http_request.py``…).

A module of this package that defines ``ACTION`` (an
:class:`~idms.workflows.actions.base.ActionSpec`) is an action; :func:`actions` finds them all,
so adding an action is adding its module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from idms.workflows.actions.base import ActionSpec


@cache
def actions() -> dict[str, ActionSpec]:
    """Every action by name."""
    found: dict[str, ActionSpec] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ACTION", None)
        if isinstance(spec, ActionSpec):
            assert spec.name not in found, f"two actions are named {spec.name}"
            found[spec.name] = spec
    return found
