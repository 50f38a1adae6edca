#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL server (for the county store's tests):
#   scripts/postgres.sh COMMAND [ARGS…]
# Installs PostgreSQL from the distribution's packages when it is missing, starts a private cluster as the
# `postgres` user (initdb refuses root) in a temporary folder, listening on 127.0.0.1 and a private socket
# folder on a free port, with a random password; runs COMMAND with CHECKPOINT_TEST_PG_URL set to its URL;
# and stops the server and removes the folder at the end, whatever happens.
# Under CI (CI=true) a server that cannot be had is an error; elsewhere COMMAND runs without it (the
# tests that need it then say why they skipped).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: scripts/postgres.sh COMMAND [ARGS…]" >&2
  exit 2
fi
if [ -n "${CHECKPOINT_TEST_PG_URL:-}" ]; then
  exec "$@"  # a server was given: use it
fi

WORK=""
unavailable() {  # unavailable REASON COMMAND…
  local reason="$1"
  shift
  if [ "${CI:-}" = "true" ]; then
    echo "postgres.sh: $reason; the county store's tests need PostgreSQL under CI." >&2
    exit 1
  fi
  echo "postgres.sh: $reason; running without PostgreSQL (the county store's tests will skip)." >&2
  [ -z "$WORK" ] || { stop; trap - EXIT; }
  exec "$@"
}

# The server's programs: Debian keeps them in /usr/lib/postgresql/<version>/bin (not on PATH).
# (CHECKPOINT_PG_LIB points elsewhere only to try the install branch on a machine that has PostgreSQL.)
PG_LIB="${CHECKPOINT_PG_LIB:-/usr/lib/postgresql}"
find_bindir() {
  local dir
  for dir in $(ls -d "$PG_LIB"/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  if [ -z "${CHECKPOINT_PG_LIB:-}" ] && command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  fi
  return 1
}

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  SUDO="none"
fi

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
  command -v apt-get >/dev/null 2>&1 || unavailable "PostgreSQL is not installed and this system has no apt-get" "$@"
  [ "$SUDO" != "none" ] || unavailable "PostgreSQL is not installed (install it with 'sudo apt-get install postgresql')" "$@"
  echo "Installing system packages: postgresql"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || unavailable "apt-get update failed" "$@"
  $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
    || unavailable "apt-get could not install postgresql" "$@"
  BINDIR="$(find_bindir || true)"
  [ -n "$BINDIR" ] || unavailable "PostgreSQL was installed but its initdb cannot be found" "$@"
fi

# Who runs the server: initdb refuses root, so root runs it as `postgres` (the package creates that user).
if [ "$(id -u)" -eq 0 ]; then
  getent passwd postgres >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  as_server() { runuser -u postgres -- "$@"; }
else
  as_server() { "$@"; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/checkpoint-pg.XXXXXX")"
mkdir -p "$WORK/data" "$WORK/sock"
PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASSWORD" >"$WORK/pw"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$WORK"; fi
chmod 700 "$WORK"

stop() {
  as_server "$BINDIR/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_server "$BINDIR/initdb" -D "$WORK/data" -U postgres --auth=scram-sha-256 --pwfile="$WORK/pw" \
  --encoding=UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; unavailable "initdb failed" "$@"; }
rm -f "$WORK/pw"

free_port() {
  local python
  python="$(command -v python3 || command -v python)"
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PORT=""
for _ in 1 2 3 4 5; do
  candidate="$(free_port)"
  # A throwaway cluster: no fsync (nothing here must survive a power cut), loopback and a private socket only.
  if as_server "$BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -c port=$candidate -c unix_socket_directories=$WORK/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60" \
    >/dev/null 2>&1; then
    PORT="$candidate"
    break
  fi
done
if [ -z "$PORT" ]; then
  tail -n 20 "$WORK/server.log" >&2 || true
  unavailable "the throwaway PostgreSQL server did not start" "$@"
fi

export CHECKPOINT_TEST_PG_URL="postgresql://postgres:${PASSWORD}@127.0.0.1:${PORT}/postgres"
echo "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$PORT (stopped at the end)"
set +e
"$@"
status=$?
set -e
exit $status
