#!/usr/bin/env bash
# Starts fencewire with a simulated fleet streaming into it and shows positions arriving in the
# database and the metrics moving. Ctrl-C stops it. DEMO_DEVICES, DEMO_RATE (fixes/s) and
# DEMO_DURATION (seconds) size the fleet; HTTP_PORT, NATS_URL and DATABASE_URL as documented.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export HTTP_PORT="${HTTP_PORT:-8080}"
export DATABASE_URL="${DATABASE_URL:-postgres://127.0.0.1:5432/fencewire}"
DEVICES="${DEMO_DEVICES:-500}" RATE="${DEMO_RATE:-2000}" DURATION="${DEMO_DURATION:-60}"

bash scripts/services.sh
npm run --silent build
node bin/fencewire.js migrate >/dev/null
mkdir -p .local
node bin/fencewire.js serve > .local/demo-serve.log 2>&1 &
SERVE=$!
trap 'kill -TERM $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$HTTP_PORT/api/integration/health" >/dev/null && break; sleep 0.2; done
echo "fencewire is serving: http://127.0.0.1:$HTTP_PORT/api/integration/health and /metrics (log in .local/demo-serve.log)"

node bin/fencewire.js simulate --devices "$DEVICES" --rate "$RATE" --duration "$DURATION" &
SIM=$!
while kill -0 $SIM 2>/dev/null; do
  sleep 5
  rows=$(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM positions' 2>/dev/null || echo '?')
  written=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^fencewire_fixes_written_total/ {print $2}')
  echo "demo: positions in the database: $rows; fencewire_fixes_written_total: $written"
done
wait $SIM
sleep 1
echo "demo: done; positions in the database: $(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM positions')"
