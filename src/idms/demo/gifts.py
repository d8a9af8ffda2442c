"""Gift items, payment methods and gifts (never paid by credit card)."""

from __future__ import annotations

from idms.demo.base import Bulk, Contact, Demo, Row, insert_new, money
from idms.demo.reference import GIFT_ITEMS, PAYMENT_METHODS
from idms.targets.embedded import counters
from idms.targets.embedded.schema import gift_items, gifts, payment_methods


def make_gifts(demo: Demo) -> None:
    demo.summary.gift_items = insert_new(
        demo.conn,
        gift_items,
        ("gift_item_id",),
        [{"gift_item_id": c, "name": n, "description": d} for c, n, d in GIFT_ITEMS],
    )
    demo.summary.payment_methods = insert_new(
        demo.conn,
        payment_methods,
        ("payment_method_id",),
        [{"payment_method_id": c, "name": n, "payment_type": t} for c, n, t in PAYMENT_METHODS],
    )
    usable = [c for c, _, t in PAYMENT_METHODS if t != "CREDIT_CARD"]
    rng = demo.rng
    stage = demo.stage("Gifts", len(demo.contacts))
    bulk = Bulk(demo.conn, gifts, counters.GIFT, "gift_id")
    for contact in demo.contacts:
        if contact.status != "D" and demo.chance(0.12):
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                bulk.add(_gift(demo, contact, usable))
        stage.advance()
    bulk.flush()
    stage.finish()
    demo.summary.gifts = bulk.count


def _gift(demo: Demo, contact: Contact, methods: list[str]) -> Row:
    rng = demo.rng
    day = demo.days_ago(0, 3 * 365)
    if contact.is_org:
        amount = rng.choice((500, 1000, 2500, 5000, 10000))
    else:
        amount = rng.choices(
            (25, 50, 100, 150, 250, 500, 1000, 2500), (20, 25, 22, 8, 12, 7, 4, 2)
        )[0]
    method = rng.choices(methods, (3, 5, 2))[0] if len(methods) == 3 else rng.choice(methods)
    season = "YE" if day.month >= 11 else ("SPRING" if day.month <= 6 else "FALL")
    row: Row = {
        "donor_id": contact.imis_id,
        "amount": money(amount),
        "gift_item_id": rng.choices([c for c, _, _ in GIFT_ITEMS], (60, 20, 12, 8))[0],
        "payment_method_id": method,
        "gift_date": day,
        "transaction_date": day,
        "check_number": str(rng.randint(1001, 9999)) if method == "CHECK" else None,
        "source_code": f"{season}{day.year % 100:02d}",
        "do_not_receipt": False,
        "list_as": "Anonymous" if demo.chance(0.05) else None,
    }
    if not contact.is_org and demo.chance(0.06):
        kind = rng.choice(("HONOR", "MEMORY"))
        tribute = str(demo.fake.name())[:100]
        row.update(
            tribute_type=kind,
            tribute_name=tribute,
            tribute_message=(
                f"In honor of {tribute}" if kind == "HONOR" else f"In loving memory of {tribute}"
            ),
        )
    return row
