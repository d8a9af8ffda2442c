"""Issue 14, item 2: the API reads no file it should not.

Over HTTP a job reads an upload, a file in a folder the administrator lists
(``IDMS_SERVE_INPUT_FOLDERS``) or a saved query; nothing else on the server, however the path is
written (absolute, ``..``, a link in the folder pointing out, the workspace's own files). Jobs
and schedules are sent as documents, never as job files on the server. No error answer quotes a
file's content or an absolute server path: a property test throws file-ish values at every route
that takes an input, and the server package is checked to touch no file by itself.

Every test runs a real server (uvicorn on loopback) over a workspace of its own.
"""

from __future__ import annotations

import ast
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import idms
from idms.config import Settings
from idms.execution.executors import InlineExecutor
from idms.jobs.model import JobInvalid, build_job, parse_document
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.server.loop import ServerLoop
from idms.state.tokens import TokenStore
from idms.workspace import Workspace

MARK = "S3CRET-MARK-7f1c"  # in every file a request must not read
JOB: dict[str, Any] = {
    "name": "People by e-mail",
    "source": "Contact",
    "action": "insert-update",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "LastName", "column": "Last"},
    ],
}
PEOPLE = "Last,E-mail\nLovelace,ada@example.org\nTuring,alan@example.org\n"
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")


