"""The checks an order from a channel passes before it is accepted, each with its verdict.

Pure functions over a `Context` loaded once per batch: a batch of a thousand orders costs the
same few queries as one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from colis.catalog.models import sku_key
from colis.channels.connectors.base import ChannelOrder
from colis.core.addresses import address_errors
from colis.core.sql import fetch_all, in_list


@dataclass(frozen=True, kw_only=True)
class Verdict:
    check: str
    ok: bool
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class Context:
    import_enabled: bool
    import_start: datetime
    import_fba: bool
    stock_wait: bool  # stock policy "wait": a short order stays in the queue
    mapping: Mapping[str, str]  # sku_key(channel SKU) -> our SKU
    products: Mapping[str, str]  # sku_key(our SKU) -> our SKU as spelled
    available: Mapping[str, int]  # sku_key(our SKU) -> units available to sell


def sku_resolve(context: Context, channel_sku: str) -> str | None:
    """Our SKU for a channel's: its mapping first, else the same SKU in our catalogue."""
    key = sku_key(channel_sku)
    mapped = context.mapping.get(key)
    if mapped is not None:
        return context.products.get(sku_key(mapped))
    return context.products.get(key)


def _address(order: ChannelOrder) -> Verdict:
    if not order.shipping_address:
        return Verdict(check="address", ok=False, message="The order has no shipping address.")
    errors, _ = address_errors(order.shipping_address, prefix="shipping_address")
    if errors:
        detail = "; ".join(f"{k.split('.', 1)[-1]}: {v}" for k, v in sorted(errors.items()))
        return Verdict(
            check="address", ok=False, message=f"Address incomplete or invalid: {detail}"
        )
    return Verdict(check="address", ok=True)


def _skus(order: ChannelOrder, context: Context) -> Verdict:
    unknown = [ln.sku or f"(line {ln.external_line_id})" for ln in order.lines
               if not ln.sku or sku_resolve(context, ln.sku) is None]  # fmt: skip
    if unknown:
        return Verdict(
            check="skus",
            ok=False,
            message="Unknown SKU (map it to one of yours): " + ", ".join(sorted(set(unknown))),
        )
    return Verdict(check="skus", ok=True)


def _stock(order: ChannelOrder, context: Context) -> Verdict:
    wanted: dict[str, int] = {}
    for ln in order.lines:
        sku = sku_resolve(context, ln.sku) if ln.sku else None
        if sku is not None:
            wanted[sku_key(sku)] = wanted.get(sku_key(sku), 0) + ln.quantity
    short = sorted(
        f"{context.products[k]} ({context.available.get(k, 0)} of {q})"
        for k, q in wanted.items()
        if context.available.get(k, 0) < q
    )
    if not short:
        return Verdict(check="stock", ok=True)
    if context.stock_wait:
        return Verdict(check="stock", ok=False, message="Not enough stock: " + ", ".join(short))
    return Verdict(check="stock", ok=True, message="Short, accepted and held: " + ", ".join(short))


def order_checks(order: ChannelOrder, context: Context) -> list[Verdict]:
    """Every check's verdict for one order, in a fixed order."""
    return [
        Verdict(
            check="import_enabled",
            ok=context.import_enabled,
            message="" if context.import_enabled else "Imports are switched off for this channel.",
        ),
        Verdict(
            check="paid",
            ok=order.paid,
            message="" if order.paid else "The order is not paid yet.",
        ),
        Verdict(
            check="merchant_fulfilled",
            ok=order.merchant_fulfilled or context.import_fba,
            message=""
            if order.merchant_fulfilled
            else "Fulfilled by the marketplace"
            + (" (imported to track it)." if context.import_fba else "."),
        ),
        _skus(order, context),
        _address(order),
        Verdict(
            check="placed_after_start",
            ok=order.placed_at >= context.import_start,
            message=""
            if order.placed_at >= context.import_start
            else f"Placed before the import start ({context.import_start:%Y-%m-%d %H:%M}).",
        ),
        _stock(order, context),
    ]


def context_load(
    *,
    channel: Any,
    orders: Iterable[ChannelOrder],
) -> Context:
    """What the checks need for these orders, in three queries."""
    from colis.channels.models import SkuMapping

    channel_skus = {sku_key(ln.sku) for o in orders for ln in o.lines if ln.sku}
    mapping: dict[str, str] = {}
    if channel_skus:
        for channel_sku, sku in SkuMapping.objects.filter(channel=channel).values_list(
            "channel_sku", "sku"
        ):
            if sku_key(channel_sku) in channel_skus:
                mapping[sku_key(channel_sku)] = sku
    keys = sorted(channel_skus | {sku_key(s) for s in mapping.values()})
    products: dict[str, str] = {}
    available: dict[str, int] = {}
    if keys:
        marks = in_list(keys)
        for key, sku in fetch_all(
            f"SELECT sku_key, sku FROM catalog_product WHERE sku_key IN ({marks}) AND active",
            keys,
        ):
            products[key] = sku
        for key, units in fetch_all(
            "SELECT p.sku_key, COALESCE(SUM(l.on_hand - l.committed), 0) "
            "FROM catalog_product p JOIN inventory_inventorylevel l ON l.product_id = p.id "
            "JOIN locations_location loc ON loc.id = l.location_id "
            f"WHERE p.sku_key IN ({marks}) AND loc.active AND loc.fulfills_online_orders "
            "GROUP BY p.sku_key",
            keys,
        ):
            available[key] = int(units)
    return Context(
        import_enabled=channel.import_enabled,
        import_start=channel.import_start,
        import_fba=channel.import_fba,
        stock_wait=channel.stock_policy == "wait",
        mapping=mapping,
        products=products,
        available=available,
    )
