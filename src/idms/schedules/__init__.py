"""iSchedule: jobs run on a cron schedule in a time zone, or once at a given moment.

* ``timing.py``: cron expressions, presets and time zones; next fire times across DST.
* ``model.py``: a schedule as read (:class:`ScheduleInfo`), its policies, :func:`next_times`.
* ``define.py``: checking a new schedule from what the user gave (:func:`define_schedule`).
* ``jobs.py``: the job a schedule runs, built afresh at each fire.
* ``edit.py``: an edit's changes laid over a stored schedule, for ``define_schedule`` to check
  (:class:`ScheduleChanges`; ``Workspace.edit_schedule`` makes the change).
* ``store.py``: :class:`ScheduleStore`: add, get, list, pause, resume, change, remove.
* ``leader.py``: one scheduler leads at a time (advisory lock, or a lease row on SQLite).
* ``scheduler.py``: :class:`Scheduler`: ``tick`` creates the runs of due schedules,
  ``run_now`` queues one at once; its loop, and the workflows schedules start.
* ``fires.py``: what a tick does with one due schedule (fire, fail, skip; its next slot), and
  the run it records, built ahead and kept.
* ``claim.py``: the transaction that advances due schedules (a compare-and-set) and records
  their runs: a slot fires once, whoever ticks.
* ``outcomes.py``: :func:`record_run_outcome`: failures in a row, auto-disable.
"""

from idms.schedules.define import NewSchedule, define_schedule
from idms.schedules.model import ScheduleInfo, next_times
from idms.schedules.outcomes import record_run_outcome
from idms.schedules.scheduler import Scheduler
from idms.schedules.store import ScheduleStore

__all__ = [
    "NewSchedule",
    "ScheduleInfo",
    "ScheduleStore",
    "Scheduler",
    "define_schedule",
    "next_times",
    "record_run_outcome",
]
