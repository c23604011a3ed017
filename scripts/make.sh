#!/usr/bin/env bash
# The main command: bash scripts/make.sh "a topic" [reelforge make options]
# Installs what a fresh machine lacks (FFmpeg, espeak-ng, fonts, Postgres, Redis), starts the
# databases if they are down, builds reelforge and makes the videos (default: ./out).
# The dev profile is used on purpose: it builds in a fraction of the release time, the pixel and
# sample crates are optimised in it anyway (see Cargo.toml), and FFmpeg does the heavy lifting.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust
ensure_media_tools
ensure_postgres
ensure_redis
use_fast_linker

log "building reelforge"
cargo build --locked --bin reelforge
exec "$CARGO_TARGET_DIR/debug/reelforge" make "$@"
