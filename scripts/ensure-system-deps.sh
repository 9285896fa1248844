#!/usr/bin/env bash
# Installs the system packages the integration tests need: the PostgreSQL server
# binaries and redis-server (Debian packages). Idempotent: does nothing when both
# are present. Never starts the Debian services; test/global-setup.ts runs private
# servers on ephemeral ports instead.
set -euo pipefail

have_postgres() {
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null \
    && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
    && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}
have_redis() { command -v redis-server >/dev/null 2>&1; }

if have_postgres && have_redis; then
  echo "ensure-system-deps: postgresql and redis-server already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  echo "ensure-system-deps: need root (or sudo) to install postgresql and redis-server" >&2
  exit 1
fi

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
echo "ensure-system-deps: installing ${missing[*]} via apt-get"

# policy-rc.d exit 101 tells invoke-rc.d not to start services during the
# install, so nothing grabs the default ports 5432/6379 even on a machine with
# a working init system.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" -eq 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

log=$(mktemp)
if ! { "${as_root[@]}" apt-get update \
  && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; } \
  </dev/null >"$log" 2>&1; then
  echo "ensure-system-deps: FAILED to install ${missing[*]} with apt-get; last lines of its output:" >&2
  tail -n 30 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"

if ! have_postgres || ! have_redis; then
  echo "ensure-system-deps: apt-get succeeded but postgres server binaries or redis-server are still missing" >&2
  exit 1
fi
echo "ensure-system-deps: installed ${missing[*]}"
