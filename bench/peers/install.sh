#!/usr/bin/env bash
# Installs the peer migration tools that the package registries reachable here carry, into
# target/peers/ (nothing system-wide but Debian packages). Idempotent: a tool already
# installed at the pinned version is kept. Prints one line per tool.
#
#   crates.io  sqlx-cli, refinery_cli, diesel_cli   (cargo install --locked)
#   npm        dbmate                               (its own static binary)
#              squawk-cli                           (the PostgreSQL migration linter)
#   PyPI       alembic, yoyo-migrations             (one virtualenv)
#   Debian     sqitch (+ DBD::Pg, DBD::SQLite), libpq for diesel_cli, sqlite3
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD/target/peers"
mkdir -p "$ROOT"

SQLX=0.9.0
REFINERY=0.10.0
DIESEL=2.3.14
DBMATE=2.36.0
SQUAWK=2.66.0
ALEMBIC=1.20.1
YOYO=9.0.0
SQLALCHEMY=2.1.9
PSYCOPG=3.3.9

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

debian() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

crate() { # name version binary features...
    local name=$1 version=$2 bin=$3 features=$4
    if ! "$ROOT/cargo/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
        cargo install --quiet --locked --root "$ROOT/cargo" "$name" --version "$version" \
            --no-default-features --features "$features"
    fi
    echo "$name $version: $ROOT/cargo/bin/$bin"
}

debian libpq-dev sqlite3 sqitch libdbd-pg-perl libdbd-sqlite3-perl

crate refinery_cli "$REFINERY" refinery "postgresql,sqlite-bundled"
crate sqlx-cli "$SQLX" sqlx "postgres,sqlite,rustls"
crate diesel_cli "$DIESEL" diesel "postgres,sqlite-bundled"

if [ ! -x "$ROOT/npm/node_modules/.bin/dbmate" ] ||
    ! "$ROOT/npm/node_modules/.bin/dbmate" --version | grep -q "$DBMATE"; then
    npm install --silent --no-audit --no-fund --prefix "$ROOT/npm" "dbmate@$DBMATE" >/dev/null
fi
echo "dbmate $DBMATE: $ROOT/npm/node_modules/.bin/dbmate"

if [ ! -x "$ROOT/squawk/node_modules/.bin/squawk" ] ||
    ! "$ROOT/squawk/node_modules/.bin/squawk" --version | grep -q "$SQUAWK"; then
    npm install --silent --no-audit --no-fund --prefix "$ROOT/squawk" "squawk-cli@$SQUAWK" >/dev/null
fi
echo "squawk $SQUAWK: $ROOT/squawk/node_modules/.bin/squawk"

if [ ! -x "$ROOT/venv/bin/alembic" ] || [ ! -x "$ROOT/venv/bin/yoyo" ]; then
    python3 -m venv "$ROOT/venv"
    "$ROOT/venv/bin/pip" install --quiet --disable-pip-version-check \
        "alembic==$ALEMBIC" "yoyo-migrations==$YOYO" "sqlalchemy==$SQLALCHEMY" "psycopg[binary]==$PSYCOPG"
fi
echo "alembic $ALEMBIC, yoyo-migrations $YOYO: $ROOT/venv/bin"
echo "sqitch $(dpkg-query -W -f '${Version}' sqitch): $(command -v sqitch)"
