"""Settings: sales channels. Connect each vendor with its credentials and settings, choose the
import settings and checks, map SKUs (one by one or from a CSV), work the queue of orders held
by a failing check (check again or force), and retry failed pushes from the sync records."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.http import urlencode

from colis.accounts.roles import ORDERS_WRITE, SETTINGS_WRITE
from colis.channels.connectors import CONNECTORS, connector_class
from colis.channels.importing import pending_order_retry
from colis.channels.models import Channel, ImportState, StockPolicy
from colis.channels.records import sync_record_retry
from colis.channels.scheduler import channel_import_task
from colis.channels.selectors import channel_list, channel_orders, sku_mappings, sync_records
from colis.channels.services import (
    carrier_mapping_gaps,
    channel_create,
    channel_get,
    channel_update,
    sku_mapping_delete,
    sku_mapping_set,
    sku_mappings_upload,
)
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, integer, page, refused, text

URL = "/app/settings/channels/"
FORM = "app/settings/channel_form.html"
PAGE_SIZE = 50
MAX_MAPPING_FILE = 5 * 1024 * 1024
FLAGS = ("active", "import_enabled", "import_fba", "fulfillment_sync", "cancellation_sync",
         "require_tracking", "notify_buyer", "refund_sync")  # fmt: skip


def _fields(kind: str) -> dict[str, Any]:
    cls = connector_class(kind)
    return {
        "credential_fields": [*cls.credential_fields, *cls.optional_credential_fields],
        "required_credentials": list(cls.credential_fields),
        "setting_fields": cls.setting_fields,
    }


def _posted(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The form as the channel services take it: credentials, settings, options."""
    fields = _fields(kind)
    credentials = {f: text(request, f"cred_{f}", 2000).strip() for f in fields["credential_fields"]}
    settings = {f: text(request, f"set_{f}", 500).strip() for f in fields["setting_fields"]}
    options: dict[str, Any] = {flag: checked(request, flag) for flag in FLAGS}
    options["stock_policy"] = text(request, "stock_policy", 20)
    interval = integer(request.POST.get("import_interval_seconds"))
    if interval is not None:
        options["import_interval_seconds"] = interval
    retention = text(request, "retention_days", 20).strip()
    options["retention_days"] = (integer(retention) if integer(retention) is not None
                                 else retention) if retention else None  # fmt: skip
    return {
        "name": text(request, "name", 100),
        "credentials": credentials,
        "settings": {k: v for k, v in settings.items() if v},
        "options": options,
    }


def _form_context(kind: str, shown: dict[str, Any], **extra: Any) -> dict[str, Any]:
    fields = _fields(kind)
    settings = shown.get("settings") or {}
    return {
        "section": "channels",
        "kind": kind,
        "shown": shown,
        "credential_fields": [
            (f, f in fields["required_credentials"]) for f in fields["credential_fields"]
        ],  # fmt: skip
        "setting_fields": [
            (f, settings.get(f, ""), default or "")
            for f, default in fields["setting_fields"].items()
        ],  # fmt: skip
        "stock_policies": StockPolicy.values,
        "flags": [(flag, (shown.get("options") or {}).get(flag)) for flag in FLAGS],
        **extra,
    }


