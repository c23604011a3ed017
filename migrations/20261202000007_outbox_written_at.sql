-- An outbox row's created_at is when it was written, not when its transaction began: a long
-- transaction no longer makes its rows look older than they are (dispatch latency is measured from it).
ALTER TABLE fleet.outbox ALTER COLUMN created_at SET DEFAULT clock_timestamp();
