import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colis.settings")
application = get_wsgi_application()

# Everything loaded so far lives as long as the process: keep it out of the collector's scans,
# and collect the youngest generation less often. A bulk request allocates many short-lived
# objects; with the default thresholds full collections took a quarter of its time.
gc.freeze()
gc.set_threshold(20_000, 50, 100)
