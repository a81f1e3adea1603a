#!/usr/bin/env bash
# Makes sure NATS (with JetStream) and PostgreSQL answer where NATS_URL and DATABASE_URL point
# (by default 127.0.0.1:4222 and 127.0.0.1:5432). A server already listening there is used as
# it is. Otherwise this finds the server binaries, installs them from the OS packages when they
# are missing (apt), and starts them on loopback with their data under .local/ in the project.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
DATABASE_URL="${DATABASE_URL:-postgres://127.0.0.1:5432/fencewire}"

say() { echo "services: $*" >&2; }

# host:port of a URL such as nats://127.0.0.1:4222 or postgres://user@127.0.0.1:5432/db
host_of() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
port_of() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # host port what
  for _ in $(seq 1 100); do listening "$1" "$2" && return 0; sleep 0.2; done
  say "$3 did not start listening on $1:$2"; return 1
}

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || { say "cannot install $*: no apt-get here; install it by hand"; return 1; }
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ -z "$apt_updated" ]]; then $sudo apt-get update -qq >&2; apt_updated=1; fi
  say "installing $* from the OS packages"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

ensure_nats() {
  local host port; host=$(host_of "$NATS_URL"); port=$(port_of "$NATS_URL" 4222)
  if listening "$host" "$port"; then say "NATS found on $host:$port"; return; fi
  local bin; bin=$(command -v nats-server || true)
  [[ -n "$bin" || ! -x /usr/sbin/nats-server ]] || bin=/usr/sbin/nats-server
  if [[ -z "$bin" ]]; then apt_install nats-server; bin=$(command -v nats-server || echo /usr/sbin/nats-server); fi
  mkdir -p "$LOCAL/nats-$port"
  say "starting NATS with JetStream on $host:$port (data in .local/nats-$port)"
  setsid "$bin" -a "$host" -p "$port" -js -sd "$LOCAL/nats-$port" -l "$LOCAL/nats-$port.log" </dev/null >/dev/null 2>&1 &
  wait_for "$host" "$port" NATS
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  local host port; host=$(host_of "$DATABASE_URL"); port=$(port_of "$DATABASE_URL" 5432)
  if listening "$host" "$port"; then say "PostgreSQL found on $host:$port"; return; fi
  local bindir; bindir=$(pg_bindir)
  if [[ -z "$bindir" ]]; then
    apt_install postgresql; bindir=$(pg_bindir)
    # Debian's package may have started a cluster of its own on the port, with password
    # authentication on TCP: stop it, and run ours (trust, loopback only) instead.
    if listening "$host" "$port" && command -v pg_ctlcluster >/dev/null; then
      local version; version=$(basename "$(dirname "$bindir")")
      say "stopping the cluster the postgresql package started, to run a project-local one"
      pg_ctlcluster --skip-systemctl-redirect "$version" main stop || true
    fi
  fi
  local data="$LOCAL/pg-$port" me; me=$(id -un)
  # initdb refuses to run as root: as root, the cluster belongs to the postgres OS user.
  local run=(); local owner="$me"
  if [[ $(id -u) -eq 0 ]]; then owner=postgres; run=(runuser -u postgres --); fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    mkdir -p "$data"; chown "$owner" "$data"; chmod 700 "$data"
    say "creating a PostgreSQL cluster in .local/pg-$port (trust authentication, loopback only)"
    "${run[@]}" "$bindir/initdb" -D "$data" -A trust -U "$owner" >/dev/null
  fi
  say "starting PostgreSQL on $host:$port"
  "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-h $host -p $port -k $data" start >/dev/null
  # A URL without a user connects as the OS user: give it a superuser role of its own.
  if [[ "$owner" != "$me" ]]; then
    "${run[@]}" "$bindir/psql" -h "$host" -p "$port" -U "$owner" -d postgres -qAtc \
      "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \"$me\" SUPERUSER LOGIN; END IF; END\$\$" >/dev/null
  fi
}

# PostGIS is the independent oracle of the geometry tests: install it beside the server.
ensure_postgis() {
  local url="${DATABASE_URL%/*}/postgres"
  [[ "$(psql "$url" -Atc "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'" 2>/dev/null)" == 1 ]] && return
  local major; major=$(psql "$url" -Atc "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null || true)
  [[ -n "$major" ]] || { say "cannot ask PostgreSQL its version; PostGIS not installed"; return; }
  apt_install "postgresql-$major-postgis-3" || say "PostGIS could not be installed; the PostGIS oracle tests will be skipped"
}

ensure_node() {
  command -v node >/dev/null || apt_install nodejs npm
  local version; version=$(node -p 'process.versions.node')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || { say "Node.js $version is too old: fencewire needs 20.19 or newer"; return 1; }
}

# npm install when node_modules is missing or older than the lock file. Not `npm ci`: the
# registry reachable here lacks some platforms' optional builds of msgpackr-extract at the
# locked version, which `npm install` skips (they are optional) but `npm ci` refuses.
ensure_node_modules() {
  if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    say "installing npm dependencies"
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
}

# The checks users run on what the project ships: docker-compose validates the compose file,
# promtool the Prometheus configuration and alert rules, Chromium shows the map.
ensure_tools() {
  command -v docker-compose >/dev/null || apt_install docker-compose || say "docker-compose could not be installed"
  [[ -x /usr/bin/chromium ]] || apt_install chromium || say "Chromium could not be installed"
  # promtool comes in Debian's prometheus package, whose installation would also start a
  # Prometheus server: unpack the package's files under .local/ instead of installing it.
  if ! command -v promtool >/dev/null && [[ ! -x "$LOCAL/tools/usr/bin/promtool" ]]; then
    command -v apt-get >/dev/null || { say "cannot fetch promtool: no apt-get here"; return 1; }
    if [[ -z "$apt_updated" ]]; then apt-get update -qq >&2 || true; apt_updated=1; fi
    say "unpacking promtool from Debian's prometheus package into .local/tools"
    mkdir -p "$LOCAL/tools"
    (cd "$LOCAL/tools" && apt-get download -qq prometheus >&2 2>/dev/null && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb)
  fi
}

ensure_node
ensure_node_modules
ensure_nats
ensure_postgres
for option in "$@"; do
  case "$option" in
    --with-postgis) ensure_postgis ;;
    --with-tools) ensure_tools ;;
    *) say "unknown option $option"; exit 64 ;;
  esac
done
