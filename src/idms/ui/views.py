"""What the pages show, made from the facade's answers: plain strings and flags, so the
templates only place them (no formatting, no decisions in a template)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from idms.runs.status import Outcome
from idms.state.users import Role, UserInfo

STATUS_WORDS = {
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Succeeded",
    "completed_with_errors": "Completed with errors",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "planned": "Planned",
}
# The look of a status: ok | warn | bad | busy | quiet (a class in idms.css).
STATUS_TONES = {
    "succeeded": "ok",
    "completed_with_errors": "warn",
    "failed": "bad",
    "queued": "busy",
    "running": "busy",
}
COUNT_ORDER = [o.count_key for o in Outcome]


def when(moment: datetime | None) -> str:
    """A moment in the server's local time, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def counts_text(counts: dict[str, int]) -> str:
    """``3 inserted · 1 error`` with the outcomes in their usual order, zeros left out."""
    parts = [
        f"{counts[k]:,} {'error' if k == 'errors' and counts[k] == 1 else k}"
        for k in COUNT_ORDER
        if counts.get(k)
    ]
    return " · ".join(parts) or "no rows"


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    added: str
    last_sign_in: str
    status: str
    is_you: bool
    path: str  # the user's URL under /users, the name quoted


def user_rows(infos: Sequence[UserInfo], you: str) -> list[UserRow]:
    return [
        UserRow(
            name=i.name,
            role=i.role.value,
            added=when(i.created_at),
            last_sign_in=when(i.last_sign_in_at) or "never",
            status="disabled" if i.disabled else "active",
            is_you=i.id == you,
            path=f"/users/{quote(i.name, safe='')}",
        )
        for i in infos
    ]


ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in reversed(Role)]
ROLE_HELP = "Viewers see runs; editors also run jobs; admins also manage users and settings."
