-- The learning loop: videos tracked per publication with the choices that made them, metric pulls
-- on a decaying cadence, versioned generation configs, experiments and their assignments, and the
-- knowledge network's insights.

-- One row per published publication: what analytics attributes its numbers to.
CREATE TABLE analytics.videos (
    publication_id   UUID PRIMARY KEY,
    tenant           TEXT NOT NULL,
    run_id           UUID NOT NULL,
    account_id       UUID NOT NULL,
    platform         TEXT NOT NULL,
    platform_post_id TEXT NOT NULL,
    published_at     TIMESTAMPTZ NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    duration_ms      BIGINT,
    genre            TEXT,
    tone             TEXT,
    length_seconds   INT,
    language         TEXT,
    voice            TEXT,
    config_version   INT,
    experiment_id    UUID,
    arm              TEXT,
    -- The run's parameters as the orchestrator recorded them.
    params           JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX videos_tenant_published_at ON analytics.videos (tenant, published_at);
CREATE INDEX videos_run ON analytics.videos (run_id);

-- The pulls each video gets: ordinal n is due `cadence[n]` after publication.
CREATE TABLE analytics.pulls (
    publication_id UUID NOT NULL REFERENCES analytics.videos (publication_id) ON DELETE CASCADE,
    ordinal        SMALLINT NOT NULL,
    due_at         TIMESTAMPTZ NOT NULL,
    state          TEXT NOT NULL DEFAULT 'due' CHECK (state IN ('due', 'done', 'failed')),
    attempts       INT NOT NULL DEFAULT 0,
    lease_until    TIMESTAMPTZ,
    error          TEXT,
    done_at        TIMESTAMPTZ,
    PRIMARY KEY (publication_id, ordinal)
);
CREATE INDEX pulls_due ON analytics.pulls (due_at) WHERE state = 'due';

-- Snapshots now come from pulls: one per (publication, pull), so a re-delivered pull changes nothing.
-- Watch time and completion may be unknown (the platform does not report them): NULL, never 0.
ALTER TABLE analytics.metric_snapshots
    ADD COLUMN run_id          UUID,
    ADD COLUMN pull_ordinal    SMALLINT,
    ADD COLUMN completion_rate DOUBLE PRECISION CHECK (completion_rate BETWEEN 0 AND 1),
    ADD COLUMN impressions     BIGINT,
    ADD COLUMN click_rate      DOUBLE PRECISION CHECK (click_rate BETWEEN 0 AND 1),
    ALTER COLUMN watch_seconds DROP NOT NULL,
    ALTER COLUMN watch_seconds DROP DEFAULT;
CREATE UNIQUE INDEX metric_snapshots_pull ON analytics.metric_snapshots (publication_id, pull_ordinal);
CREATE INDEX metric_snapshots_publication_captured_at
    ON analytics.metric_snapshots (publication_id, captured_at DESC);

-- A tenant's generation defaults, one row per version; the newest is in force.
CREATE TABLE analytics.config_versions (
    tenant     TEXT NOT NULL,
    version    INT NOT NULL CHECK (version > 0),
    document   JSONB NOT NULL,
    author     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    -- Field by field, what changed from the version before: {field: {from, to}}.
    diff       JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, version)
);

CREATE TABLE analytics.experiments (
    id            UUID PRIMARY KEY,
    tenant        TEXT NOT NULL,
    name          TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('ab', 'bandit')),
    reward        TEXT NOT NULL CHECK (reward IN ('completion_rate', 'views_48h', 'ctr')),
    -- [{name, params: {parameter: value}, weight}]
    arms          JSONB NOT NULL,
    min_exposures INT NOT NULL CHECK (min_exposures > 0),
    promote_at    DOUBLE PRECISION NOT NULL CHECK (promote_at > 0.5 AND promote_at < 1),
    state         TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'promoted', 'stopped')),
    winner        TEXT,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at      TIMESTAMPTZ
);
-- One running experiment per tenant: two at once would confound each other's results.
CREATE UNIQUE INDEX experiments_one_running ON analytics.experiments (tenant) WHERE state = 'running';

-- Which arm each run got, decided once at run creation.
CREATE TABLE analytics.assignments (
    run_id        UUID PRIMARY KEY,
    experiment_id UUID NOT NULL REFERENCES analytics.experiments (id) ON DELETE CASCADE,
    tenant        TEXT NOT NULL,
    arm           TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX assignments_experiment ON analytics.assignments (experiment_id);

-- The knowledge network: what analytics (and later the assistant) learned, with how sure it is.
CREATE TABLE analytics.insights (
    id              UUID PRIMARY KEY,
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    tenant          TEXT,
    base_confidence DOUBLE PRECISION NOT NULL CHECK (base_confidence BETWEEN 0 AND 1),
    summary         TEXT NOT NULL,
    data            JSONB NOT NULL DEFAULT '{}',
    -- Repeated analyses of the same finding replace it instead of piling up copies.
    fingerprint     TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX insights_tenant_kind ON analytics.insights (tenant, kind, created_at DESC);
CREATE UNIQUE INDEX insights_fingerprint ON analytics.insights (fingerprint) WHERE fingerprint IS NOT NULL;

-- Whether a tenant's 7-day completion is below its floor, so a breach is announced once.
CREATE TABLE analytics.completion_alerts (
    tenant     TEXT PRIMARY KEY,
    below      BOOLEAN NOT NULL,
    rate       DOUBLE PRECISION,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
