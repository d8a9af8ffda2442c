"""What an iMIS offers, learnt over REST: the catalog's sources, panels and preferences.

* The built-in sources come from the catalog, those the platform has over REST
  (``SourceDef.available_on(platform, embedded=False)``).
* Communication preferences are one Yes/No field per preference, read from
  ``GET /api/metadata/CommunicationPreferences`` (no metadata: no preference fields).
* Panels are the business objects of ``GET /api/BoEntityDefinition``: each definition is read
  back into a :class:`PanelDefinition` (``ObjectTypeName`` Single/Multi/Standalone, each
  property's ``PropertyTypeName``, ``MaxLength``, and idms's ``LookupTable``, ``IsRequired``,
  ``Label``, ``Description`` and ``FieldType`` where given) and made a source by
  ``panel_source``, as the embedded store does with its own panel tables, so a panel looks the
  same on either target.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from idms.sources import catalog
from idms.sources.model import FieldDef, SourceDef, fold
from idms.sources.panels import PanelDefinition, PanelField, panel_source
from idms.targets.imis import wire
from idms.targets.imis.client import ImisClient, ImisRefused
from idms.values.types import FieldType

log = logging.getLogger(__name__)

PROPERTY_TYPES = {
    "string": FieldType.STRING,
    "text": FieldType.STRING,
    "integer": FieldType.INTEGER,
    "int32": FieldType.INTEGER,
    "int64": FieldType.INTEGER,
    "decimal": FieldType.DECIMAL,
    "monetary": FieldType.DECIMAL,
    "double": FieldType.DECIMAL,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "code": FieldType.CODE,
    "multiselect": FieldType.MULTISELECT,
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
}
KNOWN_TYPES = frozenset(t.value for t in FieldType) - {FieldType.PASSWORD.value}
OBJECT_TYPES = {"single": "single", "multi": "multi", "standalone": "standalone"}
# Key and system properties of a panel business object: not fields of the panel itself.
KEY_PROPERTIES = frozenset(
    {"partyid", "id", "imisid", "ordinal", "seqn", "contactkey", "createdon", "updatedon"}
)
NO_METADATA = (404, 405, 501)


def builtin_sources(platform: str) -> list[SourceDef]:
    return [s for s in catalog.BUILTIN_SOURCES if s.available_on(platform, embedded=False)]


def load_sources(client: ImisClient, platform: str) -> list[SourceDef]:
    """Every source of this iMIS: the catalog's (preferences filled in), then the panels."""
    out: list[SourceDef] = []
    for source in builtin_sources(platform):
        if source.name == "CommunicationPreferences":
            source = source.with_fields(preference_fields(client))
        out.append(source)
    taken = {fold(s.name) for s in out}
    for panel in panel_definitions(client):
        if fold(panel.name) not in taken:
            out.append(panel_source(panel))
            taken.add(fold(panel.name))
    return out


def preference_fields(client: ImisClient) -> list[FieldDef]:
    try:
        meta = client.get("api/metadata/CommunicationPreferences")
    except ImisRefused as exc:
        if exc.status in NO_METADATA:
            return []
        raise
    fields = []
    for prop in _properties(meta):
        code = str(prop.get("Name") or "")
        if not code or fold(code) in KEY_PROPERTIES:
            continue
        name = _label(prop) or code
        description = str(prop.get("Description") or "") or f"Opt in to {name}."
        fields.append(FieldDef(code, name, FieldType.BOOLEAN, description))
    return sorted(fields, key=lambda f: f.name)


def panel_definitions(client: ImisClient) -> list[PanelDefinition]:
    panels = []
    for item in client.paged("api/BoEntityDefinition"):
        if isinstance(item, Mapping):
            panel = panel_from_definition(item)
            if panel is not None:
                panels.append(panel)
    return panels


def panel_from_definition(obj: Mapping[str, Any]) -> PanelDefinition | None:
    """A BOEntityDefinitionData as the panel definition it describes (None if it is not one)."""
    name = str(wire.find(obj, "EntityTypeName") or "")
    kind = OBJECT_TYPES.get(str(wire.find(obj, "ObjectTypeName") or "").strip().lower())
    parent = str(wire.find(obj, "PrimaryParentEntityTypeName") or "").strip().lower()
    if parent == "standalone":
        kind = "standalone"
    if not name or kind is None:
        return None
    fields = []
    for prop in _properties(obj):
        prop_name = str(prop.get("Name") or "")
        if not prop_name or fold(prop_name) in KEY_PROPERTIES:
            continue
        ftype = _field_type(prop)
        length = prop.get("MaxLength")
        fields.append(
            PanelField(
                name=prop_name,
                label=_label(prop),
                type=ftype,
                length=int(length)
                if ftype is FieldType.STRING and isinstance(length, int) and 0 < length <= 4000
                else None,
                required=bool(prop.get("IsRequired")),
                lookup=str(prop["LookupTable"]) if prop.get("LookupTable") else None,
                description=str(prop.get("Description") or ""),
            )
        )
    try:
        return PanelDefinition(
            name=name,
            kind=kind,
            description=str(wire.find(obj, "Description") or ""),
            fields=fields,
        )
    except ValidationError:
        log.warning("Business object %s is not usable as a panel; it is left out.", name)
        return None


def _field_type(prop: Mapping[str, Any]) -> FieldType:
    """idms's own ``FieldType`` when the definition carries it (the sandbox does), else the
    field type closest to iMIS's ``PropertyTypeName``."""
    exact = str(prop.get("FieldType") or "")
    if exact in KNOWN_TYPES:
        return FieldType(exact)
    type_name = str(prop.get("PropertyTypeName") or "String").strip().lower()
    return PROPERTY_TYPES.get(type_name.removeprefix("system."), FieldType.STRING)


def _properties(obj: Any) -> list[Mapping[str, Any]]:
    if not isinstance(obj, Mapping):
        return []
    return [p for p in wire.values_of(wire.find(obj, "Properties")) if isinstance(p, Mapping)]


def _label(prop: Mapping[str, Any]) -> str | None:
    for key in ("Caption", "Label", "DisplayName"):
        value = prop.get(key)
        if value:
            return str(value)
    return None
