-- billing: the usage ledger (one row per provider call), its daily and monthly rollups, monthly
-- charges, tenants' plans, quota notifications, budgets and budget reservations. Money is integer
-- micro-dollars everywhere.

CREATE TABLE billing.ledger (
    usage_id      UUID        PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    tenant        TEXT        NOT NULL,
    service       TEXT        NOT NULL,
    capability    TEXT        NOT NULL,
    provider      TEXT        NOT NULL,
    model         TEXT        NOT NULL,
    run_id        UUID,
    input_tokens  BIGINT      NOT NULL DEFAULT 0,
    cached_tokens BIGINT      NOT NULL DEFAULT 0,
    output_tokens BIGINT      NOT NULL DEFAULT 0,
    characters    BIGINT      NOT NULL DEFAULT 0,
    images        BIGINT      NOT NULL DEFAULT 0,
    millis        BIGINT      NOT NULL DEFAULT 0,
    cost_micros   BIGINT      NOT NULL CHECK (cost_micros >= 0),
    priced        BOOLEAN     NOT NULL,
    latency_ms    BIGINT      NOT NULL DEFAULT 0,
    outcome       TEXT        NOT NULL,
    cache_hit     BOOLEAN     NOT NULL DEFAULT false,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Reads by tenant and period go to the rollups; the ledger is indexed only for a run's calls.
CREATE INDEX ledger_run ON billing.ledger (run_id) WHERE run_id IS NOT NULL;

-- Rollups: `period` is the UTC day (daily) or the first day of the UTC month (monthly).
CREATE TABLE billing.daily_rollups (
    period        DATE   NOT NULL,
    tenant        TEXT   NOT NULL,
    service       TEXT   NOT NULL,
    capability    TEXT   NOT NULL,
    provider      TEXT   NOT NULL,
    model         TEXT   NOT NULL,
    calls         BIGINT NOT NULL,
    failures      BIGINT NOT NULL,
    cache_hits    BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    characters    BIGINT NOT NULL,
    images        BIGINT NOT NULL,
    millis        BIGINT NOT NULL,
    cost_micros   BIGINT NOT NULL,
    PRIMARY KEY (period, tenant, service, capability, provider, model)
);
CREATE TABLE billing.monthly_rollups (LIKE billing.daily_rollups INCLUDING ALL);

-- One charge per tenant per month: the sum of its ledger for that month.
CREATE TABLE billing.monthly_charges (
    tenant      TEXT        NOT NULL,
    month       DATE        NOT NULL,
    cost_micros BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, month)
);

-- A tenant without a row is on the starter plan.
CREATE TABLE billing.tenant_plans (
    tenant     TEXT        PRIMARY KEY,
    plan       TEXT        NOT NULL REFERENCES billing.plans (name),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Quota and anomaly notifications, also emitted as events; one per tenant, month and kind.
CREATE TABLE billing.notifications (
    id         UUID        PRIMARY KEY,
    tenant     TEXT        NOT NULL,
    month      DATE        NOT NULL,
    kind       TEXT        NOT NULL,
    detail     TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, month, kind)
);

-- Budgets: `scope` global (subject ''), tenant or provider; `period` daily or monthly.
CREATE TABLE billing.budgets (
    id           UUID        PRIMARY KEY,
    scope        TEXT        NOT NULL CHECK (scope IN ('global', 'tenant', 'provider')),
    subject      TEXT        NOT NULL,
    period       TEXT        NOT NULL CHECK (period IN ('daily', 'monthly')),
    limit_micros BIGINT      NOT NULL CHECK (limit_micros >= 0),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (scope, subject, period),
    CHECK ((scope = 'global') = (subject = ''))
);

-- What each budget has spent and holds in its current period; the row is the lock reservations take.
CREATE TABLE billing.budget_spend (
    budget_id       UUID   NOT NULL REFERENCES billing.budgets (id) ON DELETE CASCADE,
    period_start    DATE   NOT NULL,
    settled_micros  BIGINT NOT NULL DEFAULT 0,
    reserved_micros BIGINT NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
    PRIMARY KEY (budget_id, period_start)
);

-- A reservation is a lease: held until settled, released, or expired (then released by the sweeper).
CREATE TABLE billing.reservations (
    id              UUID        PRIMARY KEY,
    tenant          TEXT        NOT NULL,
    provider        TEXT        NOT NULL,
    run_id          UUID,
    estimate_micros BIGINT      NOT NULL CHECK (estimate_micros >= 0),
    actual_micros   BIGINT,
    state           TEXT        NOT NULL CHECK (state IN ('held', 'settled', 'released', 'expired')),
    -- The budget periods this reservation counts against: [{"budget_id", "period_start"}].
    holds           JSONB       NOT NULL DEFAULT '[]',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ
);
CREATE INDEX reservations_held_expiry ON billing.reservations (expires_at) WHERE state = 'held';
