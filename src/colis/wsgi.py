import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colis.settings")
application = get_wsgi_application()


def _load_routes() -> None:
    """Build the URL routes and the API now: `colis serve` loads the application once before
    it starts its web processes (gunicorn --preload), which then share these pages."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view and builds the API


_load_routes()

# Everything loaded so far lives as long as the process: keep it out of the collector's scans,
# and collect the youngest generation less often. A bulk request allocates many short-lived
# objects; with the default thresholds full collections took a quarter of its time.
gc.freeze()
gc.set_threshold(20_000, 50, 100)
