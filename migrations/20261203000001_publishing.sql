-- Publishing: OAuth grants per platform account (sealed tokens with their key id), the OAuth
-- handshakes in flight, publications with what was asked of each platform before it was asked
-- (so a retry resumes instead of posting twice), and every platform reply.

ALTER TABLE distribution.accounts
    -- The channel, TikTok open_id, Instagram user or Facebook Page the grant is for.
    ADD COLUMN platform_account_id TEXT        NOT NULL DEFAULT '',
    ADD COLUMN status              TEXT        NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'reconnect_required', 'disconnected')),
    ADD COLUMN status_reason       TEXT,
    -- The id of the key `token_ciphertext` is sealed under, so rotation finds what to re-seal.
    ADD COLUMN token_key_id        TEXT        NOT NULL DEFAULT '',
    ADD COLUMN access_expires_at   TIMESTAMPTZ,
    ADD COLUMN scopes              TEXT        NOT NULL DEFAULT '',
    ADD COLUMN refreshed_at        TIMESTAMPTZ,
    ADD COLUMN updated_at          TIMESTAMPTZ NOT NULL DEFAULT now();
-- Connecting the same channel again renews its grant instead of adding a second account.
CREATE UNIQUE INDEX accounts_identity ON distribution.accounts (tenant, platform, platform_account_id);
CREATE INDEX accounts_key ON distribution.accounts (token_key_id);

-- An authorization in flight: `state` is single-use and expires; the PKCE verifier is sealed.
CREATE TABLE distribution.oauth_states (
    state                 TEXT PRIMARY KEY,
    tenant                TEXT        NOT NULL,
    platform              TEXT        NOT NULL,
    redirect_uri          TEXT        NOT NULL,
    code_verifier_sealed  BYTEA,
    expires_at            TIMESTAMPTZ NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_tenant ON distribution.oauth_states (tenant);

-- Nothing ever wrote the first publications table; it is replaced by one that can resume.
DROP TABLE distribution.publications;
CREATE TABLE distribution.publications (
    id                UUID PRIMARY KEY,
    tenant            TEXT        NOT NULL,
    run_id            UUID        NOT NULL,
    account_id        UUID        NOT NULL REFERENCES distribution.accounts (id),
    platform          TEXT        NOT NULL CHECK (platform IN ('youtube', 'tiktok', 'instagram', 'facebook')),
    format            TEXT        NOT NULL,
    media_key         TEXT        NOT NULL,
    -- SHA-256 of the file: the same file to the same account twice is refused unless forced.
    video_sha256      TEXT        NOT NULL,
    video_bytes       BIGINT      NOT NULL,
    forced            BOOLEAN     NOT NULL DEFAULT false,
    -- Title, description, tags, privacy, made_for_kids, caption — as sent.
    metadata          JSONB       NOT NULL,
    -- Thumbnail and caption files sent after the upload.
    extras            JSONB       NOT NULL DEFAULT '{}',
    state             TEXT        NOT NULL
        CHECK (state IN ('queued', 'uploading', 'processing', 'published', 'deferred', 'failed', 'cancelled')),
    publish_at        TIMESTAMPTZ,
    resume_at         TIMESTAMPTZ,
    -- What was created remotely, recorded before the call that creates it is made (session URI,
    -- publish_id, container id), so a retry resumes or asks instead of creating it again.
    remote            JSONB       NOT NULL DEFAULT '{}',
    platform_post_id  TEXT,
    permalink         TEXT,
    warnings          JSONB       NOT NULL DEFAULT '[]',
    error             TEXT,
    attempts          INTEGER     NOT NULL DEFAULT 0,
    -- The worker holding the publication until then; another may take over after.
    lease_until       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at      TIMESTAMPTZ
);
CREATE INDEX publications_tenant ON distribution.publications (tenant, created_at DESC);
CREATE INDEX publications_run ON distribution.publications (run_id);
CREATE INDEX publications_due ON distribution.publications (resume_at) WHERE state = 'deferred';
CREATE UNIQUE INDEX publications_once ON distribution.publications (account_id, video_sha256)
    WHERE NOT forced AND state NOT IN ('failed', 'cancelled');

-- Every call made for a publication and what the platform answered.
CREATE TABLE distribution.publication_events (
    id              BIGSERIAL PRIMARY KEY,
    publication_id  UUID        NOT NULL REFERENCES distribution.publications (id) ON DELETE CASCADE,
    tenant          TEXT        NOT NULL,
    attempt         INTEGER     NOT NULL,
    action          TEXT        NOT NULL,
    status          INTEGER,
    detail          JSONB       NOT NULL DEFAULT '{}',
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX publication_events_publication ON distribution.publication_events (publication_id, id);
