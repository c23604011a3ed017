//! video service: FFmpeg assembly into every aspect ratio, captions, thumbnails and output checks.

pub mod captions;
mod config;
pub mod ffmpeg;
pub mod formats;
pub mod retention;
mod routes;
mod worker;

use std::sync::Arc;

use axum::Router;
use shared::{health::Check, jobs::program_check, privacy::TenantData, Context, Service, Worker};

pub use config::VideoConfig;

/// The video service as a fleet member.
pub struct VideoService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(VideoService)
}

impl Service for VideoService {
    fn name(&self) -> &'static str {
        "video"
    }

    fn prefix(&self) -> &'static str {
        "/v1/videos"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&["video.renders", "video.bundles"])
            .with_media("SELECT media_key, tenant FROM video.renders")
            .with_media("SELECT srt_key, tenant FROM video.bundles")
            .with_media("SELECT vtt_key, tenant FROM video.bundles")
            .with_media("SELECT thumbnail->>'media_key', tenant FROM video.bundles, jsonb_array_elements(thumbnails) thumbnail"))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(routes::router(ctx))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config: VideoConfig = ctx.settings.service("video")?;
        let retention = config.retention_days.map(|days| {
            let (db, store, shutdown) = (ctx.db.clone(), ctx.store.clone(), ctx.shutdown.clone());
            let interval = std::time::Duration::from_secs(config.retention_interval_secs.max(1));
            Worker::new("video:retention", move || {
                retention::run(db.clone(), store.clone(), days, interval, shutdown.clone())
            })
        });
        let tools = ffmpeg::Tools {
            ffmpeg: config.ffmpeg_path,
            ffprobe: config.ffprobe_path,
            timeout: ctx.config().child_timeout(),
        };
        let worker = worker::VideoWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            tools,
        };
        // A render holds ≈ 1.5 GiB and keeps about two cores busy.
        let renders_at_once = std::thread::available_parallelism().map_or(1, |n| n.get() / 2);
        let mut workers =
            vec![ctx.consume_at_most("jobs.video", "video", renders_at_once.max(1), worker)];
        workers.extend(retention);
        Ok(workers)
    }

    fn readiness(&self, ctx: &Context) -> Vec<(String, Check)> {
        let config: VideoConfig = ctx.settings.service("video").unwrap_or_default();
        vec![
            (
                "video.ffmpeg".to_owned(),
                program_check(config.ffmpeg_path, "-version"),
            ),
            (
                "video.ffprobe".to_owned(),
                program_check(config.ffprobe_path, "-version"),
            ),
        ]
    }
}
