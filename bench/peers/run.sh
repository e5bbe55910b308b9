#!/usr/bin/env bash
# Installs the peer tools (install.sh) and times them beside godwit in one run:
#   bash bench/peers/run.sh [N [RUNS [TOOL...]]]   (1000 migrations, 3 rounds, every tool)
# Writes results.csv (every measurement) and results.md (the tables): into bench/peers/ for
# the full run without arguments, into target/peers/ otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/peers/install.sh
if [ "$#" -eq 0 ]; then export PEERS_OUT="$PWD/bench/peers"; fi
GODWIT_TEST_PG_DURABLE=1 cargo run --quiet --release --locked -p godwit-bench --bin peers -- "$@"
