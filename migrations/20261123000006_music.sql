-- music service: background tracks fitted to length and mood, with licence records.
CREATE SCHEMA IF NOT EXISTS music;

CREATE TABLE music.tracks (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    mood           TEXT NOT NULL,
    tempo_bpm      INTEGER NOT NULL,
    duration_ms    BIGINT NOT NULL,
    media_key      TEXT NOT NULL,
    licence        TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tracks_tenant_created_at ON music.tracks (tenant, created_at DESC);
CREATE INDEX tracks_run ON music.tracks (run_id);
