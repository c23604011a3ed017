//! The video worker: renders every requested format in one FFmpeg pass, checks each with ffprobe,
//! stores outputs, captions and thumbnails, and reports `video.completed`.

use std::{path::Path, sync::Arc, time::Instant};

use messages::{
    events::report_failure,
    jobs::{Job, VideoRender},
    steps::Step,
};
use serde_json::json;
use shared::{
    bus::{Delivery, Handler},
    jobs,
    storage::{MediaKey, MediaStore},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    captions::{self, Cue},
    ffmpeg::{self, OutputPlan, RenderPlan, Tools},
    formats::{Format, Geometry as _, SHORTS_MAX_MS},
};

const SERVICE: &str = "video";

pub struct VideoWorker {
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
    pub tools: Tools,
}

/// Where each scene's picture starts and stops: cuts fall in the pause before a scene's first words.
pub fn scene_lengths(cues: &[Cue], scenes: usize, total_ms: u64) -> Vec<u64> {
    let mut bounds = vec![0_u64];
    for scene in 1..scenes {
        let first = cues.iter().position(|c| c.scene_index == scene);
        let previous = *bounds.last().unwrap_or(&0);
        let cut = match first {
            Some(i) if i > 0 => (cues[i - 1].end_ms + cues[i].start_ms) / 2,
            Some(_) => cues[0].start_ms,
            None => previous + (total_ms - previous) / (scenes - scene + 1) as u64,
        };
        bounds.push(cut.clamp(
            previous + 1000,
            total_ms.saturating_sub(1000).max(previous + 1000),
        ));
    }
    bounds.push(total_ms);
    bounds
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect()
}

/// How long a format runs: shorts stop at the last sentence that ends within 60 s.
pub fn format_length(format: Format, cues: &[Cue], total_ms: u64, tail_ms: u64) -> u64 {
    if !format.is_short() || total_ms <= SHORTS_MAX_MS {
        return total_ms;
    }
    let sentence_ends = cues
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            cues.get(i + 1)
                .is_none_or(|n| n.sentence_index != c.sentence_index)
        })
        .map(|(_, c)| c.end_ms + tail_ms)
        .filter(|end| *end <= SHORTS_MAX_MS);
    sentence_ends.max().unwrap_or(SHORTS_MAX_MS)
}

impl VideoWorker {
    async fn fetch(&self, key: &MediaKey, path: &Path) -> anyhow::Result<()> {
        tokio::fs::write(path, self.store.get(key).await?).await?;
        Ok(())
    }

    async fn produce(
        &self,
        job: &Job<VideoRender>,
        scratch: &Path,
    ) -> anyhow::Result<serde_json::Value> {
        let started = Instant::now();
        anyhow::ensure!(!job.images.is_empty(), "no scene images");
        anyhow::ensure!(!job.formats.is_empty(), "no formats requested");
        let mut images = Vec::new();
        for (i, key) in job.images.iter().enumerate() {
            let path = scratch.join(format!("scene-{i:02}.png"));
            self.fetch(key, &path).await?;
            images.push(path);
        }
        let narration = scratch.join("narration.wav");
        let music = scratch.join("music.wav");
        self.fetch(&job.narration.media_key, &narration).await?;
        self.fetch(&job.music_key, &music).await?;
        let total_ms = job.narration.duration_ms + job.tail_ms;
        let cues = &job.narration.cues;

        let mix = scratch.join("mix.wav");
        let loudness = ffmpeg::premix(&self.tools, &narration, &music, total_ms, &mix).await?;
        let audio_ms = started.elapsed().as_millis();

        let mut outputs = Vec::new();
        for format in &job.formats {
            let duration_ms = format_length(*format, cues, total_ms, job.tail_ms);
            let captions = scratch.join(format!("captions-{}.ass", format.slug()));
            tokio::fs::write(
                &captions,
                captions::ass(&captions::display_cues(cues, duration_ms), *format),
            )
            .await?;
            outputs.push(OutputPlan {
                format: *format,
                path: scratch.join(format!("video-{}.mp4", format.slug())),
                captions,
                duration_ms,
            });
        }
        let plan = RenderPlan {
            scene_ms: scene_lengths(cues, images.len(), total_ms),
            images,
            audio: mix,
            loudness,
            outputs,
        };
        // Thumbnails come from the opening image alone, so they are made while the render runs.
        let render_started = Instant::now();
        let (rendered, thumbnails) = tokio::join!(
            async {
                ffmpeg::render(&self.tools, &plan, scratch).await?;
                anyhow::Ok(render_started.elapsed().as_millis())
            },
            async {
                let started = Instant::now();
                let made =
                    ffmpeg::thumbnails(&self.tools, &plan.images[0], &job.title, scratch).await?;
                anyhow::Ok((made, started.elapsed().as_millis()))
            }
        );
        let render_ms = rendered?;
        let (thumbnails, thumbnails_ms) = thumbnails?;

        let mut rendered = Vec::new();
        for output in &plan.outputs {
            let probe = ffmpeg::probe(&self.tools, &output.path).await?;
            ffmpeg::verify(&probe, output.format, output.duration_ms)?;
            rendered.push((output, probe));
        }

        let full = captions::display_cues(cues, total_ms);
        let srt_key = self
            .store
            .put(captions::srt(&full).into_bytes().into(), "srt")
            .await?;
        let vtt_key = self
            .store
            .put(captions::vtt(&full).into_bytes().into(), "vtt")
            .await?;
        let mut thumbnail_records = Vec::new();
        for thumbnail in &thumbnails {
            let key = self
                .store
                .put(tokio::fs::read(&thumbnail.path).await?.into(), "jpg")
                .await?;
            thumbnail_records.push(json!({ "name": thumbnail.name, "width": thumbnail.width, "height": thumbnail.height, "media_key": key }));
        }
        let mut output_records = Vec::new();
        for (output, probe) in &rendered {
            let key = self
                .store
                .put(tokio::fs::read(&output.path).await?.into(), "mp4")
                .await?;
            output_records.push(json!({
                "format": output.format, "name": format!("video-{}.mp4", output.format.slug()),
                "width": probe.width, "height": probe.height, "duration_ms": probe.duration_ms, "media_key": key, "probe": probe,
            }));
        }
        Ok(json!({
            "outputs": output_records,
            "captions": { "srt": srt_key, "vtt": vtt_key },
            "thumbnails": thumbnail_records,
            "timings_ms": { "audio": audio_ms, "render": render_ms, "thumbnails": thumbnails_ms, "total": started.elapsed().as_millis() },
        }))
    }
}

