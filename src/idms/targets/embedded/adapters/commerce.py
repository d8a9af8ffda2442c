"""Event registrations and gifts: insert-only sources with the vendor's money rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from idms.sources.rules import RowRefused
from idms.targets.base import Change, Record
from idms.targets.embedded.adapters.base import ApplyContext
from idms.targets.embedded.adapters.numbered import NumberedAdapter
from idms.targets.embedded.schema import event_functions, event_registrations, payment_methods
from idms.values.folding import fold


class EventRegistrationAdapter(NumberedAdapter):
    """The function must belong to the event and have a price; a full option needs Wait List."""

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        super().prepare_batch(ctx, changes)
        f = event_functions.c
        self._functions: dict[tuple[str, str], dict[str, Any]] = {
            (fold(row.event_code), fold(row.function_code)): dict(row._mapping)
            for row in ctx.conn.execute(select(f.event_code, f.function_code, f.price, f.capacity))
        }
        r = event_registrations.c
        counts = (
            select(r.event_code, r.function_code, func.count())
            .where(r.status == "Registered")
            .group_by(r.event_code, r.function_code)
        )
        self._taken = {(fold(e), fold(fn)): int(n) for e, fn, n in ctx.conn.execute(counts)}

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        key = (fold(str(record["EventCode"])), fold(str(record["FunctionCode"])))
        function = self._functions.get(key)
        if function is None:
            raise RowRefused(
                "invalid_function",
                f"Function Code '{record['FunctionCode']}' is not a registration option or program "
                f"item of event {record['EventCode']}.",
                "FunctionCode",
            )
        record["EventCode"], record["FunctionCode"] = (
            function["event_code"],
            function["function_code"],
        )
        if record.get("Price") is None:
            if function["price"] is None:
                raise RowRefused(
                    "no_price",
                    f"Registration option {function['function_code']} has no price in iMIS; "
                    "give it one (or map Price) before registering.",
                    "Price",
                )
            record["Price"] = function["price"]
        capacity = function["capacity"]
        taken = self._taken.get(key, 0)
        if capacity is not None and taken >= capacity:
            if not record.get("Waitlist"):
                raise RowRefused(
                    "function_full",
                    f"{function['function_code']} is full ({capacity} places); map Wait List = Yes "
                    "to join the wait list.",
                    "FunctionCode",
                )
            record["Status"] = "Waitlisted"
        else:
            record["Status"] = "Registered"
            self._taken[key] = taken + 1
        record["Waitlist"] = bool(record.get("Waitlist"))


class GiftAdapter(NumberedAdapter):
    """Credit-card payment methods are refused, as iDMS does."""

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        super().prepare_batch(ctx, changes)
        p = payment_methods.c
        self._types = {
            fold(code): kind
            for code, kind in ctx.conn.execute(select(p.payment_method_id, p.payment_type))
        }

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        method = str(record["PaymentMethodId"])
        if self._types.get(fold(method)) == "CREDIT_CARD":
            raise RowRefused(
                "credit_card_gift",
                f"Payment method {method} is a credit card; gifts paid by card cannot be "
                "imported. Use a cash-type payment method for imported card gifts.",
                "PaymentMethodId",
            )
