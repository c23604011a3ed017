//! Report routes: one video with its attribution, pulls and snapshots; the grouped summary as
//! JSON or CSV; the posting slots learned from engagement.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{tenant_for, AppState};
use crate::{
    slots::{self, Slot},
    summary::{self, Summary, SummaryQuery, GROUPINGS},
};

/// One pull of a video: when it is due and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pull {
    pub ordinal: i16,
    pub due_at: DateTime<Utc>,
    /// `due`, `done` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub error: Option<String>,
}

/// One snapshot in a video's series.
#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    pub captured_at: DateTime<Utc>,
    pub pull_ordinal: Option<i16>,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub watch_seconds: Option<i64>,
    pub completion_rate: Option<f64>,
    pub impressions: Option<i64>,
    pub click_rate: Option<f64>,
}

/// A published video, the choices it is attributed to, and its metrics over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoReport {
    pub publication_id: Uuid,
    pub tenant: String,
    pub run_id: Uuid,
    pub platform: String,
    pub platform_post_id: String,
    pub published_at: DateTime<Utc>,
    pub title: String,
    pub duration_ms: Option<i64>,
    pub genre: Option<String>,
    pub tone: Option<String>,
    pub length_seconds: Option<i32>,
    pub language: Option<String>,
    pub voice: Option<String>,
    pub config_version: Option<i32>,
    pub experiment_id: Option<Uuid>,
    pub arm: Option<String>,
    /// The run's parameters as recorded, with what was recommended and why.
    #[schema(value_type = Object)]
    pub params: Value,
    pub pulls: Vec<Pull>,
    pub snapshots: Vec<Point>,
}

/// A published video (by publication id) with its attribution, pulls and snapshots.
#[utoipa::path(get, path = "/v1/analytics/videos/{id}", operation_id = "video_report", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = VideoReport), (status = 401, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody)))]
pub async fn video(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<VideoReport>> {
    principal.require(Role::Viewer)?;
    let not_found = || ApiError::not_found(format!("video {id} not found"));
    let video = sqlx::query!(
        "SELECT publication_id, tenant, run_id, platform, platform_post_id, published_at, title, duration_ms, genre, tone,
                length_seconds, language, voice, config_version, experiment_id, arm, params
         FROM analytics.videos WHERE publication_id = $1",
        id
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(not_found)?;
    if principal.require_tenant(&video.tenant).is_err() {
        return Err(not_found());
    }
    let pulls = sqlx::query_as!(
        Pull,
        "SELECT ordinal, due_at, state, attempts, error FROM analytics.pulls WHERE publication_id = $1 ORDER BY ordinal",
        id
    )
    .fetch_all(&state.db)
    .await?;
    let snapshots = sqlx::query_as!(
        Point,
        "SELECT captured_at, pull_ordinal, views, likes, comments, shares, watch_seconds, completion_rate, impressions, click_rate
         FROM analytics.metric_snapshots WHERE publication_id = $1 ORDER BY captured_at",
        id
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(VideoReport {
        publication_id: video.publication_id,
        tenant: video.tenant,
        run_id: video.run_id,
        platform: video.platform,
        platform_post_id: video.platform_post_id,
        published_at: video.published_at,
        title: video.title,
        duration_ms: video.duration_ms,
        genre: video.genre,
        tone: video.tone,
        length_seconds: video.length_seconds,
        language: video.language,
        voice: video.voice,
        config_version: video.config_version,
        experiment_id: video.experiment_id,
        arm: video.arm,
        params: video.params,
        pulls,
        snapshots,
    }))
}

/// A tenant's videos published in a window, grouped by one of the choices that made them:
/// views, watch time, completion (where the platform reports it), engagement and the
/// week-over-week trend. `format=csv` (or `Accept: text/csv`) answers CSV.
#[utoipa::path(get, path = "/v1/analytics/summary", operation_id = "analytics_summary", params(SummaryQuery), security(("bearer" = [])),
    responses((status = 200, description = "the summary", content((Summary = "application/json"), (String = "text/csv"))),
              (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn summary(
    principal: Principal,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<SummaryQuery>,
) -> ApiResult<Response> {
    principal.require(Role::Viewer)?;
    let tenant = super::optional_tenant(&principal, query.tenant.as_deref())?;
    let group_by = query
        .group_by
        .clone()
        .unwrap_or_else(|| "platform".to_owned());
    if !GROUPINGS.contains(&group_by.as_str()) {
        return Err(ApiError::validation(
            "group_by",
            format!("must be one of {}", GROUPINGS.join(", ")),
        ));
    }
    let to = query.to.unwrap_or_else(Utc::now);
    let from = query.from.unwrap_or(to - chrono::Duration::days(28));
    if from >= to {
        return Err(ApiError::validation("from", "must be before `to`"));
    }
    if to - from > chrono::Duration::days(3660) {
        return Err(ApiError::validation(
            "from",
            "the window may span at most ten years",
        ));
    }
    let wants_csv = match query.format.as_deref() {
        None => headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::validation(
                "format",
                format!("`{other}` is not `json` or `csv`"),
            ))
        }
    };
    let rows = summary::summarise(&state.db, tenant.as_deref(), from, to, &group_by).await?;
    if wants_csv {
        let body = summary::to_csv(&rows)?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response());
    }
    Ok(Json(Summary {
        tenant,
        from,
        to,
        group_by,
        rows,
    })
    .into_response())
}

/// `GET /v1/analytics/slots` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SlotsQuery {
    pub tenant: Option<String>,
    /// `youtube`, `tiktok`, `instagram` or `facebook`; all when absent.
    pub platform: Option<String>,
    /// Slots to return (default 3, at most 24).
    pub limit: Option<usize>,
}

/// The tenant's best posting slots per platform (UTC weekday × hour, by mean engagement of the
/// videos published then); empty until the platform has enough videos to learn from.
#[utoipa::path(get, path = "/v1/analytics/slots", operation_id = "learned_slots", params(SlotsQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Slot>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn learned_slots(
    principal: Principal,
    State(state): State<AppState>,
    Query(query): Query<SlotsQuery>,
) -> ApiResult<Json<Vec<Slot>>> {
    principal.require(Role::Viewer)?;
    let tenant = tenant_for(&principal, query.tenant.as_deref())?;
    let limit = query.limit.unwrap_or(3);
    if !(1..=24).contains(&limit) {
        return Err(ApiError::validation("limit", "must be 1 to 24"));
    }
    Ok(Json(
        slots::best(
            &state.db,
            &tenant,
            query.platform.as_deref(),
            state.config.slot_min_videos,
            limit,
        )
        .await?,
    ))
}
