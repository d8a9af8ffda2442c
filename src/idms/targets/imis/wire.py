"""The iMIS REST wire format, in one place for the client and the sandbox alike.

Json.NET conventions (imis-rest-api.md §0, §2.3, §4.1, §6.2, §9): objects carry ``$type``;
collections are ``{"$type": ..., "$values": [...]}``; non-string scalars inside loosely typed
slots are boxed as ``{"$type": "System.Int32", "$value": 5}``; a null property has no ``Value``
key; dates are ISO-8601 without a time zone. The REST client encodes requests and decodes
responses with these functions; the sandbox decodes requests and encodes responses with the very
same ones, so the two cannot disagree.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from idms import jsontext
from idms.errors import FilterError
from idms.sources.filters import Filter, Operator, parse_operator

CONTRACTS = "Asi.Contracts"
GENERIC_ENTITY = "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
IDENTITY = "Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts"
STRING_COLLECTION = (
    "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"
)
OBJECT_COLLECTION = (
    "System.Collections.ObjectModel.Collection`1[[System.Object, mscorlib]], mscorlib"
)
PROPERTY_COLLECTION = "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts"
PROPERTY = "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"
EXECUTE_REQUEST = "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts"
SERVICE_RESPONSE = "Asi.Soa.Core.DataContracts.ServiceResponse, Asi.Contracts"
VALIDATION_RESULTS = "Asi.Soa.Core.DataContracts.ValidationResultsData, Asi.Contracts"
VALIDATION_COLLECTION = "Asi.Soa.Core.DataContracts.ValidationResultDataCollection, Asi.Contracts"
VALIDATION_RESULT = "Asi.Soa.Core.DataContracts.ValidationResultData, Asi.Contracts"
HTTP_ERROR = "System.Web.Http.HttpError, System.Web.Http"
DENIED = "Authorization has been denied for this request."
EXPANDO = "System.Dynamic.ExpandoObject, System.Core"

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def contract(name: str) -> str:
    """``PersonData`` -> the full ``$type`` of a Membership data contract."""
    return f"Asi.Soa.Membership.DataContracts.{name}, {CONTRACTS}"


def paged_type(item_type: str) -> str:
    inner = item_type.removesuffix(", Asi.Contracts")
    return f"Asi.Soa.Core.DataContracts.PagedResult`1[[{inner}, Asi.Contracts]], Asi.Contracts"


def list_type(item_type: str) -> str:
    inner = item_type.removesuffix(", Asi.Contracts")
    return f"System.Collections.Generic.List`1[[{inner}, Asi.Contracts]], mscorlib"


def collection(type_name: str, values: Iterable[Any]) -> dict[str, Any]:
    return {"$type": type_name, "$values": list(values)}


def values_of(value: Any) -> list[Any]:
    """The items of a ``$values`` collection (or of a plain list); [] for None."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.get("$values") or [])
    if isinstance(value, list):
        return value
    return [value]


# ---- scalars -----------------------------------------------------------------------------------


