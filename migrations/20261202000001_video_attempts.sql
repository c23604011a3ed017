-- video: a render is recorded per (run, attempt), like every other worker's result, so an attempt
-- that finishes after its deadline cannot hide the next attempt's completion.
ALTER TABLE video.bundles ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE video.bundles DROP CONSTRAINT bundles_pkey;
ALTER TABLE video.bundles ADD PRIMARY KEY (run_id, attempt);

-- One row per (run, format): the latest attempt's file.
ALTER TABLE video.renders ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
