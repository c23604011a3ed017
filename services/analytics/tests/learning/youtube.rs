//! YouTube Analytics `reports.query`: the query sent, columns mapped by name whatever their
//! order, videos without data, chunks of 500 ids, and every class of Google error.

use std::time::Duration;

use analytics::collect::{youtube, PullError, VideoMetrics};

use super::fake_youtube::{self, Stats, TOKEN};
use super::{day, dead_base_url, failure, http, ids, TestResult};

fn seeded(fake: &fake_youtube::FakeYoutube) {
    fake.with(|state| {
        state.videos.insert(
            "vidA".into(),
            Stats {
                views: 1200,
                minutes: 310.4,
                average_duration: 15.0,
                average_percentage: 62.5,
                likes: 80,
                comments: 9,
                shares: 4,
            },
        );
        state.videos.insert(
            "vidB".into(),
            Stats {
                views: 7,
                minutes: 0.5,
                average_duration: 4.0,
                average_percentage: 13.25,
                likes: 1,
                comments: 0,
                shares: 0,
            },
        );
    });
}

fn wanted() -> Vec<String> {
    vec!["vidA".into(), "vidB".into(), "vidC".into()]
}

#[tokio::test]
async fn totals_are_mapped_and_videos_without_data_are_zero() -> TestResult {
    let fake = fake_youtube::start().await?;
    seeded(&fake);
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 28)?);
    let metrics =
        youtube::video_metrics(&http(), &fake.base_url, TOKEN, &wanted(), start, end).await?;

    assert_eq!(
        metrics["vidA"],
        VideoMetrics {
            views: 1200,
            likes: 80,
            comments: 9,
            shares: 4,
            watch_seconds: Some(18_624),
            average_view_percentage: Some(62.5),
            average_watch_seconds: Some(15.0),
            impressions: None,
            click_rate: None,
        }
    );
    assert_eq!(metrics["vidB"].watch_seconds, Some(30));
    assert_eq!(metrics["vidB"].average_view_percentage, Some(13.25));
    let absent = &metrics["vidC"];
    assert_eq!(
        (absent.views, absent.likes, absent.comments, absent.shares),
        (0, 0, 0, 0)
    );
    assert_eq!(absent.watch_seconds, Some(0));
    assert_eq!(absent.average_view_percentage, None);
    assert_eq!(absent.average_watch_seconds, None);

    let calls = fake.received();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.path, "/v2/reports");
    assert_eq!(
        call.authorization.as_deref(),
        Some("Bearer ya29.analytics-token")
    );
    assert_eq!(call.param("ids"), Some("channel==MINE"));
    assert_eq!(call.param("startDate"), Some("2026-06-01"));
    assert_eq!(call.param("endDate"), Some("2026-06-28"));
    assert_eq!(
        call.param("metrics"),
        Some("views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage,likes,comments,shares")
    );
    assert_eq!(call.param("dimensions"), Some("video"));
    assert_eq!(call.param("filters"), Some("video==vidA,vidB,vidC"));
    Ok(())
}

#[tokio::test]
async fn columns_are_found_by_name_in_any_order() -> TestResult {
    let fake = fake_youtube::start().await?;
    seeded(&fake);
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 28)?);
    let in_order =
        youtube::video_metrics(&http(), &fake.base_url, TOKEN, &wanted(), start, end).await?;
    fake.with(|state| state.reversed_columns = true);
    let reversed =
        youtube::video_metrics(&http(), &fake.base_url, TOKEN, &wanted(), start, end).await?;
    assert_eq!(in_order, reversed);
    assert_eq!(reversed["vidA"].views, 1200);
    assert_eq!(reversed["vidA"].shares, 4);
    Ok(())
}

#[tokio::test]
async fn more_than_500_ids_are_asked_in_two_chunks() -> TestResult {
    let fake = fake_youtube::start().await?;
    let many = ids("v", 501);
    fake.with(|state| {
        for (i, id) in many.iter().enumerate() {
            let views = i as i64 + 1;
            state.videos.insert(
                id.clone(),
                Stats {
                    views,
                    ..Stats::default()
                },
            );
        }
    });
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 2)?);
    let metrics = youtube::video_metrics(&http(), &fake.base_url, TOKEN, &many, start, end).await?;
    assert_eq!(metrics.len(), 501);
    assert_eq!(metrics["v0000"].views, 1);
    assert_eq!(metrics["v0500"].views, 501);
    let calls = fake.received();
    assert_eq!(calls.len(), 2);
    let listed = |i: usize| calls[i].param("filters").map(|f| f.split(',').count());
    assert_eq!(listed(0), Some(500));
    assert_eq!(calls[1].param("filters"), Some("video==v0500"));
    Ok(())
}

