-- orchestrator: what a run needs to drive its DAG — stored jobs for retries, deadlines, facts, an event log.
ALTER TABLE orchestrator.runs ADD COLUMN scene_count INTEGER;
ALTER TABLE orchestrator.steps DROP COLUMN asset_ids;

ALTER TABLE orchestrator.steps DROP CONSTRAINT steps_state_check;
ALTER TABLE orchestrator.steps ADD CONSTRAINT steps_state_check
    CHECK (state IN ('pending', 'running', 'retrying', 'waiting_review', 'succeeded', 'failed', 'cancelled'));
ALTER TABLE orchestrator.steps
    ADD COLUMN position    INTEGER     NOT NULL DEFAULT 0,
    ADD COLUMN job         JSONB,
    ADD COLUMN deadline_at TIMESTAMPTZ,
    ADD COLUMN retry_at    TIMESTAMPTZ,
    ADD COLUMN progress    INTEGER     NOT NULL DEFAULT 0,
    ADD COLUMN total       INTEGER     NOT NULL DEFAULT 1;
CREATE INDEX steps_due ON orchestrator.steps (state, retry_at, deadline_at) WHERE state IN ('running', 'retrying');

-- Facts other services reported about a run (story, narration, each image, music, video outputs).
CREATE TABLE orchestrator.facts (
    run_id      UUID        NOT NULL REFERENCES orchestrator.runs (id) ON DELETE CASCADE,
    kind        TEXT        NOT NULL,
    part        INTEGER     NOT NULL DEFAULT 0,
    body        JSONB       NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, kind, part)
);

-- Progress of a run as it happened; streamed to clients as server-sent events.
CREATE TABLE orchestrator.run_events (
    id      BIGSERIAL PRIMARY KEY,
    run_id  UUID        NOT NULL REFERENCES orchestrator.runs (id) ON DELETE CASCADE,
    step    TEXT,
    state   TEXT        NOT NULL,
    detail  TEXT,
    at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run ON orchestrator.run_events (run_id, id);
