-- moderation service: decisions on text, images and audio, the review queue and its audit log.
CREATE SCHEMA IF NOT EXISTS moderation;

CREATE TABLE moderation.decisions (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    subject_kind   TEXT NOT NULL CHECK (subject_kind IN ('text', 'image', 'audio')),
    subject_ref    TEXT NOT NULL,
    verdict        TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'review')),
    reasons        JSONB NOT NULL DEFAULT '[]',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX decisions_tenant_created_at ON moderation.decisions (tenant, created_at DESC);
CREATE INDEX decisions_run ON moderation.decisions (run_id);
