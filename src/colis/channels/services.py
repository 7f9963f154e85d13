"""Channel records: connect, change, and the SKU mapping. Imports live in `importing`, pushes
in `pushing`."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from colis.catalog.models import Product, sku_key
from colis.channels.connectors import CONNECTORS, connector_class
from colis.channels.connectors.base import Connector
from colis.channels.limits import ChannelTokens, DbLimiter, NoLimiter
from colis.channels.models import Channel, SkuMapping, StockPolicy
from colis.channels.secrets import seal, unseal
from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.timeline import event_record

# Channel fields a merchant may set besides kind, name, credentials and settings.
OPTIONS = (
    "active",
    "import_enabled",
    "import_interval_seconds",
    "import_start",
    "import_fba",
    "stock_policy",
    "fulfillment_sync",
    "cancellation_sync",
    "require_tracking",
    "notify_buyer",
    "refund_sync",
    "rate_limits",
    "retention_days",
)
MAX_MAPPING_ROWS = 50_000
# Amazon's data protection policy: buyer data goes at most 30 days after delivery.
AMAZON_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


def channel_get(*, channel_id: int) -> Channel:
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("No such channel.", code="channel_not_found")
    return channel


def channel_credentials(channel: Channel) -> dict[str, str]:
    try:
        return unseal(channel.credentials_sealed) or {}
    except ValueError as exc:
        raise ValidationError(str(exc), code="credentials_unreadable") from exc


_CONNECTORS: dict[tuple[Any, ...], Connector] = {}
_CONNECTORS_LOCK = threading.Lock()


def channel_connector(channel: Channel) -> Connector:
    """The connector for this channel, with its shared rate limits and token cache. Kept per
    process while the channel is unchanged, so its connections and token are reused."""
    key = (channel.pk, channel.updated_at, channel.credentials_sealed, channel.rate_limits)
    with _CONNECTORS_LOCK:
        found = _CONNECTORS.get(key)
    if found is not None:
        return found
    built = _connector_build(channel)
    with _CONNECTORS_LOCK:
        for old in [k for k in _CONNECTORS if k[0] == channel.pk]:
            del _CONNECTORS[old]
        _CONNECTORS[key] = built
    return built


def _connector_build(channel: Channel) -> Connector:
    cls = connector_class(channel.kind)
    limiter = (
        NoLimiter() if channel.rate_limits == "off" else DbLimiter(channel.pk, cls.rate_limits)
    )
    return cls(
        credentials=channel_credentials(channel),
        settings=channel.settings,
        limiter=limiter,
        tokens=ChannelTokens(channel.pk),
    )


def _check_url(value: Any, field: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return {field: "An http(s) URL (scheme and host)."}
    return {}


def _validate(
    kind: str, credentials: Mapping[str, Any], settings: Mapping[str, Any], options: Mapping
) -> dict[str, str]:
    if kind not in CONNECTORS:
        return {"kind": f"One of {', '.join(sorted(CONNECTORS))}."}
    cls = connector_class(kind)
    errors: dict[str, str] = {}
    for name in cls.credential_fields:
        if not str(credentials.get(name) or "").strip():
            errors[f"credentials.{name}"] = "Required."
    allowed = {*cls.credential_fields, *cls.optional_credential_fields}
    for name in set(credentials) - allowed:
        errors[f"credentials.{name}"] = "Not a credential of this channel kind."
    errors.update(cls.settings_problems(settings))
    for name in set(settings) - set(cls.setting_fields):
        errors[f"settings.{name}"] = "Not a setting of this channel kind."
    for name in ("api_base_url", "token_url"):
        errors.update(_check_url(settings.get(name), f"settings.{name}"))
    if "stock_policy" in options and options["stock_policy"] not in StockPolicy.values:
        errors["stock_policy"] = f"One of {', '.join(StockPolicy.values)}."
    if "rate_limits" in options and options["rate_limits"] not in ("published", "off"):
        errors["rate_limits"] = "published or off."
    interval = options.get("import_interval_seconds")
    if interval is not None and not (60 <= int(interval) <= 86_400):
        errors["import_interval_seconds"] = "Between 60 and 86400."
    if "retention_days" in options:
        errors.update(_retention_errors(kind, options["retention_days"]))
    return errors


def _retention_errors(kind: str, days: Any) -> dict[str, str]:
    """Null keeps buyer data; Amazon's policy allows neither that nor more than 30 days."""
    if days is None:
        if kind == "amazon":
            return {"retention_days": f"Required for Amazon: at most {AMAZON_RETENTION_DAYS}."}
        return {}
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        return {"retention_days": f"Between 1 and {MAX_RETENTION_DAYS} days, or null."}
    if kind == "amazon" and days > AMAZON_RETENTION_DAYS:
        return {"retention_days": f"At most {AMAZON_RETENTION_DAYS} days for Amazon."}
    return {}


