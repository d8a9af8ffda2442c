"""The runs pages over HTTP: /runs lists and filters exactly, pages by keyset and stays fast
with 10,000 runs; /runs/{id} shows a run's facts, outcome bar, rows and failed rows; editors
cancel, resume and undo (test_runs_undo_http.py), viewers only look; every run says who
started it."""

from __future__ import annotations

import csv
import getpass
import io
import re
import time
from pathlib import Path

import httpx
import pace
import pytest
from pace import SLOWEST_PAGE
from runs_support import PEOPLE_CSV, listed_runs, queued_run, record_runs, run_with_a_bad_row
from ui_support import EDITOR, VIEWER, Site, form_token

from idms.runs.status import RunStatus


def timed_get(client: object, url: str) -> tuple[float, str]:
    took, answer = pace.timed_get(client, url)
    assert answer.status_code == 200, answer.text
    return took, str(answer.text)


# ---- who started it -------------------------------------------------------------------------


def test_a_command_line_run_is_started_by_the_os_user(site: Site, tmp_path: Path) -> None:
    run_id = run_with_a_bad_row(site.workspace, tmp_path)
    assert site.workspace.runs.get(run_id).started_by == f"cli:{getpass.getuser()}"


def test_an_api_run_is_started_by_its_token(site: Site) -> None:
    _, secret = site.workspace.tokens.create("zapier")
    api = f"{site.base}/api/v1"
    with httpx.Client(headers={"Authorization": f"Bearer {secret}"}, timeout=30) as client:
        sent = client.post(f"{api}/uploads", files={"file": ("p.csv", PEOPLE_CSV, "text/csv")})
        assert sent.status_code == 201, sent.text
        job = {
            "name": "From Zapier",
            "input": {"upload": sent.json()["id"]},
            "source": "Contact",
            "action": "insert",
            "mappings": [{"field": "Email", "column": "Email"}],
        }
        answer = client.post(f"{api}/runs", json=job)
    assert answer.status_code == 202, answer.text
    assert answer.json()["started_by"] == "token:zapier"
    assert site.workspace.runs.get(answer.json()["run_id"]).started_by == "token:zapier"


# ---- /runs ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_the_filters_give_exactly_the_runs_they_name(site: Site) -> None:
    ids = record_runs(
        site.workspace,
        [
            ("succeeded", "import", "user:eddie"),
            ("failed", "import", "cli:ann"),
            ("completed_with_errors", "update", "token:zapier"),
            ("failed", "update", "schedule:nightly"),
            ("queued", "import", "user:eddie"),
        ],
    )
    newest_first = list(reversed(ids))
    with site.signed_in(*VIEWER) as client:
        assert listed_runs(client.get("/runs").text) == newest_first
        failed = listed_runs(client.get("/runs?status=failed").text)
        assert failed == [ids[3], ids[1]]
        problems = listed_runs(client.get("/runs?status=problems").text)
        assert problems == [ids[3], ids[2], ids[1]]
        assert listed_runs(client.get("/runs?kind=update").text) == [ids[3], ids[2]]
        eddie = client.get("/runs?who=user:eddie").text
        assert listed_runs(eddie) == [ids[4], ids[0]]
        assert "2 runs match the filter" in eddie
        both = listed_runs(client.get("/runs?status=failed&kind=import").text)
        assert both == [ids[1]]
        today = time.strftime("%Y-%m-%d")
        assert listed_runs(client.get(f"/runs?since={today}&until={today}").text) == newest_first
        assert listed_runs(client.get("/runs?until=2000-01-01").text) == []
        bad = client.get("/runs?since=yesterday")
        assert bad.status_code == 400
        assert "is not a date like" in bad.text


@pytest.mark.usefixtures("people")
def test_ten_thousand_runs_page_fast_and_completely(site: Site) -> None:
    """10,000 runs recorded at once; the runs page, an older page, a filtered page and the
    dashboard each render within the bound, and walking the pages lists every run once."""
    specs = [
        ("failed" if i % 10 == 0 else "succeeded", "import", f"user:u{i % 7}")
        for i in range(10_000)
    ]
    started = time.perf_counter()
    ids = record_runs(site.workspace, specs)
    assert time.perf_counter() - started < 20
    with site.signed_in(*VIEWER) as client:
        client.get("/runs")  # warm: the first request opens what later ones reuse
        took, html = timed_get(client, "/runs")
        assert took < SLOWEST_PAGE, f"/runs took {took * 1000:.0f} ms"
        assert "10,000 runs match" in html
        first = listed_runs(html)
        assert len(first) == 50
        older = re.search(r'<a href="([^"]+)" rel="next">Older runs</a>', html)
        assert older is not None
        took, html = timed_get(client, older.group(1).replace("&amp;", "&"))
        assert took < SLOWEST_PAGE, f"an older page took {took * 1000:.0f} ms"
        assert not set(first) & set(listed_runs(html))
        took, html = timed_get(client, "/runs?status=failed&who=user:u3")
        assert took < SLOWEST_PAGE, f"a filtered page took {took * 1000:.0f} ms"
        took, html = timed_get(client, "/")
        assert took < SLOWEST_PAGE, f"the dashboard took {took * 1000:.0f} ms"
        assert "10,000 runs" in html
        seen: list[str] = []
        url: str | None = "/runs?status=failed"
        while url:
            html = client.get(url).text
            seen += listed_runs(html)
            found = re.search(r'<a href="([^"]+)" rel="next">', html)
            url = found.group(1).replace("&amp;", "&") if found else None
    failed = [i for i, s in zip(ids, specs, strict=True) if s[0] == "failed"]
    assert sorted(seen) == sorted(failed)
    assert len(seen) == len(set(seen)) == 1_000


