//! Instagram and Facebook reel insights: metrics asked for, milliseconds turned into seconds,
//! missing metrics and missing insights, and every class of Graph error.

use std::time::Duration;

use analytics::collect::{meta, PullError, VideoMetrics};
use serde_json::json;

use super::fake_meta::{self, add_media, graph_error, TOKEN};
use super::{dead_base_url, failure, http, TestResult};

const VERSION: &str = "v21.0";

fn seeded(fake: &fake_meta::FakeMeta) {
    add_media(
        fake,
        "17900000000000001",
        &[
            ("views", json!(4321)),
            ("likes", json!(210)),
            ("comments", json!(14)),
            ("shares", json!(33)),
            ("ig_reels_avg_watch_time", json!(3755)),
            ("ig_reels_video_view_total_time", json!(16_225_355)),
        ],
    );
    add_media(
        fake,
        "1200000000000002",
        &[
            ("blue_reels_play_count", json!(980)),
            ("post_video_avg_time_watched", json!(6400)),
            ("post_video_view_time", json!(6_272_300)),
            (
                "post_video_likes_by_reaction_type",
                json!({"REACTION_LIKE": 40, "REACTION_LOVE": 7}),
            ),
            (
                "post_video_social_actions",
                json!({"COMMENT": 5, "SHARE": 11}),
            ),
        ],
    );
}

#[tokio::test]
async fn instagram_insights_are_read_with_watch_times_in_seconds() -> TestResult {
    let fake = fake_meta::start().await?;
    seeded(&fake);
    let metrics =
        meta::instagram_metrics(&http(), &fake.base_url, VERSION, TOKEN, "17900000000000001")
            .await?;
    assert_eq!(
        metrics,
        VideoMetrics {
            views: 4321,
            likes: 210,
            comments: 14,
            shares: 33,
            watch_seconds: Some(16_225),
            average_view_percentage: None,
            average_watch_seconds: Some(3.755),
            impressions: None,
            click_rate: None,
        }
    );
    let completion = metrics.completion_percent(7.51).ok_or("no completion")?;
    assert!((completion - 50.0).abs() < 1e-9, "{completion}");
    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/v21.0/17900000000000001/insights");
    assert_eq!(
        calls[0].param("metric"),
        Some("views,likes,comments,shares,ig_reels_avg_watch_time,ig_reels_video_view_total_time")
    );
    assert_eq!(calls[0].param("access_token"), Some(TOKEN));
    assert_eq!(calls[0].authorization, None);

    fake.with(|state| state.total_value_style = true);
    let again =
        meta::instagram_metrics(&http(), &fake.base_url, VERSION, TOKEN, "17900000000000001")
            .await?;
    assert_eq!(again, metrics);
    Ok(())
}

#[tokio::test]
async fn missing_instagram_metrics_are_zero_or_unknown_and_no_insights_is_transient() -> TestResult
{
    let fake = fake_meta::start().await?;
    add_media(
        &fake,
        "17900000000000009",
        &[("views", json!(12)), ("likes", json!(2))],
    );
    add_media(&fake, "17900000000000010", &[]);
    let partial =
        meta::instagram_metrics(&http(), &fake.base_url, VERSION, TOKEN, "17900000000000009")
            .await?;
    assert_eq!(
        (
            partial.views,
            partial.likes,
            partial.comments,
            partial.shares
        ),
        (12, 2, 0, 0)
    );
    assert_eq!(
        (partial.watch_seconds, partial.average_watch_seconds),
        (None, None)
    );
    let error = failure(
        meta::instagram_metrics(&http(), &fake.base_url, VERSION, TOKEN, "17900000000000010").await,
    )?;
    assert!(
        matches!(
            error,
            PullError::Transient {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn facebook_reel_insights_are_read() -> TestResult {
    let fake = fake_meta::start().await?;
    seeded(&fake);
    let metrics =
        meta::facebook_metrics(&http(), &fake.base_url, VERSION, TOKEN, "1200000000000002").await?;
    assert_eq!(
        metrics,
        VideoMetrics {
            views: 980,
            likes: 47,
            comments: 5,
            shares: 11,
            watch_seconds: Some(6272),
            average_view_percentage: None,
            average_watch_seconds: Some(6.4),
            impressions: None,
            click_rate: None,
        }
    );
    let calls = fake.received();
    assert_eq!(calls[0].path, "/v21.0/1200000000000002/video_insights");
    assert_eq!(
        calls[0].param("metric"),
        Some("blue_reels_play_count,post_video_avg_time_watched,post_video_view_time,post_video_likes_by_reaction_type,post_video_social_actions")
    );
    assert_eq!(calls[0].param("access_token"), Some(TOKEN));
    Ok(())
}

async fn pull_after(
    fault: Option<super::fake_server::Canned>,
    token: &str,
    media: &str,
) -> Result<PullError, Box<dyn std::error::Error>> {
    let fake = fake_meta::start().await?;
    seeded(&fake);
    if let Some(fault) = fault {
        fake.inject(fault);
    }
    failure(meta::facebook_metrics(&http(), &fake.base_url, VERSION, token, media).await)
}

const REEL: &str = "1200000000000002";

#[tokio::test]
async fn an_invalid_token_is_refused() -> TestResult {
    let error = pull_after(None, "EAAG-expired", REEL).await?;
    assert!(
        matches!(&error, PullError::Refused(m) if m.contains("code 190")),
        "{error:?}"
    );
    let error = pull_after(Some(fake_meta::invalid_token()), TOKEN, REEL).await?;
    assert!(matches!(error, PullError::Refused(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn rate_limits_wait_as_long_as_meta_asks() -> TestResult {
    let usage = r#"{"1200":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#;
    let limited = graph_error(400, 4, 0, true, "(#4) Application request limit reached")
        .with_header("x-business-use-case-usage", usage);
    let error = pull_after(Some(limited), TOKEN, REEL).await?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(180)),
        "{error:?}"
    );
    for code in [17, 32, 613, 80_001] {
        let error =
            pull_after(Some(graph_error(400, code, 0, false, "limit")), TOKEN, REEL).await?;
        assert!(error.is_transient(), "{code}: {error:?}");
    }
    let flagged = graph_error(400, 2, 0, true, "An unexpected error has occurred.");
    assert!(pull_after(Some(flagged), TOKEN, REEL).await?.is_transient());
    let server =
        graph_error(500, 1, 0, false, "An unknown error occurred").with_header("retry-after", "9");
    let error = pull_after(Some(server), TOKEN, REEL).await?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(9)),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn other_graph_errors_are_permanent_with_metas_message() -> TestResult {
    let error = pull_after(None, TOKEN, "404404404").await?;
    assert!(
        matches!(&error, PullError::Permanent(m) if m.contains("code 100/33") && m.contains("does not exist")),
        "{error:?}"
    );
    let few = graph_error(
        400,
        10,
        0,
        false,
        "(#10) Not enough viewers for the media to show insights",
    );
    let error = pull_after(Some(few), TOKEN, REEL).await?;
    assert!(matches!(error, PullError::Permanent(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn an_unreachable_graph_is_transient_and_the_token_stays_out_of_the_message() -> TestResult {
    let dead = dead_base_url().await?;
    let error = failure(
        meta::instagram_metrics(&http(), &dead, VERSION, TOKEN, "17900000000000001").await,
    )?;
    assert!(error.is_transient(), "{error:?}");
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(!format!("{error:?}").contains(TOKEN), "{error:?}");
    Ok(())
}
