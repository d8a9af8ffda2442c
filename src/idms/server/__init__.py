"""``idms serve``: the JSON API (``app.py``, ``routes/``), its tokens (``auth.py``), and the
background loop that schedules, resumes and dispatches runs (``loop.py``)."""
