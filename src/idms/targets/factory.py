"""Opening the target a Settings names: the embedded store, or an iMIS over REST.

``embedded``, ``sqlite:///...`` and ``postgresql://...`` open the embedded store;
``imis+https://HOST/[PREFIX]`` (or ``imis+http://``) opens a :class:`RestTarget` with the REST
account from ``IDMS_IMIS_USERNAME`` / ``IDMS_IMIS_PASSWORD``, or else from the workspace's
encrypted secrets ``imis.username`` / ``imis.password`` (``idms secrets set imis.password``);
saved queries run through ``settings.imis_query_endpoint`` (``/api/iqa`` or ``/api/query``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from idms.config import Settings, target_kind
from idms.errors import ConfigError, SecretError
from idms.targets.base import FullTarget

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from idms.sources.model import SourceDef

USERNAME_VARIABLE = "IDMS_IMIS_USERNAME"
PASSWORD_VARIABLE = "IDMS_IMIS_PASSWORD"
USERNAME_SECRET = "imis.username"
PASSWORD_SECRET = "imis.password"


def open_target(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    suite: Callable[[], Engine] | None = None,
) -> FullTarget:
    """The target ``settings.target`` names, opened: ``with open_target(settings) as target:``
    closes it after. An iMIS's calls keep to ``settings.imis_rate_limit`` together with every
    other process on the suite database ``suite`` gives (without one, this process alone)."""
    if target_kind(settings.target) != "rest":
        from idms.targets.embedded.target import EmbeddedTarget

        return EmbeddedTarget.from_settings(settings)
    from idms.targets.imis.client import ImisClient, imis_base_url
    from idms.targets.imis.target import RestTarget

    base_url = imis_base_url(settings.target)
    username, password = rest_account(settings, environ=environ)
    pacer = None
    if settings.imis_rate_limit is not None and suite is not None:
        from idms.targets.imis.ratelimit import SharedBucket

        pacer = SharedBucket(suite(), base_url, settings.imis_rate_limit)
    client = ImisClient(
        base_url,
        username,
        password,
        concurrency=settings.imis_concurrency,
        rate_limit=settings.imis_rate_limit,
        pacer=pacer,
    )
    return RestTarget(client, settings.platform.value, query_endpoint=settings.imis_query_endpoint)


def target_sources(settings: Settings) -> list[SourceDef]:
    """The sources the target ``settings.target`` offers, as ``open_target(settings).sources()``
    lists them: from a SQLite store file at the newest schema, read without opening the store
    (idms.targets.embedded.catalogue), else from the opened target."""
    if target_kind(settings.target) != "rest":
        from idms.targets.embedded.catalogue import read_sources

        sources = read_sources(settings.store_url, settings.platform.value)
        if sources is not None:
            return sources
    with open_target(settings) as target:
        return target.sources()


def rest_account(
    settings: Settings, *, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(username, password) of the iMIS REST account: variables first, then stored secrets."""
    env = os.environ if environ is None else environ
    username = env.get(USERNAME_VARIABLE) or None
    password = env.get(PASSWORD_VARIABLE) or None
    if username is None or password is None:
        stored_user, stored_password = _stored_account(settings)
        username = username or stored_user
        password = password or stored_password
    missing = [
        what for what, value in (("username", username), ("password", password)) if value is None
    ]
    if missing or username is None or password is None:
        raise ConfigError(
            f"The target {settings.target} needs an iMIS account for its REST API; no "
            f"{' or '.join(missing)} is set. Set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, "
            f"or store them once with 'idms secrets set {USERNAME_SECRET}' and "
            f"'idms secrets set {PASSWORD_SECRET}'."
        )
    return username, password


def _stored_account(settings: Settings) -> tuple[str | None, str | None]:
    from idms.secrets import open_secrets

    if settings.secret_key is None and not settings.key_file.exists():
        return None, None  # no key, so nothing stored: do not create one just to look
    try:
        with open_secrets(settings) as secrets:
            names = set(secrets.names())
            user = secrets.get(USERNAME_SECRET) if USERNAME_SECRET in names else None
            password = secrets.get(PASSWORD_SECRET) if PASSWORD_SECRET in names else None
    except SecretError as exc:
        raise ConfigError(f"The iMIS account cannot be read from the secrets: {exc}") from None
    return user, password
