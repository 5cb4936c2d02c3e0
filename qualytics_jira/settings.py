"""Settings, all read from the environment (django-environ); see `.env.example`.

The defaults run a fresh machine with no services at all: SQLite under `var/`, and Celery
on kombu's filesystem transport. Production sets DATABASE_URL (Postgres) and
CELERY_BROKER_URL/REDIS_URL (Redis), and must set its own secrets: with DEBUG off a missing
secret stops start-up instead of silently using a development key.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Development-only secrets, used when DEBUG is on and nothing is configured. Changing
# SECRET_KEY or CRYPTOGRAPHY_KEY makes stored Jira credentials unreadable until they are
# re-encrypted with `manage.py rotate_credentials_key`.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
_DEV_CRYPTOGRAPHY_KEY = "dev-only-insecure-cryptography-key"


def _secret(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. Set it in the environment or in .env (see .env.example); "
        "only DEBUG=1 falls back to a development value."
    )


SECRET_KEY = _secret("SECRET_KEY", _DEV_SECRET_KEY)
CRYPTOGRAPHY_KEY = _secret("CRYPTOGRAPHY_KEY", _DEV_CRYPTOGRAPHY_KEY)

# Where the top bar's Help link goes; empty means the in-app page /help/. SUPPORT_EMAIL, when
# set, is shown on that page.
SUPPORT_URL = env.str("SUPPORT_URL", default="")
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for links that leave the app (the "link back" in Jira issues).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "anomalies",
    "integrations",
    "rules",
    "axes",
    "csp",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves no files: WhiteNoise serves /static/ (collectstatic's var/static).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files need neither a policy nor private caching.
    "csp.middleware.CSPMiddleware",
    "qualytics_jira.middleware.PrivateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
    # request.htmx: views answer an htmx request with just the fragment it swaps in.
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "qualytics_jira.urls"
WSGI_APPLICATION = "qualytics_jira.wsgi.application"

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
                "qualytics_jira.context_processors.support",
            ],
        },
    },
]


def _database() -> dict:
    database = env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL and IMMEDIATE transactions let the web server and the Celery worker write to
        # the same SQLite file without "database is locked" errors.
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        database["CONN_HEALTH_CHECKS"] = True
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "anomalies.User"
# Axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "anomalies.auth.RoleBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "anomalies:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"

# --- HTTPS and browser security --------------------------------------------------------
# Cookies only over HTTPS (on by default without DEBUG; SECURE_COOKIES=0 for plain-http
# setups such as a local demo with DEBUG off).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Off by default: turn them on once the site answers on HTTPS (a browser remembers HSTS for
# SECURE_HSTS_SECONDS and refuses plain http to the host meanwhile).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)


def _proxy_ssl_header() -> tuple[str, str] | None:
    """Behind a proxy that terminates TLS, e.g. `HTTP_X_FORWARDED_PROTO,https`: the header
    (as Django names it in request.META) and the value that means the client used HTTPS.
    Set it only when the proxy always sets or overwrites that header."""
    parts = env.list("SECURE_PROXY_SSL_HEADER", default=[])
    if not parts:
        return None
    if len(parts) != 2 or not parts[0].startswith("HTTP_"):
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be HEADER,VALUE with HEADER as in request.META, "
            "e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return parts[0], parts[1]


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()

# Everything the pages load comes from this site: no inline scripts, styles or handlers
# (static/js holds the few scripts). The Django admin works under the same policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

# --- Sign-in throttling (django-axes) -----------------------------------------------------
# Both sign-in pages (/login/ and /admin/login/) go through Django's authenticate(), which
# axes watches; the API's tokens do not, so the API is never throttled by this.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# A cool-off, never a permanent lock: the real user can sign in again after it.
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# Tries during the cool-off are refused without being counted, so it ends when it said.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Comma-separated; "+" joins parameters counted together. The default counts failures per
# account from one client address, so a typo-prone colleague behind the same address (or an
# attacker guessing one account) never locks anyone else out.
AXES_LOCKOUT_PARAMETERS = [
    entry.split("+") if "+" in entry else entry
    for entry in env.list("AXES_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
AXES_LOCKOUT_CALLABLE = "anomalies.signin.locked_out"
# Only failures are kept (and dropped once their cool-off is over); a row per successful
# sign-in would grow without bound.
AXES_DISABLE_ACCESS_LOG = True
# The client address is REMOTE_ADDR, unless the deployment says how many reverse proxies
# in front of it append to X-Forwarded-For (a client can forge that header, so it is read
# only when configured): see anomalies/signin.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "anomalies.signin.client_address"

# --- Jira ---------------------------------------------------------------------------------
# Loopback Jira hosts are refused, and plain http with them, unless this is on (the local
# Jira simulator used by the demo and the tests).
JIRA_ALLOW_INSECURE_LOOPBACK = env.bool("JIRA_ALLOW_INSECURE_LOOPBACK", default=False)
# The ticketing host must resolve to public addresses only (checked at every connection);
# these host names, addresses and CIDR ranges are the exceptions an operator opens on purpose.
TICKETING_ALLOWED_PRIVATE_HOSTS = env.list("TICKETING_ALLOWED_PRIVATE_HOSTS", default=[])
JIRA_CONNECT_TIMEOUT = env.float("JIRA_CONNECT_TIMEOUT", default=3.05)
JIRA_READ_TIMEOUT = env.float("JIRA_READ_TIMEOUT", default=15.0)
# After a create whose answer was lost, how often to look again for the issue by its marker
# when the first lookup misses (Jira's search index may lag a create), and the pause between.
JIRA_CREATE_LOOKUP_RETRIES = env.int("JIRA_CREATE_LOOKUP_RETRIES", default=1)
JIRA_CREATE_LOOKUP_PAUSE = env.float("JIRA_CREATE_LOOKUP_PAUSE", default=1.0)

# --- Celery -------------------------------------------------------------------------------
# Without a broker URL, kombu's filesystem transport needs no server (fresh machines, demo).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default=""))
# Redis redelivers an unacknowledged task (its worker was killed) after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
}
# Publishing (from web requests and from tasks) uses its own connection with these connect
# and read timeouts, so a stopped or hung broker costs a request this long at most, once per
# SYNC_SWEEP_SECONDS (qualytics_jira/broker.py).
BROKER_PUBLISH_TIMEOUT = env.float("BROKER_PUBLISH_TIMEOUT", default=0.3)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Workers and beat: a hung Redis (no answer, connection still open) is given up on and
    # reconnected after this long instead of blocking forever.
    _socket_timeout = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=10.0)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "socket_timeout": _socket_timeout,
        "socket_connect_timeout": _socket_timeout,
    }
if not CELERY_BROKER_URL:
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    (_broker_dir / "control").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Workers' and beat's connection attempts (publishing has BROKER_PUBLISH_TIMEOUT instead).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it; workers keep it instead, and qualytics_jira/celery.py checks it before each task
# the way Django does per request (CONN_MAX_AGE, CONN_HEALTH_CHECKS). 0 closes per task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000) or None
# A worker child whose memory grew past this (KiB) is replaced after its current task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=150_000)

# --- Sync (the outbox of Jira comments) ---------------------------------------------------
SYNC_SWEEP_SECONDS = env.float("SYNC_SWEEP_SECONDS", default=30.0)
# A "sending" event older than this lost its worker: it goes back to pending, and the next
# attempt first looks in Jira for the comment it may have posted.
SYNC_SENDING_STALE_SECONDS = env.float("SYNC_SENDING_STALE_SECONDS", default=120.0)
SYNC_RETRY_HORIZON_HOURS = env.float("SYNC_RETRY_HORIZON_HOURS", default=48.0)
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=5.0)
SYNC_BACKOFF_MAX_SECONDS = env.float("SYNC_BACKOFF_MAX_SECONDS", default=900.0)
# After a send whose outcome is unknown (5xx, timeout, dropped connection), how long Jira may
# still be completing it: no resend before this margin has passed and a last look found no
# comment (docs/sync.md, "Outcome unknown").
SYNC_LOOKBACK_MARGIN_SECONDS = env.float("SYNC_LOOKBACK_MARGIN_SECONDS", default=120.0)
# A 403 holds only its issue's queue; after this many 403s in a row on one issue its events
# fail (visible, retryable). 403s on this many projects within the window pause the whole
# integration (docs/sync.md, "403 blast radius").
SYNC_FORBIDDEN_ATTEMPTS = env.int("SYNC_FORBIDDEN_ATTEMPTS", default=3)
SYNC_FORBIDDEN_PROJECTS_TO_PAUSE = env.int("SYNC_FORBIDDEN_PROJECTS_TO_PAUSE", default=2)
SYNC_FORBIDDEN_WINDOW_SECONDS = env.float("SYNC_FORBIDDEN_WINDOW_SECONDS", default=600.0)
TICKET_REFRESH_SECONDS = env.float("TICKET_REFRESH_SECONDS", default=300.0)

# --- Automatic ticket rules (docs/rules.md) -------------------------------------------------
# The site-wide budget of rule actions sent to the ticketing system (creates, links), shared
# by every worker: a token bucket refilled at this rate, holding at most RULES_ACTIONS_BURST.
# Recurrence comments go through the sync outbox, which honours Retry-After the same way.
RULES_ACTIONS_PER_MINUTE = env.float("RULES_ACTIONS_PER_MINUTE", default=120.0)
RULES_ACTIONS_BURST = env.int("RULES_ACTIONS_BURST", default=10)
# A create or link that keeps failing for a transient reason gives up after this many tries.
RULES_MAX_ATTEMPTS = env.int("RULES_MAX_ATTEMPTS", default=10)

# --- Alerts (integrations/services/alerts.py) -----------------------------------------------
# Managers (and an anomaly's assignees, for its own events) hear by email when the sync
# pauses, an event fails for good, or events wait longer than ALERT_PENDING_MINUTES; at most
# one message per cause per ALERT_THROTTLE_MINUTES. A Slack incoming-webhook URL, if set, gets
# the same text (through the outbound host policy, like Jira).
ALERT_PENDING_MINUTES = env.float("ALERT_PENDING_MINUTES", default=15.0)
ALERT_THROTTLE_MINUTES = env.float("ALERT_THROTTLE_MINUTES", default=60.0)
ALERT_CHECK_SECONDS = env.float("ALERT_CHECK_SECONDS", default=60.0)
ALERT_SLACK_WEBHOOK_URL = env.str("ALERT_SLACK_WEBHOOK_URL", default="")
# Django's email settings; the console backend prints messages (the demo).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="qualytics@localhost")

CELERY_BEAT_SCHEDULE = {
    "check-sync-alerts": {
        "task": "integrations.tasks.check_sync_alerts",
        "schedule": ALERT_CHECK_SECONDS,
    },
    "sweep-sync-events": {
        "task": "integrations.tasks.sweep_sync_events",
        "schedule": SYNC_SWEEP_SECONDS,
    },
    "refresh-ticket-statuses": {
        "task": "integrations.tasks.refresh_ticket_statuses",
        "schedule": TICKET_REFRESH_SECONDS,
    },
    "resume-bulk-runs": {
        "task": "anomalies.tasks.resume_bulk_runs",
        "schedule": SYNC_SWEEP_SECONDS,
    },
    "sweep-rule-actions": {
        "task": "rules.tasks.sweep_rule_actions",
        "schedule": SYNC_SWEEP_SECONDS,
    },
    "prune-bulk-runs": {
        "task": "anomalies.tasks.prune_bulk_runs",
        "schedule": 24 * 3600,
    },
    # Jira webhook delivery ids are kept for dedup only as long as Jira may retry.
    "prune-webhook-deliveries": {
        "task": "integrations.tasks.prune_webhook_deliveries",
        "schedule": 24 * 3600,
    },
}

# --- Operations ---------------------------------------------------------------------------
# /metrics answers requests bearing `Authorization: Bearer <METRICS_TOKEN>`; without a token
# set, only requests from loopback (a local Prometheus agent or sidecar).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# One empty directory per host shared by its gunicorn and Celery processes, so that /metrics
# adds up their Jira and delivery counters (prometheus-client's multiprocess mode reads it
# from the environment; see integrations/metrics.py).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "expected_refusals": {"()": "qualytics_jira.log_filters.ExpectedRefusalsOnOneLine"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django.request's records reach the root handler by propagation; the filter is on the
    # logger, so it applies before any handler sees them (a logger's filters see only its own
    # records, so the security logger a probe of another Host reaches is named itself).
    # Django's own console handler on "django" (DEBUG only) would print each record a second
    # time: root prints it once.
    "loggers": {
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["expected_refusals"]},
        "django.security.DisallowedHost": {"filters": ["expected_refusals"]},
    },
}