# ---- /runs/{id} -----------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_a_viewer_sees_a_run_but_no_buttons_and_cannot_post(site: Site, tmp_path: Path) -> None:
    run_id = run_with_a_bad_row(site.workspace, tmp_path)
    with site.signed_in(*VIEWER) as client:
        took, html = timed_get(client, f"/runs/{run_id}")
        assert took < SLOWEST_PAGE
        assert "New members from the spring fair" in html
        assert 'aria-label="Outcome of 3 rows: 2 inserted, 0 updated' in html
        assert f'action="/runs/{run_id}/undo"' not in html
        assert "run-actions" not in html
        assert "Undo the run" not in html
        token = form_token(html)  # the sign-out form's: a viewer has one too
        refused = client.post(f"/runs/{run_id}/undo", data={"csrf_token": token})
        assert refused.status_code == 403
        assert "editor" in refused.text
    assert site.workspace.runs.get(run_id).undone_by is None


@pytest.mark.usefixtures("people")
def test_a_runs_rows_filter_by_outcome_and_its_failed_rows_download(
    site: Site, tmp_path: Path
) -> None:
    run_id = run_with_a_bad_row(site.workspace, tmp_path)
    with site.signed_in(*VIEWER) as client:
        html = client.get(f"/runs/{run_id}?outcome=error").text
        table = html.split('data-testid="rows-table"', 1)[1].split("</table>", 1)[0]
        assert table.count("<tr>") == 2  # the header and the one bad row
        assert "not-an-email" in table or "Email" in table
        assert "Rows 1–1 of 1." in html
        inserted = client.get(f"/runs/{run_id}?outcome=inserted").text
        assert "Rows 1–2 of 2." in inserted
        download = client.get(f"/runs/{run_id}/failed.csv")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert [r["Email"] for r in rows] == ["not-an-email"]
        xlsx = client.get(f"/runs/{run_id}/failed.xlsx")
        assert xlsx.status_code == 200
        assert xlsx.content[:2] == b"PK"
        assert client.get("/runs/nosuchrun").status_code == 404


@pytest.mark.usefixtures("people")
def test_an_editor_cancels_a_queued_run(site: Site, tmp_path: Path) -> None:
    run_id = queued_run(site.workspace, tmp_path)
    with site.signed_in(*EDITOR) as client:
        html = client.get(f"/runs/{run_id}").text
        assert f'action="/runs/{run_id}/cancel"' in html
        assert f'action="/runs/{run_id}/undo"' not in html  # not ended: nothing to undo
        without = client.post(f"/runs/{run_id}/cancel")
        assert without.status_code == 403
        assert site.workspace.runs.get(run_id).status == RunStatus.QUEUED
        done = client.post(f"/runs/{run_id}/cancel", data={"csrf_token": form_token(html)})
        assert done.status_code == 303
        assert done.headers["location"] == f"/runs/{run_id}?done=cancel"
        after = client.get(done.headers["location"]).text
        assert "Cancel requested" in after
        again = client.post(f"/runs/{run_id}/cancel", data={"csrf_token": form_token(html)})
        assert again.status_code == 409
        assert "nothing to cancel" in again.text
    assert site.workspace.runs.get(run_id).status == RunStatus.CANCELLED


@pytest.mark.usefixtures("people")
def test_the_runs_pages_render_fast_on_the_demo_workspace(site: Site, tmp_path: Path) -> None:
    """The demo association (5,000 contacts, as 'idms demo --contacts 5000' makes it), an
    import with a bad row on it, and 2,000 other runs: every runs page within the bound."""
    from idms.demo.generate import fill_demo

    with site.workspace.target() as target:
        fill_demo(target.engine, contacts=5000, seed=7)  # type: ignore[attr-defined]
    run_id = run_with_a_bad_row(site.workspace, tmp_path)
    record_runs(site.workspace, [("succeeded", "import", "user:eddie")] * 2000)
    with site.signed_in(*VIEWER) as client:
        client.get("/")  # warm
        for url in (
            "/",
            "/runs",
            "/runs?status=problems",
            f"/runs/{run_id}",
            f"/runs/{run_id}?outcome=error",
        ):
            took, _ = timed_get(client, url)
            assert took < SLOWEST_PAGE, f"{url} took {took * 1000:.0f} ms"
