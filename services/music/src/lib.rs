//! music service: background tracks fitted to length and mood, with licence records.

mod config;
mod routes;
pub mod scoring;
mod synth;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use providers::{catalogue, chain::Describe, setup::Shared, Chain, Music};
use shared::{privacy::TenantData, Context, Service, Worker};
use utoipa::OpenApi as _;

pub use config::MusicConfig;

/// The music service as a fleet member.
#[derive(Default)]
pub struct MusicService {
    music: Shared<Chain<Music>>,
    synthesiser: Arc<scoring::Synthesiser>,
}

pub fn service() -> Arc<dyn Service> {
    Arc::new(MusicService::default())
}

impl MusicService {
    /// The music chain from `[providers]`: configured models, then the synthesiser.
    fn music(&self, ctx: &Context) -> anyhow::Result<Arc<Chain<Music>>> {
        self.music.get(ctx, |setup| {
            let catalogue = catalogue::music(self.synthesiser.clone());
            setup.chain(&catalogue)
        })
    }
}

impl Service for MusicService {
    fn name(&self) -> &'static str {
        "music"
    }

    fn prefix(&self) -> &'static str {
        "/v1/music"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(
            TenantData::erasing(&["music.tracks"])
                .with_media("SELECT media_key, tenant FROM music.tracks"),
        )
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        let own = Router::new()
            .route("/v1/music", get(routes::list))
            .route("/v1/music/{id}", get(routes::get))
            .with_state(ctx.db.clone());
        Ok(providers::admin::with_chains(
            self.prefix(),
            own,
            vec![self.music(ctx)? as Arc<dyn Describe>],
        ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        providers::admin::with_openapi(self.prefix(), routes::ApiDoc::openapi())
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config: MusicConfig = ctx.settings.service("music")?;
        let worker = worker::MusicWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            chain: self.music(ctx)?,
            synthesiser: self.synthesiser.clone(),
            ffmpeg: config.ffmpeg_path,
        };
        Ok(vec![ctx.consume("jobs.music", "music", worker)])
    }
}
