#!/usr/bin/env bash
# Install everything the tests need, then run them all. Usage: ./scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Browser tests drive Debian's chromium through Playwright (never `playwright install`); the formula check runs
# KaTeX under node. Both come from Debian when the machine lacks them.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# KaTeX (from the npm registry) checks that every formula in the guide renders.
if [ ! -d tests/katex/node_modules/katex ]; then
  npm install --prefix tests/katex --no-audit --no-fund --silent >/dev/null
fi

# ----- PostgreSQL: the store and quiz tests also run against a real server ----------------------------------------
# Debian's postgresql (installed when missing) runs a throwaway cluster for this run only: a fresh data directory,
# listening on a unix socket in that directory and on no TCP port, stopped (by its pg_ctl) and deleted on exit. The
# tests find it through DESCENT_TEST_PG_URL. initdb refuses to run as root, so as root the cluster belongs to the
# postgres user. Set DESCENT_TEST_PG_URL yourself to use another server instead.
pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "${DESCENT_TEST_PG_URL:-}" ]; then
  if [ -z "$(pg_bin_dir)" ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN="$(pg_bin_dir)"
  PG_DIR="$(mktemp -d /tmp/descent-pg.XXXXXX)"
  PG_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  stop_postgres() {
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  }
  trap stop_postgres EXIT
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U descent -A trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-k $PG_DIR -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=120" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; exit 1; }
  "${PG_AS[@]}" "$PG_BIN/createdb" -h "$PG_DIR" -U descent descent_test
  export DESCENT_TEST_PG_URL="postgresql+psycopg://descent@/descent_test?host=$PG_DIR"
fi
export DESCENT_REQUIRE_PG=1  # from here on a missing server is a failure, not a skip
# ----- end of the PostgreSQL block --------------------------------------------------------------------------------

# One worker per core; each test module stays on one worker (its module-scoped servers and browsers start once).
# DESCENT_TEST_WORKERS=0 runs everything in this process instead.
workers=(-n "${DESCENT_TEST_WORKERS:-auto}" --dist loadscope)
[ "${DESCENT_TEST_WORKERS:-auto}" = "0" ] && workers=()

set +e
python3 -m pytest "${workers[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$status"
