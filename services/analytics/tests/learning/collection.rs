//! Collection: `publication.published` starts tracking (once, however often it is delivered),
//! pulls follow the decaying cadence of an injected clock, a re-pull changes nothing, unknown
//! completion stays unknown, a refused token is replaced once, a spent quota defers.

use chrono::{Duration, Utc};
use serde_json::json;
use shared::bus::Envelope;

use super::{
    fake_tiktok, fake_youtube,
    harness::{Harness, Video},
};

fn youtube_video(post_id: &str, published_at: chrono::DateTime<Utc>) -> Video<'_> {
    Video {
        tenant: "acme",
        platform: "youtube",
        post_id,
        params: json!({ "topic": "lighthouses", "genre": "drama", "tone": "calm", "length_seconds": 45, "language": "en" }),
        duration_ms: 45_000,
        published_at,
    }
}

async fn snapshot_count(harness: &Harness, publication_id: uuid::Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM analytics.metric_snapshots WHERE publication_id = $1",
    )
    .bind(publication_id)
    .fetch_one(&harness.app.ctx.db)
    .await?)
}

#[tokio::test]
async fn pulls_follow_the_decaying_cadence_and_attribute_the_run() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let published = Utc::now();
    harness.youtube.with(|state| {
        state.videos.insert(
            "yt-1".into(),
            fake_youtube::Stats {
                views: 1_000,
                minutes: 300.0,
                average_duration: 18.0,
                average_percentage: 40.0,
                likes: 50,
                comments: 5,
                shares: 7,
            },
        )
    });
    let (publication, run) = harness.publish(youtube_video("yt-1", published)).await?;
    // Delivered again (a redelivery, or the adopted fact of a retried publish step): no change.
    harness
        .send(Envelope::new(
            "publication.published",
            Some(run),
            json!({ "publication_id": publication, "account_id": uuid::Uuid::now_v7(), "platform": "youtube", "platform_post_id": "yt-1" }),
        ))
        .await?;
    let puller = harness.puller()?;
    let at = |hours: i64| published + Duration::hours(hours) + Duration::seconds(1);

    assert_eq!(
        puller.pull_once(published + Duration::minutes(30)).await?,
        0,
        "nothing is due before the first hour"
    );
    assert_eq!(puller.pull_once(at(1)).await?, 1);
    assert_eq!(
        puller.pull_once(at(1)).await?,
        0,
        "a done pull is not pulled again"
    );
    let (status, report) = harness
        .get(
            &format!("/v1/analytics/videos/{publication}"),
            shared::auth::Role::Viewer,
            "acme",
        )
        .await?;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["run_id"], json!(run));
    assert_eq!(report["tone"], "calm");
    assert_eq!(report["voice"], "offline/en");
    assert_eq!(report["pulls"].as_array().map(Vec::len), Some(6));
    let first = &report["snapshots"][0];
    assert_eq!(first["views"], 1_000);
    assert_eq!(first["watch_seconds"], 18_000);
    assert_eq!(first["completion_rate"], 0.4);

    assert_eq!(puller.pull_once(at(6)).await?, 1);
    assert_eq!(puller.pull_once(at(23)).await?, 0);
    // Four weeks later the four remaining pulls are due at once: one call, one snapshot for the
    // latest; the earlier ones are superseded.
    assert_eq!(puller.pull_once(at(24 * 28)).await?, 4);
    assert_eq!(snapshot_count(&harness, publication).await?, 3);
    let states: Vec<(i16, String)> = sqlx::query_as(
        "SELECT ordinal, state FROM analytics.pulls WHERE publication_id = $1 ORDER BY ordinal",
    )
    .bind(publication)
    .fetch_all(&harness.app.ctx.db)
    .await?;
    assert!(
        states.iter().all(|(_, state)| state == "done"),
        "{states:?}"
    );
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.videos")
        .fetch_one(&harness.app.ctx.db)
        .await?;
    assert_eq!(videos, 1, "the second delivery tracked nothing new");
    let calls = harness.youtube.received().len();
    assert_eq!(calls, 3, "one platform call per round");
    harness.app.stop().await
}

#[tokio::test]
async fn a_repeated_pull_changes_nothing() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let published = Utc::now();
    harness.youtube.with(|state| {
        state.videos.insert(
            "yt-2".into(),
            fake_youtube::Stats {
                views: 10,
                average_percentage: 50.0,
                ..Default::default()
            },
        )
    });
    let (publication, _) = harness.publish(youtube_video("yt-2", published)).await?;
    let puller = harness.puller()?;
    assert_eq!(puller.pull_once(published + Duration::hours(2)).await?, 1);
    // The worker died after the platform answered but the pull was handed out again.
    sqlx::query("UPDATE analytics.pulls SET state = 'due', lease_until = NULL WHERE publication_id = $1 AND ordinal = 0")
        .bind(publication)
        .execute(&harness.app.ctx.db)
        .await?;
    harness.youtube.with(|state| {
        state.videos.insert(
            "yt-2".into(),
            fake_youtube::Stats {
                views: 99,
                average_percentage: 50.0,
                ..Default::default()
            },
        )
    });
    assert_eq!(puller.pull_once(published + Duration::hours(2)).await?, 1);
    let views: Vec<i64> = sqlx::query_scalar(
        "SELECT views FROM analytics.metric_snapshots WHERE publication_id = $1",
    )
    .bind(publication)
    .fetch_all(&harness.app.ctx.db)
    .await?;
    assert_eq!(views, vec![10], "the pull's first snapshot stands");
    harness.app.stop().await
}

