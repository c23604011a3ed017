# syntax=docker/dockerfile:1
# BuildKit is required for the cache mounts below (default in Docker >= 23 and buildx).

############################
# Build stage
############################
FROM rust:1-bookworm AS builder
ARG BIN=reelforge
WORKDIR /src

# The workspace is copied whole: migrations/ is embedded at compile time, and
# the Cargo.lock pins every dependency (--locked fails if it is stale).
COPY . .

# target/ lives in a cache mount, so it is gone when the RUN ends: the binary is
# copied out to /out in the same step. sharing=locked serialises parallel builds
# of the same cache instead of corrupting it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin "${BIN}" \
    && install -D -m 0755 "target/release/${BIN}" /out/reelforge

############################
# Runtime stage
############################
FROM debian:bookworm-slim AS runtime

# ffmpeg + espeak-ng: media rendering and speech synthesis at run time.
# ca-certificates: TLS to external APIs. curl: container healthchecks.
# Versions are not pinned (DL3008): bookworm's security updates should be picked
# up on every rebuild, and the base tag already fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       ca-certificates \
       curl \
       espeak-ng \
       ffmpeg \
    && rm -rf /var/lib/apt/lists/*

# Fixed numeric uid/gid so Kubernetes runAsUser/runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 reelforge \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app \
       --no-create-home --shell /usr/sbin/nologin reelforge \
    && mkdir -p /app/data \
    && chown -R 10001:10001 /app

COPY --from=builder /out/reelforge /usr/local/bin/reelforge

WORKDIR /app
# The app's default data_dir is relative (.reelforge); pin it to the writable
# /app/data (an emptyDir in Kubernetes, where the root filesystem is read-only).
ENV REELFORGE_LISTEN=0.0.0.0:8080 \
    REELFORGE_DATA_DIR=/app/data \
    RUST_LOG=info
EXPOSE 8080
USER 10001:10001

# Liveness only (no dependencies); compose/k8s check readiness themselves.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health/live"]

ENTRYPOINT ["/usr/local/bin/reelforge"]
CMD ["serve"]
