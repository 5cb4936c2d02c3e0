"""Settings, all read from the environment (django-environ); see `.env.example`.

The defaults run a fresh machine with no services at all: SQLite under `var/`, and Celery
on kombu's filesystem transport. Production sets DATABASE_URL (Postgres) and
CELERY_BROKER_URL/REDIS_URL (Redis), and must set its own secrets: with DEBUG off a missing
secret stops start-up instead of silently using a development key.
"""

from pathlib import Path

import environ
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves no files: WhiteNoise serves /static/ (collectstatic's var/static).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
AUTHENTICATION_BACKENDS = ["anomalies.auth.RoleBackend"]

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

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- Jira ---------------------------------------------------------------------------------
# Plain http is refused for Jira hosts, except loopback ones when this is on (the local
# Jira simulator used by the demo and the tests).
JIRA_ALLOW_INSECURE_LOOPBACK = env.bool("JIRA_ALLOW_INSECURE_LOOPBACK", default=False)
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
# A web request must not hang when the broker is down: the outbox row is already committed
# and the sweeper delivers it later.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180

# --- Sync (the outbox of Jira comments) ---------------------------------------------------
SYNC_SWEEP_SECONDS = env.float("SYNC_SWEEP_SECONDS", default=30.0)
# A "sending" event older than this lost its worker: it goes back to pending, and the next
# attempt first looks in Jira for the comment it may have posted.
SYNC_SENDING_STALE_SECONDS = env.float("SYNC_SENDING_STALE_SECONDS", default=120.0)
SYNC_RETRY_HORIZON_HOURS = env.float("SYNC_RETRY_HORIZON_HOURS", default=48.0)
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=5.0)
SYNC_BACKOFF_MAX_SECONDS = env.float("SYNC_BACKOFF_MAX_SECONDS", default=900.0)
TICKET_REFRESH_SECONDS = env.float("TICKET_REFRESH_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-sync-events": {
        "task": "integrations.tasks.sweep_sync_events",
        "schedule": SYNC_SWEEP_SECONDS,
    },
    "refresh-ticket-statuses": {
        "task": "integrations.tasks.refresh_ticket_statuses",
        "schedule": TICKET_REFRESH_SECONDS,
    },
    # Jira webhook delivery ids are kept for dedup only as long as Jira may retry.
    "prune-webhook-deliveries": {
        "task": "integrations.tasks.prune_webhook_deliveries",
        "schedule": 24 * 3600,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
