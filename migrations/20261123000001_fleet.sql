-- Mechanisms shared by every service: the transactional outbox and idempotency keys.
CREATE SCHEMA IF NOT EXISTS fleet;

CREATE TABLE fleet.outbox (
    id           BIGSERIAL PRIMARY KEY,
    service      TEXT        NOT NULL,
    stream       TEXT        NOT NULL,
    envelope     JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON fleet.outbox (service, id) WHERE published_at IS NULL;

CREATE TABLE fleet.idempotency_keys (
    scope        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    fingerprint  TEXT        NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BYTEA,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at TIMESTAMPTZ,
    PRIMARY KEY (scope, key)
);
