-- Tenant privacy requests (exports and erasures) and each service's answer to them.

-- Services that answer privacy requests; a request waits for those registered when it was made.
CREATE TABLE fleet.privacy_participants (
    service       TEXT        PRIMARY KEY,
    registered_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE fleet.privacy_requests (
    id           UUID        PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('export', 'erasure')),
    tenant       TEXT        NOT NULL,
    requested_by TEXT        NOT NULL,
    services     TEXT[]      NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX privacy_requests_tenant ON fleet.privacy_requests (tenant, requested_at DESC);

-- One service's answer; `data` holds its exported rows (empty for an erasure). Exports are pruned
-- with their request after `retention.export_hours`.
CREATE TABLE fleet.privacy_parts (
    request_id   UUID        NOT NULL REFERENCES fleet.privacy_requests (id) ON DELETE CASCADE,
    service      TEXT        NOT NULL,
    rows         BIGINT      NOT NULL,
    files        BIGINT      NOT NULL,
    data         JSONB       NOT NULL DEFAULT '{}'::jsonb,
    completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, service)
);
