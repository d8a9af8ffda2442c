"""Sealed constants in stored job documents: shown masked, unsealed only to run.

A job kept to run later (a template, a schedule's job) has the constants of its secret fields
(passwords) sealed with the workspace's key before it is stored: ``{"field": "Password",
"sealed": "gAAAA..."}`` in place of ``"value"`` (:func:`idms.jobs.sealing.seal_constants`
decides which, from the source's fields). What is read back is shown with each sealed constant
as :data:`MASK` (:func:`mask_sealed`) and run with it unsealed (:func:`unseal_constants`).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from idms.errors import SecretError

if TYPE_CHECKING:
    from idms.secrets import SecretBox

__all__ = ["MASK", "SEALED", "mask_sealed", "sealed_fields", "unseal_constants"]

SEALED = "sealed"
"""The mapping key that holds a sealed constant, in place of ``value``."""

MASK = "********"
"""What is shown in place of a secret: a password, a sealed constant."""


def _sealed_mappings(document: dict[str, Any]) -> list[dict[str, Any]]:
    mappings = document.get("mappings")
    if not isinstance(mappings, list):
        return []
    return [m for m in mappings if isinstance(m, dict) and SEALED in m]


def sealed_fields(document: dict[str, Any]) -> list[str]:
    """The fields whose constant is sealed in ``document``, in order."""
    return [str(m.get("field", "")) for m in _sealed_mappings(document)]


def mask_sealed(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a copy) as it may be shown: each sealed constant as ``value: MASK``."""
    if not _sealed_mappings(document):
        return document
    document = copy.deepcopy(document)
    for mapping in _sealed_mappings(document):
        del mapping[SEALED]
        mapping["value"] = MASK
    return document


def unseal_constants(document: dict[str, Any], box: SecretBox | None) -> dict[str, Any]:
    """``document`` (a copy) with its sealed constants as the values they were, to run it."""
    if not _sealed_mappings(document):
        return document
    document = copy.deepcopy(document)
    for mapping in _sealed_mappings(document):
        field = mapping.get("field", "")
        if box is None:
            raise SecretError(f"The constant of {field} is sealed, and no key is at hand.")
        token = str(mapping.pop(SEALED))
        mapping["value"] = json.loads(box.decrypt(token, name=f"the constant of {field}"))
    return document