@ui_view(write=SETTINGS_WRITE)
def channels_view(request: HttpRequest) -> HttpResponse:
    return page(
        request, "app/settings/channels.html",
        {"section": "channels", "channels": list(channel_list()), "kinds": sorted(CONNECTORS)},
    )  # fmt: skip


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def channel_new(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or request.POST.get("kind") or ""
    if kind not in CONNECTORS:
        raise Http404
    if request.method == "GET":
        options = {flag: True for flag in ("active", "import_enabled", "fulfillment_sync",
                                           "cancellation_sync", "require_tracking")}  # fmt: skip
        defaults = {"options": {**options, "stock_policy": "hold", "import_interval_seconds": 300}}
        return page(request, FORM, _form_context(kind, defaults, new=True))
    posted = _posted(request, kind)
    try:
        channel = channel_create(
            kind=kind,
            name=posted["name"],
            credentials=posted["credentials"],
            settings=posted["settings"],
            options=posted["options"],
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, FORM, _form_context(kind, posted, new=True), exc)
    return done(f"{URL}{channel.pk}/", "added")


def _channel(channel_id: int) -> Channel:
    try:
        return channel_get(channel_id=channel_id)
    except NotFound:
        raise Http404 from None


def _shown(channel: Channel) -> dict[str, Any]:
    options = {flag: getattr(channel, flag) for flag in FLAGS}
    options.update(stock_policy=channel.stock_policy, retention_days=channel.retention_days,
                   import_interval_seconds=channel.import_interval_seconds)  # fmt: skip
    return {"name": channel.name, "settings": channel.settings, "options": options}


def _tabs(channel: Channel, tab: str) -> dict[str, Any]:
    return {"section": "channels", "channel": channel, "tab": tab}


@ui_view(write=SETTINGS_WRITE)
def channel_view(request: HttpRequest, channel_id: int) -> HttpResponse:
    """The channel's settings; credentials left blank keep the stored ones."""
    channel = _channel(channel_id)
    extra = {**_tabs(channel, "settings"), "gaps": carrier_mapping_gaps(channel.kind)}
    if request.method == "GET":
        return page(request, FORM, _form_context(channel.kind, _shown(channel), **extra))
    posted = _posted(request, channel.kind)
    given = {k: v for k, v in posted["credentials"].items() if v}
    try:
        channel_update(
            channel_id=channel.pk,
            name=posted["name"],
            credentials=given or None,
            settings=posted["settings"],
            options=posted["options"],
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, FORM, _form_context(channel.kind, posted, **extra), exc)
    return done(f"{URL}{channel.pk}/", "saved")


@ui_view(write=ORDERS_WRITE)
def channel_sync(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Import now: queued for the worker."""
    channel = _channel(channel_id)
    if request.method != "POST":
        raise Http404
    channel_import_task.enqueue(channel.pk, False)
    return done(f"{URL}{channel.pk}/pending/", "import_queued")


@ui_view(write=ORDERS_WRITE)
def channel_pending(request: HttpRequest, channel_id: int) -> HttpResponse:
    """GET: the queue of orders held by a failing check. POST: check one again, or force it."""
    channel = _channel(channel_id)
    template = "app/settings/channel_pending.html"
    state = request.GET.get("state", ImportState.PENDING)
    state = state if state in ImportState.values else ImportState.PENDING
    before = integer(request.GET.get("before"))

    def context(**extra: Any) -> dict[str, Any]:
        qs = channel_orders(channel_id=channel.pk, state=state)
        if before is not None:
            qs = qs.filter(pk__lt=before)
        rows = list(qs[: PAGE_SIZE + 1])
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        orders = [(r, r.data or {}, [c for c in r.checks or [] if not c.get("ok")]) for r in rows]
        after = urlencode({"state": state, "before": rows[-1].pk}) if more else ""
        return {**_tabs(channel, "pending"), "orders": orders, "state": state,
                "states": ImportState.values, "next_url": f"?{after}" if after else "",
                **extra}  # fmt: skip

    if request.method == "GET":
        return page(request, template, context())
    try:
        pending_order_retry(
            channel_id=channel.pk,
            record_id=integer(request.POST.get("record_id")) or 0,
            force=request.POST.get("force") == "1",
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, template, context(), exc)
    return done(f"{URL}{channel.pk}/pending/", "checked")


@ui_view(write=ORDERS_WRITE)
def channel_records(request: HttpRequest, channel_id: int) -> HttpResponse:
    """GET: the sync records. POST: retry a failed push."""
    channel = _channel(channel_id)
    template = "app/settings/channel_records.html"
    direction = request.GET.get("direction", "")[:10]
    state = request.GET.get("state", "")[:10]
    before = integer(request.GET.get("before"))

    def context() -> dict[str, Any]:
        qs = sync_records(channel_id=channel.pk, direction=direction, state=state)
        if before is not None:
            qs = qs.filter(pk__lt=before)
        rows = list(qs[: PAGE_SIZE + 1])
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        params = {k: v for k, v in (("direction", direction), ("state", state)) if v}
        after = urlencode({**params, "before": rows[-1].pk}) if more else ""
        return {**_tabs(channel, "records"), "records": rows, "direction": direction,
                "state": state, "next_url": f"?{after}" if after else ""}  # fmt: skip

    if request.method == "GET":
        return page(request, template, context())
    try:
        sync_record_retry(
            record_id=integer(request.POST.get("record_id")) or 0,
            channel_id=channel.pk,
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, template, context(), exc)
    return done(f"{URL}{channel.pk}/records/", "retried")


@ui_view(write=SETTINGS_WRITE)
def channel_skus(request: HttpRequest, channel_id: int) -> HttpResponse:
    """GET: the SKU mapping. POST: add one mapping, upload a CSV, or remove one."""
    channel = _channel(channel_id)
    template = "app/settings/channel_skus.html"

    def context(**extra: Any) -> dict[str, Any]:
        return {**_tabs(channel, "skus"), "mappings": list(sku_mappings(channel_id=channel.pk)),
                "form": {}, **extra}  # fmt: skip

    if request.method == "GET":
        return page(request, template, context())
    action = request.POST.get("action", "")
    actor = request.actor  # type: ignore[attr-defined]
    form = {"channel_sku": text(request, "channel_sku", 300), "sku": text(request, "sku", 200)}
    try:
        if action == "upload":
            upload = request.FILES.get("file")
            if upload is None or (upload.size or 0) > MAX_MAPPING_FILE:
                raise ValidationError(
                    "Choose a CSV file of at most 5 MB.", code="invalid_csv",
                    fields={"file": "A CSV file of at most 5 MB."},
                )  # fmt: skip
            try:
                body = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError(
                    "The file is not UTF-8 text.", code="invalid_csv",
                    fields={"file": "UTF-8 CSV expected."},
                ) from None  # fmt: skip
            sku_mappings_upload(channel_id=channel.pk, text=body, actor=actor)
        elif action == "delete":
            mapping_id = integer(request.POST.get("mapping_id")) or 0
            sku_mapping_delete(channel_id=channel.pk, mapping_id=mapping_id, actor=actor)
        else:
            sku_mapping_set(channel_id=channel.pk, actor=actor, **form)
    except DomainError as exc:
        return refused(request, template, context(form=form), exc)
    return done(f"{URL}{channel.pk}/skus/", "saved")


urlpatterns = [
    path("channels/", channels_view, name="settings-channels"),
    path("channels/new/", channel_new, name="settings-channel-new"),
    path("channels/<int:channel_id>/", channel_view, name="settings-channel"),
    path("channels/<int:channel_id>/sync/", channel_sync, name="settings-channel-sync"),
    path("channels/<int:channel_id>/pending/", channel_pending, name="settings-channel-pending"),
    path("channels/<int:channel_id>/records/", channel_records, name="settings-channel-records"),
    path("channels/<int:channel_id>/skus/", channel_skus, name="settings-channel-skus"),
]
