#!/usr/bin/env bash
# The test command: bash scripts/test.sh
# Installs what a fresh machine lacks, starts Postgres and Redis if they are down, then runs
# formatting, lints, every test against real Postgres/Redis/S3 (moto), a CI-sized chaos soak
# (kill -9, Redis and Postgres restarts), schemathesis API fuzzing, OpenAPI validation and the
# deployment-file validators.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_media_tools
ensure_postgres
ensure_redis
ensure_redis_cluster
ensure_python_tool moto_server 'moto[server]'
ensure_python_tool openapi-spec-validator openapi-spec-validator
use_fast_linker

# Tests create one database each (reelforge_test_*); clear those left by earlier runs.
psql -h 127.0.0.1 -U postgres -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'reelforge_test_%'" 2>/dev/null |
  while read -r db; do psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS \"$db\"" || true; done

log "formatting and clippy (cargo xtask lint)"
cargo xtask lint
log "cargo test"
cargo test --workspace --locked

log "chaos soak, CI size (bash scripts/chaos.sh runs the full one)"
python3 scripts/chaos.py --bin "$CARGO_TARGET_DIR/debug/reelforge" \
  --runs 8 --kills 4 --redis-restarts 1 --postgres-restarts 1 --poison 2

log "API fuzzing: schemathesis over every OpenAPI document"
ensure_python_tool st schemathesis
python3 scripts/fuzz.py --bin "$CARGO_TARGET_DIR/debug/reelforge" --examples 25

log "OpenAPI documents"
openapi_dir="$(mktemp -d)"
trap 'rm -rf "$openapi_dir"' EXIT
"$CARGO_TARGET_DIR/debug/reelforge" openapi --out "$openapi_dir"
for document in "$openapi_dir"/*.json; do
  if ! report="$(openapi-spec-validator "$document" 2>&1)"; then
    printf 'FAIL  openapi: %s\n%s\n' "$(basename "$document")" "$report" >&2
    exit 1
  fi
  printf 'PASS  openapi: %s\n' "$(basename "$document")"
done

log "deployment files"
bash scripts/validate-deploy.sh

# Last: `prepare` re-checks the crates that use sqlx's macros, which would make the tests above
# rebuild them.
log "queries checked against the migrations (cargo xtask queries --check)"
cargo xtask queries --check
log "all checks passed"
