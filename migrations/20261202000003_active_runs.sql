-- Load shedding counts the runs in flight on every new run: a small partial index keeps it cheap.
CREATE INDEX runs_active ON orchestrator.runs (state) WHERE state IN ('queued', 'running');
