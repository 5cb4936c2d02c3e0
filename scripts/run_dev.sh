#!/usr/bin/env bash
# `make run`: migrate, seed the demo, start the Jira and ServiceNow simulators, a Celery
# worker with beat, and the web server. Embedded defaults (SQLite, a filesystem Celery
# broker) unless DATABASE_URL / CELERY_BROKER_URL are set. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
JIRA_PORT=${JIRA_PORT:-8089}
SERVICENOW_PORT=${SERVICENOW_PORT:-8090}
export DEBUG=${DEBUG:-1}
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}
export JIRA_ALLOW_INSECURE_LOOPBACK=1
mkdir -p var/logs

children=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py seed_demo

"$BIN/python" -m simulators.jira --port "$JIRA_PORT" --state-file var/jira-sim.json \
  >var/logs/jira-simulator.log 2>&1 &
children+=($!)
"$BIN/python" manage.py connect_demo_jira --url "http://127.0.0.1:$JIRA_PORT"

"$BIN/python" -m simulators.servicenow --port "$SERVICENOW_PORT" \
  --state-file var/servicenow-sim.json >var/logs/servicenow-simulator.log 2>&1 &
children+=($!)

"$BIN/celery" -A qualytics_jira worker --beat --schedule var/celerybeat-schedule \
  --concurrency 2 --loglevel INFO >var/logs/celery.log 2>&1 &
children+=($!)

cat <<MSG

Qualytics:        http://$HOST:$PORT   (demo logins above; password "demo")
Jira simulator:   http://127.0.0.1:$JIRA_PORT   (what Jira received)
ServiceNow sim:   http://127.0.0.1:$SERVICENOW_PORT   (qualytics.integration / sim-password)
Logs:             var/logs/
Ctrl-C stops everything.

MSG
"$BIN/python" manage.py runserver "$HOST:$PORT"
