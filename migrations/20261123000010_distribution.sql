-- distribution service: platform accounts (tokens encrypted at rest), uploads and their platform ids.
CREATE SCHEMA IF NOT EXISTS distribution;

CREATE TABLE distribution.accounts (
    id               UUID PRIMARY KEY,
    tenant           TEXT        NOT NULL,
    platform         TEXT        NOT NULL CHECK (platform IN ('youtube', 'tiktok', 'instagram', 'facebook')),
    display_name     TEXT        NOT NULL,
    -- AEAD ciphertext of the OAuth tokens; the key never reaches the database.
    token_ciphertext BYTEA       NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX accounts_tenant ON distribution.accounts (tenant, created_at DESC);

CREATE TABLE distribution.publications (
    id               UUID PRIMARY KEY,
    tenant           TEXT        NOT NULL,
    run_id           UUID        NOT NULL,
    account_id       UUID        NOT NULL REFERENCES distribution.accounts (id),
    platform         TEXT        NOT NULL,
    state            TEXT        NOT NULL CHECK (state IN ('scheduled', 'uploading', 'published', 'failed')),
    platform_post_id TEXT,
    scheduled_at     TIMESTAMPTZ,
    published_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX publications_tenant ON distribution.publications (tenant, created_at DESC);
CREATE INDEX publications_run ON distribution.publications (run_id);
