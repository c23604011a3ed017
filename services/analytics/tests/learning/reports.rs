//! Reports against hand-computed fixtures: the summary's sums, means, engagement and
//! week-over-week trend per group, as JSON and CSV; tenants see only their own videos.

use chrono::{Duration, Utc};
use serde_json::json;
use shared::auth::Role;
use uuid::Uuid;

use super::harness::{seed, Harness, Video};

#[tokio::test]
async fn the_summary_matches_hand_computed_figures() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let db = &harness.app.ctx.db;
    let to = Utc::now();
    let day = |days: i64| to - Duration::days(days);
    let video = |tone: &str, platform: &'static str, published| Video {
        tenant: "acme",
        platform,
        post_id: "p",
        params: json!({ "genre": "drama", "tone": tone, "length_seconds": 45, "language": "en" }),
        duration_ms: 45_000,
        published_at: published,
    };
    // calm on YouTube: 100 views a fortnight ago, 300 a week ago, 1,000 now; 20+5+5 interactions.
    seed(
        db,
        &video("calm", "youtube", day(20)),
        Uuid::now_v7(),
        &[
            (day(14), 100, 1, 0, 0, Some(600), Some(0.5)),
            (day(7), 300, 5, 1, 1, Some(2_000), Some(0.6)),
            (day(0), 1_000, 20, 5, 5, Some(9_000), Some(0.7)),
        ],
    )
    .await?;
    // calm on TikTok: 500 views, no watch time, unknown completion.
    seed(
        db,
        &video("calm", "tiktok", day(3)),
        Uuid::now_v7(),
        &[(day(1), 500, 10, 0, 0, None, None)],
    )
    .await?;
    // dark on YouTube: 200 views a week ago and now (nothing gained this week).
    seed(
        db,
        &video("dark", "youtube", day(10)),
        Uuid::now_v7(),
        &[
            (day(8), 200, 2, 0, 0, Some(1_000), Some(0.3)),
            (day(0), 200, 2, 0, 0, Some(1_000), Some(0.3)),
        ],
    )
    .await?;
    // Another tenant's video and one published outside the window count for nothing here.
    seed(
        db,
        &Video {
            tenant: "other",
            ..video("calm", "youtube", day(2))
        },
        Uuid::now_v7(),
        &[(day(1), 9_999, 0, 0, 0, None, None)],
    )
    .await?;
    seed(
        db,
        &video("calm", "youtube", day(40)),
        Uuid::now_v7(),
        &[(day(30), 7_777, 0, 0, 0, None, None)],
    )
    .await?;

    let query = format!(
        "/v1/analytics/summary?group_by=tone&to={}",
        to.to_rfc3339().replace('+', "%2B")
    );
    let (status, summary) = harness.get(&query, Role::Viewer, "acme").await?;
    assert_eq!(status, 200, "{summary}");
    let rows = summary["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{summary}");
    let calm = &rows[0];
    assert_eq!(calm["group"], "calm");
    assert_eq!(calm["videos"], 2);
    assert_eq!(calm["views"], 1_500);
    assert_eq!(
        calm["watch_seconds"], 9_000,
        "only the YouTube video has watch time"
    );
    assert_eq!(
        calm["completion_rate"], 0.7,
        "the mean over videos whose completion is known"
    );
    assert_eq!(calm["completion_known"], 1);
    assert_eq!(calm["engagement_rate"], json!(40.0 / 1_500.0));
    // Gained in the last 7 days: (1,000 − 300) + (500 − 0) = 1,200; the 7 before: 300 − 100 = 200.
    assert_eq!(calm["views_last_7d"], 1_200);
    assert_eq!(calm["views_prior_7d"], 200);
    assert_eq!(calm["week_over_week"], 5.0);
    let dark = &rows[1];
    assert_eq!(
        (
            dark["group"].as_str(),
            dark["views_last_7d"].as_i64(),
            dark["views_prior_7d"].as_i64()
        ),
        (Some("dark"), Some(0), Some(200))
    );
    assert_eq!(dark["week_over_week"], -1.0);

    let reply = harness
        .app
        .client
        .get(harness.app.url(&format!("{query}&format=csv")))
        .bearer_auth(harness.app.token(Role::Viewer, "acme"))
        .send()
        .await?;
    assert_eq!(
        reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let csv = reply.text().await?;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0]
            .starts_with("group,videos,views,likes,comments,shares,watch_seconds,completion_rate"),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("calm,2,1500,30,5,5,9000,0.7,1,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("dark,1,200,2,0,0,1000,0.3,1,"),
        "{csv}"
    );

    let (status, other) = harness
        .get(
            "/v1/analytics/summary?group_by=platform&tenant=acme",
            Role::Viewer,
            "other",
        )
        .await?;
    assert_eq!(status, 403, "{other}");
    let (status, refused) = harness
        .get(
            "/v1/analytics/summary?group_by=colour",
            Role::Viewer,
            "acme",
        )
        .await?;
    assert_eq!(status, 422);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("group_by"),
        "{refused}"
    );
    harness.app.stop().await
}

