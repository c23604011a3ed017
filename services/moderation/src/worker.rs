//! The moderation worker: judges a run's text, images and audio, records every decision, and
//! on a failing final round opens a human review.

use std::{collections::BTreeMap, sync::Arc};

use messages::{
    events::{self, report_failure, ModerationCompleted, ModerationFailure, Verdict},
    jobs::{ImageSubject, Job, ModerationCheck, TextSubject},
    steps::Step,
};
use providers::{capability::ModerationRequest, CallContext, CallOptions, Chain, Moderation};
use serde_json::{json, Value};
use shared::{
    bus::{Delivery, Handler},
    jobs,
    storage::{MediaKey, MediaStore},
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    audio_check::inspect_wav,
    image_check::{hamming, inspect_png},
    text_check::{scan, Category},
    ModerationConfig,
};

const SERVICE: &str = "moderation";

/// One decision: which subject, pass or fail, and why.
struct Decision {
    kind: &'static str,
    subject: String,
    scene_index: Option<i32>,
    reasons: Vec<Value>,
}

impl Decision {
    fn passed(&self) -> bool {
        self.reasons.iter().all(|r| r["blocking"] == false)
    }
}

pub struct ModerationWorker {
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
    pub config: Arc<ModerationConfig>,
    pub chain: Arc<Chain<Moderation>>,
}

impl ModerationWorker {
    /// The paid classifier's verdict on the script and images, when one is configured (the lexicon
    /// already judged the text, so a chain of only the offline link adds nothing). Returns the cost too.
    async fn classify(
        &self,
        job: &Job<ModerationCheck>,
    ) -> anyhow::Result<Option<(Decision, u64)>> {
        if !self.chain.links().iter().any(|link| link.client.paid()) {
            return Ok(None);
        }
        let mut images = Vec::with_capacity(job.images.len());
        for image in &job.images {
            images.push(self.store.get(&image.media_key).await?);
        }
        let text = format!("{}\n{}", job.text.title, job.text.narrations.join("\n"));
        let context = CallContext {
            run_id: Some(job.run_id),
            tenant: job.tenant.clone(),
            service: SERVICE.to_owned(),
        };
        let done = self
            .chain
            .call(
                &context,
                &ModerationRequest {
                    text: Some(text),
                    images,
                },
                CallOptions::default(),
            )
            .await?;
        let reasons = done
            .reply
            .categories
            .iter()
            .filter(|c| c.flagged)
            .map(|c| json!({ "rule": "classifier", "provider": done.provider, "model": done.model, "category": c.category, "score": c.score, "blocking": true }))
            .collect();
        let decision = Decision {
            kind: "text",
            subject: format!("classifier:{}", done.provider),
            scene_index: None,
            reasons,
        };
        Ok(Some((decision, done.cost_micros)))
    }

    fn judge_text(&self, text: &TextSubject, lexicon: &BTreeMap<String, Category>) -> Decision {
        let whole = format!("{}\n{}", text.title, text.narrations.join("\n"));
        let reasons = scan(&whole, lexicon)
            .into_iter()
            .map(|f| json!({ "rule": "lexicon", "category": f.category, "severity": f.severity, "term": f.term, "blocking": f.severity >= self.config.block_at }))
            .collect();
        Decision {
            kind: "text",
            subject: "text".to_owned(),
            scene_index: None,
            reasons,
        }
    }

    async fn judge_images(&self, images: &[ImageSubject]) -> anyhow::Result<Vec<Decision>> {
        let mut decisions: Vec<Decision> = Vec::new();
        let mut hashes: Vec<(i32, u64)> = Vec::new();
        let limits = &self.config;
        for image in images {
            let bytes = self.store.get(&image.media_key).await?;
            let facts = tokio::task::spawn_blocking(move || inspect_png(&bytes)).await??;
            let mut reasons = Vec::new();
            if facts.width.min(facts.height) < limits.min_image_side {
                reasons.push(json!({ "rule": "size", "detail": format!("{}x{} is smaller than {} px", facts.width, facts.height, limits.min_image_side), "blocking": true }));
            }
            if facts.luma_stddev < limits.min_image_contrast {
                reasons.push(json!({ "rule": "blank", "detail": format!("luma deviation {:.1} below {}", facts.luma_stddev, limits.min_image_contrast), "blocking": true }));
            }
            if let Some((other, _)) = hashes
                .iter()
                .find(|(_, h)| hamming(*h, facts.dhash) <= limits.near_duplicate_bits)
            {
                reasons.push(json!({ "rule": "near_duplicate", "detail": format!("perceptually the same as scene {}", other + 1), "blocking": true }));
            }
            hashes.push((image.scene_index, facts.dhash));
            decisions.push(Decision {
                kind: "image",
                subject: image.media_key.to_string(),
                scene_index: Some(image.scene_index),
                reasons,
            });
        }
        Ok(decisions)
    }

