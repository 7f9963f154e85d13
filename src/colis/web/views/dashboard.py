"""The dashboard: the day's work at a glance, each count a link to the orders it counts, and a
chart of orders and shipments per day over the last 30 days (inline SVG, with a table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from colis.orders.selectors import activity_per_day, dashboard_counts
from colis.web.access import ui_view

DAYS = 30
# The chart's drawing box, in SVG units (it scales to the page's width).
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 36


@dataclass(frozen=True, kw_only=True, slots=True)
class Bar:
    x: float
    y: float
    height: float


def _nice_top(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above `value` (at least 4, so ticks are whole)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= max(value, 4):
                return step * top
        top *= 10


def chart(days: list[date], activity: dict[date, tuple[int, int]]) -> dict[str, Any]:
    """The bars, ticks and labels of the chart, in SVG units."""
    top = _nice_top(max((max(v) for v in activity.values()), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    bar = max(slot / 2 - 2, 1)
    orders, shipments, labels = [], [], []
    for i, day in enumerate(days):
        made, shipped = activity.get(day, (0, 0))
        x = LEFT + i * slot + 1
        for value, out, dx in ((made, orders, 0.0), (shipped, shipments, bar)):
            h = plot_h * value / top
            out.append(Bar(x=round(x + dx, 1), y=round(TOP + plot_h - h, 1), height=round(h, 1)))
        if i % 5 == 0 or i == len(days) - 1:
            labels.append({"x": round(x + bar, 1), "day": day})
    ticks = [
        {"value": top * k // 4, "y": round(TOP + plot_h - plot_h * k / 4, 1)} for k in range(5)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": TOP + plot_h,
        "label_y": TOP + plot_h + 18,
        "axis_title_y": HEIGHT - 2,
        "bar_width": round(bar, 1),
        "orders": orders,
        "shipments": shipments,
        "labels": labels,
        "ticks": ticks,
    }


@ui_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate(now)
    day_start = timezone.make_aware(datetime.combine(today, time.min))
    first = today - timedelta(days=DAYS - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    counts = dashboard_counts(now=now, day_start=day_start)
    activity = activity_per_day(since=since, tz=timezone.get_current_timezone())
    days = [first + timedelta(days=i) for i in range(DAYS)]
    table = [(day, *activity.get(day, (0, 0))) for day in days]
    context = {
        "counts": counts,
        "chart": chart(days, activity),
        "table": table,
        "orders_total": sum(r[1] for r in table),
        "shipments_total": sum(r[2] for r in table),
    }
    return render(request, "app/dashboard.html", context)


urlpatterns = [path("", dashboard, name="app-dashboard")]
