//! The video service's HTTP surface: rendered videos (read) and their media files (download).

mod media;
mod renders;

use axum::{routing::get, Router};
use shared::{openapi::BearerAuth, Context};
use utoipa::OpenApi as _;

#[derive(utoipa::OpenApi)]
#[openapi(paths(media::download), modifiers(&BearerAuth))]
struct MediaDoc;

pub(crate) fn router(ctx: &Context) -> Router {
    let media = media::MediaState {
        db: ctx.db.clone(),
        store: ctx.store.clone(),
    };
    Router::new()
        .route("/v1/videos", get(renders::list))
        .route("/v1/videos/{id}", get(renders::get))
        .with_state(ctx.db.clone())
        .merge(
            Router::new()
                .route("/v1/videos/media/{key}", get(media::download))
                .with_state(media),
        )
}

pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = renders::ApiDoc::openapi();
    document.merge(MediaDoc::openapi());
    document
}
