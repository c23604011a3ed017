//! TikTok `video/query`: the request sent, videos TikTok does not return, chunks of 20 ids, and
//! every error class of the envelope (including refusals that arrive with a 200).

use std::time::Duration;

use analytics::collect::{tiktok, PullError, VideoMetrics};
use serde_json::json;

use super::fake_tiktok::{self, envelope, Counts, TOKEN};
use super::{dead_base_url, failure, http, ids, TestResult};

fn seeded(fake: &fake_tiktok::FakeTiktok) {
    fake.with(|state| {
        state.videos.insert(
            "7300000000000000001".into(),
            Counts {
                views: 5400,
                likes: 320,
                comments: 12,
                shares: 31,
            },
        );
        state
            .videos
            .insert("7300000000000000002".into(), Counts::default());
    });
}

fn wanted() -> Vec<String> {
    vec![
        "7300000000000000001".into(),
        "7300000000000000002".into(),
        "7399999999999999999".into(),
    ]
}

#[tokio::test]
async fn counts_are_read_and_missing_videos_left_out() -> TestResult {
    let fake = fake_tiktok::start().await?;
    seeded(&fake);
    let metrics = tiktok::video_metrics(&http(), &fake.base_url, TOKEN, &wanted()).await?;
    assert_eq!(metrics.len(), 2);
    assert_eq!(
        metrics["7300000000000000001"],
        VideoMetrics {
            views: 5400,
            likes: 320,
            comments: 12,
            shares: 31,
            ..VideoMetrics::default()
        }
    );
    assert_eq!(metrics["7300000000000000002"].watch_seconds, None);
    assert_eq!(metrics["7300000000000000002"].average_view_percentage, None);
    assert!(!metrics.contains_key("7399999999999999999"));

    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].method.as_str(), calls[0].path.as_str()),
        ("POST", "/v2/video/query/")
    );
    assert_eq!(calls[0].bearer(), Some(TOKEN));
    assert_eq!(
        calls[0].param("fields"),
        Some("id,view_count,like_count,comment_count,share_count")
    );
    assert_eq!(calls[0].body, json!({"filters": {"video_ids": wanted()}}));
    Ok(())
}

#[tokio::test]
async fn more_than_20_ids_are_asked_in_two_chunks() -> TestResult {
    let fake = fake_tiktok::start().await?;
    let many = ids("73", 21);
    fake.with(|state| {
        for id in &many {
            state.videos.insert(
                id.clone(),
                Counts {
                    views: 1,
                    ..Counts::default()
                },
            );
        }
    });
    let metrics = tiktok::video_metrics(&http(), &fake.base_url, TOKEN, &many).await?;
    assert_eq!(metrics.len(), 21);
    let calls = fake.received();
    assert_eq!(calls.len(), 2);
    let sizes: Vec<usize> = calls
        .iter()
        .map(|c| {
            c.body["filters"]["video_ids"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, [20, 1]);
    Ok(())
}

async fn pull_after(
    fault: Option<super::fake_server::Canned>,
    token: &str,
) -> Result<PullError, Box<dyn std::error::Error>> {
    let fake = fake_tiktok::start().await?;
    seeded(&fake);
    if let Some(fault) = fault {
        fake.inject(fault);
    }
    failure(tiktok::video_metrics(&http(), &fake.base_url, token, &wanted()).await)
}

#[tokio::test]
async fn an_invalid_token_is_refused() -> TestResult {
    let error = pull_after(None, "act.expired").await?;
    assert!(
        matches!(&error, PullError::Refused(m) if m.contains("access_token_invalid")),
        "{error:?}"
    );
    // The same code inside a 200.
    let error = pull_after(
        Some(envelope(200, "access_token_invalid", "expired", json!({}))),
        TOKEN,
    )
    .await?;
    assert!(matches!(error, PullError::Refused(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_transient() -> TestResult {
    let error = pull_after(Some(fake_tiktok::rate_limited("3")), TOKEN).await?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(3)),
        "{error:?}"
    );
    let error = pull_after(Some(fake_tiktok::internal_error()), TOKEN).await?;
    assert!(error.is_transient(), "{error:?}");
    let error =
        failure(tiktok::video_metrics(&http(), &dead_base_url().await?, TOKEN, &wanted()).await)?;
    assert!(error.is_transient(), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn other_refusals_are_permanent() -> TestResult {
    let invalid = envelope(400, "invalid_params", "video_ids is invalid", json!({}));
    let error = pull_after(Some(invalid), TOKEN).await?;
    assert!(
        matches!(&error, PullError::Permanent(m) if m.contains("invalid_params")),
        "{error:?}"
    );
    let scope = envelope(
        401,
        "scope_not_authorized",
        "video.list is not granted",
        json!({}),
    );
    let error = pull_after(Some(scope), TOKEN).await?;
    assert!(matches!(error, PullError::Permanent(_)), "{error:?}");
    let in_a_200 = envelope(200, "unknown_error", "odd", json!({}));
    let error = pull_after(Some(in_a_200), TOKEN).await?;
    assert!(matches!(error, PullError::Permanent(_)), "{error:?}");
    Ok(())
}
