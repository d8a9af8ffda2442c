"""``idms records SOURCE``: browse what the target holds, by canonical field names."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from idms.cli.context import get_settings, open_target
from idms.cli.output import print_json_array, print_note, print_records
from idms.sources.filters import Filter, resolve_order


def records_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE", help="The source to browse (see 'idms sources').", show_default=False
        ),
    ],
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-W",
            metavar="FIELD=VALUE",
            help="Keep records whose FIELD equals VALUE, or use an operator: FIELD=op:VALUE "
            "(eq, ne, gt, ge, lt, le, contains, notContain, startsWith, endsWith, in, between, "
            "isEmpty, notEmpty, isTrue, isFalse). Text compares without case. Repeat to combine.",
            show_default=False,
        ),
    ] = None,
    order: Annotated[
        list[str] | None,
        typer.Option(
            "--order",
            "-o",
            metavar="FIELD",
            help="Sort by FIELD; -FIELD sorts from high to low. Repeat for more sort fields.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", "-n", min=0, metavar="N", help="At most this many records; 0 for all."
        ),
    ] = 50,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON array of records (for scripts)."),
    ] = False,
) -> None:
    """Browse the records of a source.

    Records are filtered with --where, sorted with --order and shown with canonical field names.
    On a terminal the records show as a table (with many columns, the empty ones are hidden);
    piped, as tab-separated lines; with --json, as a JSON array. Passwords never appear.

    Example: idms records Contact --where LastName=startsWith:Sm --limit 20
    """
    parsed = [Filter.parse(expression) for expression in where or ()]
    with open_target(get_settings(ctx)) as target:
        sdef = target.describe(source)
        # Fields by any name, read as canonical names; an unknown one is refused before reading.
        filters = [flt.resolved(sdef) for flt in parsed]
        order_by = resolve_order(sdef, order or ())
        secret = sdef.secret_fields()
        stream = (
            {k: v for k, v in record.items() if k not in secret}
            for record in target.read(
                sdef.name, filters, order_by=order_by, limit=limit if limit else None
            )
        )
        if as_json:
            print_json_array(stream)
        else:
            shown = list(islice(stream, limit) if limit else stream)
            print_records(sdef, shown)
            if limit and len(shown) == limit:
                print_note(f"Showing the first {limit}; --limit N shows more, --limit 0 all.")
