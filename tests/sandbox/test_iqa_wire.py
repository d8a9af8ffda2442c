"""``/api/iqa`` and ``/api/query`` on the wire: saved queries run by IQA path (§7).

The queries are saved in a real suite database and found with ``QueryStore.find_by_path``, as
``idms sandbox`` does; every answer is compared with what the embedded store's own
``EmbeddedTarget.query`` gives for the same query and parameters.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import MANAGER_PASSWORD, Api, Known, Serve

from idms.config import Settings
from idms.queries.compile import CompiledQuery, compile_query
from idms.queries.model import SavedQuery, build_query
from idms.queries.store import QueryStore
from idms.sandbox.app import create_app
from idms.sandbox.iqa import entity_type_name, strip_operator
from idms.sandbox.server import running_sandbox
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

IDMS = Path(sys.executable).parent / "idms"

MEMBERS = build_query(
    {
        "name": "Members",
        "from": "Contact",
        "columns": {
            "ID": "ImisId",
            "Last Name": "LastName",
            "Email": "Email",
            "Login": "UserCredentials.Username",
            "Locked": "UserCredentials.IsLockedOut",
            "Joined": "JoinDate",
        },
        "filters": [
            {"field": "LastName", "op": "startsWith", "prompt": "last"},
            {"field": "IsOrganization", "op": "isFalse"},
        ],
        "order_by": ["Last Name", "ID"],
    }
)
ACTIVITIES = build_query(
    {
        "name": "Activities",
        "iqa": "$/Common/Queries/Activities by type",
        "from": "Activity",
        "columns": {
            "SEQN": "Seqn",
            "ID": "ImisId",
            "Type": "ActivityType",
            "Amount": "Amount",
            "Units": "Units",
            "Date": "TransactionDate",
            "Email": "Contact.Email",
        },
        "filters": [
            {"field": "ActivityType", "op": "in", "prompt": "types", "required": True},
            {"field": "TransactionDate", "op": "ge", "prompt": "since"},
        ],
        "order_by": ["-Date", "SEQN"],
    }
)
STALE = build_query({"name": "Stale", "from": "Contact", "columns": {"X": "NoSuchField"}})
TYPES = "MEETING|WEBINAR"

Params = list[tuple[str, Any]]


def save_queries(engine_url: str, *queries: SavedQuery) -> QueryStore:
    store = QueryStore(open_suite(engine_url))
    for query in queries:
        store.save(query)
    return store


@pytest.fixture(scope="module")
def iqa(
    template: tuple[Path, Known], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, QueryStore]]:
    """One sandbox with saved queries, shared by the tests that only read."""
    folder = tmp_path_factory.mktemp("sandbox-iqa")
    shutil.copyfile(template[0], folder / "imis.db")
    target = EmbeddedTarget(f"sqlite:///{folder / 'imis.db'}")
    queries = save_queries(f"sqlite:///{folder / 'suite.db'}", MEMBERS, ACTIVITIES, STALE)
    with ExitStack() as stack:
        stack.callback(target.close)
        stack.callback(queries.engine.dispose)
        app = create_app(target, manager_password=MANAGER_PASSWORD, queries=queries.find_by_path)
        api = Api(stack.enter_context(running_sandbox(app)), app, target)
        stack.callback(api.close)
        yield api, queries


@pytest.fixture
def api(iqa: tuple[Api, QueryStore]) -> Api:
    return iqa[0]


def call(api: Api, path: str, params: Params) -> httpx.Response:
    return api.http.get(path, params=params, headers=api.headers)


def body(api: Api, path: str, params: Params) -> dict[str, Any]:
    answer = call(api, path, params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def compiled(api: Api, query: SavedQuery) -> CompiledQuery:
    return compile_query(query, api.target.sources())


def expected(
    api: Api, query: SavedQuery, params: dict[str, Any], offset: int = 0, limit: int | None = None
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows and count the embedded store itself gives."""
    with api.target.query(compiled(api, query), params, offset=offset, limit=limit) as result:
        assert result.count is not None
        return list(result), result.count()


