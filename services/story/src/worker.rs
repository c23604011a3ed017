//! The story worker: writes the script for a run and reports `story.completed`.

use serde::Deserialize;
use shared::{
    bus::{Delivery, Handler},
    jobs,
};
use sqlx::PgPool;
use uuid::Uuid;

use std::sync::Arc;

use crate::{
    generator::StoryRequest,
    pricing::{cost_micros, PriceTable},
    provider::{StoryProvider, Written},
};

const SERVICE: &str = "story";

#[derive(Debug, Deserialize)]
struct StoryJob {
    run_id: Uuid,
    tenant: String,
    attempt: i32,
    request: StoryRequest,
}

pub struct StoryWorker {
    pub db: PgPool,
    pub provider: Arc<dyn StoryProvider>,
    pub prices: Arc<PriceTable>,
}

impl StoryWorker {
    /// The usage entry of one call, priced with the table in force today.
    fn usage_entry(&self, job: &StoryJob, written: &Written) -> (u64, serde_json::Value) {
        let Some(usage) = &written.usage else {
            let entry = serde_json::json!({
                "run_id": job.run_id, "tenant": job.tenant, "service": SERVICE, "capability": "text",
                "provider": written.provider, "model": written.provider, "units": {}, "cost_micros": 0,
                "latency_ms": 0, "outcome": "ok", "cache_hit": false,
            });
            return (0, entry);
        };
        let today = chrono::Utc::now().date_naive();
        let price = self.prices.price(written.provider, &usage.model, today);
        if price.is_none() {
            tracing::warn!(provider = written.provider, model = %usage.model, "no price for this model; usage recorded unpriced");
        }
        let cost = price.map(|p| cost_micros(p, usage.tokens)).unwrap_or(0);
        let entry = serde_json::json!({
            "run_id": job.run_id, "tenant": job.tenant, "service": SERVICE, "capability": "text",
            "provider": written.provider, "model": usage.model,
            "units": { "tokens_in": usage.tokens.input, "tokens_cached": usage.tokens.cached_input, "tokens_out": usage.tokens.output },
            "cost_micros": cost, "priced": price.is_some(), "latency_ms": usage.latency_ms, "outcome": "ok", "cache_hit": false,
        });
        (cost, entry)
    }
}

impl Handler for StoryWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let job: StoryJob = jobs::decode(delivery)?;
        if jobs::already_recorded(&self.db, "story.stories", job.run_id, job.attempt).await? {
            // Redelivered after the commit: the event left with the row.
            return Ok(());
        }
        let written = match self.provider.write(job.request.clone()).await {
            Ok(written) => written,
            Err(error) => {
                return jobs::report_failure(
                    &self.db,
                    SERVICE,
                    "story",
                    job.run_id,
                    job.attempt,
                    &format!("{error:#}"),
                )
                .await
            }
        };
        let (cost, usage) = self.usage_entry(&job, &written);
        let script = written.script;
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO story.stories (id, run_id, tenant, title, language, genre, tone, seed, scene_count, attempt, script)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id, attempt) DO NOTHING",
        )
        .bind(id)
        .bind(job.run_id)
        .bind(&job.tenant)
        .bind(&script.title)
        .bind(&job.request.language)
        .bind(&job.request.genre)
        .bind(&job.request.tone)
        .bind(job.request.seed as i64)
        .bind(script.scenes.len() as i32)
        .bind(job.attempt)
        .bind(sqlx::types::Json(&script))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            let body = serde_json::json!({ "attempt": job.attempt, "story_id": id, "script": script, "cost_micros": cost, "provider": written.provider });
            jobs::emit(&mut tx, SERVICE, "story.completed", job.run_id, body).await?;
            let usage = shared::bus::Envelope::new("usage.recorded", Some(job.run_id), usage);
            shared::outbox::enqueue(&mut tx, SERVICE, "usage", &usage).await?;
        }
        tx.commit().await?;
        tracing::info!(run_id = %job.run_id, scenes = script.scenes.len(), "story written");
        Ok(())
    }
}
