#!/usr/bin/env bash
# `make run`: migrate, seed the demo, then serve. Everything runs on embedded defaults
# (SQLite, a filesystem Celery broker) unless DATABASE_URL / CELERY_BROKER_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-1}
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}

mkdir -p var
"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py seed_demo

echo
echo "Qualytics is starting on http://$HOST:$PORT  (Ctrl-C stops everything)"
exec "$BIN/python" manage.py runserver "$HOST:$PORT"