#[tokio::test]
async fn another_tenants_video_is_not_found() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let video = Video {
        tenant: "acme",
        platform: "youtube",
        post_id: "p",
        params: json!({}),
        duration_ms: 1_000,
        published_at: Utc::now(),
    };
    let publication = seed(&harness.app.ctx.db, &video, Uuid::now_v7(), &[]).await?;
    let path = format!("/v1/analytics/videos/{publication}");
    assert_eq!(harness.get(&path, Role::Viewer, "acme").await?.0, 200);
    assert_eq!(harness.get(&path, Role::Viewer, "other").await?.0, 404);
    harness.app.stop().await
}

#[tokio::test]
async fn posting_slots_are_learned_once_a_platform_has_enough_videos() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let db = &harness.app.ctx.db;
    // Thursdays at 18:00 UTC draw 60 interactions a video, Mondays at 07:00 draw 5.
    let thursday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 26, 18, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("date"))?;
    let monday = thursday - Duration::days(3) - Duration::hours(11);
    let mut seeded = 0;
    for week in 0..15 {
        for (published, likes) in [(thursday, 60), (monday, 5)] {
            let published_at = published - Duration::weeks(week);
            let video = Video {
                tenant: "acme",
                platform: "tiktok",
                post_id: "p",
                params: json!({}),
                duration_ms: 30_000,
                published_at,
            };
            seed(
                db,
                &video,
                Uuid::now_v7(),
                &[(
                    published_at + Duration::days(2),
                    1_000,
                    likes,
                    0,
                    0,
                    None,
                    None,
                )],
            )
            .await?;
            seeded += 1;
            let (_, slots) = harness
                .get("/v1/analytics/slots?platform=tiktok", Role::Viewer, "acme")
                .await?;
            if seeded < 30 {
                assert_eq!(slots, json!([]), "too few videos to learn from ({seeded})");
            }
        }
    }
    let (status, slots) = harness
        .get("/v1/analytics/slots", Role::Viewer, "acme")
        .await?;
    assert_eq!(status, 200, "{slots}");
    assert_eq!(
        (
            slots[0]["platform"].as_str(),
            slots[0]["weekday"].as_i64(),
            slots[0]["time"].as_str()
        ),
        (Some("tiktok"), Some(4), Some("18:00"))
    );
    assert_eq!(
        (slots[1]["weekday"].as_i64(), slots[1]["hour"].as_i64()),
        (Some(1), Some(7))
    );
    assert_eq!(slots[0]["mean_interactions"], 60.0);
    harness.app.stop().await
}

async fn notifications(db: &sqlx::PgPool, kind: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'analytics.notification' AND envelope->'body'->>'kind' = $1 AND envelope->'body'->>'tenant' = 'acme'",
    )
    .bind(kind)
    .fetch_one(db)
    .await?)
}

#[tokio::test]
async fn a_completion_rate_below_the_floor_is_announced_once_and_its_recovery_too(
) -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let db = &harness.app.ctx.db;
    let now = Utc::now();
    let config = harness.config();
    for rate in [0.2, 0.25, 0.3] {
        let video = Video {
            tenant: "acme",
            platform: "youtube",
            post_id: "p",
            params: json!({}),
            duration_ms: 30_000,
            published_at: now - Duration::days(2),
        };
        seed(
            db,
            &video,
            Uuid::now_v7(),
            &[(now - Duration::days(1), 100, 0, 0, 0, Some(900), Some(rate))],
        )
        .await?;
    }
    // Two passes at once (two replicas), then another: one announcement.
    let (first, second) = tokio::join!(
        analytics::learner::learn_once(db, &config, now),
        analytics::learner::learn_once(db, &config, now)
    );
    first?;
    second?;
    analytics::learner::learn_once(db, &config, now).await?;
    assert_eq!(
        notifications(db, "completion.below_floor").await?,
        1,
        "announced once, not every pass"
    );
    for _ in 0..6 {
        let video = Video {
            tenant: "acme",
            platform: "youtube",
            post_id: "p",
            params: json!({}),
            duration_ms: 30_000,
            published_at: now - Duration::days(1),
        };
        seed(
            db,
            &video,
            Uuid::now_v7(),
            &[(
                now - Duration::hours(1),
                100,
                0,
                0,
                0,
                Some(2_000),
                Some(0.7),
            )],
        )
        .await?;
    }
    analytics::learner::learn_once(db, &config, now).await?;
    assert_eq!(notifications(db, "completion.recovered").await?, 1);
    assert_eq!(notifications(db, "completion.below_floor").await?, 1);
    harness.app.stop().await
}
