-- story service: scripts split into scenes, per-platform metadata, creator copy.
CREATE SCHEMA IF NOT EXISTS story;

CREATE TABLE story.stories (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    title          TEXT NOT NULL,
    language       TEXT NOT NULL,
    genre          TEXT NOT NULL,
    tone           TEXT NOT NULL,
    seed           BIGINT NOT NULL,
    scene_count    INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stories_tenant_created_at ON story.stories (tenant, created_at DESC);
CREATE INDEX stories_run ON story.stories (run_id);
