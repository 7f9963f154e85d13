"""Demo data: a small believable shop (two warehouses, twenty products, a few hundred orders)."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from colis.catalog.services import ProductData, product_create
from colis.core.actor import Actor
from colis.core.errors import DomainError
from colis.core.models import Shop
from colis.fulfillment.models import FulfillmentOrder
from colis.fulfillment.services import order_hold
from colis.fulfillment.shipment_changes import shipment_deliver
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.fulfillment.status import FOStatus
from colis.inventory.services import inventory_adjust
from colis.locations.models import Location
from colis.locations.services import LocationData, location_create
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import order_cancel, orders_create

PRODUCTS = [
    ("TEE-BLK-S", "Organic cotton tee, black, S", 180, "6109.10", "PT"),
    ("TEE-BLK-M", "Organic cotton tee, black, M", 190, "6109.10", "PT"),
    ("TEE-BLK-L", "Organic cotton tee, black, L", 200, "6109.10", "PT"),
    ("TEE-WHT-M", "Organic cotton tee, white, M", 190, "6109.10", "PT"),
    ("HOOD-NVY-M", "Fleece hoodie, navy, M", 620, "6110.20", "PT"),
    ("HOOD-NVY-L", "Fleece hoodie, navy, L", 650, "6110.20", "PT"),
    ("CAP-OLV", "Canvas cap, olive", 120, "6505.00", "VN"),
    ("BEANIE-GRY", "Merino beanie, grey", 90, "6505.00", "FR"),
    ("SOCK-3PK", "Wool socks, 3 pairs", 150, "6115.94", "FR"),
    ("MUG-ENM-350", "Enamel mug 350 ml", 240, "7323.94", "PL"),
    ("BOTTLE-750", "Steel bottle 750 ml", 380, "7323.93", "CN"),
    ("TOTE-NAT", "Canvas tote, natural", 210, "4202.92", "IN"),
    ("NOTE-A5-DOT", "A5 notebook, dotted", 260, "4820.10", "IT"),
    ("PEN-BRS", "Brass pen", 45, "9608.10", "DE"),
    ("CANDLE-FIG", "Fig candle 200 g", 420, "3406.00", "FR"),
    ("SOAP-LAV", "Lavender soap", 110, "3401.11", "FR"),
    ("POSTER-A3", "Map poster A3", 160, "4911.91", "FR"),
    ("PUZZLE-500", "Puzzle 500 pieces", 540, "9503.00", "DE"),
    ("KEYRING-LTH", "Leather key ring", 30, "4205.00", "ES"),
    ("STICKER-SET", "Sticker set", 20, "4911.99", "FR"),
]

BUYERS = [
    (
        {
            "name": "Jeanne Martin",
            "line1": "12 rue de la Paix",
            "city": "Paris",
            "postal_code": "75002",
            "country": "FR",
        },
        "fr",
    ),
    (
        {
            "name": "Louis Bernard",
            "line1": "5 quai Saint-Antoine",
            "city": "Lyon",
            "postal_code": "69002",
            "country": "FR",
        },
        "fr",
    ),
    (
        {
            "name": "Sam Carter",
            "line1": "350 5th Ave",
            "city": "New York",
            "region": "NY",
            "postal_code": "10118",
            "country": "US",
        },
        "en",
    ),
    (
        {
            "name": "Maria Lopez",
            "line1": "1600 Amphitheatre Pkwy",
            "city": "Mountain View",
            "region": "CA",
            "postal_code": "94043",
            "country": "US",
        },
        "en",
    ),
    (
        {
            "name": "Emma Schulz",
            "line1": "Unter den Linden 77",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        },
        "en",
    ),
    (
        {
            "name": "Oliver Smith",
            "line1": "10 Downing Street",
            "city": "London",
            "postal_code": "SW1A 2AA",
            "country": "GB",
        },
        "en",
    ),
]


def demo_load(*, actor: Actor, orders: int = 300, seed: int = 7) -> bool:
    """Load the demo shop once; returns False when it is already there."""
    with transaction.atomic():
        shop, _ = Shop.objects.select_for_update().get_or_create(pk=1)
        if shop.demo_loaded_at is not None:
            return False
        if Location.objects.exists() or Order.objects.exists():
            return False  # a shop in use: never mix demo data into it
        _load(actor=actor, orders=orders, rng=random.Random(seed))
        shop.name = "Atelier Colis (demo)"
        shop.demo_loaded_at = timezone.now()
        shop.save()
    return True


def _load(*, actor: Actor, orders: int, rng: random.Random) -> None:
    paris = location_create(
        data=LocationData(
            name="Paris warehouse",
            is_default=True,
            phone="+33 1 42 68 53 00",
            address={
                "company": "Atelier Colis",
                "line1": "8 rue du Faubourg Saint-Denis",
                "city": "Paris",
                "postal_code": "75010",
                "country": "FR",
            },
        ),
        actor=actor,
    )
    newark = location_create(
        data=LocationData(
            name="Newark 3PL",
            phone="+1 973-555-0142",
            address={
                "company": "Atelier Colis US",
                "line1": "100 Port St",
                "city": "Newark",
                "region": "NJ",
                "postal_code": "07114",
                "country": "US",
            },
        ),
        actor=actor,
    )
    prices: dict[str, Decimal] = {}
    for sku, title, grams, hs, origin in PRODUCTS:
        product_create(
            data=ProductData(
                sku=sku,
                title=title,
                weight=Decimal(grams),
                weight_unit="g",
                hs_code=hs,
                country_of_origin=origin,
                barcode=f"37{rng.randrange(10**10, 10**11)}",
            ),
            actor=actor,
        )
        prices[sku] = Decimal(rng.choice([9, 12, 15, 19, 24, 29, 39, 49, 59])) + Decimal("0.90")
        for location, (low, high) in ((paris, (20, 200)), (newark, (0, 80))):
            from colis.catalog.models import Product

            product_id = Product.objects.get(sku=sku).pk
            inventory_adjust(
                product_id=product_id,
                location_id=location.pk,
                reason="received",
                delta=rng.randint(low, high) or 1,
                actor=actor,
            )
    drafts = []
    for i in range(orders):
        address, locale = rng.choice(BUYERS)
        picks = rng.sample(PRODUCTS, rng.choice([1, 1, 2, 2, 3]))
        currency = (
            "USD"
            if address["country"] == "US"
            else ("GBP" if address["country"] == "GB" else "EUR")
        )
        first = address["name"].split()[0].lower()
        drafts.append(
            OrderDraft(
                channel=rng.choice(["api", "api", "shopify-demo", "amazon-demo"]),
                external_id=f"DEMO-{i + 1:05d}",
                email=f"{first}.{i}@example.com",
                shipping_address=address,
                locale=locale,
                currency=currency,
                financial_status="pending" if rng.random() < 0.15 else "paid",
                lines=tuple(
                    LineDraft(
                        sku=p[0], quantity=rng.choice([1, 1, 1, 2, 3]), unit_price=prices[p[0]]
                    )
                    for p in picks
                ),
                shipping_method=rng.choice(["Standard", "Express", "Colissimo", "UPS Ground"]),
                shipping_price=Decimal(rng.choice(["0.00", "4.90", "9.90"])),
                tags=tuple(
                    rng.sample(["gift", "vip", "wholesale", "fragile"], rng.choice([0, 0, 1]))
                ),
            )
        )
    results = orders_create(drafts=drafts, actor=actor)
    now = timezone.now()
    ids = [r.order_id for r in results if r.created and r.order_id]
    for order_id in ids:
        age = timedelta(days=rng.uniform(0, 30))
        Order.objects.filter(pk=order_id).update(created_at=now - age, updated_at=now - age)
        roll = rng.random()
        # An order that cannot move (say, its stock is on backorder) stays as routing left it.
        with contextlib.suppress(DomainError):
            _progress(order_id, roll, rng, actor)


def _progress(order_id: int, roll: float, rng: random.Random, actor: Actor) -> None:
    """Move a demo order along: cancelled, held, packed, shipped or delivered."""
    if roll < 0.06:
        order_cancel(order_id=order_id, reason="Customer changed their mind", actor=actor)
    elif roll < 0.10:
        order_hold(
            order_id=order_id, reason="incorrect_address", notes="No street number", actor=actor
        )
    elif roll < 0.50:
        fos = FulfillmentOrder.objects.filter(order_id=order_id, status=FOStatus.OPEN)
        for fo in fos:
            packed = roll < 0.18
            shipment = shipment_create(
                order_id=order_id,
                draft=ShipmentDraft(
                    fulfillment_order_id=fo.pk,
                    carrier="colissimo",
                    tracking_numbers=[f"6A{rng.randrange(10**10, 10**11)}"],
                    notify_customer=False,
                    status="label_printed" if packed else "shipped",
                ),
                actor=actor,
            )
            if roll > 0.35:
                shipment_deliver(shipment_id=shipment.pk, actor=actor)
        if roll > 0.45:
            _demo_return(order_id, roll, actor)


def _demo_return(order_id: int, roll: float, actor: Actor) -> None:
    """Some delivered demo orders come back: one unit of the first line, at various steps."""
    from colis.returns.receiving import ReceivedUnits, return_receive, return_restock
    from colis.returns.services import ReturnLineDraft, return_approve, return_create

    sku = Order.objects.get(pk=order_id).lines.order_by("position").values_list("sku", flat=True)[0]
    reason = "size_or_fit" if roll > 0.47 else "damaged"
    rma = return_create(
        order_id=order_id,
        lines=[ReturnLineDraft(sku=sku, quantity=1, reason=reason)],
        source="buyer",
        notify_customer=False,
        actor=actor,
    )
    if roll > 0.47:
        return_approve(return_id=rma.pk, notify_customer=False, actor=actor)
    if roll > 0.48:
        condition = "resellable" if reason == "size_or_fit" else "damaged"
        return_receive(
            return_id=rma.pk,
            location_id=None,
            lines=[ReceivedUnits(sku=sku, quantity=1, condition=condition)],
            notify_customer=False,
            actor=actor,
        )
        return_restock(return_id=rma.pk, actor=actor)
