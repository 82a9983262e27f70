"""Funnel CRM settings: one file, read from the environment.

PostgreSQL only: `make run`/`make test`/`make shell` start an embedded one (crm/devdb.py) and
set DATABASE_URL; without REDIS_URL, Celery tasks run inline after commit. Production sets
DATABASE_URL (and DATABASE_OWNER_URL), REDIS_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = (os.environ.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    return value in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-make-run"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
if "*" in ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts; '*' is refused in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Ours, layered: each imports only the ones before it (docs/architecture.md)
OUR_APPS = [
    "crm",
    "lifecycle",
    "tagging",
    "activities",
    "grading",
    "team",
    "audiences",
    "spreadsheets",
    "integrations",
    "personaldata",
    "demo",
    "bench",
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # django-csp: the Content-Security-Policy header (its checks flag outdated CSP_* settings)
    "csp",
    # django-ninja: the JSON API's docs page, with the Swagger UI files it ships (no CDN)
    "ninja",
    # django-axes: failed logins counted per account and per client address, in the cache
    "axes",
    *OUR_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.DatabaseScopeMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "crm.middleware.PasswordChangeRequiredMiddleware",
    "crm.audit.AuditAddressMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.TenantMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.tenancy",
                "lifecycle.context_processors.stages",
                "tagging.context_processors.tags",
            ],
        },
    },
]


# PostgreSQL only (15 and later). DATABASE_URL is the application's role; DATABASE_OWNER_URL
# the role that owns the tables, which `migrate` uses (crm/management/commands/migrate.py).
# `make run`, `make test` and `make shell` start an embedded PostgreSQL and set both
# (crm/devdb.py).
def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")), conn_health_checks=True
    )
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://…).")
    return config


if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. `make run`, `make test` and `make shell` start the embedded "
        "PostgreSQL for you; or set DATABASE_URL=postgres://user:password@host:5432/name."
    )
DATABASES = {"default": _database(os.environ["DATABASE_URL"])}
DATABASE_OWNER = _database(os.environ.get("DATABASE_OWNER_URL") or os.environ["DATABASE_URL"])
# The application's role as configured (migrate swaps the connection to the owner's).
DATABASE_APP_USER = DATABASES["default"]["USER"]
DATABASE_APP_PASSWORD = DATABASES["default"]["PASSWORD"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's database sessions, read by one hand-written query (crm/sessions.py).
SESSION_ENGINE = "crm.sessions"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five failed logins in 15 minutes, for one account or from one address, and that account or
# address waits 15 minutes (each further try restarts the wait); a success clears the account.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "crm.http.client_ip"
AXES_VERBOSE = False
# The address a request comes from is REMOTE_ADDR, unless a proxy we run in front appends the
# client's to X-Forwarded-For (then its last entry); never a header the client chose.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process (make run): its memory is the one place failed logins are counted. Any
    # deployment with several processes sets REDIS_URL, and the check speaks again.
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# Celery: with REDIS_URL, a real broker and workers; without it, tasks run inline (eagerly)
# in the web process. Code enqueues after commit either way, so the behaviour is the same.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message whose worker died unacknowledged is handed out again after this long: minutes,
# not an hour. Longer than every task but the import and longer than any retry's pause; an
# import outlives it, and a second delivery while it runs finds the job locked and leaves
# (spreadsheets/imports/runs.py), while its beat keeps the backstop off it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
# A stuck task is stopped: first its SoftTimeLimitExceeded, then its process. The import sets
# its own (longer) limits.
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
CELERY_TASK_TIME_LIMIT = 12 * 60
# Publishing must not hang a request when the broker is down: one quick retry, then give up
# (the change is saved; beat's periodic recompute repairs the stored figures).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

# Security: production defaults are strict; DEBUG (make run) relaxes them.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Scripts and styles come only from our static files: no inline <script>, no on*= handler, no
# style= attribute, no eval (htmx's allowEval is off). Colours a company chooses are set through
# the CSSOM by static/js/app.js, which style-src does not govern.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# X-Forwarded-Proto says "this came in over HTTPS" only when a proxy we run sets it (and
# overwrites what the client sent); otherwise any client could claim it.
if env_bool("TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    # HTTPS_ONLY=false is for a local docker compose without TLS in front; never on the internet.
    https_only = env_bool("HTTPS_ONLY", default=True)
    SECURE_SSL_REDIRECT = https_only
    SESSION_COOKIE_SECURE = https_only
    CSRF_COOKIE_SECURE = https_only
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_on_one_line": {"()": "crm.http.RefusalsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Refused and failed requests are written once (not again by Django's own console handler
    # under DEBUG): a 403 as one line, a 500 with its traceback.
    "loggers": {
        "django.request": {
            "handlers": ["console"],
            "filters": ["refusals_on_one_line"],
            "propagate": False,
        }
    },
}

# Pages list this many contacts at a time.
CONTACTS_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50
IMPORT_WAITING_UPLOADS_MAX = int(os.environ.get("IMPORT_WAITING_UPLOADS_MAX", "5"))  # per company

# The JSON API (/api/v1/): requests per token per minute, largest body accepted.
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "120"))
# Invalid tokens from one client address a minute before it is refused (429) until it turns.
API_BAD_TOKEN_LIMIT = int(os.environ.get("API_BAD_TOKEN_LIMIT", "20"))
API_MAX_BODY = 1024 * 1024
# Webhooks: seconds a receiver has to answer, attempts before giving up (1, 2, 4 … minutes apart).
WEBHOOK_TIMEOUT = 5
WEBHOOK_MAX_ATTEMPTS = 12
# Off: webhooks reach only the public internet (never loopback, private ranges or a cloud's
# metadata service). On only for development or a closed network whose receivers are inside.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS")