@dataclass
class Server:
    root: Path
    inbox: Path  # the one input folder
    secret: Path  # a CSV outside it, that a job could read
    shadow: Path  # a file shaped like /etc/shadow, outside it
    workspace: Workspace
    client: httpx.Client

    def refused(self, answer: httpx.Response) -> str:
        """The refusal's text, once checked to be a 4xx that names no file of the server."""
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
        text = answer.text
        assert MARK not in text, text
        assert str(self.root) not in text, text
        assert os.path.realpath(self.root) not in text, text
        return text


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path.resolve()
    inbox, outside = root / "inbox", root / "outside"
    inbox.mkdir()
    outside.mkdir()
    (inbox / "people.csv").write_text(PEOPLE, encoding="utf-8")
    secret = outside / "secret.csv"
    secret.write_text(f"Last,E-mail,Password\nRoot,root@example.org,{MARK}\n", encoding="utf-8")
    shadow = outside / "shadow"
    shadow.write_text(
        f"root:{MARK}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", encoding="utf-8"
    )
    settings_ = Settings.load(
        workspace=root / "ws", environ={"IDMS_SERVE_INPUT_FOLDERS": str(inbox)}
    )
    with Workspace.open(settings_) as workspace:
        _, token = TokenStore(workspace.suite).create("tests")
        app = create_server_app(workspace, None)  # no executor: queued runs stay queued
        with (
            running_sandbox(app) as base,
            httpx.Client(
                base_url=f"{base}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ) as client,
        ):
            yield Server(root, inbox, secret, shadow, workspace, client)


def upload(server: Server, name: str, content: bytes) -> httpx.Response:
    return server.client.post("/uploads", files={"file": (name, content, "text/csv")})


# ---- the reported holes ------------------------------------------------------------------------


def test_a_schedule_reads_no_job_file_on_the_server(server: Server) -> None:
    body = {"name": "Peek", "job_file": str(server.shadow), "cron": "daily"}
    text = server.refused(server.client.post("/schedules", json=body))
    assert "send the job itself as 'job'" in text
    assert "root" not in text
    assert "daemon" not in text
    # Nor does changing one (PATCH): the same refusal.
    job = {**JOB, "input": "people.csv"}
    added = server.client.post("/schedules", json={"name": "S", "job": job, "cron": "daily"})
    assert added.status_code == 201, added.text
    changed = server.client.patch("/schedules/S", json={"job_file": str(server.shadow)})
    text = server.refused(changed)
    assert "send the job itself as 'job'" in text
    assert "root" not in text


def test_a_plan_reads_no_file_outside_the_input_folders(server: Server) -> None:
    job = {**JOB, "input": str(server.secret)}
    text = server.refused(server.client.post("/runs", params={"plan": "true"}, json=job))
    assert "IDMS_SERVE_INPUT_FOLDERS" in text
    assert server.workspace.runs.list(10) == []  # nothing planned, nothing queued
    text = server.refused(server.client.post("/runs", json=job))
    assert server.workspace.runs.list(10) == []


@pytest.mark.parametrize(
    "given",
    [
        "../outside/secret.csv",  # .. out of the folder
        "./../outside/secret.csv",
        "link.csv",  # a link in the folder, pointing out
        "sub/../../outside/secret.csv",
        "{root}/inbox/../outside/secret.csv",
        "{root}/inbox/link.csv",
        "{root}/ws/runs/inputs/old.csv",  # another run's input, in the workspace
        "{root}/ws/uploads/../runs/inputs/old.csv",
    ],
)
def test_paths_leading_out_of_the_input_folders_are_refused(server: Server, given: str) -> None:
    (server.inbox / "link.csv").symlink_to(server.secret)
    old = server.workspace.settings.workspace / "runs" / "inputs" / "old.csv"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(server.secret.read_text(encoding="utf-8"), encoding="utf-8")
    path = given.format(root=server.root)
    for call in (
        lambda: server.client.post("/runs", json={**JOB, "input": path}),
        lambda: server.client.post("/runs", json={**JOB, "input": {"file": path}}),
        lambda: server.client.put("/templates/T", json={**JOB, "input": path}),
        lambda: server.client.post(
            "/schedules", json={"name": "S", "job": {**JOB, "input": path}, "cron": "daily"}
        ),
    ):
        server.refused(call())
    assert server.client.put("/templates/People", json=JOB).status_code == 201
    for call in (
        lambda: server.client.post("/templates/People/runs", json={"input": path}),
        lambda: server.client.post("/triggers/People", json={"input": path}),
        lambda: server.client.post("/triggers/People/async", json={"input": path}),
        lambda: server.client.post(
            "/schedules", json={"name": "S", "template": "People", "input": path, "cron": "daily"}
        ),
    ):
        server.refused(call())
    assert server.workspace.runs.list(10) == []
    # Changing a schedule (PATCH) admits a file by the same rule: refused, nothing changed.
    added = server.client.post(
        "/schedules",
        json={"name": "Kept", "template": "People", "input": "people.csv", "cron": "daily"},
    )
    assert added.status_code == 201, added.text
    before = server.client.get("/schedules/Kept").json()
    server.refused(server.client.patch("/schedules/Kept", json={"input": path}))
    server.refused(server.client.patch("/schedules/Kept", json={"job": {**JOB, "input": path}}))
    assert server.client.get("/schedules/Kept").json() == before


def test_the_input_folders_are_read_and_named_without_the_server_path(server: Server) -> None:
    relative = server.client.post("/runs", json={**JOB, "input": "people.csv"})
    assert relative.status_code == 202, relative.text
    absolute = server.client.post("/runs", json={**JOB, "input": str(server.inbox / "people.csv")})
    assert absolute.status_code == 202, absolute.text
    missing = server.refused(server.client.post("/runs", json={**JOB, "input": "later/x.csv"}))
    assert "there is no file 'x.csv' in the input folders" in missing
    # A template or a schedule may name a file that has not arrived yet.
    put = server.client.put("/templates/Drop", json={**JOB, "input": "later/x.csv"})
    assert put.status_code == 201, put.text
    assert put.json()["document"]["input"]["file"] == "later/x.csv"


def test_without_input_folders_only_uploads_are_read(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    with Workspace.open(Settings(workspace=tmp_path / "ws")) as workspace:
        _, token = TokenStore(workspace.suite).create("tests")
        with running_sandbox(create_server_app(workspace, None)) as base:
            answer = httpx.post(
                f"{base}/api/v1/runs",
                json={**JOB, "input": str(tmp_path / "people.csv")},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert answer.status_code == 400
    assert "reads no file by its path: upload it (POST /api/v1/uploads)" in answer.text
    assert str(tmp_path) not in answer.text


# ---- uploads -----------------------------------------------------------------------------------


def test_an_upload_is_kept_private_and_read_by_id(server: Server) -> None:
    sent = upload(server, "C:\\Users\\me\\Roster.CSV", PEOPLE.encode())
    assert sent.status_code == 201, sent.text
    info = sent.json()
    assert (info["name"], info["size"], info["columns"]) == (
        "Roster.CSV",
        len(PEOPLE),
        ["Last", "E-mail"],
    )
    assert sent.headers["Location"].endswith(f"/api/v1/uploads/{info['id']}")
    folder = server.workspace.settings.workspace / "uploads"
    kept = folder / f"{info['id']}.csv"
    assert kept.read_text(encoding="utf-8") == PEOPLE
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert server.client.get(f"/uploads/{info['id']}").json() == info
    assert [u["id"] for u in server.client.get("/uploads").json()] == [info["id"]]

    plan = server.client.post("/runs?plan=true", json={**JOB, "input": {"upload": info["id"]}})
    assert plan.status_code == 200, plan.text
    assert plan.json()["run"]["rows"] == 2
    queued = server.client.post("/runs", json={**JOB, "input": {"upload": info["id"]}})
    assert queued.status_code == 202, queued.text
    assert server.client.put("/templates/People", json=JOB).status_code == 201
    fired = server.client.post("/triggers/People", json={"input": {"upload": info["id"]}})
    assert fired.status_code == 202, fired.text

    assert server.client.delete(f"/uploads/{info['id']}").json() == {"deleted": info["id"]}
    assert not kept.exists()
    assert server.client.get(f"/uploads/{info['id']}").status_code == 404
    gone = server.refused(
        server.client.post("/runs", json={**JOB, "input": {"upload": info["id"]}})
    )
    assert "it was deleted, or never sent" in gone
    for bad in ("../../outside/secret", "x" * 24, str(server.secret)):
        server.refused(server.client.post("/runs", json={**JOB, "input": {"upload": bad}}))
        assert server.client.get(f"/uploads/{bad}").status_code == 404


def test_uploads_idms_cannot_read_are_refused_and_not_kept(server: Server) -> None:
    assert "Accepted file types" in server.refused(upload(server, "run.sh", b"rm -rf /\n"))
    assert "is empty" in server.refused(upload(server, "empty.csv", b""))
    not_multipart = server.client.post(
        "/uploads", content=PEOPLE, headers={"Content-Type": "text/csv"}
    )
    assert "multipart/form-data in a part named 'file'" in server.refused(not_multipart)
    wrong_part = server.client.post("/uploads", files={"data": ("a.csv", b"A\n1\n")})
    assert "No file" in server.refused(wrong_part)
    folder = server.workspace.settings.workspace / "uploads"
    assert not folder.exists() or list(folder.iterdir()) == []


# ---- the parser no longer echoes what it read ----------------------------------------------------


def test_a_file_read_as_a_job_is_not_quoted_back(tmp_path: Path) -> None:
    """The root of the echo: a job file's unknown keys and syntax errors were worded with the
    text read, which, for a file that is no job, is the file."""
    shadow = f"root:{MARK}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
    document = parse_document(shadow)
    with pytest.raises(JobInvalid) as caught:
        build_job(document)
    assert MARK not in str(caught.value)
    assert "daemon" not in str(caught.value)
    assert "(top level): has a key that is not a job setting (check the spelling)" in (
        caught.value.problems
    )
    with pytest.raises(JobInvalid) as caught:
        parse_document(f"a: 1\nPASSWORD: [{MARK}\n")
    assert MARK not in str(caught.value)
    assert "is not valid YAML (line 3, column 1)" in str(caught.value)
    # A key that could be a setting's name is still named: a typo is found at once.
    with pytest.raises(JobInvalid) as caught:
        build_job({**JOB, "colour": "red"})
    assert caught.value.problems == ["colour: is not a job setting (check the spelling)"]
    from idms.documents import shown_key

    assert shown_key("name") == "name"
    assert shown_key(f"root:{MARK}") is None


# ---- the class of bug: every refusal, whatever the path ------------------------------------------

FILEISH = st.one_of(
    st.sampled_from(
        [
            "{secret}",
            "{shadow}",
            "/etc/passwd",
            "/proc/self/environ",
            "~/.ssh/id_rsa",
            "~root/x.csv",
            "file://{secret}",
            "{root}/ws/secret.key",
            "{root}/ws/suite.db",
            "{root}/inbox",
            "{root}/inbox/",
            "{root}/inbox/link.csv",
            "{root}/inbox/../outside/secret.csv",
            "..\\outside\\secret.csv",
            "%2e%2e/outside/secret.csv",
            "link.csv",
            "people.csv\x00.csv",
            "",
            " ",
        ]
    ),
    st.builds(
        lambda n, tail: "../" * n + tail,
        st.integers(1, 12),
        st.sampled_from(["outside/secret.csv", "etc/passwd", "ws/secret.key", "outside/shadow"]),
    ),
    st.text(min_size=1, max_size=60),
)


def _calls(server: Server, value: Any) -> list[tuple[str, str, dict[str, Any]]]:
    job = {**JOB, "input": value}
    return [
        ("POST", "/runs", {"json": job}),
        ("POST", "/runs?plan=true", {"json": job}),
        ("POST", "/runs", {"json": {**JOB, "input": {"file": value, "sheet": "1"}}}),
        ("POST", "/runs", {"json": {**JOB, "input": {"upload": value}}}),
        ("PUT", "/templates/Fuzz", {"json": job}),
        ("POST", "/templates/People/runs", {"json": {"input": value}}),
        ("POST", "/triggers/People", {"json": {"input": value}}),
        ("POST", "/triggers/People/async", {"json": {"input": {"upload": value}}}),
        ("POST", "/schedules", {"json": {"name": "F", "job": job, "at": LATER}}),
        (
            "POST",
            "/schedules",
            {"json": {"name": "F", "template": "People", "input": value, "at": LATER}},
        ),
        ("POST", "/schedules", {"json": {"name": "F", "job_file": value, "at": LATER}}),
    ] + (
        # An ID with a slash is another URL: its 404 repeats the URL sent, not a server path.
        [] if "/" in value else [("GET", f"/uploads/{quote(value, safe='') or '-'}", {})]
    )


@pytest.mark.slow
def test_no_answer_to_a_file_ish_input_reads_or_names_a_server_file(server: Server) -> None:
    (server.inbox / "link.csv").symlink_to(server.secret)
    assert server.client.put("/templates/People", json=JOB).status_code == 201
    inbox = str(server.inbox)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(FILEISH)
    def check(template: str) -> None:
        value = (
            template.replace("{root}", str(server.root))
            .replace("{secret}", str(server.secret))
            .replace("{shadow}", str(server.shadow))
        )
        for method, url, kwargs in _calls(server, value):
            answer = server.client.request(method, url, **kwargs)
            assert answer.status_code < 500, (method, url, value, answer.text)
            text = answer.text
            assert MARK not in text, (method, url, value, text)
            if answer.status_code >= 400:
                server.refused(answer)
                continue
            # Accepted: then only for a file inside the input folder (one yet to arrive), shown
            # by its path inside the folder.
            body = answer.json()
            stored = [
                body.get("input_file"),
                ((body.get("document") or {}).get("input") or {}).get("file"),
                ((body.get("job") or {}).get("input") or {}).get("file"),
            ]
            for path in filter(None, stored):
                assert not Path(path).is_absolute(), (method, url, value, path)
                assert ".." not in Path(path).parts, (method, url, value, path)
                inside = (server.inbox / path).resolve()
                assert inside.is_relative_to(inbox), (method, url, value, path)
            if url.startswith("/schedules"):
                server.client.delete("/schedules/F")
        for run in server.workspace.runs.list(1000):  # a run queued reads the folder's file
            sealed = server.workspace.box.decrypt(run.sealed_job) if run.sealed_job else ""
            assert str(server.secret) not in sealed
            assert MARK not in sealed

    check()


# ---- and the server package touches no file by itself ------------------------------------------

SERVER = Path(idms.__file__).parent / "server"
# Modules that serve files of their own, never one a request names.
OWN_FILES = {"app.py", "serve.py"}
FILE_MODULES = {"pathlib", "os", "os.path", "io", "shutil", "tempfile", "glob", "fileinput"}
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "unlink"}
READERS = {"load_job_file", "job_from_file", "load_query_file", "open_input", "server_path"}


def test_the_api_reads_no_file_but_through_the_library() -> None:
    """A route parses, calls the facade (``Workspace.remote_inputs``, ``Workspace.uploads``)
    and presents: it imports no file module and calls nothing that opens a path, so no value
    of a request reaches the file system by another way."""
    found: list[str] = []
    for path in sorted(SERVER.rglob("*.py")):
        if path.name in OWN_FILES and path.parent == SERVER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(SERVER)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{where}: import {a.name}" for a in node.names if a.name in FILE_MODULES]
            elif isinstance(node, ast.ImportFrom):
                if node.module in FILE_MODULES:
                    found.append(f"{where}: from {node.module} import ...")
                found += [f"{where}: {a.name}" for a in node.names if a.name in READERS]
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in FILE_CALLS or name in READERS:
                    found.append(f"{where}:{node.lineno}: {name}()")
    assert not found, found


# ---- no answer shows a server path ---------------------------------------------------------------


def test_no_answer_shows_the_server_path_of_a_file(server: Server) -> None:
    """A run's failed-rows file, a template's and a schedule's input are shown by name (an
    upload as upload:ID, a file of an input folder by its path inside it), never by the
    server's absolute path; the command line still sees the full paths."""
    (server.inbox / "drop").mkdir()
    (server.inbox / "drop" / "bad.csv").write_text(PEOPLE + "Nobody,\n", encoding="utf-8")
    sent = upload(server, "roster.csv", PEOPLE.encode()).json()["id"]
    by_upload = {**JOB, "input": {"upload": sent}}
    by_folder = {**JOB, "input": "drop/bad.csv"}
    for name, document in (("By upload", by_upload), ("By folder", by_folder)):
        assert server.client.put(f"/templates/{name}", json=document).status_code == 201
    schedules = [
        {"name": "Nightly upload", "template": "By upload", "input": {"upload": sent}},
        {"name": "Nightly folder", "template": "By folder", "input": "drop/bad.csv"},
        {"name": "Nightly job", "job": by_folder},
    ]
    for body in schedules:
        added = server.client.post("/schedules", json={**body, "cron": "daily"})
        assert added.status_code == 201, added.text
    job = build_job({**JOB, "input": str(server.inbox / "drop" / "bad.csv")})
    report = server.workspace.run(job)
    error_file = server.workspace.runs.get(report.run_id).error_file
    assert error_file is not None
    assert Path(error_file).is_absolute()  # what the command line shows

    answers = {
        "run": server.client.get(f"/runs/{report.run_id}"),
        "status": server.client.get(f"/runs/{report.run_id}/status"),
        "schedules": server.client.get("/schedules"),
        "schedule": server.client.get("/schedules/Nightly%20folder"),
        "templates": server.client.get("/templates"),
        "by upload": server.client.get("/templates/By%20upload"),
        "by folder": server.client.get("/templates/By%20folder"),
    }
    places = {str(server.root), os.path.realpath(server.root), str(server.inbox)}
    places.add(str(server.workspace.settings.workspace))
    for what, answer in answers.items():
        assert answer.status_code == 200, (what, answer.text)
        for place in places:
            assert place not in answer.text, (what, answer.text)

    assert answers["run"].json()["error_file"] == Path(error_file).name
    assert answers["by upload"].json()["document"]["input"]["file"] == f"upload:{sent}"
    assert answers["by folder"].json()["document"]["input"]["file"] == "drop/bad.csv"
    shown = {s["name"]: s for s in answers["schedules"].json()}
    assert shown["Nightly upload"]["input_file"] == f"upload:{sent}"
    assert shown["Nightly folder"]["input_file"] == "drop/bad.csv"
    assert shown["Nightly job"]["job"]["input"]["file"] == "drop/bad.csv"
    kept = server.workspace.schedules.get("Nightly folder").input_file
    assert kept == str(server.inbox / "drop" / "bad.csv")  # the server still reads the real file


# ---- uploads are not kept for ever -------------------------------------------------------------


def _age(server: Server, upload_id: str, days: int) -> None:
    """Make an upload ``days`` old, as if sent then."""
    meta = server.workspace.uploads.meta_path(upload_id)
    raw = json.loads(meta.read_text(encoding="utf-8"))
    sent = datetime.fromisoformat(raw["created_at"]) - timedelta(days=days)
    meta.write_text(json.dumps({**raw, "created_at": sent.isoformat()}), encoding="utf-8")


def test_old_uploads_are_pruned_unless_a_template_or_a_schedule_reads_them(
    server: Server,
) -> None:
    assert server.workspace.settings.upload_retention_days == 7  # the default
    ids = {
        name: upload(server, f"{name}.csv", PEOPLE.encode()).json()["id"]
        for name in ("old", "recent", "template", "schedule", "job")
    }
    for name in ("old", "template", "schedule", "job"):
        _age(server, ids[name], days=8)
    _age(server, ids["recent"], days=6)
    put = server.client.put("/templates/Roster", json={**JOB, "input": {"upload": ids["template"]}})
    assert put.status_code == 201, put.text
    assert server.client.put("/templates/People", json=JOB).status_code == 201
    for body in (
        {"name": "By template", "template": "People", "input": {"upload": ids["schedule"]}},
        {"name": "By job", "job": {**JOB, "input": {"upload": ids["job"]}}},
    ):
        added = server.client.post("/schedules", json={**body, "cron": "daily"})
        assert added.status_code == 201, added.text
    folder = server.workspace.settings.workspace / "uploads"

    ServerLoop(server.workspace, InlineExecutor(server.workspace), schedules=False).step()

    kept = {u["id"] for u in server.client.get("/uploads").json()}
    assert kept == {ids[n] for n in ("recent", "template", "schedule", "job")}
    assert not list(folder.glob(f"{ids['old']}.*"))  # its file and its record
    assert server.client.get(f"/uploads/{ids['old']}").status_code == 404

    # Once the template no longer reads it, its upload goes at the next pruning.
    assert server.client.delete("/templates/Roster").status_code == 200
    server.workspace.prune(max_age_days=None, max_count=None)
    assert ids["template"] not in {u["id"] for u in server.client.get("/uploads").json()}


def test_uploads_are_kept_for_ever_when_the_retention_is_none(tmp_path: Path) -> None:
    settings_ = Settings.load(
        workspace=tmp_path / "ws", environ={"IDMS_UPLOAD_RETENTION_DAYS": "none"}
    )
    assert settings_.upload_retention_days is None
    with Workspace.open(settings_) as workspace:
        writer = workspace.uploads.begin("old.csv")
        writer.write(PEOPLE.encode())
        info = writer.finish()
        assert workspace.uploads.prune(max_age_days=7, now=info.created_at) == 0  # not yet old
        assert workspace.prune_uploads() == 0
        later = info.created_at + timedelta(days=365)
        assert workspace.uploads.prune(max_age_days=7, keep={info.id}, now=later) == 0
        assert [u.id for u in workspace.uploads.list()] == [info.id]
