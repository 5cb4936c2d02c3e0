#!/usr/bin/env bash
# `make run`: migrate, start the Jira and ServiceNow simulators, seed the demo (anomalies
# linked to simulator issues), start a Celery worker with beat, and serve the app.
#
# Served as in production: DEBUG off, gunicorn, the product's own error pages, static files
# from var/static through WhiteNoise, secrets generated once into var/local-secrets.env.
# `DEBUG=1 make run` serves with Django's runserver (reloads on code changes) instead.
# Embedded defaults (SQLite, a filesystem Celery broker) unless DATABASE_URL /
# CELERY_BROKER_URL are set. A setting in the environment or in .env always wins over the
# demo's. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
JIRA_PORT=${JIRA_PORT:-8089}
SERVICENOW_PORT=${SERVICENOW_PORT:-8090}
SECRETS_FILE=var/local-secrets.env
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}
export JIRA_ALLOW_INSECURE_LOOPBACK=1
mkdir -p var/logs

# The demo's value for a setting that neither the environment nor .env gives.
demo_default() {
  local name=$1 value=$2
  if [ -z "${!name+set}" ] && ! grep -qs "^$name=" .env; then export "$name=$value"; fi
}

# Generated once, then reused: sessions are signed, and stored Jira credentials encrypted
# and signed, with these keys, so new ones on each run would make them unreadable.
if [ ! -s "$SECRETS_FILE" ]; then
  (umask 077 && "$BIN/python" -c 'import secrets
for name in ("SECRET_KEY", "CRYPTOGRAPHY_KEY"):
    print(f"{name}={secrets.token_urlsafe(50)}")' >"$SECRETS_FILE")
  echo "Generated local secrets in $SECRETS_FILE (git-ignored; keep it to keep the data readable)."
fi
while IFS='=' read -r name value; do demo_default "$name" "$value"; done <"$SECRETS_FILE"
# The demo is served over plain http: cookies marked Secure would never come back.
demo_default SECURE_COOKIES 0
case "$HOST" in
  # Listening on every interface: answer whatever name the machine is reached by.
  0.0.0.0 | :: | "[::]") demo_default ALLOWED_HOSTS '*' ;;
  *) demo_default ALLOWED_HOSTS "$HOST,127.0.0.1,localhost" ;;
esac

# Something already answering on a port would be mistaken for this run's server or simulator.
for port in "$PORT" "$JIRA_PORT" "$SERVICENOW_PORT"; do
  if "$BIN/python" -c 'import socket, sys
sys.exit(socket.socket().connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)' "$port"; then
    echo "Port $port is in use (another make run?). Choose free ones:" \
      "PORT=... JIRA_PORT=... SERVICENOW_PORT=... make run" >&2
    exit 1
  fi
done

children=()
# Each child leads its own process group, so stopping it also stops what it started
# (runserver's reloaded child, a hung Celery pool) and nothing else.
start() {
  if command -v setsid >/dev/null; then setsid "$@" & else "$@" & fi
  children+=($!)
}
any_alive() {
  local pid
  for pid in "${children[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
# Ask each child to stop (it stops its own workers); after a grace period, whatever is left
# (a child still shutting down, or one whose leader is gone) is killed with its group.
stop_all() {
  trap - INT TERM EXIT
  local pid tries=0
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  while any_alive && [ "$tries" -lt 20 ]; do
    sleep 0.5
    tries=$((tries + 1))
  done
  for pid in "${children[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py collectstatic --no-input --verbosity 0

start "$BIN/python" -m simulators.jira --port "$JIRA_PORT" --state-file var/jira-sim.json \
  >var/logs/jira-simulator.log 2>&1
start "$BIN/python" -m simulators.servicenow --port "$SERVICENOW_PORT" \
  --state-file var/servicenow-sim.json >var/logs/servicenow-simulator.log 2>&1
# Connects the Jira simulator (waiting for it to answer) and links anomalies to its issues.
"$BIN/python" manage.py seed_demo --jira "http://127.0.0.1:$JIRA_PORT"

start "$BIN/celery" -A qualytics_jira worker --beat --schedule var/celerybeat-schedule \
  --concurrency 2 --loglevel INFO >var/logs/celery.log 2>&1

debug=${DEBUG:-$( (sed -n 's/^DEBUG=//p' .env 2>/dev/null || true) | tail -n 1)}
case "$(echo "$debug" | tr '[:upper:]' '[:lower:]')" in
  1 | true | yes | on | y | t) debug=1 ;;
  *) debug=0 ;;
esac
if [ "$debug" = 1 ]; then
  mode="DEBUG on (runserver, reloads on code changes)"
  start "$BIN/python" manage.py runserver "$HOST:$PORT"
else
  mode="DEBUG off, as in production (gunicorn); DEBUG=1 make run for development"
  start "$BIN/gunicorn" qualytics_jira.wsgi --bind "$HOST:$PORT" --workers 2 --threads 4 \
    --no-control-socket
fi
server=${children[-1]}

cat <<MSG

Qualytics:        http://$HOST:$PORT   (demo logins above; password "demo")
                  $mode
Jira simulator:   http://127.0.0.1:$JIRA_PORT   (what Jira received)
ServiceNow sim:   http://127.0.0.1:$SERVICENOW_PORT   (qualytics.integration / sim-password)
Logs:             var/logs/ (worker, simulators); requests refused or failing print here
Ctrl-C stops everything.

MSG
# `wait` returns as soon as a signal arrives (a foreground command would delay the trap).
wait "$server"