def wire_date(value: date | datetime) -> str:
    """ISO-8601 without a time zone; a date is midnight."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    return f"{value.isoformat()}T00:00:00"


def json_default(value: Any) -> Any:
    """What JSON has no type for, as iMIS writes it: dates without a zone, decimals as numbers.

    Everything else as the suite's one JSON codec writes it (:func:`idms.jsontext.default`).
    """
    if isinstance(value, datetime | date):
        return wire_date(value)
    if isinstance(value, Decimal):
        return float(value)
    return jsontext.default(value)


def dumps(body: Any) -> str:
    """A request or response body as JSON text (compact, UTF-8, dates in the wire's form)."""
    return jsontext.dumps(body, default=json_default, native_dates=False)


def box(value: Any) -> Any:
    """A Python value as iMIS writes it in a GenericPropertyData ``Value``."""
    if isinstance(value, bool):
        return {"$type": "System.Boolean", "$value": value}
    if isinstance(value, int):
        kind = "System.Int32" if -(2**31) <= value < 2**31 else "System.Int64"
        return {"$type": kind, "$value": value}
    if isinstance(value, Decimal):
        return {"$type": "System.Decimal", "$value": float(value)}
    if isinstance(value, float):
        return {"$type": "System.Double", "$value": value}
    if isinstance(value, datetime | date):
        return wire_date(value)
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return value


def unbox(value: Any) -> Any:
    """A ``Value`` as a Python value: boxed numbers and booleans unwrapped, decimals exact."""
    if isinstance(value, Mapping) and "$value" in value:
        kind = str(value.get("$type", ""))
        inner = value["$value"]
        if kind.startswith(("System.Decimal", "System.Double")):
            return Decimal(str(inner)) if inner is not None else None
        if kind.startswith("System.Int"):
            return int(inner) if inner is not None else None
        if kind.startswith("System.Boolean"):
            return bool(inner) if not isinstance(inner, str) else inner.lower() == "true"
        return inner
    return value


# ---- generic entities --------------------------------------------------------------------------


def identity(entity_type: str, elements: Sequence[Any]) -> dict[str, Any]:
    return {
        "$type": IDENTITY,
        "EntityTypeName": entity_type,
        "IdentityElements": collection(
            STRING_COLLECTION, ["" if e is None else str(e) for e in elements]
        ),
    }


def property_data(name: str, value: Any) -> dict[str, Any]:
    prop: dict[str, Any] = {"$type": PROPERTY, "Name": name}
    if value is not None:
        prop["Value"] = box(value)
    return prop


def generic_entity(
    entity_type: str,
    elements: Sequence[Any] | None,
    properties: Mapping[str, Any],
    *,
    parent_type: str | None = None,
    parent_elements: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """A GenericEntityData object; a None property value is written without ``Value``."""
    obj: dict[str, Any] = {"$type": GENERIC_ENTITY, "EntityTypeName": entity_type}
    if parent_type is not None:
        obj["PrimaryParentEntityTypeName"] = parent_type
    if elements is not None:
        obj["Identity"] = identity(entity_type, elements)
    if parent_type is not None and parent_elements is not None:
        obj["PrimaryParentIdentity"] = identity(parent_type, parent_elements)
    obj["Properties"] = collection(
        PROPERTY_COLLECTION, [property_data(k, v) for k, v in properties.items()]
    )
    return obj


def entity_properties(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A GenericEntityData's properties by name (unboxed; a property without Value is None)."""
    out: dict[str, Any] = {}
    for prop in values_of(obj.get("Properties")):
        if isinstance(prop, Mapping) and "Name" in prop:
            out[str(prop["Name"])] = unbox(prop.get("Value"))
    return out


def identity_elements(obj: Mapping[str, Any], key: str = "Identity") -> list[str]:
    ident = obj.get(key)
    if not isinstance(ident, Mapping):
        return []
    return [str(e) for e in values_of(ident.get("IdentityElements"))]


def find(mapping: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A key looked up without case, as iMIS property and field names are."""
    if type(mapping) is dict:
        value = mapping.get(name, _ABSENT)
        if value is not _ABSENT:
            return value
    elif isinstance(mapping, dict):  # a subclass's ``in`` may itself match without case
        if dict.__contains__(mapping, name):
            return dict.__getitem__(mapping, name)
    elif name in mapping:
        return mapping[name]
    key = _folded_key(mapping, name)
    return default if key is None else mapping[key]


def spelled(mapping: Mapping[str, Any], name: str) -> str | None:
    """The key of ``mapping`` that is ``name`` without case (``name`` itself first), or None."""
    if dict.__contains__(mapping, name) if isinstance(mapping, dict) else name in mapping:
        return name
    return _folded_key(mapping, name)


def _folded_key(mapping: Mapping[str, Any], name: str) -> str | None:
    """The first key of ``mapping`` that is ``name`` without case, or None.

    The objects of one contract come with the same members, so the index of their folded
    names is made once per set of names (the keys, in order) and kept (a few hundred sets at
    most): reading a Party looks up some ninety members, many of them absent.
    """
    keys = tuple(mapping)
    index = _FOLDED_KEYS.get(keys)
    if index is None:
        index = {}
        for key in keys:
            if isinstance(key, str):
                index.setdefault(key.casefold(), key)
        if len(_FOLDED_KEYS) >= _FOLDED_KEYS_MAX:
            _FOLDED_KEYS.clear()
        _FOLDED_KEYS[keys] = index
    return index.get(name.casefold())


_ABSENT = object()
# The folded-name index of each set of member names ``spelled`` has seen (bounded, then cleared).
_FOLDED_KEYS: dict[tuple[Any, ...], dict[str, str]] = {}
_FOLDED_KEYS_MAX = 512


def copied(value: Any) -> Any:
    """A copy of decoded JSON (dicts and lists copied all the way down, the scalars shared), as
    ``copy.deepcopy`` makes it, in a fifth of the time; anything else is deep-copied."""
    kind = type(value)
    if kind is dict:
        return {k: copied(v) for k, v in value.items()}
    if kind is list:
        return [copied(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


_SCALARS = frozenset({str, int, float, bool, type(None)})


# ---- paging ------------------------------------------------------------------------------------


def clamp_limit(raw: str | int | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(value, MAX_LIMIT))


def paged_result(
    items: Sequence[Any], item_type: str, *, offset: int, limit: int, total: int
) -> dict[str, Any]:
    has_next = offset + len(items) < total
    return {
        "$type": paged_type(item_type),
        "Items": collection(list_type(item_type), items),
        "Offset": offset,
        "Limit": limit,
        "Count": len(items),
        "TotalCount": total,
        "NextPageLink": None,
        "HasNext": has_next,
        "NextOffset": offset + len(items) if has_next else 0,
    }


def query_result(
    items: Sequence[Mapping[str, Any]], *, offset: int, limit: int, total: int
) -> dict[str, Any]:
    """The ``/api/query`` envelope: ExpandoObject rows, plain values."""
    has_next = offset + len(items) < total
    rows = [{"$type": EXPANDO, **{k: _plain(v) for k, v in row.items()}} for row in items]
    return {
        "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
        "Items": collection(
            "System.Collections.Generic.List`1[[System.Object, mscorlib]], mscorlib", rows
        ),
        "Offset": offset,
        "Limit": limit,
        "Count": len(items),
        "TotalCount": total,
        "NextPageLink": None,
        "HasNext": has_next,
        "NextOffset": offset + len(items) if has_next else 0,
    }


RESULT_ROW = "ResultRow"


def iqa_row(entity_type: str, row_number: int, values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A row of ``/api/iqa`` (§7.1): GenericEntityData without ``Identity``, whose first property
    is ``ResultRow`` (the 1-based row number over the whole result, as text), then each column
    by alias, boxed; a null column is a property without ``Value``."""
    properties = [property_data(RESULT_ROW, str(row_number))]
    properties.extend(property_data(alias, value) for alias, value in values)
    return {
        "$type": GENERIC_ENTITY,
        "EntityTypeName": entity_type,
        "Properties": collection(PROPERTY_COLLECTION, properties),
    }


def query_row(item: Any) -> dict[str, Any]:
    """A row of ``/api/iqa`` (GenericEntityData) or ``/api/query`` (ExpandoObject) as unboxed
    values by column name, in the row's order; ``ResultRow`` and ``$type`` are left out."""
    if not isinstance(item, Mapping):
        return {}
    if "Properties" in item:
        values = entity_properties(item)
    else:
        values = {str(k): unbox(v) for k, v in item.items() if k != "$type"}
    values.pop(RESULT_ROW, None)
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return wire_date(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return ",".join(value)
    return value


def page_items(obj: Mapping[str, Any]) -> tuple[list[Any], bool, int, int]:
    """(items, has_next, next_offset, total) from a PagedResult."""
    items = values_of(obj.get("Items"))
    has_next = bool(obj.get("HasNext"))
    next_offset = int(obj.get("NextOffset") or 0)
    total = int(obj.get("TotalCount") or 0)
    return items, has_next, next_offset, total


# ---- errors ------------------------------------------------------------------------------------


def validation_results(errors: Iterable[tuple[str, str | None, str | None]]) -> dict[str, Any]:
    """A 400 body: (message, code, property) per error.

    ``Code`` and ``PropertyName`` are idms's additions to iMIS's ``Message`` (which clients rely
    on); a real iMIS sends only the message, and the client copes with either.
    """
    items = []
    for message, code, prop in errors:
        item: dict[str, Any] = {"$type": VALIDATION_RESULT, "Message": message}
        if code:
            item["Code"] = code
        if prop:
            item["PropertyName"] = prop
        items.append(item)
    return {
        "$type": VALIDATION_RESULTS,
        "Errors": collection(VALIDATION_COLLECTION, items),
        "Warnings": collection(VALIDATION_COLLECTION, []),
    }


def validation_errors(body: Any) -> list[tuple[str, str | None, str | None]]:
    """(message, code, property) from a ValidationResults body (or a wrapped one), else []."""
    if not isinstance(body, Mapping):
        return []
    if "ValidationResults" in body and isinstance(body["ValidationResults"], Mapping):
        body = body["ValidationResults"]
    out = []
    for item in values_of(body.get("Errors")):
        if isinstance(item, Mapping) and item.get("Message"):
            out.append((str(item["Message"]), item.get("Code"), item.get("PropertyName")))
    return out


def http_error(message: str = DENIED) -> dict[str, Any]:
    return {"$type": HTTP_ERROR, "Message": message}


# ---- execute -----------------------------------------------------------------------------------


def execute_request(
    entity: str, operation: str, parameters: Sequence[Any], *, boxed: bool = True
) -> dict[str, Any]:
    """A GenericExecuteRequest; ``boxed`` picks the current encoding, else the 20.3.44 one."""
    if boxed:
        values = [{"$type": "System.String", "$value": p} if isinstance(p, str) else box(p)
                  for p in parameters]  # fmt: skip
        types_key = "ParameterTypeName"
    else:
        values = list(parameters)
        types_key = "ParameterTypeNames"
    return {
        "$type": EXECUTE_REQUEST,
        "EntityTypeName": entity,
        "OperationName": operation,
        "Parameters": collection(OBJECT_COLLECTION, values),
        types_key: collection(STRING_COLLECTION, [_type_name(p) for p in parameters]),
        "UseJson": False,
    }


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32"
    return "System.String"


def parse_execute(body: Mapping[str, Any]) -> tuple[str, str, list[Any]]:
    """(entity, operation, parameters) from either parameter encoding and key spelling."""
    entity = str(find(body, "EntityTypeName") or "")
    operation = str(find(body, "OperationName") or "")
    parameters = [unbox(p) for p in values_of(find(body, "Parameters"))]
    return entity, operation, parameters


def execute_response(result: Any, *, message: str | None = None) -> dict[str, Any]:
    return {
        "$type": SERVICE_RESPONSE,
        "Result": result,
        "IsSuccessStatusCode": True,
        "Message": message,
        "StatusCode": 200,
        "ValidationResults": validation_results([]),
        "IsCachedResult": False,
        "ReasonPhrase": "OK",
    }


# ---- filters in the query string ---------------------------------------------------------------


def filter_param(flt: Filter) -> tuple[str, str]:
    """A Filter as ``(Property, "op:value")`` (lists joined with ``|``)."""
    op = flt.op
    if not op.takes_value:
        return flt.field, f"{op.value}:"
    value = flt.value
    if isinstance(value, tuple | list):
        text = "|".join(_filter_text(v) for v in value)
    else:
        text = _filter_text(value)
    return flt.field, f"{op.value}:{text}"


def _filter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return wire_date(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def parse_filter_param(name: str, raw: str) -> Filter:
    """``Prop=op:value`` (or bare ``Prop=value``) as a Filter; ``in``/``between`` take ``a|b``."""
    op_name, colon, value = raw.partition(":")
    op = Operator.EQ
    if colon:
        try:
            op = parse_operator(op_name)
        except FilterError:
            op, value = Operator.EQ, raw
    else:
        value = raw
    if op in (Operator.IN, Operator.BETWEEN):
        sep = "|" if "|" in value else ","
        parts = tuple(v.strip() for v in value.split(sep))
        return Filter(name, op, parts)
    return Filter(name, op, value if op.takes_value else None)
