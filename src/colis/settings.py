"""Django settings, read from the environment (see docs/operations.md for each variable)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dj_database_url

from colis.home import colis_home, secret_key


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database(url: str) -> dict:
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["ENGINE"] = "colis.core.sqlite"
        config["OPTIONS"] = {
            # IMMEDIATE: a write transaction takes SQLite's write lock at BEGIN, so two writers
            # queue on the busy timeout instead of failing on a lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA cache_size=-65536;"
                "PRAGMA temp_store=MEMORY;"
                # Checkpoints (which fsync) run from the worker every few seconds; a web
                # request only pays for one when the log passes 80 MB.
                "PRAGMA wal_autocheckpoint=20000;"
                "PRAGMA journal_size_limit=67108864;"
            ),
        }
        config["TEST"] = {"NAME": os.environ.get("COLIS_TEST_SQLITE_NAME") or None}
    else:
        # Parameters travel apart from the SQL, so PostgreSQL prepares each hot statement once
        # per connection (psycopg prepares after a few runs) instead of planning it every time.
        config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 2}
    # Keep each web thread's connection between requests: opening one (and, for SQLite,
    # running the PRAGMAs above) costs more than a whole small request.
    config["CONN_MAX_AGE"] = int(os.environ.get("COLIS_DB_CONN_MAX_AGE", "300"))
    return config


HOME = colis_home()
DEBUG = _flag("COLIS_DEBUG")
SECRET_KEY = secret_key()
BASE_URL = os.environ.get("COLIS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The buyer returns page checks its forms' Origin: behind a TLS proxy it is the public URL.
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(BASE_URL).scheme}://{urlsplit(BASE_URL).netloc}"]
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("COLIS_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(
        ","
    )
    if h.strip()
]
EMAIL_URL = os.environ.get("COLIS_EMAIL_URL", "console://")
EMAIL_FROM_ADDRESS = os.environ.get("COLIS_EMAIL_FROM", "shop@localhost")
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("COLIS_EMAIL_MESSAGE_ID_DOMAIN", "")

DATABASE_URL = os.environ.get("COLIS_DATABASE_URL") or f"sqlite:///{HOME / 'colis.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "colis.core",
    "colis.accounts",
    "colis.catalog",
    "colis.locations",
    "colis.inventory",
    "colis.orders",
    "colis.shipping",
    "colis.partners",
    "colis.fulfillment",
    "colis.notifications",
    "colis.webhooks",
    "colis.channels",
    "colis.documents",
    "colis.returns",
    "colis.web",
]

# The API authenticates each call by its bearer token (its views are CSRF-exempt and never
# read the session); the merchant UI under /app/ signs in with a session and checks CSRF.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "colis.api.middleware.ApiGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "colis.web.middleware.UserLanguageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "colis.urls"
WSGI_APPLICATION = "colis.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "colis.web.context.app_context",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = True
LANGUAGES = [("en", "English"), ("fr", "Français")]
# The merchant UI's French comes from the .po files in colis/web/locale/<area>/; they are
# compiled into the data folder when the application starts (colis.web.i18n).
LOCALE_PATHS = [str(HOME / "locale" / area) for area in ("core", "orders", "order", "settings")]

# The merchant UI: sessions in the database, cookies that scripts cannot read.
LOGIN_URL = "/app/login/"
SESSION_COOKIE_NAME = "colis_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_NAME = "colis_csrftoken"
X_FRAME_OPTIONS = "DENY"

# Static files (the UI's CSS and scripts, htmx from the django-htmx package) are served by the
# application itself through WhiteNoise, straight from the packages: no collectstatic step.
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The bulk endpoint takes up to 1,000 orders; anything above this is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
COLIS_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "outbox"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("COLIS_LOG_LEVEL", "WARNING")},
    "loggers": {"colis": {"level": os.environ.get("COLIS_LOG_LEVEL", "INFO")}},
}

# Seconds after which an outbox row claimed by a worker that stopped answering is delivered again.
COLIS_OUTBOX_LEASE_SECONDS = float(os.environ.get("COLIS_OUTBOX_LEASE_SECONDS", "300"))
# Threads that share a worker's webhook deliveries (the rows of one order share one); emails
# and other kinds go out one at a time on one more.
COLIS_OUTBOX_LANES = max(1, int(os.environ.get("COLIS_OUTBOX_LANES", "4")))
# Seconds to wait for a sales channel's API to answer one call.
COLIS_CHANNEL_TIMEOUT = float(os.environ.get("COLIS_CHANNEL_TIMEOUT", "30"))
# Colis's own handlers, then any the installation adds.
COLIS_OUTBOX_HANDLER_MODULES = [
    "colis.notifications.handlers",
    "colis.notifications.service_messages",
    "colis.webhooks.handlers",
] + [m.strip() for m in os.environ.get("COLIS_OUTBOX_HANDLER_MODULES", "").split(",") if m.strip()]

# Folder of the tracking-number format data (`couriers/*.json`); unset: see colis.shipping.tracking.
COLIS_TRACKING_DATA_DIR = os.environ.get("COLIS_TRACKING_DATA_DIR") or None
