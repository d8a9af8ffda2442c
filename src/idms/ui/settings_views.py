"""What the settings page shows, made from the facade's answers: the connection, the secrets
by name, the API tokens, the default task options and the notification settings, as plain
strings (never a secret's
value, a password, or a URL that may hold one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from idms.config import Settings
from idms.facade.admin import Connection
from idms.state.tokens import TokenInfo
from idms.ui.views import when

KIND_WORDS = {
    "embedded": "The embedded store (in the workspace)",
    "database": "A store in a database",
    "rest": "iMIS, over its REST API",
}


def connection_facts(connection: Connection) -> list[tuple[str, str]]:
    facts = [
        ("Target", KIND_WORDS.get(connection.kind, connection.kind)),
        ("Base URL" if connection.kind == "rest" else "Where", connection.address),
        ("Platform", f"iMIS {connection.platform.upper()}"),
    ]
    if connection.kind == "rest":
        facts.append(("User name", connection.user_name or "not set"))
        facts.append(("Queries through", f"/api/{connection.query_endpoint}"))
    return facts


@dataclass(frozen=True)
class SecretRow:
    name: str
    set_at: str
    path: str


def secret_rows(entries: Sequence[tuple[str, datetime]]) -> list[SecretRow]:
    return [SecretRow(n, when(t), f"/settings/secrets/{quote(n, safe='')}") for n, t in entries]


@dataclass(frozen=True)
class TokenRow:
    name: str
    created: str
    last_used: str
    status: str
    active: bool
    path: str


def token_rows(infos: Sequence[TokenInfo]) -> list[TokenRow]:
    return [
        TokenRow(
            name=i.name,
            created=when(i.created_at),
            last_used=when(i.last_used_at) or "never",
            status="active" if i.active else f"revoked {when(i.revoked_at)}",
            active=i.active,
            path=f"/settings/tokens/{quote(i.name, safe='')}",
        )
        for i in infos
    ]


def notification_facts(settings: Settings) -> list[tuple[str, str]]:
    """What the settings say about notifications; addresses that may hold a password or a
    token (the SMTP server's, the webhook's) are only said to be set."""
    emails = ", ".join(settings.notify_email)
    return [
        ("Notify on", settings.notify_on),
        ("E-mail to", emails or "nobody"),
        ("E-mail from", settings.notify_from or "not set"),
        ("Mail server (SMTP)", "set" if settings.smtp_url else "not set"),
        ("Webhook", "set" if settings.notify_webhook_url else "not set"),
        ("Webhook signing secret", "set" if settings.notify_webhook_secret else "not set"),
        ("Change notifications", f"{len(settings.change_notify_urls)} address(es)"),
    ]


@dataclass(frozen=True)
class OptionRow:
    """A default task option on the settings page: the installation's value ('' when none is
    set) and the built-in one a blank field stands for."""

    name: str
    value: str
    built_in: str


def option_rows(stored: Mapping[str, Any]) -> list[OptionRow]:
    from idms.jobs.options import INSTALLATION_WIDE, effective_defaults, option_text

    built_in = effective_defaults({})
    return [
        OptionRow(
            name, option_text(stored[name]) if name in stored else "", option_text(built_in[name])
        )
        for name in INSTALLATION_WIDE
    ]
