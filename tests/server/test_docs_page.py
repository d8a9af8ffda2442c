"""``/api/v1/docs`` works on a server cut off from the Internet: the page names no other host, and
every script, style and icon it loads is served by the API itself, without a token."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from server_support import Api


def test_the_docs_page_loads_everything_from_the_server(make_api: Callable[..., Api]) -> None:
    api = make_api(loop=False)
    with httpx.Client(base_url=api.base, timeout=30) as anonymous:
        page = anonymous.get("/api/v1/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert re.findall(r"(?i)\b(?:https?:)?//[a-z0-9.-]+", html) == []  # no other host
        loaded = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
        assert "url: '/api/v1/openapi.json'" in html
        assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
        kinds = {}
        for url in loaded:
            answer = anonymous.get(url)
            assert answer.status_code == 200, url
            assert answer.content, url
            kinds[url.rsplit(".", 1)[-1]] = answer
        assert set(kinds) == {"js", "css", "png"}
        assert "SwaggerUIBundle" in kinds["js"].text
        assert "javascript" in kinds["js"].headers["content-type"]
        assert kinds["css"].headers["content-type"].startswith("text/css")
        assert kinds["png"].headers["content-type"] == "image/png"
        # Swagger UI 5 or later: the first to show an OpenAPI 3.1 document, as the API's is.
        assert anonymous.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
        assert re.search(r'"5\.\d+\.\d+"', kinds["js"].text)
        assert anonymous.get("/api/v1/docs/assets/nothing.js").status_code == 404
