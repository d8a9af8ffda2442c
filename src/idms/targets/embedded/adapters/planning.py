"""Planning a batch: before-images fetched at once, then per change the store's rules (defaults,
counters, lookups, contact references, the source's own checks) and the writes it makes.

The rules idms decides from the declarations alone (writability, key changes, what a login
source's update may do) come from ``idms.sources.rules``, as for every target; the checks here
are those that need the store's data, made as iMIS makes them. A refused change is
:class:`~idms.sources.rules.RowRefused`, which becomes that change's RowError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table

from idms.sources.model import DefaultRule, FieldDef, SourceDef
from idms.sources.rules import RowRefused, insert_values, update_values
from idms.targets.base import ApplyResult, Change, ChangeKind, Record, RowError
from idms.targets.embedded.adapters.context import ApplyContext, StorePolicy
from idms.targets.embedded.adapters.execution import PlannedChange, execute_segment, segments
from idms.targets.embedded.adapters.folding import fold_text
from idms.targets.embedded.adapters.reading import load_contacts
from idms.targets.embedded.adapters.writing import Writing
from idms.targets.embedded.keys import new_guid


class Planning(Writing):
    """Plans and applies a batch of changes; subclasses add rules through the hooks."""

    # Fields holding iMIS IDs that must name existing contacts.
    contact_refs: tuple[str, ...] = ()

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        super().__init__(source, table, policy)
        # The rules' field lists, worked out once rather than per row.
        self._required = [f for f in source.fields if f.required_on_insert]
        with_default = [f for f in source.fields if f.default is not None]
        self._fixed_defaults = [f for f in with_default if f.default and f.default.kind != "field"]
        self._copied_defaults = [f for f in with_default if f.default and f.default.kind == "field"]
        self._lookup_names = frozenset(f.name for f in source.fields if f.lookup is not None)

    def apply(self, ctx: ApplyContext, changes: Sequence[Change]) -> list[ApplyResult]:
        results: list[ApplyResult] = [ApplyResult(ref=c.ref, ok=False) for c in changes]
        wanted = [
            self.identity_of(c.identity or {}) for c in changes if c.kind is not ChangeKind.INSERT
        ]
        current: dict[tuple[Any, ...], Record | None] = dict(self.fetch(ctx.conn, wanted))
        self.load_contacts(ctx, changes)
        self.prepare_batch(ctx, changes)
        planned: list[PlannedChange] = []
        for i, change in enumerate(changes):
            try:
                plan = self._plan(ctx, i, change, current)
            except RowRefused as exc:
                results[i].error = RowError(exc.code, exc.message, exc.field)
                continue
            planned.append(plan)
            if plan.identity is not None and plan.before is not None:
                current[plan.identity] = None
            if plan.after is not None:
                current[self.identity_of(plan.after)] = plan.after
            results[i] = ApplyResult(change.ref, True, plan.before, plan.after)
        self.finish_batch(ctx, planned)
        for segment in segments(planned):
            failed = execute_segment(ctx.conn, segment)
            for index, error in failed.items():
                results[index] = ApplyResult(changes[index].ref, False, error=error)
        return results

    def _plan(
        self,
        ctx: ApplyContext,
        index: int,
        change: Change,
        current: dict[tuple[Any, ...], Record | None],
    ) -> PlannedChange:
        if change.kind is ChangeKind.INSERT:
            after = self.plan_insert(ctx, change)
            return PlannedChange(index, change, None, None, after, self.writes_insert(ctx, after))
        identity = self.identity_of(change.identity or {})
        before = current.get(identity)
        if before is None:
            raise RowRefused(
                "not_found",
                f"No {self.source.label} record with {self._describe_identity(change.identity)}"
                " (it may have been deleted since it was matched).",
            )
        if change.kind is ChangeKind.DELETE:
            self.check_delete(ctx, before)
            return PlannedChange(
                index, change, identity, before, None, self.writes_delete(ctx, before)
            )
        after = self.plan_update(ctx, before, change)
        return PlannedChange(
            index, change, identity, before, after, self.writes_update(ctx, before, after)
        )

    def _describe_identity(self, identity: Mapping[str, Any] | None) -> str:
        identity = identity or {}
        return ", ".join(f"{k} {identity.get(k)!s}" for k in self.source.identity)

    # ---- planning hooks ------------------------------------------------------------------------

    def load_contacts(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """Read, in one query, the contacts this batch's reference fields name."""
        ids = {
            str(c.values[name]).strip()
            for c in changes
            for name in self.contact_refs
            if c.values.get(name) not in (None, "")
        }
        ids -= set(ctx.contacts)
        if ids:
            ctx.contacts.update(load_contacts(ctx.conn, ids))

    def check_contact_refs(self, ctx: ApplyContext, record: Record, names: Any) -> None:
        """Each reference in ``names`` must be a contact's iMIS ID (compared without case); it
        is kept in the contact's own spelling, as lookup codes are."""
        for name in self.contact_refs:
            value = record.get(name)
            if name not in names or value in (None, ""):
                continue
            contact = ctx.contacts.get(fold_text(value))
            if contact is None:
                raise RowRefused(
                    "contact_not_found",
                    f"{self.fields[name].label} {value}: no contact has this iMIS ID.",
                    name,
                )
            record[name] = contact["ImisId"]

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """Set-based look-ups the rules need for the whole batch (taken IDs, parents...)."""

    def finish_batch(self, ctx: ApplyContext, planned: Sequence[PlannedChange]) -> None:
        """Batch-wide bookkeeping after planning (counters raised past supplied IDs...)."""

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        values = insert_values(self.source, self.policy.platform, change.values)
        record: Record = dict.fromkeys(self.columns)
        record.update(values)
        self.apply_defaults(ctx, record, values)
        self.check_required(record)
        self.check_contact_refs(ctx, record, record.keys())
        self.check_lookups(ctx, record, values)
        self.check_insert(ctx, record)
        return record

    def plan_update(self, ctx: ApplyContext, before: Record, change: Change) -> Record:
        values = update_values(self.source, self.policy.platform, before, change.values)
        after = dict(before)
        for name, value in values.items():
            if name in change.append and isinstance(value, tuple):
                value = tuple(dict.fromkeys((before.get(name) or ()) + value))
            after[name] = value
        self.check_contact_refs(ctx, after, values.keys())
        self.check_lookups(ctx, after, values)
        self.check_update(ctx, before, after, values)
        return after

    def apply_defaults(self, ctx: ApplyContext, record: Record, values: Mapping[str, Any]) -> None:
        # Fixed defaults first, then those copied from other fields (GiftDate = TransactionDate).
        for fdef in (*self._fixed_defaults, *self._copied_defaults):
            if fdef.default is None or record.get(fdef.name) is not None:
                continue
            value = self.default_value(ctx, fdef.default, record)
            if value is not None:
                record[fdef.name] = value

    def default_value(self, ctx: ApplyContext, rule: DefaultRule, record: Record) -> Any:
        if rule.kind == "today":
            return ctx.today
        if rule.kind == "constant":
            return rule.value
        if rule.kind == "field":
            return record.get(rule.value)
        if rule.kind == "guid":
            return new_guid()
        return None  # counters are assigned by the subclass that owns them

    def check_required(self, record: Record) -> None:
        for fdef in self._required:
            if record.get(fdef.name) in (None, ""):
                raise RowRefused(
                    "required", f"{fdef.label} is required for a new record.", fdef.name
                )

    def check_lookups(self, ctx: ApplyContext, record: Record, values: Mapping[str, Any]) -> None:
        if ctx.options.skip_validation:
            return
        lookups = self._lookup_names
        for name in values:
            value = record.get(name)
            if name not in lookups or value is None:
                continue
            fdef = self.fields[name]
            assert fdef.lookup is not None
            if isinstance(value, tuple):
                fixed = []
                for item in value:
                    code = ctx.lookups.canonical(fdef.lookup, item)
                    if code is None:
                        raise self.bad_code(fdef, item)
                    fixed.append(code)
                record[name] = tuple(dict.fromkeys(fixed))
            else:
                code = ctx.lookups.canonical(fdef.lookup, str(value))
                if code is None:
                    raise self.bad_code(fdef, value)
                record[name] = code

    @staticmethod
    def bad_code(fdef: FieldDef, value: Any) -> RowRefused:
        return RowRefused(
            "invalid_code",
            f"{fdef.label} '{value}' is not a code in the {fdef.lookup} lookup table.",
            fdef.name,
        )

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        """Source rules for a new record; raise RowRefused to refuse it."""

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        """Source rules for a change; raise RowRefused to refuse it."""

    def check_delete(self, ctx: ApplyContext, before: Record) -> None:
        """Source rules for a delete; raise RowRefused to refuse it."""
