"""Gifts and event registrations: the two sources iMIS writes through special entry points (§8).

* ``GET /api/Gift`` reads gifts as GenericEntityData; ``POST /api/GiftInformationBatch`` with
  ``Gifts.$values`` of GenericEntityData stores them (201 with the stored gifts). Approximate:
  the real ``GiftInformationData`` field list is not public.
* ``GET /api/EventRegistration`` reads registrations; ``POST /api/EventRegistration/_execute``
  ``RegisterEvent`` (an EventRegistrationRequest) registers, ``CancelEventRegistration``
  [RegistrationId] cancels, which the store refuses: registrations are insert-only in iDMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idms.errors import CoercionError
from idms.sandbox.context import Sandbox, failure
from idms.sandbox.entities import entity_of, entity_values, properties
from idms.sandbox.http import ApiError, Reply, created, invalid, not_found, not_implemented, ok
from idms.sandbox.paging import ListQuery, passes
from idms.sources.filters import Filter, Operator
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.imis import registrations, wire
from idms.targets.imis.entities import spec_for, typed

GIFT = "Gift"
REGISTRATION = "EventRegistration"
BATCH = "Asi.Soa.Fundraising.DataContracts.GiftInformationBatchData, Asi.Contracts"
# EventRegistrationRequest key -> EventRegistration field.
REQUEST_FIELDS = {
    "RegistrantId": "RegistrantId",
    "EventId": "EventCode",
    "FunctionId": "FunctionCode",
    "RegistrationOptionFunctionId": "FunctionCode",
    "RegisteredBy": "RegisteredById",
    "BillTo": "BillToId",
    "Waitlist": "Waitlist",
    "Price": "Price",
    "TransactionDate": "TransactionDate",
}


class Commerce:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    # ---- gifts ----------------------------------------------------------------------------------

    def gift_batch(self, body: dict[str, Any]) -> Reply:
        """Store a batch's gifts; 201 with them, or 400 naming the refused ones by position.

        Each gift is applied on its own merits, as iMIS's batch entry saves the good ones: when
        some are refused the 400 body also carries ``Gifts`` with those that were stored.
        """
        source = self.sb.source(GIFT)
        spec = spec_for(source)
        gifts = wire.values_of(wire.find(body, "Gifts"))
        if not gifts or not all(isinstance(g, Mapping) for g in gifts):
            raise invalid("The batch holds no gifts (Gifts.$values).", "required", "Gifts")
        changes = [
            Change(ChangeKind.INSERT, entity_values(spec, source, dict(g)), ref=i)
            for i, g in enumerate(gifts)
        ]
        results = self.sb.apply(GIFT, changes)
        stored: list[dict[str, Any]] = []
        errors: list[tuple[str, str | None, str | None]] = []
        for i, result in enumerate(results):
            if result.ok and result.after is not None:
                record = self.sb.find(GIFT, {"GiftId": result.after["GiftId"]}) or result.after
                stored.append(entity_of(spec, source, record))
            elif result.error is not None:
                prefix = f"Gift {i + 1}: " if len(results) > 1 else ""
                errors.append(
                    (prefix + result.error.message, result.error.code, result.error.field)
                )
        answer = {
            "$type": BATCH,
            "Gifts": wire.collection(wire.list_type(wire.GENERIC_ENTITY), stored),
        }
        if errors:
            raise ApiError(400, {**wire.validation_results(errors), "Gifts": answer["Gifts"]})
        return created(answer)

    # ---- event registrations -------------------------------------------------------------------

    def execute_registration(self, body: dict[str, Any]) -> Reply:
        _, operation, parameters = wire.parse_execute(body)
        op = operation.casefold()
        if op == "registerevent":
            request = body
            if wire.find(body, "EventId") is None and parameters:
                first = parameters[0]
                request = dict(first) if isinstance(first, Mapping) else body
            return self._register(request)
        if op == "cancelregistration" or op == "canceleventregistration":
            if len(parameters) != 1:
                raise invalid("ArgumentFault: Incorrect number of parameters", "parameter_count")
            return self._cancel(str(parameters[0]))
        raise not_implemented()

    def _register(self, request: Mapping[str, Any]) -> Reply:
        source = self.sb.source(REGISTRATION)
        values: dict[str, Any] = {}
        for key, name in REQUEST_FIELDS.items():
            raw = wire.unbox(wire.find(request, key))
            if raw in (None, "") or name in values:
                continue
            if name == "FunctionCode":
                raw = str(raw).rsplit("/", 1)[-1]  # FunctionId is EVENT/FUNCTION
            fdef = source.field(name)
            try:
                values[name] = typed(fdef.type, raw, fdef.label)
            except CoercionError as exc:
                raise invalid(exc.message, exc.code, name) from None
        registered = self._functions_of(values.get("EventCode"), values.get("RegistrantId"))
        function = str(values.get("FunctionCode") or "").casefold()
        already = [r for r in registered if str(r["FunctionCode"]).casefold() == function]
        if registered and (already or not function):
            return ok(wire.execute_response(self._data(registered)))  # not registered again
        self.sb.write(REGISTRATION, Change(ChangeKind.INSERT, values))
        rows = self._functions_of(values["EventCode"], values["RegistrantId"])
        return ok(wire.execute_response(self._data(rows)))

    def _functions_of(self, event: Any, party: Any) -> list[Record]:
        """The records of one event and registrant (text compared without case)."""
        if event in (None, "") or party in (None, ""):
            return []
        keys = {"EventCode": event, "RegistrantId": party}
        return self.sb.target.match(REGISTRATION, list(keys), [keys])[0]

    def _registration(self, ident: str) -> list[Record]:
        """A registration's records by ``{EventId}-{PartyId}`` (or one record's RegistrationId)."""
        rows: list[Record] = []
        if ident.strip().isdigit():
            record = self.sb.find(REGISTRATION, {"RegistrationId": int(ident)})
            if record is not None:
                rows = self._functions_of(record["EventCode"], record["RegistrantId"])
        else:
            event, _, party = ident.rpartition("-")
            rows = self._functions_of(event, party)
        if not rows:
            raise not_found(f"No event registration was found with the identity '{ident}'.")
        return rows

    def _data(self, rows: list[Record]) -> dict[str, Any]:
        """Records of one event and registrant as EventRegistrationData."""
        event_code = rows[0]["EventCode"]
        event = self.sb.find("Event", {"EventCode": event_code})
        functions = {
            str(f["FunctionCode"]): f
            for f in self.sb.target.read(
                "EventFunction", [Filter("EventCode", Operator.EQ, event_code)]
            )
        }
        party = self.sb.find("Contact", {"ImisId": rows[0]["RegistrantId"]}) or {}
        name = party.get("OrganizationName") if party.get("IsOrganization") else None
        if not party.get("IsOrganization"):
            name = " ".join(str(p) for p in (party.get("FirstName"), party.get("LastName")) if p)
        return registrations.registration_data(
            rows, event=event, functions=functions, registrant_name=name or None
        )

    def get_registration(self, ident: str) -> Reply:
        return ok(self._data(self._registration(ident)))

    def registrations(self, query: ListQuery) -> Reply:
        """The registrations one of whose functions passes the query's filters, paged."""
        source = self.sb.source(REGISTRATION)
        filters = properties(source, spec_for(source)).filters(query)
        groups: dict[tuple[str, str], list[Record]] = {}
        # In the store's order (registration IDs ascending), each at its first function's place.
        for record in self.sb.target.read(REGISTRATION, order_by=["RegistrationId"]):
            key = (str(record["EventCode"]), str(record["RegistrantId"]))
            groups.setdefault(key, []).append(record)
        kept = [
            rows
            for rows in groups.values()
            if any(all(passes(r, f) for f in filters) for r in rows)
        ]
        page = kept[query.offset : query.offset + query.limit]
        items = [self._data(rows) for rows in page]
        return ok(
            wire.paged_result(
                items,
                registrations.REGISTRATION,
                offset=query.offset,
                limit=query.limit,
                total=len(kept),
            )
        )

    def _cancel(self, ident: str) -> Reply:
        record = self._registration(ident)[0]
        identity = {"RegistrationId": record["RegistrationId"]}
        result = self.sb.apply(REGISTRATION, [Change(ChangeKind.DELETE, identity=identity)])[0]
        if not result.ok:
            raise failure(result)
        return ok(wire.execute_response(True))