def _name_errors(name: str) -> dict[str, str]:
    from colis.orders.services import LOCAL_CHANNELS

    if not name:
        return {"name": "Required."}
    if name.lower() in LOCAL_CHANNELS:
        return {"name": "This name is kept for orders entered in Colis."}
    return {}


def carrier_mapping_gaps(kind: str) -> list[str]:
    """Registry carriers with no code on this kind of channel (they go out as 'other')."""
    from colis.shipping.models import Carrier

    key = connector_class(kind).carrier_key
    return sorted(
        code
        for code, codes in Carrier.objects.filter(active=True).values_list("code", "channel_codes")
        if not (codes or {}).get(key) and code != "other"
    )


def channel_create(
    *,
    kind: str,
    name: str,
    credentials: Mapping[str, Any],
    settings: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    actor: Actor,
) -> Channel:
    """Connect a channel. Raises ValidationError (each field named), Conflict (name taken)."""
    options = dict(options or {})
    name = (name or "").strip()
    errors = {**_validate(kind, credentials, settings, options), **_name_errors(name)}
    if errors:
        raise ValidationError("The channel is not valid.", code="invalid_channel", fields=errors)
    now = timezone.now()
    if "cancellation_sync" not in options:
        options["cancellation_sync"] = connector_class(kind).cancellation_sync_default
    if "retention_days" not in options and kind == "amazon":
        options["retention_days"] = AMAZON_RETENTION_DAYS
    channel = Channel(
        kind=kind,
        name=name,
        credentials_sealed=seal({k: str(v) for k, v in credentials.items()}),
        settings=dict(settings),
        created_at=now,
        import_start=options.pop("import_start", None) or now,
        **{k: v for k, v in options.items() if k in OPTIONS},
    )
    try:
        with transaction.atomic():
            channel.save()
            event_record(
                subject_type="channel",
                subject_id=channel.pk,
                kind="channel_connected",
                actor=actor,
                data={"kind": kind, "name": name},
            )
    except IntegrityError as exc:
        raise Conflict("Another channel has this name.", code="channel_name_taken") from exc
    return channel


def channel_update(
    *,
    channel_id: int,
    name: str | None = None,
    credentials: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    actor: Actor,
) -> Channel:
    """Change a channel; credentials given replace the stored ones whole, settings merge.
    Raises NotFound, ValidationError, Conflict."""
    options = dict(options or {})
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            raise NotFound("No such channel.", code="channel_not_found")
        merged_settings = {**channel.settings, **(settings or {})}
        stored = credentials if credentials is not None else channel_credentials(channel)
        errors = _validate(channel.kind, stored, merged_settings, options)
        if name is not None:
            errors.update(_name_errors(name.strip()))
        if errors:
            raise ValidationError(
                "The channel is not valid.", code="invalid_channel", fields=errors
            )
        if name is not None:
            channel.name = name.strip()
        if credentials is not None:
            channel.credentials_sealed = seal({k: str(v) for k, v in credentials.items()})
            channel.token_sealed, channel.token_expires_at = "", None
        channel.settings = merged_settings
        for key, value in options.items():
            if key in OPTIONS and value is not None:
                setattr(channel, key, value)
        if "retention_days" in options:  # null is a value here: keep buyer data
            channel.retention_days = options["retention_days"]
        try:
            with transaction.atomic():
                channel.save()
        except IntegrityError as exc:
            raise Conflict("Another channel has this name.", code="channel_name_taken") from exc
        event_record(
            subject_type="channel",
            subject_id=channel.pk,
            kind="channel_updated",
            actor=actor,
            data={"fields": sorted({*options, *(["name"] if name else []),
                                    *(["credentials"] if credentials else []),
                                    *(settings or {})})},
        )  # fmt: skip
    return channel


def _known_skus(skus: set[str]) -> dict[str, str]:
    keys = {sku_key(s) for s in skus}
    return dict(Product.objects.filter(sku_key__in=keys).values_list("sku_key", "sku"))


