"""iWorkflow and iHook: workflows of steps started by hand, on a schedule, by a webhook or by an
iMIS change notification (``docs/workflows.md``).

* :mod:`~idms.workflows.model` — the document (trigger, steps, flow control), checked before
  anything runs;
* :mod:`~idms.workflows.actions` — one module per action, behind one seam
  (:mod:`~idms.workflows.actions.base`);
* the store, the runner (durable: a killed run resumes at the step that had not finished) and
  the triggers build on these.
"""
