"""Group members: a contact's roles in a group (committee, chapter, company)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from idms.sources.rules import RowRefused
from idms.targets.base import Change, Record
from idms.targets.embedded.adapters.base import ApplyContext, SourceAdapter
from idms.targets.embedded.schema import group_roles
from idms.values.folding import fold

ROLES = "group_roles"


class GroupMemberAdapter(SourceAdapter):
    def prepare_batch(self, ctx: ApplyContext, changes: Sequence[Change]) -> None:
        self._roles: dict[str, dict[str, str]] = {}
        for group, role in ctx.conn.execute(
            select(group_roles.c.group_name, group_roles.c.role_name)
        ):
            self._roles.setdefault(fold(group), {})[fold(role)] = role

    def plan_insert(self, ctx: ApplyContext, change: Change) -> Record:
        explicit_role = change.values.get("RoleName")
        record = super().plan_insert(ctx, change)
        roles = self._roles.get(fold(str(record["GroupName"])), {})
        if not explicit_role and "member" not in roles:
            raise RowRefused(
                "required",
                f"Group {record['GroupName']} has no Member role: map Role Name.",
                "RoleName",
            )
        self._check_role(record, roles)
        if record.get("IsActive") is None:
            record["IsActive"] = True
        return record

    def check_update(
        self, ctx: ApplyContext, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        self._check_role(after, self._roles.get(fold(str(after["GroupName"])), {}))

    def _check_role(self, record: Record, roles: dict[str, str]) -> None:
        role = str(record.get("RoleName") or "")
        canonical = roles.get(fold(role))
        if canonical is None:
            known = ", ".join(sorted(roles.values())) or "none"
            raise RowRefused(
                "invalid_role",
                f"Role Name '{role}' is not a role of group {record['GroupName']} "
                f"(roles: {known}).",
                "RoleName",
            )
        record["RoleName"] = canonical