impl Handler for VideoWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let job: Job<VideoRender> = messages::decode(delivery)?;
        if jobs::already_recorded(&self.db, "video.bundles", job.run_id, job.attempt).await? {
            return Ok(());
        }
        let scratch = tempfile::tempdir()?;
        let produced = match self.produce(&job, scratch.path()).await {
            Ok(produced) => produced,
            Err(error) => {
                return report_failure(
                    &self.db,
                    SERVICE,
                    Step::Video,
                    job.run_id,
                    job.attempt,
                    &format!("{error:#}"),
                )
                .await
            }
        };
        let mut tx = self.db.begin().await?;
        for output in produced["outputs"].as_array().into_iter().flatten() {
            sqlx::query!("INSERT INTO video.renders (id, run_id, tenant, format, width, height, duration_ms, media_key, state, attempt)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'verified', $9)
                 ON CONFLICT (run_id, format) DO UPDATE SET width = EXCLUDED.width, height = EXCLUDED.height,
                     duration_ms = EXCLUDED.duration_ms, media_key = EXCLUDED.media_key, attempt = EXCLUDED.attempt
                 WHERE video.renders.attempt < EXCLUDED.attempt", Uuid::now_v7(), job.run_id, &job.tenant, output["format"].as_str(), output["width"].as_i64().map(|v| v as i32), output["height"].as_i64().map(|v| v as i32), output["duration_ms"].as_i64(), output["media_key"].as_str(), job.attempt)
            .execute(&mut *tx)
            .await?;
        }
        let inserted = sqlx::query!("INSERT INTO video.bundles (run_id, attempt, tenant, srt_key, vtt_key, thumbnails, probes, timings)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, attempt) DO NOTHING", job.run_id, job.attempt, &job.tenant, produced["captions"]["srt"].as_str(), produced["captions"]["vtt"].as_str(), &produced["thumbnails"], &produced["outputs"], &produced["timings_ms"])
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            let mut body = produced;
            body["attempt"] = json!(job.attempt);
            body["cost_micros"] = json!(0);
            jobs::emit(&mut tx, SERVICE, "video.completed", job.run_id, body).await?;
        }
        tx.commit().await?;
        tracing::info!(run_id = %job.run_id, attempt = job.attempt, "video rendered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start_ms: u64, end_ms: u64, scene_index: usize, sentence_index: usize) -> Cue {
        Cue {
            start_ms,
            end_ms,
            text: "words".into(),
            scene_index,
            sentence_index,
        }
    }

    #[test]
    fn scenes_cut_in_the_pause_before_their_first_words() {
        let cues = vec![
            cue(0, 4000, 0, 0),
            cue(4400, 9000, 1, 1),
            cue(9500, 12_000, 2, 2),
        ];
        let lengths = scene_lengths(&cues, 3, 12_400);
        assert_eq!(lengths, vec![4200, 5050, 3150]);
        assert_eq!(lengths.iter().sum::<u64>(), 12_400);
    }

    #[test]
    fn shorts_end_on_a_sentence_within_sixty_seconds() {
        let cues = vec![
            cue(0, 30_000, 0, 0),
            cue(30_100, 40_000, 0, 1),
            cue(40_100, 59_000, 1, 1),
            cue(59_500, 70_000, 1, 2),
        ];
        assert_eq!(format_length(Format::Portrait, &cues, 70_400, 400), 59_400);
        assert_eq!(format_length(Format::Landscape, &cues, 70_400, 400), 70_400);
        assert_eq!(
            format_length(Format::Square, &cues[..1], 30_400, 400),
            30_400
        );
    }
}
