"""The OpenAPI document of the API, saying what the server really answers.

FastAPI documents a ``422`` with its own ``HTTPValidationError`` body for every operation that
takes parameters or a body; this server answers such a request ``400`` with the one error body
(``errors.py``: ``{"error": true, "message": "The request is invalid.", "problems": [...]}``).
The document is generated as usual, then each such ``422`` becomes that ``400`` (a route that
documents a ``400`` of its own keeps its description), and FastAPI's validation models leave
the components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from idms.server.schemas import ErrorBody

INVALID_REQUEST = "The request is invalid: every problem listed"
_FASTAPI_MODELS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/api/v1/openapi.json``) the corrected document."""

    generate = app.openapi  # FastAPI's own, which caches what it made in app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = invalid_requests_answer_400(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def invalid_requests_answer_400(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every documented ``422`` replaced by the ``400`` the server sends."""
    error_ref = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is None:
                continue
            answer = responses.setdefault("400", {"description": INVALID_REQUEST})
            answer["content"] = {"application/json": {"schema": error_ref}}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_MODELS:
        schemas.pop(name, None)
    schemas.setdefault(ErrorBody.__name__, ErrorBody.model_json_schema())
    return document
