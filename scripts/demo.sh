#!/usr/bin/env bash
# A fleet driving through San Francisco's neighbourhoods, live: starts NATS, PostgreSQL and
# fencewire, imports the 37 neighbourhoods (fixtures/sf-neighborhoods.geojson) as geofences,
# creates a demo key, prints the map's URL, then drives a simulated fleet through the city and
# prints each event as it happens (time, device, type, geofence). Ends by itself after
# DEMO_DURATION seconds (Ctrl-C ends it sooner). DEMO_DEVICES and DEMO_RATE (fixes/s) size the
# fleet; HTTP_PORT, NATS_URL and DATABASE_URL as documented.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export HTTP_PORT="${HTTP_PORT:-8080}"
export DATABASE_URL="${DATABASE_URL:-postgres://127.0.0.1:5432/fencewire}"
DEVICES="${DEMO_DEVICES:-150}" RATE="${DEMO_RATE:-300}" DURATION="${DEMO_DURATION:-60}"
TENANT=demo
# The CLI as a command, not a function: a background function would be a subshell, and $! its pid.
fencewire=(node bin/fencewire.js)

bash scripts/services.sh
npm run --silent build
"${fencewire[@]}" migrate >/dev/null
"${fencewire[@]}" tenant create "$TENANT" --rules '{"geofenceHysteresisM": 25, "overspeedLimitKmh": 50, "overspeedMinDurationS": 5, "idleMinDurationS": 30}' >/dev/null
"${fencewire[@]}" geofences import fixtures/sf-neighborhoods.geojson --tenant "$TENANT"
KEY="$("${fencewire[@]}" key create --tenant "$TENANT" | head -1)"

mkdir -p .local
"${fencewire[@]}" serve > .local/demo-serve.log 2>&1 &
SERVE=$!
WATCH=""
cleanup() {
  [[ -n "$WATCH" ]] && kill -TERM "$WATCH" 2>/dev/null
  kill -TERM "$SERVE" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/api/integration/health" >/dev/null && break; sleep 0.2; done

cat <<INFO

demo: the live map      http://127.0.0.1:$HTTP_PORT/map
demo: integration key   $KEY
demo: API documentation http://127.0.0.1:$HTTP_PORT/docs   metrics /metrics   log .local/demo-serve.log
demo: $DEVICES vehicles drive through San Francisco for $DURATION s; events as they happen:

INFO
"${fencewire[@]}" watch --tenant "$TENANT" &
WATCH=$!
"${fencewire[@]}" simulate --tenant "$TENANT" --area san-francisco --devices "$DEVICES" --rate "$RATE" --duration "$DURATION" 2>/dev/null
sleep 2
echo
echo "demo: done; events by type in the database:"
psql "$DATABASE_URL" -Atc "SELECT '  ' || type || ': ' || count(*) FROM events WHERE tenant_id = '$TENANT' AND occurred_at > now() - interval '$((DURATION + 60)) seconds' GROUP BY type ORDER BY count(*) DESC"
echo "demo: positions stored: $(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM positions WHERE tenant_id = '$TENANT'")"
