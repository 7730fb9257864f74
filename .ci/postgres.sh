#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster in a temporary directory and run a command against it
# with L2KIT_TEST_DB_URL set; the cluster is stopped and removed at the end, whatever happens.
#
#   .ci/postgres.sh python -m pytest -q tests/emeth/offchain
#
# Debian's postgresql is installed first if no server binaries are found (needs root).
set -euo pipefail

find_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

BIN="$(find_bindir || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: PostgreSQL is not installed; run as root or install Debian's postgresql" >&2
    exit 1
  fi
  echo "==> installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  BIN="$(find_bindir)"
fi

# PostgreSQL refuses to run as root: use the postgres account (created by the package).
AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  AS=(runuser -u postgres --)
fi

DIR="$(mktemp -d /tmp/l2kit-pg.XXXXXX)"
chmod 755 "$DIR"
[ ${#AS[@]} -eq 0 ] || chown postgres "$DIR"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

stop() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT

"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U l2kit --auth=trust -E UTF8 >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >/dev/null
echo "==> PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"

export L2KIT_TEST_DB_URL="postgresql+psycopg://l2kit@127.0.0.1:$PORT/postgres"
"$@"
