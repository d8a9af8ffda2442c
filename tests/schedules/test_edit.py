"""Editing a schedule in place (``Workspace.edit_schedule``): each kind of change, what stays
(ID, run history, state, failures), the next fire time recomputed from now only when the timing
changes, refusals that change nothing, and the compare-and-set against the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schedules_support import add, utc, write_people

from idms.config import Settings
from idms.errors import InvalidInputError, NotFound
from idms.schedules import Scheduler, ScheduleStore, define_schedule
from idms.schedules.edit import NO_LIMIT, ScheduleChanges, differences
from idms.workspace import Workspace

NOON = utc(2026, 6, 1, 12, 10)
PEOPLE_TEMPLATE = {
    "source": "Contact",
    "action": "insert-update",
    "mappings": [{"field": "Email", "column": "E-mail", "match": True}],
}


@pytest.fixture
def any_workspace(any_settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(any_settings)
    try:
        yield ws
    finally:
        ws.close()


def test_a_new_cron_keeps_the_id_history_and_failures_and_fires_from_now(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "Nightly", job_file, cron="hourly", overlap="queue", now=NOON)
    scheduler = Scheduler(workspace)
    (run_id,) = scheduler.tick(utc(2026, 6, 1, 13))
    store = workspace.schedules
    before, after = workspace.edit_schedule(
        "Nightly", ScheduleChanges(cron="0 3 * * *"), now=utc(2026, 6, 1, 13, 30)
    )
    assert before.cron is not None
    assert before.cron.text == "@hourly"
    assert (after.id, after.name, after.state) == (info.id, "Nightly", "active")
    assert after.cron is not None
    assert after.cron.text == "0 3 * * *"
    assert after.next_fire_at == utc(2026, 6, 2, 3)  # from the edit's now, not a missed slot
    assert after.last_run_id == run_id  # the history stays
    assert [r for r, _, _ in store.recent_runs(info.id)] == [run_id]
    assert after.job == before.job
    assert after.job_file == before.job_file
    assert after.overlap == "queue"
    assert after.misfire == "run-once"
    assert differences(before, after) == [("when", "hourly (0 * * * *) in UTC", "0 3 * * * in UTC")]
    assert scheduler.tick(utc(2026, 6, 1, 14)) == []  # the old timing fires no more
    assert len(scheduler.tick(utc(2026, 6, 2, 3))) == 1
    scheduler.close()


def test_a_zone_alone_reads_the_same_wall_clock_times_there(
    workspace: Workspace, job_file: Path
) -> None:
    add(workspace, "Nightly", job_file, cron="30 2 * * *", now=NOON)
    _, after = workspace.edit_schedule(
        "Nightly", ScheduleChanges(timezone="America/New_York"), now=NOON
    )
    assert after.cron is not None
    assert after.cron.text == "30 2 * * *"
    assert after.timezone == "America/New_York"
    assert after.next_fire_at == utc(2026, 6, 2, 6, 30)  # 02:30 EDT
    add(workspace, "Once", job_file, at="2026-07-01T09:00", timezone="Europe/London", now=NOON)
    _, once = workspace.edit_schedule("Once", ScheduleChanges(timezone="Asia/Tokyo"), now=NOON)
    assert once.run_at == utc(2026, 7, 1, 0) == once.next_fire_at  # 09:00 in Tokyo


def test_what_it_runs_changes_job_to_template_to_its_file_and_back(
    workspace: Workspace, job_file: Path, tmp_path: Path
) -> None:
    workspace.templates.save("People", PEOPLE_TEMPLATE)
    info = add(workspace, "Sync", job_file, cron="daily", now=NOON)
    people = write_people(tmp_path / "people.csv")
    _, templ = workspace.edit_schedule(
        "Sync", ScheduleChanges(template="People", input_file=people), now=NOON
    )
    assert (templ.id, templ.kind, templ.template, templ.job) == (
        info.id,
        "template",
        "People",
        None,
    )
    assert templ.input_file == str(people.resolve())
    assert templ.next_fire_at == info.next_fire_at  # the timing did not change: nor its slot
    other = write_people(tmp_path / "other.csv")
    _, refiled = workspace.edit_schedule("Sync", ScheduleChanges(input_file=other), now=NOON)
    assert (refiled.template, refiled.input_file) == ("People", str(other.resolve()))
    with pytest.raises(InvalidInputError, match="must name the file"):  # checked as an add
        workspace.edit_schedule("Sync", ScheduleChanges(input_file=""), now=NOON)
    assert workspace.schedules.get("Sync").input_file == str(other.resolve())
    _, back = workspace.edit_schedule("Sync", ScheduleChanges(job_file=job_file), now=NOON)
    assert (back.kind, back.template, back.job_file) == ("job", None, str(job_file.resolve()))
    assert back.job is not None
    assert back.job["name"] == "People by e-mail"


def test_policies_description_and_a_rename(workspace: Workspace, job_file: Path) -> None:
    info = add(workspace, "Sync", job_file, cron="daily", max_failures=3, now=NOON)
    before, after = workspace.edit_schedule(
        "Sync",
        ScheduleChanges(
            misfire="skip", overlap="queue", max_failures=NO_LIMIT, description="Members"
        ),
        now=NOON,
    )
    assert (after.misfire, after.overlap, after.max_failures) == ("skip", "queue", None)
    assert after.description == "Members"
    assert [w for w, _, _ in differences(before, after)] == [
        "misfire", "overlap", "max failures", "description",
    ]  # fmt: skip
    _, renamed = workspace.edit_schedule("Sync", ScheduleChanges(name="Members sync"), now=NOON)
    assert (renamed.id, renamed.name) == (info.id, "Members sync")
    with pytest.raises(NotFound):
        workspace.schedules.get("Sync")


def test_a_paused_schedule_stays_paused_and_failures_are_kept(
    workspace: Workspace, job_file: Path
) -> None:
    add(workspace, "Sync", job_file, cron="hourly", max_failures=5, now=NOON)
    store = workspace.schedules
    store.pause("Sync")
    _, after = workspace.edit_schedule(
        "Sync", ScheduleChanges(cron="daily", max_failures=2), now=NOON
    )
    assert (after.state, after.next_fire_at, after.max_failures) == ("paused", None, 2)
    assert store.resume("Sync", now=NOON).next_fire_at == utc(2026, 6, 2)


def test_a_one_time_schedule_that_ran_runs_again_at_a_new_moment(
    workspace: Workspace, job_file: Path
) -> None:
    add(workspace, "Once", job_file, at="2026-06-01T13:00", now=NOON)
    scheduler = Scheduler(workspace)
    assert len(scheduler.tick(utc(2026, 6, 1, 13))) == 1
    assert workspace.schedules.get("Once").state == "done"
    with pytest.raises(InvalidInputError, match="in the past"):
        workspace.edit_schedule("Once", ScheduleChanges(description="x"), now=utc(2026, 6, 1, 14))
    _, again = workspace.edit_schedule(
        "Once", ScheduleChanges(at="2026-06-02T09:00"), now=utc(2026, 6, 1, 14)
    )
    assert (again.state, again.next_fire_at) == ("active", utc(2026, 6, 2, 9))
    scheduler.close()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (ScheduleChanges(cron="61 * * * *"), "minute"),
        (ScheduleChanges(timezone="Europe/Lundon"), "Europe/London"),
        (ScheduleChanges(cron="daily", at="2026-07-01T09:00"), "one of the two"),
        (ScheduleChanges(template="People", workflow="W"), "one of them"),
        (ScheduleChanges(template="Nope"), "No template"),
        (ScheduleChanges(input_file="x.csv"), "An input file goes with a template"),
        (ScheduleChanges(input_file=""), "An input file goes with a template"),
        (ScheduleChanges(misfire="never"), "Unknown misfire policy"),
        (ScheduleChanges(max_failures=-1), "max failures"),
        (ScheduleChanges(name=" "), "needs a name"),
        (ScheduleChanges(name="Other"), "exists already"),
    ],
)
def test_a_refused_edit_changes_nothing_and_says_what_to_write(
    workspace: Workspace, job_file: Path, changes: ScheduleChanges, message: str
) -> None:
    add(workspace, "Other", job_file, cron="daily", now=NOON)
    before = add(workspace, "Sync", job_file, cron="hourly", now=NOON)
    with pytest.raises(InvalidInputError, match=message):
        workspace.edit_schedule("Sync", changes, now=NOON)
    assert workspace.schedules.get("Sync") == before


def test_an_edit_read_before_a_fire_cannot_write_the_old_slot_back(
    any_workspace: Workspace, job_file: Path
) -> None:
    """The store's change is a compare-and-set: a stale read (the scheduler fired since) is
    refused (None), and the facade reads again, so the slot fired is not fired twice."""
    info = add(any_workspace, "Sync", job_file, cron="hourly", overlap="queue", now=NOON)
    scheduler = Scheduler(any_workspace)
    assert len(scheduler.tick(utc(2026, 6, 1, 13))) == 1  # fired: next is 14:00 now
    store = ScheduleStore(any_workspace.suite, any_workspace.box)
    settings = any_workspace.settings
    new = define_schedule(
        "Sync",
        templates=any_workspace.templates,
        target=settings.target,
        platform=settings.platform.value,
        job=info.job,
        cron="hourly",
        description="stale",
    )
    assert store.change(info, new, keep_job=True, retime=False) is None
    assert store.get("Sync").description == ""
    assert store.get("Sync").next_fire_at == utc(2026, 6, 1, 14)
    _, after = any_workspace.edit_schedule("Sync", ScheduleChanges(description="fresh"))
    assert (after.description, after.next_fire_at) == ("fresh", utc(2026, 6, 1, 14))
    assert scheduler.tick(utc(2026, 6, 1, 13, 30)) == []  # 13:00 is not fired again
    assert len(scheduler.tick(utc(2026, 6, 1, 14))) == 1
    scheduler.close()


def test_an_unknown_schedule_is_refused_with_the_closest_name(
    workspace: Workspace, job_file: Path
) -> None:
    add(workspace, "Nightly", job_file, cron="daily", now=NOON)
    with pytest.raises(NotFound, match="Did you mean 'Nightly'"):
        workspace.edit_schedule("Nightlyy", ScheduleChanges(cron="hourly"))
