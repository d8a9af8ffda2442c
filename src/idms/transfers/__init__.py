"""iTransfer: scheduled exports of a saved query's rows to HTTP, SFTP, FTP/FTPS, e-mail or a
folder, only the rows that changed, with e-mail alerts (``docs/transfers.md``).

A transfer is stored and shown as a transfer, and runs as the workflow it compiles to
(:func:`~idms.transfers.compile.compile_transfer`): Fetch Query Data, Delta Hashing, Convert,
then one step per connection, each an action of :mod:`idms.workflows.actions`. So there is one
implementation of each connection, format, delta hash and retry.

* :mod:`~idms.transfers.model` — the document, checked whole before anything runs;
* :mod:`~idms.transfers.compile` — the document as a workflow, and its connections checked by
  the actions' own parameter models;
* :mod:`~idms.transfers.store` — the ``transfers`` table;
* :mod:`~idms.transfers.history` — what each step sent, read from the steps' outputs;
* :mod:`~idms.transfers.alerts` — the e-mail after a run;
* :mod:`~idms.transfers.service` — what the facade does with them.
"""
