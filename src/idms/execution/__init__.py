"""Running jobs outside the command that asked for them: queued runs, ``execute_run``, the
executors (threads in ``idms serve``, Celery workers), and the reaper that resumes runs whose
process died."""
