"""The product's settings plus one floor view (bench/urls.py): same server, same middleware."""

from qualytics_jira.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
