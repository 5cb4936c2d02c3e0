"""Settings for the test suite: the real settings with throwaway secrets and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("CRYPTOGRAPHY_KEY", "test-only-cryptography-key")

from qualytics_jira.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Servers started by the tests serve static files straight from the source folders, so no
# collectstatic step is needed (and WhiteNoise does not warn about a missing var/static).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Worker and web processes started by the tests must see the test database, so on SQLite it
# is a file rather than pytest-django's default in-memory database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # One file per test run, so two runs on one machine never share (or delete) a database.
    _run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:12]
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{_run}.sqlite3")}  # noqa: F405
