#!/usr/bin/env bash
# Shared setup for reelforge's scripts: system packages, Postgres, Redis and the build cache.
# Sourced, not run. Everything here is idempotent: on a machine that has it all, it does nothing.

# Build cache outside the clone, so fresh clones and CI reuse compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelforge/target}"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "cannot install $* here: no apt-get; install it yourself"; return 1; }
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_command BINARY PACKAGE: installs PACKAGE from Debian when BINARY is missing.
ensure_command() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)"
  apt_install "$2"
}

ensure_media_tools() {
  ensure_command ffmpeg ffmpeg
  ensure_command ffprobe ffmpeg
  ensure_command espeak-ng espeak-ng
  # Captions and thumbnails are set in DejaVu Sans.
  if ! fc-list 2>/dev/null | grep -qi 'DejaVu Sans'; then
    log "installing fonts-dejavu-core"
    apt_install fonts-dejavu-core fontconfig
  fi
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 && return 0
  log "cargo is missing: install Rust with https://rustup.rs (curl https://sh.rustup.rs -sSf | sh), then rerun"
  return 1
}

# A faster linker when available: mold via clang cuts link time of the many test binaries.
use_fast_linker() {
  command -v mold >/dev/null 2>&1 || apt_install mold clang >/dev/null 2>&1 || true
  if command -v mold >/dev/null 2>&1 && command -v clang >/dev/null 2>&1; then
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=clang
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
  fi
}

# A three-master Redis Cluster on 127.0.0.1:7101-7103 (no persistence), for the tests that prove
# the bus, outbox relay, rate limits, cache and budgets on a cluster; exports TEST_REDIS_CLUSTER_URL.
ensure_redis_cluster() {
  local ports=(7101 7102 7103) dir="${TMPDIR:-/tmp}/reelforge-redis-cluster"
  export TEST_REDIS_CLUSTER_URL="redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103"
  if redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then return 0; fi
  ensure_command redis-server redis-server
  log "starting a three-master Redis Cluster on ports ${ports[*]}"
  mkdir -p "$dir"
  local port
  for port in "${ports[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    rm -f "$dir/nodes-$port.conf"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --save "" --appendonly no \
      --logfile "$dir/redis-$port.log" >/dev/null
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 30); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.2; done
  done
  redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 \
    --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -p "${ports[0]}" cluster info | grep -q '^cluster_state:ok' && return 0
    sleep 0.2
  done
  log "the Redis Cluster did not become ready"; return 1
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    # Local development trusts loopback connections, as the default DATABASE_URL expects.
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && return 0; sleep 1; done
  log "PostgreSQL did not come up on 127.0.0.1:5432"; return 1
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  ensure_command redis-server redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 1; done
  log "Redis did not come up on 127.0.0.1:6379"; return 1
}

# ensure_python_tool BINARY PIP-SPEC
ensure_python_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 from PyPI"
  python3 -m pip install --quiet "$2"
}