def wire_property(name: str, value: Any) -> dict[str, Any]:
    """The GenericPropertyData iMIS writes for a typed value (built here, not with wire.box)."""
    prop: dict[str, Any] = {"$type": wire.PROPERTY, "Name": name}
    if value is None:
        return prop
    if isinstance(value, bool):
        prop["Value"] = {"$type": "System.Boolean", "$value": value}
    elif isinstance(value, int):
        prop["Value"] = {"$type": "System.Int32", "$value": value}
    elif isinstance(value, Decimal):
        prop["Value"] = {"$type": "System.Decimal", "$value": float(value)}
    elif isinstance(value, datetime):
        prop["Value"] = value.isoformat(timespec="seconds")
    elif isinstance(value, date):
        prop["Value"] = f"{value.isoformat()}T00:00:00"
    else:
        prop["Value"] = value
    return prop


def plain(value: Any) -> Any:
    """The plain JSON value of an ExpandoObject row."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    raise AssertionError(f"unexpected value {value!r}")


# ---- /api/iqa ----------------------------------------------------------------------------------


def test_iqa_rows_are_generic_entities_with_a_result_row(api: Api) -> None:
    page = body(
        api, "/api/iqa", [("QueryName", "$/idms/Members"), ("parameter", ""), ("limit", "500")]
    )
    rows, total = expected(api, MEMBERS, {}, limit=500)
    generic = wire.GENERIC_ENTITY
    assert page["$type"] == (
        "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Core.DataContracts.GenericEntityData, "
        "Asi.Contracts]], Asi.Contracts"
    )
    assert page["Items"]["$type"] == (
        "System.Collections.Generic.List`1[[Asi.Soa.Core.DataContracts.GenericEntityData, "
        "Asi.Contracts]], mscorlib"
    )
    assert (page["Offset"], page["Limit"], page["Count"], page["TotalCount"]) == (
        0,
        500,
        len(rows),
        total,
    )
    assert (page["HasNext"], page["NextOffset"], page["NextPageLink"]) == (False, 0, None)
    items = page["Items"]["$values"]
    aliases = list(MEMBERS.columns)
    for number, (item, row) in enumerate(zip(items, rows, strict=True), start=1):
        assert item["$type"] == generic
        assert item["EntityTypeName"].isdigit()
        assert "Identity" not in item
        assert "PrimaryParentIdentity" not in item
        assert item["Properties"]["$type"] == wire.PROPERTY_COLLECTION
        props = item["Properties"]["$values"]
        assert props[0] == {"$type": wire.PROPERTY, "Name": "ResultRow", "Value": str(number)}
        assert props[1:] == [wire_property(a, v) for a, v in zip(aliases, row, strict=True)]
    # The data holds every kind of value: boxed booleans both ways, nulls, dates.
    locked = [row[4] for row in rows]
    assert {True, False, None} <= set(locked)
    assert any(isinstance(row[5], date) for row in rows)
    assert len({item["EntityTypeName"] for item in items}) == 1
    assert items[0]["EntityTypeName"] == entity_type_name("$/idms/Members")


def test_result_row_numbers_the_whole_result_across_pages(api: Api) -> None:
    rows, total = expected(api, MEMBERS, {})
    assert total > 100
    numbers: list[str] = []
    ids: list[str] = []
    offset = 0
    while True:
        page = body(
            api,
            "/api/iqa",
            [("QueryName", "$/idms/Members"), ("limit", "37"), ("offset", str(offset))],
        )
        assert (page["Offset"], page["TotalCount"]) == (offset, total)
        for item in page["Items"]["$values"]:
            props = wire.entity_properties(item)
            numbers.append(props["ResultRow"])
            ids.append(props["ID"])
        if not page["HasNext"]:
            assert page["NextOffset"] == 0
            break
        assert page["NextOffset"] == offset + 37
        offset = page["NextOffset"]
    assert numbers == [str(n) for n in range(1, total + 1)]
    assert ids == [row[0] for row in rows]
    assert len(set(ids)) == len(ids)


def test_limit_defaults_to_100_and_is_clamped_to_500(api: Api) -> None:
    types = [("QueryName", ACTIVITIES.iqa_path), ("parameter", "")]
    everything = [("QueryName", "$/idms/Members")]
    assert body(api, "/api/iqa", everything)["Limit"] == 100
    page = body(api, "/api/iqa", [*everything, ("limit", "100000"), ("offset", "5")])
    assert (page["Limit"], page["Offset"]) == (500, 5)
    first = wire.entity_properties(page["Items"]["$values"][0])
    assert first["ResultRow"] == "6"
    assert call(api, "/api/iqa", types).status_code == 400  # the required prompt is blank


# ---- /api/query --------------------------------------------------------------------------------


def test_query_rows_are_expando_objects_with_plain_values(api: Api) -> None:
    params = [("QueryName", ACTIVITIES.iqa_path), ("parameter", TYPES), ("limit", "100")]
    page = body(api, "/api/query", [*params, ("offset", "10")])
    rows, total = expected(api, ACTIVITIES, {"types": TYPES}, offset=10, limit=100)
    assert total > 110
    assert page["$type"] == "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts"
    assert page["Items"]["$type"] == (
        "System.Collections.Generic.List`1[[System.Object, mscorlib]], mscorlib"
    )
    assert (page["Offset"], page["Limit"], page["Count"], page["TotalCount"]) == (
        10,
        100,
        100,
        total,
    )
    assert (page["HasNext"], page["NextOffset"]) == (True, 110)
    aliases = list(ACTIVITIES.columns)
    for item, row in zip(page["Items"]["$values"], rows, strict=True):
        assert list(item) == ["$type", *aliases]  # no ResultRow, nulls present as null
        assert item["$type"] == "System.Dynamic.ExpandoObject, System.Core"
        assert [item[a] for a in aliases] == [plain(v) for v in row]
    values = [item[name] for item in page["Items"]["$values"] for name in ("Amount", "Units")]
    assert None in values
    assert any(isinstance(v, float) for v in values)


def test_both_endpoints_answer_the_same_rows(api: Api) -> None:
    params = [("QueryName", ACTIVITIES.iqa_path), ("parameter", TYPES), ("limit", "50")]
    iqa_rows = [wire.query_row(i) for i in body(api, "/api/iqa", params)["Items"]["$values"]]
    query_rows = [wire.query_row(i) for i in body(api, "/api/query", params)["Items"]["$values"]]
    assert len(iqa_rows) == 50
    for a, b in zip(iqa_rows, query_rows, strict=True):
        assert list(a) == list(b) == list(ACTIVITIES.columns)
        assert (a["SEQN"], a["ID"], a["Date"], a["Email"]) == (
            b["SEQN"],
            b["ID"],
            b["Date"],
            b["Email"],
        )


# ---- the query string --------------------------------------------------------------------------


def test_names_paths_and_parameters_are_read_without_case(api: Api) -> None:
    canonical = body(
        api, "/api/iqa", [("QueryName", "$/idms/Members"), ("parameter", "S"), ("limit", "500")]
    )
    _, total = expected(api, MEMBERS, {"last": "S"}, limit=500)
    assert canonical["TotalCount"] == total > 0
    for path, params in [
        ("/API/IQA", [("queryname", "$/IDMS/members"), ("PARAMETER", "s"), ("LIMIT", "500")]),
        (
            "/api/Iqa",
            [("QueryPath", "$/idms/members"), ("Parameter", "startsWith:S"), ("limit", "500")],
        ),
        ("/api/iqa", [("QUERYPATH", "$/idms/Members"), ("parameter", "eq:S"), ("limit", "500")]),
    ]:
        again = body(api, path, params)
        assert again["Items"] == canonical["Items"], (path, params)


def test_operator_prefixes_are_dropped_from_values() -> None:
    assert strip_operator("eq:smith") == "smith"
    assert strip_operator("StartsWith:Sm") == "Sm"
    assert strip_operator("in:REG|GLD") == "REG|GLD"
    assert strip_operator(">=:2026-01-01") == "2026-01-01"
    assert strip_operator("12:30") == "12:30"
    assert strip_operator("http://example.org") == "http://example.org"
    assert strip_operator(":x") == ":x"


def test_blank_parameters_are_not_given_and_values_are_positional(api: Api) -> None:
    path = ACTIVITIES.iqa_path
    both = body(api, "/api/iqa", [("QueryName", path), ("parameter", TYPES), ("parameter", "")])
    _, total = expected(api, ACTIVITIES, {"types": TYPES})
    assert both["TotalCount"] == total
    listed = body(api, "/api/iqa", [("QueryName", path), ("parameter", "in:MEETING,WEBINAR")])
    assert listed["TotalCount"] == total
    since = body(
        api, "/api/iqa", [("QueryName", path), ("parameter", TYPES), ("parameter", "ge:2026-01-01")]
    )
    _, recent = expected(api, ACTIVITIES, {"types": TYPES, "since": "2026-01-01"})
    assert since["TotalCount"] == recent < total
    for item in since["Items"]["$values"]:
        assert wire.entity_properties(item)["Date"] >= "2026-01-01"


@pytest.mark.parametrize("endpoint", ["/api/iqa", "/api/query"])
def test_named_parameters_bind_to_prompts_of_that_name(api: Api, endpoint: str) -> None:
    """``?types=...&since=...`` binds like ``parameter=`` in prompt order, names without case."""
    path = ACTIVITIES.iqa_path
    _, total = expected(api, ACTIVITIES, {"types": TYPES})
    _, recent = expected(api, ACTIVITIES, {"types": TYPES, "since": "2026-01-01"})
    assert recent < total
    named = body(api, endpoint, [("QueryName", path), ("types", TYPES)])
    assert named["TotalCount"] == total
    both = body(api, endpoint, [("QueryName", path), ("Since", "ge:2026-01-01"), ("TYPES", TYPES)])
    assert both["TotalCount"] == recent
    mixed = body(
        api, endpoint, [("QueryName", path), ("parameter", TYPES), ("since", "2026-01-01")]
    )
    assert mixed["TotalCount"] == recent
    # A named value wins over the positional one for the same prompt.
    over = body(api, endpoint, [("QueryName", path), ("parameter", "NOSUCHTYPE"), ("types", TYPES)])
    assert over["TotalCount"] == total
    members = body(api, endpoint, [("QueryName", "$/idms/Members"), ("last", "startsWith:S")])
    _, starting = expected(api, MEMBERS, {"last": "S"})
    assert members["TotalCount"] == starting < expected(api, MEMBERS, {})[1]
    # Without the required prompt, by name or by position, the query is refused as before.
    answer = call(api, endpoint, [("QueryName", path), ("since", "2026-01-01")])
    assert answer.status_code == 400
    assert errors_of(answer)[0][1] == "parameter_required"


# ---- refusals ----------------------------------------------------------------------------------


def errors_of(answer: httpx.Response) -> list[tuple[str, str | None, str | None]]:
    return wire.validation_errors(answer.json())


def test_a_missing_required_prompt_is_refused_with_400(api: Api) -> None:
    for params in ([], [("parameter", "")], [("parameter", " "), ("parameter", "2026-01-01")]):
        answer = call(api, "/api/iqa", [("QueryName", ACTIVITIES.iqa_path), *params])
        assert answer.status_code == 400, answer.text
        [(message, code, prop)] = errors_of(answer)
        assert (code, prop) == ("parameter_required", "types")
        assert (
            f"Parameter 1 ('types': ActivityType in) is required by the query {ACTIVITIES.iqa_path}"
            in message
        )
    answer = call(api, "/api/query", [("QueryName", ACTIVITIES.iqa_path)])
    assert answer.status_code == 400


def test_bad_parameter_values_and_too_many_are_refused_with_400(api: Api) -> None:
    path = ACTIVITIES.iqa_path
    answer = call(
        api, "/api/iqa", [("QueryName", path), ("parameter", TYPES), ("parameter", "soon")]
    )
    assert answer.status_code == 400
    [(message, code, _)] = errors_of(answer)
    assert code == "invalid_parameter"
    assert "soon" in message
    answer = call(
        api,
        "/api/iqa",
        [("QueryName", path), ("parameter", TYPES), ("parameter", ""), ("parameter", "x")],
    )
    assert answer.status_code == 400
    [(message, code, _)] = errors_of(answer)
    assert code == "too_many_parameters"
    assert "takes 2 parameters (types, since); 3 were given" in message
    # Trailing blanks are harmless.
    extra = [("QueryName", path), ("parameter", TYPES), ("parameter", ""), ("parameter", "")]
    assert call(api, "/api/iqa", extra).status_code == 200


def test_unknown_paths_and_missing_names(api: Api) -> None:
    answer = call(api, "/api/iqa", [("QueryName", "$/idms/Nobody")])
    assert answer.status_code == 404
    assert answer.json() == wire.http_error("No query was found at the path '$/idms/Nobody'.")
    assert call(api, "/api/query", [("QueryName", "$/idms/Nobody")]).status_code == 404
    answer = call(api, "/api/iqa", [("parameter", "x")])
    assert answer.status_code == 400
    assert errors_of(answer)[0][1] == "query_name_required"


def test_a_query_that_no_longer_compiles_answers_500(api: Api) -> None:
    answer = call(api, "/api/iqa", [("QueryName", "$/idms/Stale")])
    assert answer.status_code == 500
    message = answer.json()["Message"]
    assert "$/idms/Stale" in message
    assert "NoSuchField" in message


def test_a_token_is_required_and_only_get_is_offered(api: Api) -> None:
    answer = api.http.get("/api/iqa", params={"QueryName": "$/idms/Members"})
    assert answer.status_code == 401
    assert answer.json() == wire.http_error()
    answer = api.http.post("/api/iqa", json={}, headers=api.headers)
    assert answer.status_code == 501
    assert call(api, "/api/iqa/Members", []).status_code == 501


def test_without_saved_queries_every_path_is_unknown(serve: Serve) -> None:
    bare = serve()
    assert call(bare, "/api/iqa", [("QueryName", "$/idms/Members")]).status_code == 404


def test_query_is_ems_only_and_iqa_is_served_on_2017(serve: Serve, tmp_path: Path) -> None:
    queries = save_queries(f"sqlite:///{tmp_path / 'suite.db'}", MEMBERS)
    try:
        old = serve(platform="2017", prefix="/Asi.Scheduler_iMIS", queries=queries.find_by_path)
        params = [("QueryName", "$/idms/Members"), ("parameter", "S")]
        assert call(old, "/api/query", params).status_code == 404
        page = body(old, "/api/iqa", params)
        assert page["TotalCount"] > 0
    finally:
        queries.engine.dispose()


# ---- the command -------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not IDMS.exists(), reason=f"{IDMS} is not installed")
def test_the_command_serves_the_workspace_saved_queries(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(tmp_path / "ws"), IDMS_SANDBOX_PASSWORD="cli-secret-1")
    settings = Settings.load(workspace=tmp_path / "ws", environ={})
    settings.workspace.mkdir(parents=True)
    save_queries(settings.suite_url, MEMBERS).engine.dispose()
    port = free_port()
    process = subprocess.Popen(
        [str(IDMS), "sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    form = {"grant_type": "password", "username": "MANAGER", "password": "cli-secret-1"}
    try:
        answer = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.post(f"{base}/token", data=form, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, process.communicate(timeout=5)
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        found = httpx.get(
            f"{base}/api/iqa", params={"QueryName": "$/idms/members"}, headers=headers
        )
        assert found.status_code == 200, found.text
        assert found.json()["TotalCount"] == 0  # a new workspace: no contacts yet
        missing = httpx.get(f"{base}/api/query", params={"QueryName": "$/idms/x"}, headers=headers)
        assert missing.status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Saved queries:" in stdout
