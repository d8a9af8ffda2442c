"""Rules that keep whole classes of vulnerability out of the source and the API.

Source rules (every module under src/idms, read as Python syntax):

- no shell: no ``shell=`` other than ``False``, no ``os.system``/``os.popen``/``os.spawn*``, no
  ``subprocess.getoutput`` (each hands a string to a shell, where data becomes commands);
- no ``eval``/``exec``: text is never run as Python;
- unpickling (``pickle``, ``marshal``, ``shelve``, ``dill``...) only in the modules listed in
  ``UNPICKLING`` with the reason their bytes can be trusted: unpickling runs code;
- ``hashlib.md5``/``sha1`` only with ``usedforsecurity=False``: never a weak hash for a secret;
- no ``tempfile.mktemp`` (a name another process can take first);
- no address that listens on every interface (``0.0.0.0``, ``::``) written as a value: a server
  listens on loopback unless the administrator names another address.

API rules (the app ``idms serve`` runs, over a real server):

- every operation refuses a request without a token (401), except the public ones listed in
  ``PUBLIC`` (the OpenAPI document and its browsable page); the hooks (``/hooks/{token}``,
  ``/hooks/imis/{token}``) take no API token but answer 401 to any URL but theirs;
- every page of the web UI (``idms.ui.pages``) depends on ``require_role`` except the public
  ones listed in ``UI_PUBLIC`` (the sign-in form, signing out, the static files), and answers a
  request without a session with the sign-in page (GET) or a refusal (POST);
- every operation documents its real answers: 400 (ErrorBody) when it takes parameters or a
  body, 401 under /api/v1, 404 when it names a resource in its path (a PUT creates it instead),
  every error as ErrorBody, never FastAPI's 422 that the server does not send.

Each rule is a function that lists the breaches in a piece of source or a document, and each is
shown to find a breach in a sample, so none can pass by finding nothing.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

import idms
import idms.server.routes as routes_package
import idms.ui.pages as ui_pages_package
from idms.config import Settings
from idms.sandbox.server import running_sandbox
from idms.server.app import DOCS_ASSETS, DOCS_URL, create_server_app
from idms.server.context import API_PREFIX
from idms.workspace import Workspace

ROOT = Path(idms.__file__).parent

# module (relative to src/idms) -> why the bytes it unpickles can be trusted
UNPICKLING = {
    "runs/durable.py": "sealed batches: decrypted and authenticated with the workspace's key "
    "before they are unpickled",
    "runs/sealed.py": "sealed records (a run's copy of its query's rows): every chunk "
    "decrypted and authenticated with the key before its records are unpickled",
}
PICKLERS = {
    "pickle",
    "_pickle",
    "cPickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "jsonpickle",
}
SHELL_FUNCTIONS = {
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
}
WEAK_HASHES = {"hashlib.md5", "hashlib.sha1"}
EVERY_INTERFACE = {"0.0.0.0", "::", "[::]"}

PUBLIC = {f"GET {API_PREFIX}/openapi.json", f"GET {DOCS_URL}", f"GET {DOCS_ASSETS}"}
# The web UI's routes that need no session: signing in, signing out (it needs only the form
# token: ending a session needs no role), and the static files (CSS, JS, icon; nothing private).
UI_PUBLIC = {"GET /signin", "POST /signin", "POST /signout", "GET /static"}
UI_PAGE_MODULES = tuple(
    importlib.import_module(f"{ui_pages_package.__name__}.{info.name}")
    for info in pkgutil.iter_modules(ui_pages_package.__path__)
)
# Every module of the routes package that has a router: found, not listed, so a new one (the
# uploads' once was left out) cannot escape the rules.
ROUTE_MODULES = tuple(
    module
    for info in pkgutil.iter_modules(routes_package.__path__)
    if hasattr(
        module := importlib.import_module(f"{routes_package.__name__}.{info.name}"), "router"
    )
)


def modules() -> Iterator[tuple[str, str]]:
    for path in sorted(ROOT.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def _dotted(node: ast.AST) -> str:
    """``os.path.join`` for the expression ``os.path.join``; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    """Every call with the dotted name it calls, aliases of imports resolved
    (``from os import system as s; s()`` -> ``os.system``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            head, _, rest = name.partition(".")
            if head in aliases:
                name = aliases[head] + (f".{rest}" if rest else "")
            yield node, name


def shell_uses(source: str) -> list[str]:
    found = []
    for call, name in _calls(ast.parse(source)):
        for keyword in call.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{call.lineno}: {name}(shell=...)")
        if name in SHELL_FUNCTIONS or name.startswith("os.spawn"):
            found.append(f"{call.lineno}: {name}()")
    return found


def code_from_text(source: str) -> list[str]:
    return [
        f"{call.lineno}: {name}()"
        for call, name in _calls(ast.parse(source))
        if name in {"eval", "exec", "builtins.eval", "builtins.exec"}
    ]


def unpicklers(source: str) -> list[str]:
    """Where ``source`` imports a module that unpickles."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{node.lineno}: {n}" for n in names if n.split(".")[0] in PICKLERS]
    return found


