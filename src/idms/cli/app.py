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
from idms.cli.context import CliState
from idms.cli.lazy import LazyCommands
from idms.cli.output import print_error, print_line
from idms.config import Platform
from idms.errors import EXIT_FAILED, IdmsError


def error_text(exc: IdmsError) -> str:
    """An error as the command line shows it: its message, then what to type next."""
    return f"{exc.message} {exc.hint}" if exc.hint else exc.message


# The commands, in the order help lists them (commands, then groups, as Typer orders them), and
# where each lives: imported when used (lazy.py).
COMMANDS = {
    "init": "idms.cli.workspace:init_command",
    "demo": "idms.cli.demo:demo_command",
    "sources": "idms.cli.sources:sources_command",
    "records": "idms.cli.records:records_command",
    "run": "idms.cli.jobs:run_command",
    "import": "idms.cli.jobs:import_command",
    "check": "idms.cli.check:check_command",
    "sandbox": "idms.cli.sandbox:sandbox_command",
    "serve": "idms.cli.serve:serve_command",
    "worker": "idms.cli.worker:worker_command",
    "version": "",  # registered below, with the app
    "runs": "idms.cli.runs:runs_app",
    "query": "idms.cli.queries:query_app",
    "template": "idms.cli.templates:template_app",
    "panel": "idms.cli.panels:panel_app",
    "secrets": "idms.cli.secrets:secrets_app",
    "settings": "idms.cli.settings:settings_app",
    "schedule": "idms.cli.schedules:schedule_app",
    "token": "idms.cli.tokens:token_app",
    "user": "idms.cli.users:user_app",
    "workflow": "idms.cli.workflows:workflow_app",
    "transfer": "idms.cli.transfers:transfer_app",
}


class IdmsGroup(TyperGroup):
    """The root command group: its commands imported when used; turns errors into a red message
    and an exit code."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(
            COMMANDS,
            self.commands,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
            suggest_commands=self.suggest_commands,
        )

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
