"""Secret constants in stored jobs: sealed at rest, masked when shown, unsealed only to run.

A job may give a secret field (a password) a constant: ``{"field": "Password", "value": "..."}``.
Where a job document is kept to run later (a template, a schedule's job), that value is stored
sealed with the workspace's key, ``{"field": "Password", "sealed": "gAAAA..."}``, so the suite
database alone never holds it; everything that shows a stored document (``idms template
show``, ``idms schedule show --json``, the API) shows it as :data:`~idms.jobs.rows.MASK`
(:mod:`idms.state.constants`, which needs no source to know a sealed constant); only the run
path unseals it (:meth:`idms.state.templates.TemplateStore.job_document`, the scheduler). A
masked value given back as a job's constant is refused when the job is checked
(:mod:`idms.jobs.compile`): the mask is never written as someone's password.

Which fields are secret is the source's to say (:attr:`~idms.sources.model.FieldDef.secret`);
a document whose source is not a built-in one (a panel) has none.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from idms.errors import SecretError, UnknownSourceError
from idms.secrets import SecretBox
from idms.sources.model import SourceDef
from idms.state.constants import MASK, SEALED

__all__ = ["mask_constants", "seal_constants"]


def _source(document: dict[str, Any]) -> SourceDef | None:
    from idms.sources.catalog import BUILTIN_SOURCES
    from idms.sources.registry import resolve_source

    name = document.get("source")
    if not isinstance(name, str):
        return None
    try:
        return resolve_source(name, BUILTIN_SOURCES)
    except UnknownSourceError:
        return None  # a panel: panels have no secret fields


def _secret_mappings(document: dict[str, Any], source: SourceDef | None) -> list[dict[str, Any]]:
    """The mappings of ``document`` that give a secret field a constant (sealed or not)."""
    if source is None:
        return []
    found: list[dict[str, Any]] = []
    for mapping in document.get("mappings") or []:
        if not isinstance(mapping, dict) or ("value" not in mapping and SEALED not in mapping):
            continue
        field = source.find_field(str(mapping.get("field", "")))
        if field is not None and field.secret:
            found.append(mapping)
    return found


def seal_constants(document: dict[str, Any], box: SecretBox | None) -> dict[str, Any]:
    """``document`` (a copy) with each secret constant sealed with ``box``. A value already
    sealed stays as it is; :class:`SecretError` if there is one to seal and no key."""
    document = copy.deepcopy(document)
    for mapping in _secret_mappings(document, _source(document)):
        if "value" not in mapping:
            continue
        if box is None:
            raise SecretError("A password constant cannot be stored here: no key to seal it.")
        value = mapping.pop("value")
        mapping[SEALED] = box.encrypt(json.dumps(value, ensure_ascii=False))
    return document


def mask_constants(document: dict[str, Any], source: SourceDef | None = None) -> dict[str, Any]:
    """``document`` (a copy) as it is shown: each secret constant, sealed or not, as
    :data:`MASK`. ``source`` is the job's source when it is known (default: the built-in
    source the document names)."""
    document = copy.deepcopy(document)
    for mapping in _secret_mappings(document, source or _source(document)):
        if mapping.pop(SEALED, None) is not None or mapping.get("value") not in (None, ""):
            mapping["value"] = MASK
    return document