def weak_hashes_for_security(source: str) -> list[str]:
    found = []
    for call, name in _calls(ast.parse(source)):
        weak = name in WEAK_HASHES or (
            name == "hashlib.new"
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and str(call.args[0].value).lower() in {"md5", "sha1"}
        )
        declared = any(
            k.arg == "usedforsecurity"
            and isinstance(k.value, ast.Constant)
            and k.value.value is False
            for k in call.keywords
        )
        if weak and not declared:
            found.append(f"{call.lineno}: {name}() without usedforsecurity=False")
    return found


def racy_temporary_names(source: str) -> list[str]:
    return [
        f"{call.lineno}: {name}()"
        for call, name in _calls(ast.parse(source))
        if name == "tempfile.mktemp"
    ]


def every_interface(source: str) -> list[str]:
    return [
        f"{node.lineno}: {node.value!r}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and node.value in EVERY_INTERFACE
    ]


SOURCE_RULES = {
    "a shell": shell_uses,
    "eval or exec": code_from_text,
    "a weak hash without usedforsecurity=False": weak_hashes_for_security,
    "tempfile.mktemp": racy_temporary_names,
    "an address on every interface": every_interface,
}


@pytest.mark.parametrize("rule", list(SOURCE_RULES))
def test_no_module_breaks_a_source_rule(rule: str) -> None:
    check = SOURCE_RULES[rule]
    breaches = [f"{module}:{where}" for module, source in modules() for where in check(source)]
    assert not breaches, f"{rule} in:\n" + "\n".join(breaches)


def test_only_the_listed_modules_unpickle() -> None:
    found = {module: unpicklers(source) for module, source in modules()}
    unlisted = {m: where for m, where in found.items() if where and m not in UNPICKLING}
    assert not unlisted, f"unpickling outside {sorted(UNPICKLING)}: {unlisted}"
    stale = [m for m in UNPICKLING if not found.get(m)]
    assert not stale, f"listed but no longer unpickling (remove them): {stale}"


# rule -> a sample that breaks it, and how many times
BREACHES: dict[Any, tuple[str, int]] = {
    shell_uses: (
        "import subprocess as sp\nsp.run(c, shell=flag)\nfrom os import system\nsystem(x)",
        2,
    ),
    code_from_text: ("eval(text)\nimport builtins\nbuiltins.exec(code)", 2),
    weak_hashes_for_security: ("import hashlib\nhashlib.md5(pw)\nhashlib.new('SHA1', pw)", 2),
    racy_temporary_names: ("from tempfile import mktemp\nmktemp()", 1),
    every_interface: ("def serve(host: str = '0.0.0.0') -> None: ...", 1),
    unpicklers: ("import pickle\nfrom dill import loads", 2),
}
ALLOWED = "import hashlib\nhashlib.md5(name, usedforsecurity=False)\nrun(x, shell=False)\nhost = ''"


@pytest.mark.parametrize("rule", BREACHES, ids=lambda rule: rule.__name__)
def test_each_source_rule_finds_a_breach(rule: Any) -> None:
    sample, count = BREACHES[rule]
    assert len(rule(sample)) == count, rule(sample)
    assert rule(ALLOWED) == []


# --- the API ---------------------------------------------------------------------------------


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def undocumented_answers(document: dict[str, Any]) -> list[str]:
    """Operations whose documented answers are not the ones the server gives."""
    error_body = "#/components/schemas/ErrorBody"
    found = []
    for method, path, operation in operations(document):
        label = f"{method} {path}"
        responses = operation.get("responses", {})
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        if "422" in responses:
            found.append(f"{label}: documents 422, which the server never sends (it sends 400)")
        if takes_input and "400" not in responses:
            found.append(f"{label}: takes parameters but documents no 400")
        if path.startswith(f"{API_PREFIX}/") and "401" not in responses:
            found.append(f"{label}: needs a token but documents no 401")
        names_a_resource = any(p.get("in") == "path" for p in operation.get("parameters", []))
        if names_a_resource and method != "PUT" and "404" not in responses:
            found.append(f"{label}: names a resource but documents no 404")
        for status, answer in responses.items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if status[0] in "45" and schema.get("$ref") != error_body:
                found.append(f"{label}: its {status} is not the ErrorBody")
    return found


