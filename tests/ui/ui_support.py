"""What the web UI's tests share: the people they sign in as, a running site, and signing in
through the form as a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from idms.workspace import Workspace

ADMIN = ("ann", "ann's long password")
VIEWER = ("victor", "victor's long password")
EDITOR = ("eddie", "eddie's long password")


@dataclass
class Site:
    """A running server: its workspace and base URL."""

    workspace: Workspace
    base: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)

    @contextmanager
    def signed_in(self, name: str, password: str) -> Iterator[httpx.Client]:
        """A client holding a session, signed in through the sign-in form."""
        with self.client() as client:
            answer = sign_in(client, name, password)
            assert answer.status_code == 303, answer.text
            yield client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str, **extra: str) -> httpx.Response:
    token = form_token(client.get("/signin").text)
    data = {"name": name, "password": password, "csrf_token": token, **extra}
    return client.post("/signin", data=data)
