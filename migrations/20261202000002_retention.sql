-- Pruning: published outbox rows and idempotency keys are deleted by age.
CREATE INDEX outbox_published ON fleet.outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX idempotency_keys_created ON fleet.idempotency_keys (created_at);
