//! Ledger ingestion: usage entries from the `usage` stream, a batch at a time, into the ledger and
//! its daily and monthly rollups and monthly charges in one statement, idempotent by usage id.

use std::collections::BTreeSet;

use providers::usage::UsageEntry;
use serde::Deserialize as _;
use shared::bus::{BatchHandler, Delivery};
use sqlx::PgPool;

use crate::{alerts::Alerts, quota};

/// The `usage` stream's consumer.
pub struct LedgerWriter {
    pub db: PgPool,
    pub alerts: Alerts,
}

impl BatchHandler for LedgerWriter {
    async fn handle_batch(&self, deliveries: &[Delivery]) -> anyhow::Result<()> {
        let mut entries = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match UsageEntry::deserialize(&delivery.envelope.body) {
                Ok(entry) => entries.push(entry),
                Err(error) => tracing::error!(
                    message_id = %delivery.envelope.id,
                    error = %error,
                    "usage entry is not decodable; skipped"
                ),
            }
        }
        let mut tx = self.db.begin().await?;
        let tenants = record(&mut tx, &entries).await?;
        let tenants: Vec<String> = tenants.into_iter().collect();
        let crossings = quota::note_crossings(&mut tx, &tenants).await?;
        let anomalies = self.alerts.check(&mut tx, &tenants).await?;
        tx.commit().await?;
        for notice in crossings.iter().chain(&anomalies) {
            tracing::warn!(tenant = %notice.tenant, kind = %notice.kind, detail = %notice.detail, "billing notification");
        }
        Ok(())
    }
}

/// Inserts the entries not seen before and adds exactly those to the rollups and charges; returns
/// the tenants whose spend changed.
pub async fn record(
    tx: &mut sqlx::PgConnection,
    entries: &[UsageEntry],
) -> anyhow::Result<BTreeSet<String>> {
    if entries.is_empty() {
        return Ok(BTreeSet::new());
    }
    let column = |f: fn(&UsageEntry) -> u64| {
        entries
            .iter()
            .map(|e| i64::try_from(f(e)).unwrap_or(i64::MAX))
            .collect::<Vec<i64>>()
    };
    let text = |f: fn(&UsageEntry) -> &String| entries.iter().map(f).cloned().collect::<Vec<_>>();
    // One round trip: new ledger rows, then the rollups and charges of exactly the rows inserted. Rows
    // are upserted in key order, so concurrent consumers lock them in the same order (no deadlocks).
    let tenants: Vec<String> = sqlx::query_scalar!(r"
WITH input AS (
    SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::uuid[], $9::int8[], $10::int8[], $11::int8[], $12::int8[],
                         $13::int8[], $14::int8[], $15::int8[], $16::bool[], $17::int8[], $18::text[],
                         $19::bool[])
        AS t(usage_id, at, tenant, service, capability, provider, model, run_id, input_tokens,
             cached_tokens, output_tokens, characters, images, millis, cost_micros, priced,
             latency_ms, outcome, cache_hit)
),
inserted AS (
    INSERT INTO billing.ledger (usage_id, at, tenant, service, capability, provider, model, run_id,
                                input_tokens, cached_tokens, output_tokens, characters, images, millis,
                                cost_micros, priced, latency_ms, outcome, cache_hit)
    SELECT * FROM input
    ON CONFLICT (usage_id) DO NOTHING
    RETURNING at, tenant, service, capability, provider, model, input_tokens, output_tokens,
              characters, images, millis, cost_micros, outcome, cache_hit
),
grouped AS (
    SELECT (at AT TIME ZONE 'UTC')::date AS day,
           date_trunc('month', at AT TIME ZONE 'UTC')::date AS month,
           tenant, service, capability, provider, model,
           count(*) AS calls,
           count(*) FILTER (WHERE outcome <> 'ok') AS failures,
           count(*) FILTER (WHERE cache_hit) AS cache_hits,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(characters) AS characters, sum(images) AS images, sum(millis) AS millis,
           sum(cost_micros) AS cost_micros
    FROM inserted
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
daily AS (
    INSERT INTO billing.daily_rollups AS r
    SELECT day, tenant, service, capability, provider, model, calls, failures, cache_hits,
           input_tokens, output_tokens, characters, images, millis, cost_micros
    FROM grouped
    ORDER BY day, tenant, service, capability, provider, model
    ON CONFLICT (period, tenant, service, capability, provider, model) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, failures = r.failures + EXCLUDED.failures,
        cache_hits = r.cache_hits + EXCLUDED.cache_hits,
        input_tokens = r.input_tokens + EXCLUDED.input_tokens,
        output_tokens = r.output_tokens + EXCLUDED.output_tokens,
        characters = r.characters + EXCLUDED.characters, images = r.images + EXCLUDED.images,
        millis = r.millis + EXCLUDED.millis, cost_micros = r.cost_micros + EXCLUDED.cost_micros
),
monthly AS (
    INSERT INTO billing.monthly_rollups AS r
    SELECT month, tenant, service, capability, provider, model, sum(calls), sum(failures),
           sum(cache_hits), sum(input_tokens), sum(output_tokens), sum(characters), sum(images),
           sum(millis), sum(cost_micros)
    FROM grouped
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (period, tenant, service, capability, provider, model) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, failures = r.failures + EXCLUDED.failures,
        cache_hits = r.cache_hits + EXCLUDED.cache_hits,
        input_tokens = r.input_tokens + EXCLUDED.input_tokens,
        output_tokens = r.output_tokens + EXCLUDED.output_tokens,
        characters = r.characters + EXCLUDED.characters, images = r.images + EXCLUDED.images,
        millis = r.millis + EXCLUDED.millis, cost_micros = r.cost_micros + EXCLUDED.cost_micros
),
charges AS (
    INSERT INTO billing.monthly_charges AS c (tenant, month, cost_micros)
    SELECT tenant, month, sum(cost_micros) FROM grouped GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (tenant, month) DO UPDATE SET
        cost_micros = c.cost_micros + EXCLUDED.cost_micros, updated_at = now()
)
SELECT DISTINCT tenant FROM grouped
",
        &entries.iter().map(|e| e.usage_id).collect::<Vec<_>>(),
        &entries.iter().map(|e| e.at).collect::<Vec<_>>(),
        &text(|e| &e.tenant),
        &text(|e| &e.service),
        &text(|e| &e.capability),
        &text(|e| &e.provider),
        &text(|e| &e.model),
        &entries.iter().map(|e| e.run_id).collect::<Vec<_>>() as _,
        &column(|e| e.units.input_tokens),
        &column(|e| e.units.cached_tokens),
        &column(|e| e.units.output_tokens),
        &column(|e| e.units.characters),
        &column(|e| e.units.images),
        &column(|e| e.units.millis),
        &column(|e| e.cost_micros),
        &entries.iter().map(|e| e.priced).collect::<Vec<_>>(),
        &column(|e| e.latency_ms),
        &text(|e| &e.outcome),
        &entries.iter().map(|e| e.cache_hit).collect::<Vec<_>>(),
    )
        .fetch_all(&mut *tx)
        .await?;
    Ok(tenants.into_iter().collect())
}