#[tokio::test]
async fn tiktok_completion_is_unknown_never_zero() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let published = Utc::now();
    harness.tiktok.with(|state| {
        state.videos.insert(
            "7300000000000000001".into(),
            fake_tiktok::Counts {
                views: 500,
                likes: 40,
                comments: 3,
                shares: 2,
            },
        )
    });
    let video = Video {
        platform: "tiktok",
        post_id: "7300000000000000001",
        ..youtube_video("", published)
    };
    let (publication, _) = harness.publish(video).await?;
    assert_eq!(
        harness
            .puller()?
            .pull_once(published + Duration::hours(1))
            .await?,
        1
    );
    let (views, watch, completion): (i64, Option<i64>, Option<f64>) =
        sqlx::query_as("SELECT views, watch_seconds, completion_rate FROM analytics.metric_snapshots WHERE publication_id = $1")
            .bind(publication)
            .fetch_one(&harness.app.ctx.db)
            .await?;
    assert_eq!((views, watch, completion), (500, None, None));
    let (_, summary) = harness
        .get(
            "/v1/analytics/summary?group_by=platform",
            shared::auth::Role::Viewer,
            "acme",
        )
        .await?;
    assert_eq!(
        summary["rows"][0]["completion_rate"],
        serde_json::Value::Null
    );
    assert_eq!(summary["rows"][0]["completion_known"], 0);
    // A video TikTok leaves out (deleted, made private) gets no invented zeros.
    let gone = Video {
        platform: "tiktok",
        post_id: "7300000000000000999",
        ..youtube_video("", published)
    };
    let (gone, _) = harness.publish(gone).await?;
    assert_eq!(
        harness
            .puller()?
            .pull_once(published + Duration::hours(1))
            .await?,
        1
    );
    assert_eq!(snapshot_count(&harness, gone).await?, 0);
    let (state, error): (String, Option<String>) = sqlx::query_as(
        "SELECT state, error FROM analytics.pulls WHERE publication_id = $1 AND ordinal = 0",
    )
    .bind(gone)
    .fetch_one(&harness.app.ctx.db)
    .await?;
    assert_eq!(state, "done");
    assert!(error.unwrap_or_default().contains("reported nothing"));
    harness.app.stop().await
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_a_spent_quota_defers() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let published = Utc::now();
    harness.youtube.with(|state| {
        state.videos.insert(
            "yt-3".into(),
            fake_youtube::Stats {
                views: 7,
                average_percentage: 30.0,
                ..Default::default()
            },
        )
    });
    let (publication, _) = harness.publish(youtube_video("yt-3", published)).await?;
    let puller = harness.puller()?;

    harness.youtube.inject(fake_youtube::unauthorized());
    assert_eq!(puller.pull_once(published + Duration::hours(1)).await?, 1);
    assert_eq!(
        snapshot_count(&harness, publication).await?,
        1,
        "the second token worked"
    );
    let token_calls: Vec<serde_json::Value> = harness
        .fleet
        .received()
        .into_iter()
        .filter(|call| call.path.ends_with("/token"))
        .map(|call| call.body)
        .collect();
    assert_eq!(token_calls.len(), 2);
    assert_eq!(
        token_calls[1]["refused"],
        fake_youtube::TOKEN,
        "the refused token is named"
    );

    harness.youtube.inject(fake_youtube::quota_exceeded());
    let round = published + Duration::hours(6);
    assert_eq!(puller.pull_once(round).await?, 1);
    let (state, attempts, error, due_at): (String, i32, Option<String>, chrono::DateTime<Utc>) = sqlx::query_as(
        "SELECT state, attempts, error, due_at FROM analytics.pulls WHERE publication_id = $1 AND ordinal = 1",
    )
    .bind(publication)
    .fetch_one(&harness.app.ctx.db)
    .await?;
    assert_eq!((state.as_str(), attempts), ("due", 1));
    assert!(error.unwrap_or_default().contains("quota"));
    assert!(
        due_at >= round + Duration::seconds(59),
        "deferred by the backoff, not retried at once"
    );
    assert_eq!(puller.pull_once(round).await?, 0);
    assert_eq!(puller.pull_once(due_at).await?, 1);
    assert_eq!(snapshot_count(&harness, publication).await?, 2);
    harness.app.stop().await
}
