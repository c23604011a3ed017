#!/usr/bin/env bash
# The main command: bash scripts/make.sh "a topic" [reelforge make options]
# Installs what a fresh machine lacks (FFmpeg, espeak-ng, fonts, Postgres, Redis), starts the
# databases if they are down, builds reelforge in release mode and makes the videos (default: ./out).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust
ensure_media_tools
ensure_postgres
ensure_redis
use_fast_linker

log "building reelforge (release)"
cargo build --release --locked --bin reelforge
exec "$CARGO_TARGET_DIR/release/reelforge" make "$@"
