//! Media retention: rendered files (videos, captions, thumbnails) older than `retention_days`
//! are deleted on a schedule. Their rows stay, marked expired, so runs keep their history.

use std::{sync::Arc, time::Duration};

use shared::storage::{MediaKey, MediaStore};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Rows one pass looks at, at most.
const BATCH: i64 = 500;

/// Expires what is older than `days`; returns how many files were deleted.
pub async fn expire_once(
    db: &PgPool,
    store: &Arc<dyn MediaStore>,
    days: u32,
) -> anyhow::Result<usize> {
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    let mut tx = db.begin().await?;
    let renders = sqlx::query_scalar!(
        "UPDATE video.renders SET state = 'expired'
         WHERE id IN (SELECT id FROM video.renders
                      WHERE state <> 'expired' AND created_at < now() - make_interval(days => $1)
                      LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING media_key",
        days,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    let bundles = sqlx::query!(
        "UPDATE video.bundles SET media_expired_at = now()
         WHERE (run_id, attempt) IN (SELECT run_id, attempt FROM video.bundles
                      WHERE media_expired_at IS NULL AND created_at < now() - make_interval(days => $1)
                      LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING srt_key, vtt_key, thumbnails",
        days,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut keys: Vec<String> = renders;
    for bundle in bundles {
        keys.extend([bundle.srt_key, bundle.vtt_key]);
        keys.extend(
            bundle
                .thumbnails
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["media_key"].as_str().map(str::to_owned)),
        );
    }
    keys.sort();
    keys.dedup();
    let mut unused = Vec::new();
    for key in keys {
        // Whether a live (unexpired) render or bundle still refers to `key`: keys are content
        // addresses, and two runs can produce identical bytes.
        let used: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM video.renders WHERE media_key = $1 AND state <> 'expired')
     OR EXISTS (SELECT 1 FROM video.bundles WHERE media_expired_at IS NULL
                AND (srt_key = $1 OR vtt_key = $1 OR thumbnails @> jsonb_build_array(jsonb_build_object('media_key', $1::text)))) AS "used!""#, &key)
            .fetch_one(&mut *tx)
            .await?;
        if !used {
            unused.push(MediaKey::parse(&key)?);
        }
    }
    // Rows first: a file whose delete fails is only left behind, never referenced while gone.
    tx.commit().await?;
    for key in &unused {
        store.delete(key).await?;
    }
    Ok(unused.len())
}

/// Expires old media every `interval` until `shutdown`.
pub async fn run(
    db: PgPool,
    store: Arc<dyn MediaStore>,
    days: u32,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        match expire_once(&db, &store, days).await {
            Ok(0) => {}
            Ok(files) => tracing::info!(files, days, "deleted media past its retention"),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "media retention pass failed")
            }
        }
    }
}
