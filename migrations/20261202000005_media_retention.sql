-- Media retention: a bundle's captions and thumbnails are deleted after the configured days;
-- the row stays as the run's history.
ALTER TABLE video.bundles ADD COLUMN media_expired_at TIMESTAMPTZ;
CREATE INDEX renders_live_created ON video.renders (created_at) WHERE state <> 'expired';
