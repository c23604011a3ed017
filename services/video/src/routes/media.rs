//! `GET /v1/videos/media/{key}`: the bytes of a rendered file (video, captions, thumbnail).

use std::sync::Arc;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use shared::{
    auth::{Principal, Role},
    extract::Path,
    storage::{MediaKey, MediaStore},
    ApiError, ApiResult,
};
use sqlx::PgPool;

#[derive(Clone)]
pub struct MediaState {
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
}

fn content_type(key: &MediaKey) -> &'static str {
    match key.as_str().rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("jpg") => "image/jpeg",
        Some("srt") => "application/x-subrip",
        Some("vtt") => "text/vtt",
        _ => "application/octet-stream",
    }
}

/// A file this service produced, for a caller allowed to see its run.
#[utoipa::path(get, path = "/v1/videos/media/{key}", params(("key" = String, Path, description = "media key, `<sha256>.<ext>`")), security(("bearer" = [])),
    responses((status = 200, description = "the file"), (status = 400, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody),
              (status = 410, body = shared::error::ErrorBody, description = "deleted by the media retention policy"),
              (status = 422, body = shared::error::ErrorBody, description = "not a media key (`<sha256>.<ext>`)")))]
pub async fn download(
    principal: Principal,
    State(state): State<MediaState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    principal.require(Role::Viewer)?;
    let key = MediaKey::parse(&key).map_err(|e| ApiError::validation("key", e))?;
    let owned: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM video.renders WHERE media_key = $1 AND ($2::text IS NULL OR tenant = $2))
             OR EXISTS (SELECT 1 FROM video.bundles WHERE ($2::text IS NULL OR tenant = $2)
                        AND (srt_key = $1 OR vtt_key = $1 OR thumbnails @> jsonb_build_array(jsonb_build_object('media_key', $1::text)))) AS "exists!""#, key.as_str(), principal.tenant_scope())
    .fetch_one(&state.db)
    .await?;
    if !owned {
        return Err(ApiError::not_found(format!("no file {key}")));
    }
    let bytes = match state.store.get(&key).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let expired: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM video.renders WHERE media_key = $1 AND state = 'expired')
                     OR EXISTS (SELECT 1 FROM video.bundles WHERE media_expired_at IS NOT NULL
                                AND (srt_key = $1 OR vtt_key = $1 OR thumbnails @> jsonb_build_array(jsonb_build_object('media_key', $1::text)))) AS "exists!""#, key.as_str())
            .fetch_one(&state.db)
            .await?;
            return Err(if expired {
                ApiError::new(
                    axum::http::StatusCode::GONE,
                    "media_expired",
                    format!("{key} was deleted by the media retention policy"),
                )
            } else {
                ApiError::not_found(format!("no file {key}"))
            });
        }
    };
    Ok(([(header::CONTENT_TYPE, content_type(&key))], bytes).into_response())
}
