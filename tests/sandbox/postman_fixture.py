"""How ``postman_requests.json`` was made from ASI's Postman collections, and how to check it.

Source: https://github.com/Advsol/iMISRESTCollection at commit
fe96b3b01b878c8e815af09e47f3fcae3fe1fada (GPL-3.0): ``EndpointCollections/iMIS Cloud/20.3.44/``
(``Authentication``, ``Party``, ``Membership``, ``Events``, ``Core``, ``User Security``) and
``EndpointCollections/iMIS_SDK.postman_collectionV2_1.json`` (the one ASI recommends; it holds
the request bodies). The larger per-version collections are Git LFS files and were not read.

How: :func:`requests_of` lists every request of a collection as (item name, method, path,
query); ``python tests/sandbox/postman_fixture.py COLLECTION.json...`` prints them. The fixture
keeps the requests whose entity the sandbox serves (``Party``, ``Person``, ``Organization``,
``PartySummary``, ``AddressPurpose``, ``Country``, ``NamePrefix``, ``NameSuffix``,
``PartyStatus``, ``Group``, ``GroupMember``, ``User``, ``UserSecurity``, ``Activity``,
``GenTable``, ``BOEntityDefinition``, ``Event``, ``EventRegistration``, ``iqa``, ``metadata/*``,
``changelog``), plus the user-defined-table requests of ASI's demo database (``Name_Demo``,
``Name_CEU``), which a store without those tables answers with iMIS's 404. Each keeps its
collection, item name, method, path (``:Var`` path variables and ``{{Var}}`` variables as
written) and query. Bodies are re-typed in our own words with invented values: the same
contracts, ``$type`` strings, member names and member case as ASI's bodies, trimmed to what
the request is about, so that no part of ASI's files is copied.

``ASI_POSTMAN_COLLECTIONS`` (a checkout's ``EndpointCollections`` folder) lets
``test_postman_replay.py`` check that every kept request is still in the collections.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURE = Path(__file__).with_name("postman_requests.json")


@dataclass(frozen=True)
class PostmanRequest:
    """One request of a collection: its item name, method, path and query as written."""

    name: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...]


def requests_of(collection: Mapping[str, Any]) -> Iterator[PostmanRequest]:
    """Every request of a Postman v2.x collection, folders flattened."""
    for item in _items(collection.get("item") or []):
        request = item["request"]
        url = request.get("url")
        raw = url.get("raw", "") if isinstance(url, Mapping) else str(url or "")
        # "https://{{URL}}/api/party?lastname=eq:smith" -> "/api/party", [("lastname", ...)]
        rest = raw.split("}}", 1)[1] if raw.startswith(("https://{{", "http://{{")) else raw
        parts = urlsplit(rest if rest.startswith("/") else "/" + rest)
        query = []
        if isinstance(url, Mapping):
            for q in url.get("query") or []:
                if not q.get("disabled"):
                    query.append((str(q.get("key")), str(q.get("value") or "")))
        yield PostmanRequest(
            item.get("name", ""), request.get("method", "GET"), parts.path, tuple(query)
        )


def _items(items: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _items(item["item"])
        elif "request" in item:
            yield item


def load_fixture() -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return fixture


def main(paths: list[str]) -> None:
    for path in paths:
        collection = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        for request in requests_of(collection):
            query = "&".join(f"{k}={v}" for k, v in request.query)
            print(
                f"{request.method:6} {request.path}{'?' + query if query else ''}  [{request.name}]"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
