-- The audit log: admin actions and changes through admin routes, kept for accounting and review.
CREATE TABLE fleet.audit_log (
    id         BIGSERIAL   PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    subject    TEXT        NOT NULL,
    role       TEXT        NOT NULL,
    tenant     TEXT,
    method     TEXT        NOT NULL,
    path       TEXT        NOT NULL,
    status     INTEGER     NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_log_subject ON fleet.audit_log (subject, id DESC);
