#!/usr/bin/env bash
# Installs the peer tools (install.sh) and times them beside godwit in one run:
#   bash bench/peers/run.sh [N [RUNS [TOOL...]]]   (1000 migrations, 3 rounds, every tool)
# Writes bench/peers/results.csv (every measurement) and bench/peers/results.md (the tables).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/peers/install.sh
GODWIT_TEST_PG_DURABLE=1 cargo run --quiet --release --locked -p godwit-bench --bin peers -- "$@"
