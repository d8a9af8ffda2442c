"""Business-object definitions: ``GET /api/BoEntityDefinition`` and ``/api/metadata/{Type}`` (§4.4).

``BoEntityDefinition`` lists every panel; ``metadata`` describes any entity the sandbox serves as
GenericEntityData (panels, Activity, CommunicationPreferences with one Boolean per preference
...), and answers 501 for the others. Besides iMIS's ``Name``, ``PropertyTypeName``,
``IsIdentity`` and ``MaxLength``, each property carries idms's ``LookupTable``, ``IsRequired``,
``Label``, ``Description`` and ``FieldType`` (the exact idms field type, so a client can rebuild
the panel's fields without loss).
"""

from __future__ import annotations

from typing import Any

from idms.sandbox.context import Sandbox
from idms.sandbox.http import Reply, not_implemented, ok
from idms.sandbox.paging import ListQuery
from idms.sources.model import FieldDef, SourceDef
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec, spec_for
from idms.values.types import FieldType

DEFINITION = "Asi.Soa.Core.DataContracts.BOEntityDefinitionData, Asi.Contracts"
PROPERTIES = "Asi.Soa.Core.DataContracts.PropertyTypeDataCollection, Asi.Contracts"
TYPE_NAMES = {
    FieldType.INTEGER: "Integer",
    FieldType.DECIMAL: "Decimal",
    FieldType.BOOLEAN: "Boolean",
    FieldType.DATE: "Date",
    FieldType.DATETIME: "DateTime",
    FieldType.CODE: "Code",
    FieldType.MULTISELECT: "MultiSelect",
}
CONTRACT_TYPES = {"Date": "DateTime", "Code": "String", "MultiSelect": "String"}
OBJECT_TYPES = {"single": "Single", "multi": "Multi", "standalone": "Standalone"}
NOT_GENERIC = frozenset({"Contact", "UserCredentials"})


def property_definition(spec: EntitySpec, source: SourceDef, fdef: FieldDef) -> dict[str, Any]:
    type_name = TYPE_NAMES.get(fdef.type, "String")
    contract_type = CONTRACT_TYPES.get(type_name, type_name)
    return {
        "$type": f"Asi.Soa.Core.DataContracts.PropertyType{contract_type}Data, Asi.Contracts",
        "Name": spec.wire_name(fdef.name),
        "PropertyTypeName": type_name,
        "IsIdentity": fdef.name in source.identity,
        "MaxLength": fdef.max_length,
        "LookupTable": fdef.lookup,
        "IsRequired": fdef.required_on_insert,
        "IsReadOnly": fdef.read_only,
        "Label": fdef.label,
        "Description": fdef.description,
        "FieldType": fdef.type.value,
    }


def definition(source: SourceDef, spec: EntitySpec) -> dict[str, Any]:
    """A source as BOEntityDefinitionData."""
    fields = [f for f in source.fields if not f.secret and not f.write_only]
    return {
        "$type": DEFINITION,
        "EntityTypeName": spec.entity,
        "ObjectTypeName": OBJECT_TYPES.get(source.panel_kind or "", "Standard"),
        "PrimaryParentEntityTypeName": spec.parent,
        "Description": source.description,
        "Properties": wire.collection(
            PROPERTIES, [property_definition(spec, source, f) for f in fields]
        ),
    }


class Discovery:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def definitions(self, query: ListQuery) -> Reply:
        panels = [s for s in self.sb.target.sources() if s.kind == "panel"]
        wanted = query.raw_filter("EntityTypeName")
        if wanted is not None:
            name = wanted.partition(":")[2] if ":" in wanted else wanted
            panels = [s for s in panels if s.name.casefold() == name.strip().casefold()]
        page = panels[query.offset : query.offset + query.limit]
        items = [definition(s, spec_for(s)) for s in page]
        return ok(
            wire.paged_result(
                items, DEFINITION, offset=query.offset, limit=query.limit, total=len(panels)
            )
        )

    def metadata(self, entity: str) -> Reply:
        found = self.sb.entity(entity)
        if found is None or found[0].name in NOT_GENERIC:
            raise not_implemented()
        source, spec = found
        return ok(definition(source, spec))
