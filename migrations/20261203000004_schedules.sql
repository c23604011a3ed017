-- Schedules: runs made on a cron expression in a time zone; each slot fires once (its row in
-- schedule_fires is unique), whichever replica takes it.
CREATE TABLE orchestrator.schedules (
    id            UUID PRIMARY KEY,
    tenant        TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    cron          TEXT        NOT NULL,
    time_zone     TEXT        NOT NULL,
    -- Topics or series, run settings, publish targets and catch-up policy, as asked.
    request       JSONB       NOT NULL,
    enabled       BOOLEAN     NOT NULL DEFAULT true,
    next_fire_at  TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON orchestrator.schedules (next_fire_at) WHERE enabled;
CREATE INDEX schedules_tenant ON orchestrator.schedules (tenant, created_at DESC);

CREATE TABLE orchestrator.schedule_fires (
    schedule_id  UUID        NOT NULL REFERENCES orchestrator.schedules (id) ON DELETE CASCADE,
    slot         TIMESTAMPTZ NOT NULL,
    run_id       UUID        NOT NULL,
    fired_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, slot)
);