#[tokio::test]
async fn repeated_ids_are_asked_once() -> TestResult {
    let fake = fake_youtube::start().await?;
    seeded(&fake);
    let twice = vec!["vidA".to_owned(), "vidA".to_owned(), "vidB".to_owned()];
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 2)?);
    let metrics =
        youtube::video_metrics(&http(), &fake.base_url, TOKEN, &twice, start, end).await?;
    assert_eq!(metrics.len(), 2);
    assert_eq!(
        fake.received()[0].param("filters"),
        Some("video==vidA,vidB")
    );
    Ok(())
}

async fn pull_after(
    fault: Option<super::fake_server::Canned>,
    token: &str,
) -> Result<PullError, Box<dyn std::error::Error>> {
    let fake = fake_youtube::start().await?;
    seeded(&fake);
    if let Some(fault) = fault {
        fake.inject(fault);
    }
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 2)?);
    failure(youtube::video_metrics(&http(), &fake.base_url, token, &wanted(), start, end).await)
}

#[tokio::test]
async fn a_spent_quota_waits_for_the_caller() -> TestResult {
    let error = pull_after(Some(fake_youtube::quota_exceeded()), TOKEN).await?;
    assert!(
        matches!(
            error,
            PullError::Quota {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    let daily = fake_youtube::google_error(403, "dailyLimitExceeded", "Daily Limit Exceeded");
    let error = pull_after(Some(daily), TOKEN).await?;
    assert!(matches!(error, PullError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn rate_limits_are_transient_and_honour_retry_after() -> TestResult {
    let error = pull_after(Some(fake_youtube::rate_limited("5")), TOKEN).await?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(5)),
        "{error:?}"
    );
    let error = pull_after(Some(fake_youtube::too_many_requests("7")), TOKEN).await?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(7)),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn server_errors_are_transient() -> TestResult {
    let error = pull_after(Some(fake_youtube::backend_error()), TOKEN).await?;
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
    let error = failure(
        youtube::video_metrics(
            &http(),
            &dead_base_url().await?,
            TOKEN,
            &wanted(),
            day(2026, 6, 1)?,
            day(2026, 6, 2)?,
        )
        .await,
    )?;
    assert!(error.is_transient(), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_refused_token_asks_for_a_fresh_one() -> TestResult {
    let error = pull_after(None, "ya29.expired").await?;
    assert!(matches!(error, PullError::Refused(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn other_client_errors_are_permanent_with_googles_message() -> TestResult {
    let bad = fake_youtube::google_error(400, "invalidValue", "Invalid value for filters: video==");
    let error = pull_after(Some(bad), TOKEN).await?;
    assert!(
        matches!(&error, PullError::Permanent(m) if m.contains("invalidValue") && m.contains("Invalid value for filters")),
        "{error:?}"
    );
    let html = super::fake_server::Canned::text(200, "text/html", "<html>proxy</html>");
    let error = pull_after(Some(html), TOKEN).await?;
    assert!(matches!(error, PullError::Permanent(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_failing_second_chunk_fails_the_pull() -> TestResult {
    let fake = fake_youtube::start().await?;
    fake.inject(super::fake_server::Canned::json(
        200,
        &serde_json::json!({"kind": "youtubeAnalytics#resultTable", "columnHeaders": [{"name": "video"}, {"name": "views"}, {"name": "estimatedMinutesWatched"}, {"name": "averageViewDuration"}, {"name": "averageViewPercentage"}, {"name": "likes"}, {"name": "comments"}, {"name": "shares"}]}),
    ));
    fake.inject(fake_youtube::quota_exceeded());
    let many = ids("v", 600);
    let error = failure(
        youtube::video_metrics(
            &http(),
            &fake.base_url,
            TOKEN,
            &many,
            day(2026, 6, 1)?,
            day(2026, 6, 2)?,
        )
        .await,
    )?;
    assert!(matches!(error, PullError::Quota { .. }), "{error:?}");
    assert_eq!(fake.received().len(), 2);
    Ok(())
}

#[tokio::test]
async fn no_ids_make_no_calls() -> TestResult {
    let fake = fake_youtube::start().await?;
    let (start, end) = (day(2026, 6, 1)?, day(2026, 6, 2)?);
    let metrics = youtube::video_metrics(&http(), &fake.base_url, TOKEN, &[], start, end).await?;
    assert!(metrics.is_empty());
    let tiktok =
        analytics::collect::tiktok::video_metrics(&http(), &fake.base_url, TOKEN, &[]).await?;
    assert!(tiktok.is_empty());
    assert!(fake.received().is_empty());
    Ok(())
}
