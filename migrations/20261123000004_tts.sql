-- tts service: narration audio with word and sentence timings.
CREATE SCHEMA IF NOT EXISTS tts;

CREATE TABLE tts.narrations (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    language       TEXT NOT NULL,
    voice          TEXT NOT NULL,
    media_key      TEXT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    sample_rate    INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX narrations_tenant_created_at ON tts.narrations (tenant, created_at DESC);
CREATE INDEX narrations_run ON tts.narrations (run_id);
