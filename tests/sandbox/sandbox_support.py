"""Small helpers the sandbox tests share: reading GenericEntityData and building bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

CONTACTS = 300
MANAGER_PASSWORD = "manager-secret-1"
PASSWORD = "Sandbox-Pass-1"
ADA = "ada.sandbox"
BOB = "bob.sandbox"


@dataclass
class Known:
    """Facts about the template store the tests rely on."""

    ada_id: str
    bob_id: str
    spare_id: str  # a person with an e-mail and no credentials


class Api:
    """An httpx client on a running sandbox, with a MANAGER token at hand."""

    def __init__(self, base: str, app: FastAPI, target: EmbeddedTarget) -> None:
        self.base = base
        self.app = app
        self.target = target
        self.http = httpx.Client(base_url=base, timeout=30)
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def token(self, username: str = "MANAGER", password: str = MANAGER_PASSWORD) -> httpx.Response:
        form = {"grant_type": "password", "username": username, "password": password}
        return self.http.post("/token", data=form)

    @property
    def headers(self) -> dict[str, str]:
        if self._token is None:
            answer = self.token()
            assert answer.status_code == 200, answer.text
            self._token = str(answer.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(path, json=body, headers=self.headers)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self.headers)

    def execute(self, entity: str, body: Any) -> httpx.Response:
        return self.post(f"/api/{entity}/_execute", body)

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["Items"]["$values"])


Serve = Callable[..., Api]


def props(entity: dict[str, Any]) -> dict[str, Any]:
    """A GenericEntityData's properties by name, unboxed."""
    return wire.entity_properties(entity)


def identity(entity: dict[str, Any]) -> list[str]:
    return wire.identity_elements(entity)


def generic(entity: str, **properties: Any) -> dict[str, Any]:
    """A GenericEntityData body without identity, as a client creates one."""
    return wire.generic_entity(entity, None, properties)


def errors(body: Any) -> list[tuple[str, str | None, str | None]]:
    return wire.validation_errors(body)


def execute(entity: str, operation: str, *parameters: Any, boxed: bool = True) -> dict[str, Any]:
    return wire.execute_request(entity, operation, list(parameters), boxed=boxed)
