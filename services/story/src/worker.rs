//! The story worker: writes the script for a run and reports `story.completed`.

use messages::{
    events::report_failure,
    jobs::{Job, StoryWrite},
    steps::Step,
};
use shared::{
    bus::{Delivery, Handler},
    jobs,
};
use sqlx::PgPool;
use uuid::Uuid;

use std::sync::Arc;

use providers::{capability::TextReply, CallContext, CallOptions, Chain, Completed, Text};

use crate::{
    generator::{Script, StoryRequest},
    writing::story_request,
};

const SERVICE: &str = "story";

pub struct StoryWorker {
    pub db: PgPool,
    pub chain: Arc<Chain<Text>>,
}

impl StoryWorker {
    /// The script for a job through the text chain, and what the call cost.
    async fn write(&self, job: &Job<StoryWrite>) -> anyhow::Result<(Script, Completed<TextReply>)> {
        let context = CallContext {
            run_id: Some(job.run_id),
            tenant: job.tenant.clone(),
            service: SERVICE.to_owned(),
        };
        let brief = &job.request;
        let mut request = story_request(&StoryRequest {
            topic: brief.topic.clone(),
            genre: brief.genre.clone(),
            tone: brief.tone.clone(),
            length_seconds: brief.length_seconds,
            language: brief.language.clone(),
            seed: brief.seed,
        })?;
        if let Some(series) = &brief.series {
            request = crate::writing::for_episode(request, series);
        }
        if let Some(learned) = &brief.learned {
            request = crate::writing::with_learned(request, learned);
        }
        let done = self
            .chain
            .call(&context, &request, CallOptions::default())
            .await?;
        let script: Script = serde_json::from_value(done.reply.json.clone())?;
        Ok((script, done))
    }
}

impl Handler for StoryWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let job: Job<StoryWrite> = messages::decode(delivery)?;
        if jobs::already_recorded(&self.db, "story.stories", job.run_id, job.attempt).await? {
            // Redelivered after the commit: the event left with the row.
            return Ok(());
        }
        let outcome = self.write(&job).await;
        let (script, done) = match outcome {
            Ok(written) => written,
            Err(error) => {
                return report_failure(
                    &self.db,
                    SERVICE,
                    Step::Story,
                    job.run_id,
                    job.attempt,
                    &format!("{error:#}"),
                )
                .await
            }
        };
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query!("INSERT INTO story.stories (id, run_id, tenant, title, language, genre, tone, seed, scene_count, attempt, script)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id, attempt) DO NOTHING", id, job.run_id, &job.tenant, &script.title, &job.request.language, &job.request.genre, &job.request.tone, job.request.seed as i64, script.scenes.len() as i32, job.attempt, sqlx::types::Json(&script) as _)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            let body = serde_json::json!({
                "attempt": job.attempt, "story_id": id, "script": script, "cost_micros": done.cost_micros,
                "provider": done.provider, "model": done.model, "cache_hit": done.cache_hit,
            });
            jobs::emit(&mut tx, SERVICE, "story.completed", job.run_id, body).await?;
        }
        tx.commit().await?;
        tracing::info!(run_id = %job.run_id, scenes = script.scenes.len(), "story written");
        Ok(())
    }
}