    async fn judge_audio(
        &self,
        kind: &'static str,
        key: &MediaKey,
        silence_limit_ms: Option<u64>,
    ) -> anyhow::Result<Decision> {
        let bytes = self.store.get(key).await?;
        let facts = tokio::task::spawn_blocking(move || inspect_wav(&bytes)).await??;
        let mut reasons = Vec::new();
        if facts.rms_dbfs < self.config.min_audio_rms_dbfs {
            reasons.push(json!({ "rule": "silence", "detail": format!("level {:.1} dBFS below {}", facts.rms_dbfs, self.config.min_audio_rms_dbfs), "blocking": true }));
        }
        if facts.clipped_ratio > self.config.max_clipped_ratio {
            reasons.push(json!({ "rule": "clipping", "detail": format!("{:.3} % of samples at full scale", facts.clipped_ratio * 100.0), "blocking": true }));
        }
        if let Some(limit) = silence_limit_ms.filter(|limit| facts.longest_silence_ms > *limit) {
            reasons.push(json!({ "rule": "dead_air", "detail": format!("{} ms of silence (limit {limit})", facts.longest_silence_ms), "blocking": true }));
        }
        Ok(Decision {
            kind: "audio",
            subject: format!("{kind}:{key}"),
            scene_index: None,
            reasons,
        })
    }
}

impl Handler for ModerationWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let job: Job<ModerationCheck> = messages::decode(delivery)?;
        if jobs::already_recorded(&self.db, "moderation.checks", job.run_id, job.attempt).await? {
            return Ok(());
        }
        let lexicon = self.config.lexicon();
        let mut cost_micros = 0;
        let judged = async {
            let mut decisions = vec![self.judge_text(&job.text, &lexicon)];
            if let Some((decision, cost)) = self.classify(&job).await? {
                decisions.push(decision);
                cost_micros = cost;
            }
            decisions.extend(self.judge_images(&job.images).await?);
            decisions.push(
                self.judge_audio(
                    "narration",
                    &job.narration.media_key,
                    Some(self.config.max_narration_silence_ms),
                )
                .await?,
            );
            decisions.push(
                self.judge_audio("music", &job.music.media_key, None)
                    .await?,
            );
            anyhow::Ok(decisions)
        }
        .await;
        let decisions = match judged {
            Ok(decisions) => decisions,
            Err(error) => {
                return report_failure(
                    &self.db,
                    SERVICE,
                    Step::Moderation,
                    job.run_id,
                    job.attempt,
                    &format!("{error:#}"),
                )
                .await
            }
        };
        let mut tx = self.db.begin().await?;
        for decision in &decisions {
            record_decision(&mut tx, &job, decision).await?;
        }
        let failures: Vec<ModerationFailure> = decisions
            .iter()
            .filter(|d| !d.passed())
            .map(|d| {
                let subject = match (d.kind, d.subject.split(':').next()) {
                    ("audio", Some(which)) => which.to_owned(),
                    (kind, _) => kind.to_owned(),
                };
                ModerationFailure {
                    subject,
                    scene_index: d.scene_index,
                    reasons: d.reasons.clone(),
                }
            })
            .collect();
        let verdict = match (failures.is_empty(), job.final_round) {
            (true, _) => Verdict::Pass,
            (false, false) => Verdict::Fail,
            (false, true) => Verdict::Review,
        };
        sqlx::query!("INSERT INTO moderation.checks (run_id, attempt, tenant, verdict) VALUES ($1, $2, $3, $4)", job.run_id, job.attempt, &job.tenant, verdict.as_str())
            .execute(&mut *tx)
            .await?;
        let review_id = if verdict == Verdict::Review {
            let review_id = Uuid::now_v7();
            sqlx::query!("INSERT INTO moderation.reviews (id, run_id, tenant, state, reasons) VALUES ($1, $2, $3, 'pending', $4)
                 ON CONFLICT (run_id) DO UPDATE SET state = 'pending', reasons = EXCLUDED.reasons, decided_by = NULL, decided_at = NULL", review_id, job.run_id, &job.tenant, sqlx::types::Json(&failures) as _)
            .execute(&mut *tx)
            .await?;
            Some(review_id)
        } else {
            None
        };
        let completed = ModerationCompleted {
            attempt: job.attempt,
            cost_micros,
            verdict,
            failures,
            review_id,
        };
        events::emit(&mut tx, SERVICE, job.run_id, &completed).await?;
        tx.commit().await?;
        tracing::info!(run_id = %job.run_id, verdict = verdict.as_str(), "moderation decided");
        Ok(())
    }
}

async fn record_decision(
    tx: &mut PgConnection,
    job: &Job<ModerationCheck>,
    decision: &Decision,
) -> sqlx::Result<()> {
    sqlx::query!("INSERT INTO moderation.decisions (id, run_id, tenant, subject_kind, subject_ref, verdict, reasons, attempt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, attempt, subject_kind, subject_ref) DO NOTHING", Uuid::now_v7(), job.run_id, &job.tenant, decision.kind, &decision.subject, if decision.passed() { "pass" } else { "fail" }, json!(decision.reasons), job.attempt)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