def sku_mapping_set(*, channel_id: int, channel_sku: str, sku: str, actor: Actor) -> SkuMapping:
    """Map one channel SKU to ours (replacing its mapping). Raises NotFound, ValidationError."""
    channel = channel_get(channel_id=channel_id)
    errors = _mapping_errors(channel_sku, sku, _known_skus({sku}))
    if errors:
        raise ValidationError("The mapping is not valid.", code="invalid_mapping", fields=errors)
    with transaction.atomic():
        # Channel SKUs match whatever their case (as the import looks them up).
        mapping = SkuMapping.objects.filter(
            channel=channel, channel_sku__iexact=channel_sku.strip()
        ).first() or SkuMapping(channel=channel)
        mapping.channel_sku = channel_sku.strip()
        mapping.sku = _known_skus({sku})[sku_key(sku)]
        mapping.save()
        event_record(
            subject_type="channel",
            subject_id=channel.pk,
            kind="sku_mapped",
            actor=actor,
            data={"channel_sku": mapping.channel_sku, "sku": mapping.sku},
        )
    return mapping


def _mapping_errors(channel_sku: str, sku: str, known: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    if not (channel_sku or "").strip():
        errors["channel_sku"] = "Required."
    elif len(channel_sku.strip()) > 200:
        errors["channel_sku"] = "At most 200 characters."
    if not (sku or "").strip():
        errors["sku"] = "Required."
    elif sku_key(sku) not in known:
        errors["sku"] = f"Unknown SKU {sku.strip()!r}."
    return errors


def sku_mappings_upload(*, channel_id: int, text: str, actor: Actor) -> dict[str, Any]:
    """Replace or add mappings from a CSV with columns `channel_sku,sku` (header required; comma
    or semicolon). All or nothing: any bad row refuses the file, each named by its row number.
    Raises NotFound, ValidationError."""
    channel = channel_get(channel_id=channel_id)
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "channel_sku" not in header or "sku" not in header:
        raise ValidationError(
            "The file needs a header with channel_sku and sku.",
            code="invalid_csv",
            fields={"file": "Columns channel_sku and sku are required."},
        )
    rows = []
    for number, r in enumerate(reader, start=1):
        if None in r:
            raise ValidationError(
                "A row has more cells than the header.",
                code="invalid_csv",
                fields={f"rows[{number}]": "More cells than the header has columns."},
            )
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in r.items()})
    if len(rows) > MAX_MAPPING_ROWS:
        raise ValidationError(
            f"At most {MAX_MAPPING_ROWS:,} rows per file.",
            code="file_too_large",
            fields={"file": f"At most {MAX_MAPPING_ROWS:,} rows."},
        )
    known = _known_skus({r.get("sku", "") for r in rows})
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        for field, message in _mapping_errors(row.get("channel_sku", ""), row.get("sku", ""),
                                              known).items():  # fmt: skip
            errors[f"rows[{number}].{field}"] = message
        key = row.get("channel_sku", "").lower()
        if key and key in seen:
            errors[f"rows[{number}].channel_sku"] = f"Also on row {seen[key]}."
        seen.setdefault(key, number)
    if errors:
        raise ValidationError("Some rows are not valid.", code="invalid_csv", fields=errors)
    with transaction.atomic():
        existing = {m.channel_sku.lower(): m for m in SkuMapping.objects.filter(channel=channel)}
        new, changed = [], []
        for row in rows:
            sku = known[sku_key(row["sku"])]
            found = existing.get(row["channel_sku"].lower())
            if found is None:
                new.append(SkuMapping(channel=channel, channel_sku=row["channel_sku"], sku=sku))
            elif found.sku != sku:
                found.sku = sku
                changed.append(found)
        SkuMapping.objects.bulk_create(new)
        SkuMapping.objects.bulk_update(changed, ["sku"])
        event_record(
            subject_type="channel",
            subject_id=channel.pk,
            kind="sku_mappings_uploaded",
            actor=actor,
            data={"rows": len(rows), "created": len(new), "changed": len(changed)},
        )
    return {"rows": len(rows), "created": len(new), "changed": len(changed)}


def sku_mapping_delete(*, channel_id: int, mapping_id: int, actor: Actor) -> None:
    with transaction.atomic():
        mapping = SkuMapping.objects.filter(channel_id=channel_id, pk=mapping_id).first()
        if mapping is None:
            raise NotFound("No such mapping.", code="mapping_not_found")
        mapping.delete()
        event_record(
            subject_type="channel",
            subject_id=channel_id,
            kind="sku_unmapped",
            actor=actor,
            data={"channel_sku": mapping.channel_sku, "sku": mapping.sku},
        )
