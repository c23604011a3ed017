-- orchestrator: pipeline runs and their steps; the only writer of run state.
CREATE SCHEMA IF NOT EXISTS orchestrator;

CREATE TABLE orchestrator.runs (
    id          UUID PRIMARY KEY,
    tenant      TEXT        NOT NULL,
    topic       TEXT        NOT NULL,
    params      JSONB       NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('queued', 'running', 'waiting_review', 'succeeded', 'failed', 'cancelled')),
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);
CREATE INDEX runs_tenant_created ON orchestrator.runs (tenant, created_at DESC);
CREATE INDEX runs_state ON orchestrator.runs (state);

CREATE TABLE orchestrator.steps (
    run_id      UUID        NOT NULL REFERENCES orchestrator.runs (id) ON DELETE CASCADE,
    name        TEXT        NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'waiting_review', 'succeeded', 'failed', 'cancelled')),
    attempts    INTEGER     NOT NULL DEFAULT 0,
    asset_ids   JSONB       NOT NULL DEFAULT '[]',
    cost_micros BIGINT      NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, name)
);
