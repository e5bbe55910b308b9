#!/usr/bin/env bash
# Benchmarks godwit: 1000 trivial migrations applied from empty, and the no-op run, on SQLite
# and on a throwaway PostgreSQL cluster with fsync on. Prints the Markdown table for README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
GODWIT_TEST_PG_DURABLE=1 cargo run --quiet --release --locked -p godwit-bench -- "${1:-1000}" "${2:-5}"