def unauthenticated(base: str, document: dict[str, Any]) -> list[str]:
    """Operations of ``document`` that answer a request without a token with other than 401."""
    found = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for method, path, _ in operations(document):
            url = path.replace("{", "").replace("}", "")  # each path parameter named after itself
            answer = client.request(method, url)
            if answer.status_code != 401:
                found.append(f"{method} {path}: {answer.status_code} without a token")
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    root = tmp_path_factory.mktemp("security-rules")
    workspace = Workspace.open(Settings(workspace=root / "ws"))
    try:
        yield create_server_app(workspace, None)
    finally:
        workspace.close()


def test_every_operation_documents_its_real_answers(app: FastAPI) -> None:
    assert undocumented_answers(app.openapi()) == []


def test_every_operation_but_the_public_ones_needs_a_token(app: FastAPI) -> None:
    document = app.openapi()
    with running_sandbox(app) as base:
        assert unauthenticated(base, document) == []
        for public in PUBLIC:  # and the public ones answer without one
            method, path = public.split(" ")
            if path != DOCS_ASSETS:
                assert httpx.request(method, f"{base}{path}", timeout=30).status_code == 200
        asset = httpx.get(f"{base}{DOCS_ASSETS}/swagger-ui.css", timeout=30)
        assert asset.status_code == 200


def test_every_route_is_in_the_document_or_public(app: FastAPI) -> None:
    """The API rules read the OpenAPI document: a route left out of it would escape them."""
    hidden = [
        f"{method} {route.path}"
        for module in ROUTE_MODULES
        for route in module.router.routes
        if not getattr(route, "include_in_schema", True)
        for method in getattr(route, "methods", ())
    ]
    assert hidden == []
    outside_the_api = {
        f"{method} {route.path}"
        for route in app.router.routes
        if hasattr(route, "path")
        for method in (getattr(route, "methods", None) or {"GET"})
        if method != "HEAD"
    }
    # The UI's pages are checked by the UI rules below; its static files are public.
    assert outside_the_api - set(ui_routes()) == PUBLIC | {"GET /static"}


def ui_routes() -> dict[str, Any]:
    """``METHOD /path`` -> route, for every route of the UI's pages."""
    return {
        f"{method} {route.path}": route
        for module in UI_PAGE_MODULES
        for route in module.router.routes
        for method in getattr(route, "methods", ())
        if method != "HEAD"
    }


def without_a_role_check(routes: dict[str, Any]) -> list[str]:
    """The routes (outside UI_PUBLIC) with no ``require_role`` dependency."""

    def names(dependant: Any) -> Iterator[str]:
        for sub in dependant.dependencies:
            yield getattr(sub.call, "__name__", "")
            yield from names(sub)

    return sorted(
        label
        for label, route in routes.items()
        if label not in UI_PUBLIC
        and not any(n.startswith("require_") for n in names(route.dependant))
    )


def test_every_ui_page_checks_the_role() -> None:
    routes = ui_routes()
    assert {"GET /", "GET /users", "POST /users"} <= set(routes)  # the pages are found
    assert without_a_role_check(routes) == []
    assert not UI_PUBLIC - set(routes) - {"GET /static"}, "a public route that is gone"


def test_the_ui_role_rule_finds_a_breach() -> None:
    router = APIRouter()

    @router.get("/open")
    def open_page() -> str:
        return ""

    assert without_a_role_check(ui_routes() | {"GET /open": router.routes[0]}) == ["GET /open"]


def test_every_ui_page_refuses_a_request_without_a_session(app: FastAPI) -> None:
    with running_sandbox(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        for label in sorted(set(ui_routes()) - UI_PUBLIC):
            method, path = label.split(" ")
            answer = client.request(method, path.replace("{", "").replace("}", ""))
            if method == "GET":
                assert answer.status_code == 303, label
                assert answer.headers["location"].startswith("/signin"), label
            else:
                assert answer.status_code == 403, label


def test_the_api_rules_find_a_breach() -> None:
    """A route without the token, documented as FastAPI does by default, breaks both rules."""
    toy = FastAPI(openapi_url=f"{API_PREFIX}/openapi.json")
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/things/{name}")
    def thing(name: str, limit: int = 10) -> dict[str, str]:
        return {"name": name}

    toy.include_router(router)
    document = toy.openapi()
    found = undocumented_answers(document)
    assert any("documents 422" in f for f in found)
    assert any("documents no 401" in f for f in found)
    assert any("documents no 404" in f for f in found)
    with running_sandbox(toy) as base:
        assert unauthenticated(base, document) == [
            f"GET {API_PREFIX}/things/{{name}}: 200 without a token"
        ]
