"""Lookup tables every source validates against, and the store's settings."""

from __future__ import annotations

from idms.demo.base import Demo, insert_new
from idms.demo.reference import LOOKUPS
from idms.targets.embedded.admin import set_setting
from idms.targets.embedded.schema import lookup_codes


def make_lookups(demo: Demo) -> None:
    stage = demo.stage("Lookup tables", len(LOOKUPS))
    for table_name, codes in LOOKUPS.items():
        rows = [
            {"table_name": table_name, "code": c, "description": d, "expansion": e}
            for c, d, e in codes
        ]
        demo.summary.lookup_codes += insert_new(
            demo.conn, lookup_codes, ("table_name", "code"), rows
        )
        stage.advance()
    set_setting(demo.conn, "default_address_purpose", "Address")
    stage.finish()
