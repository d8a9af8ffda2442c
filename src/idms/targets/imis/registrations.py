"""Event registrations as iMIS's EventRegistrationData, for the REST target and the sandbox alike.

iMIS keeps one registration per event and registrant, ``EventRegistrationId`` ``{EventId}-
{PartyId}``, whose ``Functions`` list the registration option and program items registered for
(``Functions.$values[].EventFunction`` with ``EventFunctionCode``, ``Name``,
``IsEventRegistrationOption``), and a ``Status`` (1 = an active registration, as ACHPER's
scripts check; the sandbox answers 2 when every function is wait-listed, a choice of ours:
the enum is not documented). Shapes follow ASI's Postman collection (the body of "Updates an
EventRegistration by id"), trimmed to what a client reads.

The store keeps one record per registered function (``RegistrationId`` ...): the records of
one event and registrant are one EventRegistrationData, and each function carries in its
``AdditionalAttributes`` what idms stores beyond iMIS's members (``RegistrationId``,
``TransactionDate``, ``Waitlist`` ...), so that :func:`records_from_registration` gives the
records back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from idms.targets.base import Record
from idms.targets.imis import wire

EVENTS = "Asi.Soa.Events.DataContracts"
REGISTRATION = f"{EVENTS}.EventRegistrationData, Asi.Contracts"
FUNCTIONS = f"{EVENTS}.EventFunctionRegistrationDataCollection, Asi.Contracts"
FUNCTION_REGISTRATION = f"{EVENTS}.EventFunctionRegistrationData, Asi.Contracts"
FUNCTION = f"{EVENTS}.EventFunctionData, Asi.Contracts"
EVENT = f"{EVENTS}.EventData, Asi.Contracts"
QUANTITY = (
    "System.Nullable`1[[Asi.Soa.Commerce.DataContracts.QuantityData, Asi.Contracts]], mscorlib"
)
MONEY = (
    "System.Nullable`1[[Asi.Soa.Core.DataContracts.MonetaryAmountData, Asi.Contracts]], mscorlib"
)
ACTIVE = 1
WAITLISTED = 2
# Per function, what the store keeps beyond iMIS's members (AdditionalAttributes).
EXTRA = ("RegistrationId", "TransactionDate", "Waitlist", "Status", "RegisteredById", "BillToId")


def registration_id(event: Any, party: Any) -> str:
    return f"{event}-{party}"


def is_registration(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "EventRegistrationData" in str(obj.get("$type", ""))


def registration_data(
    rows: Sequence[Record],
    *,
    event: Mapping[str, Any] | None = None,
    functions: Mapping[str, Mapping[str, Any]] | None = None,
    registrant_name: str | None = None,
) -> dict[str, Any]:
    """The records of one event and registrant as one EventRegistrationData.

    ``event`` is the Event record, ``functions`` the event's EventFunction records by code; the
    registration option comes first in ``Functions``, as clients read ``$values[0]`` as it.
    """
    first = rows[0]
    event_code, party = first.get("EventCode"), first.get("RegistrantId")
    known = functions or {}

    def option_first(row: Record) -> tuple[bool, str]:
        function = known.get(str(row.get("FunctionCode")), {})
        return (not function.get("IsRegistrationOption"), str(row.get("FunctionCode")))

    ordered = sorted(rows, key=option_first)
    items = [
        _function_registration(row, known.get(str(row.get("FunctionCode")))) for row in ordered
    ]
    dates = [r["TransactionDate"] for r in rows if r.get("TransactionDate") is not None]
    active = any(r.get("Status") != "Waitlisted" for r in rows)
    return {
        "$type": REGISTRATION,
        "EventRegistrationId": registration_id(event_code, party),
        "AdditionalAttributes": wire.collection(
            wire.PROPERTY_COLLECTION, [wire.property_data("AssociatedInvoiceId", None)]
        ),
        "Functions": wire.collection(FUNCTIONS, items),
        "Registrant": {
            "$type": wire.contract("PartyData"),
            "PartyId": party,
            "Id": party,
            "Name": registrant_name,
        },
        "Event": {
            "$type": EVENT,
            "EventId": event_code,
            "EventCode": event_code,
            "Name": (event or {}).get("EventName"),
            "Status": (event or {}).get("Status"),
            "StartDateTime": _date((event or {}).get("StartDate")),
            "EndDateTime": _date((event or {}).get("EndDate")),
        },
        "Status": ACTIVE if active else WAITLISTED,
        "RegistrationDate": _date(min(dates)) if dates else None,
        "RegisteredByPartyId": first.get("RegisteredById") or "",
    }


def _function_registration(row: Record, function: Mapping[str, Any] | None) -> dict[str, Any]:
    code = row.get("FunctionCode")
    price = row.get("Price")
    return {
        "$type": FUNCTION_REGISTRATION,
        "EventFunction": {
            "$type": FUNCTION,
            "EventFunctionId": f"{row.get('EventCode')}/{code}",
            "EventFunctionCode": code,
            "Name": (function or {}).get("FunctionName"),
            "IsEventRegistrationOption": bool((function or {}).get("IsRegistrationOption")),
        },
        "Quantity": {"$type": QUANTITY, "Amount": 1},
        "UnitPrice": {
            "$type": MONEY,
            "Amount": float(price) if isinstance(price, Decimal) else price,
            "IsAmountDefined": price is not None,
        },
        "AdditionalAttributes": wire.collection(
            wire.PROPERTY_COLLECTION, [wire.property_data(k, row.get(k)) for k in EXTRA]
        ),
    }


def _date(value: Any) -> str | None:
    return wire.wire_date(value) if isinstance(value, date) else None


def records_from_registration(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One raw record (wire values, not yet typed) per function of an EventRegistrationData."""
    registrant = obj.get("Registrant")
    party = registrant.get("PartyId") if isinstance(registrant, Mapping) else None
    event = obj.get("Event")
    event_code = event.get("EventId") if isinstance(event, Mapping) else None
    if party is None or event_code is None:
        ident = str(obj.get("EventRegistrationId") or "")
        head, _, tail = ident.rpartition("-")
        event_code, party = event_code or head or None, party or tail or None
    out = []
    for item in wire.values_of(obj.get("Functions")):
        if not isinstance(item, Mapping):
            continue
        function = item.get("EventFunction")
        code = function.get("EventFunctionCode") if isinstance(function, Mapping) else None
        price = item.get("UnitPrice")
        record: dict[str, Any] = {
            "RegistrantId": party,
            "EventCode": event_code,
            "FunctionCode": code,
            "Price": price.get("Amount") if isinstance(price, Mapping) else None,
        }
        record.update(wire.entity_properties({"Properties": item.get("AdditionalAttributes")}))
        out.append(record)
    return out
