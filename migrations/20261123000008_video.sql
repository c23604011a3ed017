-- video service: FFmpeg assembly into every aspect ratio, captions, thumbnails and output checks.
CREATE SCHEMA IF NOT EXISTS video;

CREATE TABLE video.renders (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    format         TEXT NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    duration_ms    BIGINT NOT NULL,
    media_key      TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX renders_tenant_created_at ON video.renders (tenant, created_at DESC);
CREATE INDEX renders_run ON video.renders (run_id);
