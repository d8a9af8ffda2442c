"""The checks of the iMIS account made before a run (§19 of the feature notes).

The background account must hold the ``SysAdmin`` and ``RemoteService`` roles, and on iMIS
2017 MANAGER's password expires every 90 days: when either goes wrong every job stops half
way with a bare 401/403. Reading both first turns that into one clear finding.

Roles come from ``UserSecurity/_execute GetUserRoles`` (EMS; iMIS 2017 answers 501, so there it
is said that they could not be read). iMIS's ``UserData`` contract has no password date; the
login's ``LastPasswordChangedDate`` (iMIS 2017's ``UserData`` business object; idms's sandbox
adds it to ``FindByName``) and ``ExpirationDate`` are used when iMIS gives them, and the
finding says so when it gives neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from idms.errors import PreflightFailed, TargetError
from idms.targets.findings import Finding
from idms.targets.imis import wire
from idms.targets.imis.client import ImisClient

REQUIRED_ROLES = ("SysAdmin", "RemoteService")
PASSWORD_MAX_AGE_DAYS = 90  # iMIS 2017's (PCI) rotation of MANAGER's password
EXECUTE = "api/UserSecurity/_execute"


def _execute(client: ImisClient, operation: str, *params: str) -> Any:
    answer = client.post(EXECUTE, wire.execute_request("UserSecurity", operation, list(params)))
    return wire.find(answer, "Result") if isinstance(answer, Mapping) else None


def role_findings(client: ImisClient) -> list[Finding]:
    """An error naming the required roles the account lacks (or an info if unreadable)."""
    user = client.username
    try:
        result = _execute(client, "GetUserRoles", user)
    except TargetError as exc:
        return [
            Finding(
                "roles-unknown",
                "info",
                f"iMIS did not say which roles {user} holds ({exc.message}); iMIS 2017 "
                "cannot tell them over REST.",
                f"Make sure {user} is MANAGER or holds the SysAdmin and RemoteService roles.",
            )
        ]
    held = {str(wire.find(r, "RoleName") or "").casefold() for r in wire.values_of(result)}
    missing = [name for name in REQUIRED_ROLES if name.casefold() not in held]
    if not missing:
        return []
    return [
        Finding(
            "missing-roles",
            "error",
            f"The iMIS account {user} lacks the role{'s' if len(missing) > 1 else ''} "
            f"{' and '.join(missing)}: iMIS will refuse idms's changes.",
            f"In iMIS, give {user} the {' and '.join(missing)} role"
            f"{'s' if len(missing) > 1 else ''} (or use an account that has them).",
        )
    ]


def _when(value: Any) -> datetime | None:
    text = wire.unbox(value)
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def password_findings(client: ImisClient, *, now: datetime, warn_days: int = 14) -> list[Finding]:
    """A warning when the account's password (or login) ends within ``warn_days``, an error
    once it has; an info when iMIS gives no date to judge by. ``now`` is naive UTC."""
    user = client.username
    try:
        found = _execute(client, "FindByName", user)
    except TargetError:
        found = None
    found = found if isinstance(found, Mapping) else {}
    ends: list[tuple[datetime, str]] = []
    changed = _when(wire.find(found, "LastPasswordChangedDate"))
    if changed is not None:
        ends.append((changed + timedelta(days=PASSWORD_MAX_AGE_DAYS), "password"))
    expires = _when(wire.find(found, "ExpirationDate"))
    if expires is not None:
        ends.append((expires, "login"))
    if not ends:
        return [
            Finding(
                "password-age-unknown",
                "info",
                f"iMIS does not say when {user}'s password was last changed, so its expiry "
                "cannot be checked.",
                f"If iMIS rotates {user}'s password (iMIS 2017: every "
                f"{PASSWORD_MAX_AGE_DAYS} days), update idms's password when it changes.",
            )
        ]
    end, what = min(ends)
    thing = f"{user}'s password" if what == "password" else f"{user}'s login"
    day = end.date().isoformat()
    if end <= now:
        return [
            Finding(
                "password-expired",
                "error",
                f"{thing} expired on {day}: iMIS will refuse idms's sign-in.",
                f"Change {user}'s password in iMIS, then give idms the new one "
                "(IDMS_IMIS_PASSWORD or 'idms secrets').",
            )
        ]
    if end - now <= timedelta(days=warn_days):
        left = (end.date() - now.date()).days  # calendar days, as the date shown
        return [
            Finding(
                "password-expiring",
                "warning",
                f"{thing} expires on {day} (in {left} day{'s' if left != 1 else ''}); "
                "scheduled jobs will stop then.",
                f"Change {user}'s password in iMIS before then and give idms the new one.",
            )
        ]
    return []


def account_findings(client: ImisClient, *, warn_days: int = 14) -> list[Finding]:
    """The roles and the password of ``client``'s account, checked now."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return role_findings(client) + password_findings(client, now=now, warn_days=warn_days)


def refusal(findings: Iterable[Finding], name: str) -> PreflightFailed | None:
    """The error that refuses to start the run ``name`` on the error findings (or None)."""
    errors = [f for f in findings if f.is_error]
    if not errors:
        return None
    lines = "\n".join(f"  - {f.message} {f.action}".rstrip() for f in errors)
    return PreflightFailed(
        f"{name} was not started; the checks before a run found:\n{lines}",
        hint="See them all with: idms check --job FILE",
    )
