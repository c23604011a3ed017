-- The length bucket reports and insights group videos by, derived once from each video's
-- rendered duration (or, before that is known, the length its run asked for).
ALTER TABLE analytics.videos ADD COLUMN length_bucket TEXT GENERATED ALWAYS AS (
    CASE
        WHEN COALESCE(duration_ms / 1000, length_seconds) IS NULL THEN NULL
        WHEN COALESCE(duration_ms / 1000, length_seconds) <= 15 THEN '0-15s'
        WHEN COALESCE(duration_ms / 1000, length_seconds) <= 30 THEN '16-30s'
        WHEN COALESCE(duration_ms / 1000, length_seconds) <= 60 THEN '31-60s'
        WHEN COALESCE(duration_ms / 1000, length_seconds) <= 90 THEN '61-90s'
        ELSE '91s+'
    END
) STORED;
