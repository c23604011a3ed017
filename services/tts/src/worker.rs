//! The speech worker: narrates a run's scenes and reports `speech.completed` with the cues.

use std::sync::Arc;

use messages::{
    events::{self, report_failure, SpeechCompleted},
    jobs::{Cue, Job, SpeechSynthesize},
    steps::Step,
};
use shared::{
    bus::{Delivery, Handler},
    jobs,
    storage::MediaStore,
};
use sqlx::PgPool;
use uuid::Uuid;

use providers::{CallContext, Chain, Speech};

use crate::{
    speech::{narrate, SAMPLE_RATE},
    TtsConfig,
};

const SERVICE: &str = "tts";

pub struct SpeechWorker {
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
    pub config: TtsConfig,
    pub chain: Arc<Chain<Speech>>,
}

impl Handler for SpeechWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let job: Job<SpeechSynthesize> = messages::decode(delivery)?;
        if jobs::already_recorded(&self.db, "tts.narrations", job.run_id, job.attempt).await? {
            return Ok(());
        }
        let context = CallContext {
            run_id: Some(job.run_id),
            tenant: job.tenant.clone(),
            service: SERVICE.to_owned(),
        };
        let scratch = tempfile::tempdir()?;
        let narration = match narrate(
            &self.chain,
            &context,
            &job.language,
            &job.scenes,
            &self.config.ffmpeg_path,
            scratch.path(),
        )
        .await
        {
            Ok(narration) => narration,
            Err(error) => {
                return report_failure(
                    &self.db,
                    SERVICE,
                    Step::Speech,
                    job.run_id,
                    job.attempt,
                    &format!("{error:#}"),
                )
                .await
            }
        };
        let key = self.store.put(narration.wav.into(), "wav").await?;
        let voice = format!("{}/{}", narration.voices.join("+"), job.language);
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query!("INSERT INTO tts.narrations (id, run_id, tenant, language, voice, media_key, duration_ms, sample_rate, attempt, cues)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, attempt) DO NOTHING", id, job.run_id, &job.tenant, &job.language, &voice, key.as_str(), narration.duration_ms as i64, SAMPLE_RATE as i32, job.attempt, sqlx::types::Json(&narration.cues) as _)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            let completed = SpeechCompleted {
                attempt: job.attempt,
                cost_micros: narration.cost_micros,
                narration_id: id,
                media_key: key,
                duration_ms: narration.duration_ms,
                sample_rate: SAMPLE_RATE,
                voice,
                provider: narration.voices.join("+"),
                cues: narration
                    .cues
                    .iter()
                    .map(|c| Cue {
                        start_ms: c.start_ms,
                        end_ms: c.end_ms,
                        text: c.text.clone(),
                        scene_index: c.scene_index,
                        sentence_index: c.sentence_index,
                    })
                    .collect(),
            };
            events::emit(&mut tx, SERVICE, job.run_id, &completed).await?;
        }
        tx.commit().await?;
        tracing::info!(run_id = %job.run_id, duration_ms = narration.duration_ms, "narration ready");
        Ok(())
    }
}
