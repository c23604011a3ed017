-- When a publication's upload started: what counts against its account's posting quota.
ALTER TABLE distribution.publications ADD COLUMN sent_at TIMESTAMPTZ;
CREATE INDEX publications_quota ON distribution.publications (account_id, sent_at) WHERE sent_at IS NOT NULL;
