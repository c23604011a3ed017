-- image service: one image per scene, plus thumbnail base art.
CREATE SCHEMA IF NOT EXISTS image;

CREATE TABLE image.images (
    id             UUID PRIMARY KEY,
    run_id         UUID,
    tenant         TEXT NOT NULL,
    scene_index    INTEGER NOT NULL,
    prompt         TEXT NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    media_key      TEXT NOT NULL,
    provider       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX images_tenant_created_at ON image.images (tenant, created_at DESC);
CREATE INDEX images_run ON image.images (run_id);
