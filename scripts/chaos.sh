#!/usr/bin/env bash
# The chaos soak: 100 short runs in flight while service processes are killed and restarted,
# Redis is restarted without its data and Postgres is restarted; checks that nothing is lost or
# done twice (see scripts/chaos.py). Arguments pass through: bash scripts/chaos.sh --runs 20
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust
ensure_media_tools
ensure_postgres
ensure_command redis-server redis-server
use_fast_linker
cargo build --locked --bin reelforge >&2
exec python3 scripts/chaos.py --bin "$CARGO_TARGET_DIR/debug/reelforge" "$@"
