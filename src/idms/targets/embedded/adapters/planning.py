"""Planning a batch: before-images fetched at once, then per change the store's rules (defaults,
counters, lookups, contact references, the source's own checks) and the writes it makes.

The rules idms decides from the declarations alone (writability, key changes, what a login
source's update may do) come from ``idms.sources.rules``, and those that need the store's data
(required fields, defaults, lookup codes, contact references, a source's own data rules) from
``idms.sources.checks``, as for every target, over the batch's look-ups (ApplyContext). A
refused change is :class:`~idms.sources.rules.RowRefused`, which becomes that change's RowError.
A plan runs this same code (ApplyOptions.dry_run), in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table

from idms.sources import checks
from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused, insert_values, update_values
from idms.targets.base import ApplyResult, Change, ChangeKind, Record, RowError
from idms.targets.embedded.adapters.context import ApplyContext, StorePolicy
from idms.targets.embedded.adapters.execution import PlannedChange, execute_segment, segments
from idms.targets.embedded.adapters.reading import load_contacts
from idms.targets.embedded.adapters.writing import Writing


class Planning(Writing):
    """Plans and applies a batch of changes; subclasses add rules through the hooks."""

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        super().__init__(source, table, policy)
        # Fields holding iMIS IDs that must name existing contacts.
        self.contact_refs = checks.contact_refs(source)
        # The rules' field lists, worked out once rather than per row.
        self._required = [f for f in source.fields if f.required_on_insert]
        self._defaults = checks.defaults_of(source)
        self._lookup_fields = {f.name: f for f in source.fields if f.lookup is not None}
        self._blank: Record = dict.fromkeys(self.columns)  # a new record before its values

    def apply(self, ctx: ApplyContext, changes: Sequence[Change]) -> list[ApplyResult]:
        results: list[ApplyResult] = []
        wanted = [
            self.identity_of(c.identity or {}) for c in changes if c.kind is not ChangeKind.INSERT
        ]
        current = self.before_images(ctx, wanted)
        self.load_contacts(ctx, changes)
        self.prepare_batch(ctx, changes)
        planned: list[PlannedChange] = []
        identity_of = self.identity_of
        for i, change in enumerate(changes):
            try:
                plan = self._plan(ctx, i, change, current)
            except RowRefused as exc:
                error = RowError(exc.code, exc.message, exc.field)
                results.append(ApplyResult(change.ref, False, error=error))
                continue
            planned.append(plan)
            if plan.identity is not None and plan.before is not None:
                current[plan.identity] = None
            if plan.after is not None:
                current[identity_of(plan.after)] = plan.after
            results.append(ApplyResult(change.ref, True, plan.before, plan.after))
        self.finish_batch(ctx, planned)
        for segment in segments(planned):
            failed = execute_segment(ctx.conn, segment)
            for index, error in failed.items():
                results[index] = ApplyResult(changes[index].ref, False, error=error)
        return results

    def before_images(
        self, ctx: ApplyContext, wanted: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], Record | None]:
        """The current records of ``wanted`` (folded identities): those the batch's match read
        in this transaction (``ctx.matched``, copies), the rest fetched in set-based queries."""
        current: dict[tuple[Any, ...], Record | None] = {}
        missing: list[tuple[Any, ...]] = []
        matched = ctx.matched
        for identity in wanted:
            record = matched.get(identity)
            if record is None:
                missing.append(identity)
            else:
                current[identity] = dict(record)
        if missing:
            current.update(self.fetch(ctx.conn, missing))
        return current

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
        """Each reference in ``names`` must be a contact's iMIS ID (``idms.sources.checks``)."""
        checks.check_contact_refs(self.source, self.contact_refs, record, names, ctx)

    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        """Set-based look-ups the rules need for the whole batch (taken IDs, parents...)."""

    def finish_batch(self, ctx: ApplyContext, planned: Sequence[PlannedChange]) -> None:
        """Batch-wide bookkeeping after planning (counters raised past supplied IDs...)."""

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        values = insert_values(self.source, self.policy.platform, change.values)
        record = self._blank.copy()
        record.update(values)
        checks.fill_defaults(self._defaults, record, ctx.today, ctx.new_guid)
        checks.check_required(self._required, record)
        self.check_contact_refs(ctx, record, record.keys())
        self.check_lookups(ctx, record, values)
        self.check_insert(ctx, record)
        return record

    def plan_update(self, ctx: ApplyContext, before: Record, change: Change) -> Record:
        values = update_values(self.source, self.policy.platform, before, change.values)
        after = dict(before)
        after.update(values)
        for name in change.append:
            value = values.get(name)
            if isinstance(value, tuple):
                after[name] = tuple(dict.fromkeys((before.get(name) or ()) + value))
        self.check_contact_refs(ctx, after, values.keys())
        self.check_lookups(ctx, after, values)
        self.check_update(ctx, before, after, values)
        return after

    def check_lookups(self, ctx: ApplyContext, record: Record, values: Mapping[str, Any]) -> None:
        if not ctx.options.skip_validation:
            checks.check_lookups(self._lookup_fields, record, values, ctx)

    def check_insert(self, ctx: ApplyContext, record: Record) -> None:
        """Source rules for a new record (``idms.sources.checks``, and a subclass's own that
        need the store's tables); raise RowRefused to refuse it."""
        checks.source_insert(self.source, record, ctx)

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        """Source rules for a change; raise RowRefused to refuse it."""
        checks.source_update(self.source, before, after, values, ctx)

    def check_delete(self, ctx: ApplyContext, before: Record) -> None:
        """Source rules for a delete; raise RowRefused to refuse it."""
        checks.source_delete(self.source, before)
