#!/usr/bin/env bash
# Backpressure at scale: bash scripts/load.sh [--release]
# 1,000 runs in flight (RUNS, default 1000) through a real orchestrator process, Postgres and
# Redis, the media services replaced by instant test workers, plus EXTRA (200) submissions past
# `max_active_runs`. Prints step dispatch latency p50/p99, run latency, the orchestrator's peak
# RSS, the deepest queue per stream and how the extra submissions were shed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust
ensure_postgres
ensure_redis
use_fast_linker

profile=dev
if [ "${1:-}" = "--release" ]; then profile=release; fi
log "building reelforge ($profile profile)"
cargo build --locked --profile "$profile" --bin reelforge
dir=debug
if [ "$profile" = release ]; then dir=release; fi
export REELFORGE_BIN="$CARGO_TARGET_DIR/$dir/reelforge"
cargo bench --locked --profile "$profile" -p reelforge --bench dispatch
