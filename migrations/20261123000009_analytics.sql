-- analytics service: platform metrics per publication, reports and insights.
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE analytics.metric_snapshots (
    id             UUID PRIMARY KEY,
    tenant         TEXT NOT NULL,
    publication_id UUID NOT NULL,
    platform       TEXT NOT NULL,
    views          BIGINT NOT NULL DEFAULT 0,
    likes          BIGINT NOT NULL DEFAULT 0,
    comments       BIGINT NOT NULL DEFAULT 0,
    shares         BIGINT NOT NULL DEFAULT 0,
    watch_seconds  BIGINT NOT NULL DEFAULT 0,
    captured_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX metric_snapshots_tenant_captured_at ON analytics.metric_snapshots (tenant, captured_at DESC);
