-- A run asked to publish ends `published` once every target is; publications remember the attempt
-- of the run's `publish` step that made them, so their facts reach the right attempt.
ALTER TABLE orchestrator.runs DROP CONSTRAINT runs_state_check;
ALTER TABLE orchestrator.runs ADD CONSTRAINT runs_state_check
    CHECK (state IN ('queued', 'running', 'waiting_review', 'succeeded', 'published', 'failed', 'cancelled'));

ALTER TABLE distribution.publications ADD COLUMN run_attempt INTEGER;
CREATE INDEX publications_run_account ON distribution.publications (run_id, account_id);
