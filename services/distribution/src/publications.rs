//! Making a publication: defaults from the run's manifest (format per platform, the copy the story
//! wrote, captions and thumbnail), preflight, and the row plus its upload job in one transaction.
//! The same file to the same account twice is refused unless forced.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::{outbox, storage::MediaStore, ApiError};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    manifest::RunSource,
    platform::Platform,
    preflight::{self, FileFacts, Metadata, PreflightReport},
};

/// `POST /v1/publications`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPublication {
    pub run_id: Uuid,
    pub account_id: Uuid,
    /// `16:9`, `9:16` or `1:1`; by default 16:9 on YouTube and 9:16 elsewhere.
    pub format: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// `public`, `unlisted` or `private` (the default: nothing goes public by accident).
    pub privacy: Option<String>,
    /// When it goes public: YouTube schedules it itself; elsewhere the upload waits until then.
    pub publish_at: Option<DateTime<Utc>>,
    pub made_for_kids: Option<bool>,
    /// Returns the preflight report and sends nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Publishes even when this file already went to this account.
    #[serde(default)]
    pub force: bool,
}

/// The publication's metadata: what the caller gave, else the platform copy the story wrote.
pub fn metadata(platform: Platform, request: &NewPublication, source: &RunSource) -> Metadata {
    let copy = &source.copy[platform.as_str()];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let hashtags: Vec<String> = copy["hashtags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|tag| tag.trim_start_matches('#').to_owned())
        .collect();
    let title = request.title.clone().unwrap_or_else(|| {
        Some(text(&copy["title"]))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| source.title.clone())
    });
    let description = request
        .description
        .clone()
        .unwrap_or_else(|| text(&copy["description"]));
    let tags = request.tags.clone().unwrap_or(hashtags);
    let caption = if request.description.is_some()
        || request.tags.is_some()
        || copy["caption"].as_str().is_none()
    {
        let tags: Vec<String> = tags
            .iter()
            .map(|t| format!("#{}", t.trim_start_matches('#')))
            .collect();
        [description.clone(), tags.join(" ")]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    } else {
        text(&copy["caption"])
    };
    Metadata {
        title,
        description,
        tags: tags
            .into_iter()
            .map(|t| t.trim_start_matches('#').to_owned())
            .collect(),
        privacy: request.privacy.clone().unwrap_or_else(|| "private".into()),
        made_for_kids: request.made_for_kids.unwrap_or(false),
        caption,
    }
}

/// The preflight report of `request` for an account of `platform` in state `account_status`.
pub async fn preflight(
    store: &dyn MediaStore,
    platform: Platform,
    account_status: &str,
    request: &NewPublication,
    source: &RunSource,
) -> Result<PreflightReport, ApiError> {
    let format = request
        .format
        .clone()
        .unwrap_or_else(|| platform.default_format().to_owned());
    let render = source.render(&format).ok_or_else(|| {
        let made: Vec<&str> = source.renders.iter().map(|r| r.format.as_str()).collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "format_missing",
            if made.is_empty() {
                format!("run {} has no rendered video yet", source.run_id)
            } else {
                format!(
                    "run {} has no {format} render (it has {})",
                    source.run_id,
                    made.join(", ")
                )
            },
        )
    })?;
    let bytes = store.size(&render.media_key).await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_missing",
            format!("the {format} render is not in the media store: {e:#}"),
        )
    })?;
    let file = FileFacts {
        format: format.clone(),
        media_key: render.media_key.clone(),
        bytes,
        duration_ms: render.duration_ms,
        width: render.width,
        height: render.height,
        video_codec: render.video_codec.clone(),
        audio_codec: render.audio_codec.clone(),
    };
    let metadata = metadata(platform, request, source);
    Ok(preflight::run(
        platform,
        source,
        file,
        metadata,
        account_status,
        request.publish_at,
    ))
}

/// The error a failed preflight answers with: `licence_missing` naming the asset, else
/// `preflight_failed` naming every failed check.
pub fn refusal(report: &PreflightReport) -> ApiError {
    if let Some(licence) = report.checks.iter().find(|c| c.name == "licences" && !c.ok) {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "licence_missing",
            licence.detail.clone(),
        );
    }
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "preflight_failed",
        failed.join("; "),
    )
}

/// Stores a publication that passed preflight, with its upload job (or, for a later slot on a
/// platform that cannot schedule, deferred until then). Refuses a repeat of the same file.
/// `run_attempt` is the attempt of the run's `publish` step that asked for it, if one did.
pub async fn insert(
    db: &sqlx::PgPool,
    tenant: &str,
    request: &NewPublication,
    report: &PreflightReport,
    source: &RunSource,
    run_attempt: Option<i32>,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    let platform = report.platform;
    let waits =
        platform != Platform::Youtube && request.publish_at.is_some_and(|at| at > Utc::now());
    let extras = json!({
        "duration_ms": report.file.duration_ms,
        "thumbnail": source.thumbnail_for(&report.file.format),
        "captions": source.captions_srt.as_ref().map(|key| json!([{ "language": source.language, "srt": key }])),
    });
    let mut tx = db.begin().await?;
    let inserted = sqlx::query!(
        "INSERT INTO distribution.publications (id, tenant, run_id, account_id, platform, format, media_key, video_sha256, video_bytes, forced, metadata, extras, state, publish_at, resume_at, run_attempt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        id,
        tenant,
        request.run_id,
        request.account_id,
        platform.as_str(),
        &report.file.format,
        report.file.media_key.as_str(),
        report.file.media_key.sha256(),
        i64::try_from(report.file.bytes).unwrap_or(i64::MAX),
        request.force,
        serde_json::to_value(&report.metadata).map_err(ApiError::internal)?,
        &extras,
        if waits { "deferred" } else { "queued" },
        request.publish_at,
        if waits { request.publish_at } else { None },
        run_attempt
    )
    .execute(&mut *tx)
    .await;
    if inserted.as_ref().is_err_and(repeats_a_publication) {
        return Err(ApiError::conflict(
            "duplicate_publication",
            format!("this {} file already went (or is going) to account {}; send `force: true` to publish it again", report.file.format, request.account_id),
        ));
    }
    inserted?;
    if !waits {
        enqueue_upload(&mut tx, tenant, id, request.run_id).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Whether `error` is the refusal of a second live publication of one file to one account.
pub fn repeats_a_publication(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.constraint() == Some("publications_once"))
}

/// Queues the upload job of publication `id` through the outbox.
pub async fn enqueue_upload(
    tx: &mut sqlx::PgConnection,
    tenant: &str,
    id: Uuid,
    run_id: Uuid,
) -> anyhow::Result<()> {
    let job = messages::jobs::PublicationUpload {
        tenant: tenant.to_owned(),
        publication_id: id,
    };
    let envelope = messages::envelope(&job, Some(run_id))?;
    outbox::enqueue(
        tx,
        "distribution",
        <messages::jobs::PublicationUpload as messages::Message>::STREAM,
        &envelope,
    )
    .await?;
    Ok(())
}
