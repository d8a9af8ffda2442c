"""``idms check [--job FILE | --template NAME] [--json]``: the checks made before a run.

The same checks start every run against iMIS (:meth:`idms.workspace.Workspace.preflight`);
here they can be run ahead, e.g. the day before a schedule, to find an account that lost a
role, a password about to expire, or a panel source or IQA not available via the REST API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from idms.cli.context import get_state, open_workspace
from idms.cli.output import print_json, print_line
from idms.errors import InvalidInputError

EXIT_CHECK_FAILED = 1  # an error finding: the run would be refused
STYLES = {"error": "bold red", "warning": "yellow", "info": "dim"}


def check_command(
    ctx: typer.Context,
    job_file: Annotated[
        Path | None,
        typer.Option(
            "--job",
            metavar="FILE",
            help="Check what this job file reads too (its source and IQA).",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="NAME",
            help="Check what this saved template reads too.",
            show_default=False,
        ),
    ] = None,
    warn_days: Annotated[
        int,
        typer.Option(
            "--warn-days",
            min=0,
            metavar="DAYS",
            help="Warn when the account's password expires within this many days.",
        ),
    ] = 14,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the findings as JSON (a list).")
    ] = False,
) -> None:
    """Check the iMIS account and what a job reads, before a run.

    Against iMIS: the account holds the SysAdmin and RemoteService roles; its password has not
    expired and does not expire within --warn-days; and with --job or --template, the job's
    source (a panel source...) and IQA can be read through the REST API. Every run against
    iMIS makes the same checks first and refuses to start on an error. On the embedded store
    they do not apply. Exit code 1 when any finding is an error.

    Example: idms --target imis+https://imis.example.org/ check --job attendance.yml
    """
    if job_file is not None and template is not None:
        raise InvalidInputError("Give --job FILE or --template NAME, not both.")
    state = get_state(ctx)
    with open_workspace(state.settings) as workspace:
        job = None
        if job_file is not None or template is not None:
            from idms.jobs.assemble import job_from_file, job_from_template

            if job_file is not None:
                job = job_from_file(job_file, templates=workspace.templates)
            else:
                assert template is not None
                job = job_from_template(template, templates=workspace.templates)
        findings = workspace.preflight(job, warn_days=warn_days)
    if as_json:
        print_json([f.as_dict() for f in findings])
    elif not findings:
        print_line("All checks passed.", style="green")
    else:
        for f in findings:
            print_line(f"{f.severity.upper()}: {f.message}", style=STYLES[f.severity])
            if f.action:
                print_line(f"  What to do: {f.action}")
    if any(f.is_error for f in findings):
        raise typer.Exit(EXIT_CHECK_FAILED)
