-- billing service: plans (data, editable by admins); usage ledger, quotas and budgets follow.
CREATE SCHEMA IF NOT EXISTS billing;

CREATE TABLE billing.plans (
    name                 TEXT PRIMARY KEY,
    monthly_quota_micros BIGINT      NOT NULL CHECK (monthly_quota_micros >= 0),
    requests_per_minute  INTEGER     NOT NULL CHECK (requests_per_minute > 0),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO billing.plans (name, monthly_quota_micros, requests_per_minute) VALUES
    ('starter', 50000000, 50),
    ('pro', 500000000, 100),
    ('business', 5000000000, 500);
