"""The ``idms`` application: global options, the commands, and how errors become exit codes.

Every command is a thin shell: it parses its options, calls one library function and prints.
Errors idms raises on purpose (:class:`~idms.errors.IdmsError`) are printed in red on stderr,
without a traceback, and exit with the error's code (2: the command line or a file is invalid,
nothing was written; 3: the run failed). Anything unexpected exits 3 with a one-line message;
set ``IDMS_DEBUG=1`` to see its traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from idms import __version__
from idms.cli import (
    demo,
    hashes,
    jobs,
    panels,
    queries,
    records,
    runs,
    sandbox,
    schedules,
    secrets,
    serve,
    sources,
    templates,
    tokens,
    transfers,
    users,
    worker,
    workflow_hooks,
    workflows,
    workspace,
)
from idms.cli.context import CliState
from idms.cli.output import print_error, print_line
from idms.config import Platform
from idms.errors import EXIT_FAILED, IdmsError


def error_text(exc: IdmsError) -> str:
    """An error as the command line shows it: its message, then what to type next."""
    return f"{exc.message} {exc.hint}" if exc.hint else exc.message


class IdmsGroup(TyperGroup):
    """The root command group: turns errors into a red message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.TyperException):
            raise  # Typer's own signals: --help, usage errors (exit 2), explicit exits
        except IdmsError as exc:
            print_error(error_text(exc))
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (``idms records ... | head``): stop quietly, as Unix tools do.
            _silence_stdout()
            raise typer.Exit(0) from None
        except (KeyboardInterrupt, typer.Abort):  # Ctrl-C, or end of input at a prompt
            print_error("Cancelled.")
            raise typer.Exit(EXIT_FAILED) from None
        except Exception as exc:
            if os.environ.get("IDMS_DEBUG"):
                raise
            print_error(f"Unexpected error: {one_line(exc)} (set IDMS_DEBUG=1 for the traceback)")
            raise typer.Exit(EXIT_FAILED) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests): nothing to silence
        pass


def one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


app = typer.Typer(
    name="idms",
    cls=IdmsGroup,
    help=(
        "idms: import, update and browse iMIS data.\n\n"
        "Start with 'idms init' (or 'idms demo' for a sample association), then "
        "'idms sources' to see what you can load, 'idms import FILE' or 'idms run JOB.yml' "
        "to load it, and 'idms records SOURCE' to browse it."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        print_line(f"idms {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    workspace_dir: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="DIR",
            help="The workspace folder (suite database, embedded store, run files). "
            "Default ./idms-data, or the IDMS_WORKSPACE variable.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            metavar="TARGET",
            help="Where the iMIS data lives: 'embedded' (the workspace's store, the default), "
            "sqlite:///PATH, postgresql://... or imis+https://HOST/. Or IDMS_TARGET.",
            show_default=False,
        ),
    ] = None,
    platform: Annotated[
        Platform | None,
        typer.Option(
            "--platform",
            "-p",
            help="Which iMIS rules apply: ems (the default) or 2017. Or IDMS_PLATFORM.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the idms version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """idms: import, update and browse iMIS data."""
    ctx.obj = CliState(
        workspace=workspace_dir,
        target=target,
        platform=platform.value if platform is not None else None,
    )


app.command("init")(workspace.init_command)
app.command("demo")(demo.demo_command)
app.command("sources")(sources.sources_command)
app.command("records")(records.records_command)
app.command("run")(jobs.run_command)
app.command("import")(jobs.import_command)
app.add_typer(runs.runs_app, name="runs")
app.add_typer(queries.query_app, name="query")
app.add_typer(templates.template_app, name="template")
app.add_typer(panels.panel_app, name="panel")
app.add_typer(secrets.secrets_app, name="secrets")
app.add_typer(schedules.schedule_app, name="schedule")
app.command("sandbox")(sandbox.sandbox_command)
app.command("serve")(serve.serve_command)
app.add_typer(tokens.token_app, name="token")
app.add_typer(users.user_app, name="user")
app.command("worker")(worker.worker_command)
workflows.workflow_app.command("change-url")(workflow_hooks.change_url_command)
workflows.workflow_app.command("hashes")(hashes.hashes_command)
transfers.transfer_app.command("hashes")(hashes.transfer_hashes_command)
app.add_typer(workflows.workflow_app, name="workflow")
app.add_typer(transfers.transfer_app, name="transfer")


@app.command("version")
def version_command() -> None:
    """Print the idms version.

    Example: idms version
    """
    print_line(f"idms {__version__}")


def main() -> None:
    """The ``idms`` console script."""
    try:
        app(prog_name="idms")
    except IdmsError as exc:  # the group handles these; this is the last line of defence
        print_error(error_text(exc))
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
