"""Runs: the record every execution leaves (``record``), the lease and queue protocol that lets
one process at a time carry a run on (``leases``), the closed vocabulary of statuses and outcomes
(``status``) and the "run finished" event others subscribe to (``events``).

This package sits just above the suite database and below the engine: the engine records runs
through it; executors, schedules and notifications build on it.
"""
