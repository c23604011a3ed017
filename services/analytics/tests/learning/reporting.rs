//! The Reporting API flow for thumbnail impressions: a job that exists, a job that has to be
//! created, no report yet, a regenerated day, jobs on a later page, and errors on the way.

use std::time::Duration;

use analytics::collect::{youtube, PullError};

use super::fake_reporting::{self, add_job, add_report, TOKEN};
use super::fake_server::Canned;
use super::fake_youtube::{backend_error, quota_exceeded};
use super::{day, failure, http, TestResult};

const HEADER: &str =
    "date,channel_id,video_id,video_thumbnail_impressions,video_thumbnail_impressions_ctr\n";

#[tokio::test]
async fn an_existing_jobs_report_is_summed_per_video() -> TestResult {
    let fake = fake_reporting::start().await?;
    let job = add_job(&fake, youtube::REACH_BASIC_REPORT_TYPE);
    let csv = format!(
        "{HEADER}20260610,UC1,vidA,1000,0.05\n20260610,UC1,vidA,3000,0.01\n20260610,UC1,vidB,200,0.1\n"
    );
    add_report(&fake, &job, day(2026, 6, 10)?, 30, &csv);
    add_report(
        &fake,
        &job,
        day(2026, 6, 11)?,
        30,
        &format!("{HEADER}20260611,UC1,vidA,9,0.5\n"),
    );

    let report = youtube::thumbnail_report(
        &http(),
        &fake.base_url,
        TOKEN,
        youtube::REACH_BASIC_REPORT_TYPE,
        day(2026, 6, 10)?,
    )
    .await?;
    assert_eq!(report.len(), 2);
    let (shown, rate) = report["vidA"];
    assert_eq!(shown, 4000);
    assert!((rate - 0.02).abs() < 1e-12, "{rate}");
    assert_eq!(report["vidB"].0, 200);
    assert!((report["vidB"].1 - 0.1).abs() < 1e-12);

    let calls = fake.received();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/jobs",
            &format!("/v1/jobs/{job}/reports"),
            "/v1/media/report-2"
        ]
    );
    assert!(calls.iter().all(|c| c.bearer() == Some(TOKEN)));
    assert_eq!(
        calls[1].param("startTimeAtOrAfter"),
        Some("2026-06-10T00:00:00Z")
    );
    assert_eq!(
        calls[1].param("startTimeBefore"),
        Some("2026-06-11T00:00:00Z")
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_job_is_created_and_nothing_is_reported_yet() -> TestResult {
    let fake = fake_reporting::start().await?;
    add_job(&fake, "channel_basic_a3");
    let (client, d) = (http(), day(2026, 6, 10)?);
    let pull = || {
        youtube::thumbnail_report(
            &client,
            &fake.base_url,
            TOKEN,
            youtube::REACH_BASIC_REPORT_TYPE,
            d,
        )
    };
    assert!(pull().await?.is_empty());
    let calls = fake.received();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[1].method.as_str(), calls[1].path.as_str()),
        ("POST", "/v1/jobs")
    );
    assert_eq!(
        calls[1].body["reportTypeId"],
        youtube::REACH_BASIC_REPORT_TYPE
    );
    assert_eq!(calls[1].body["name"], youtube::JOB_NAME);
    assert_eq!(fake.with(|state| state.jobs.len()), 2);

    // The next pull finds the new job, which has no report yet.
    assert!(pull().await?.is_empty());
    let calls = fake.received();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[3].path, "/v1/jobs/job-2/reports");
    Ok(())
}

#[tokio::test]
async fn no_report_for_the_day_yet_is_an_empty_answer() -> TestResult {
    let fake = fake_reporting::start().await?;
    let job = add_job(&fake, youtube::REACH_BASIC_REPORT_TYPE);
    add_report(
        &fake,
        &job,
        day(2026, 6, 9)?,
        30,
        &format!("{HEADER}20260609,UC1,vidA,5,0.2\n"),
    );
    let report = youtube::thumbnail_report(
        &http(),
        &fake.base_url,
        TOKEN,
        youtube::REACH_BASIC_REPORT_TYPE,
        day(2026, 6, 10)?,
    )
    .await?;
    assert!(report.is_empty());
    assert!(fake
        .received()
        .iter()
        .all(|c| !c.path.starts_with("/v1/media")));
    Ok(())
}

#[tokio::test]
async fn a_regenerated_day_uses_the_newest_report() -> TestResult {
    let fake = fake_reporting::start().await?;
    let job = add_job(&fake, youtube::REACH_BASIC_REPORT_TYPE);
    let d = day(2026, 6, 10)?;
    add_report(
        &fake,
        &job,
        d,
        200,
        &format!("{HEADER}20260610,UC1,vidA,80,0.25\n"),
    );
    add_report(
        &fake,
        &job,
        d,
        30,
        &format!("{HEADER}20260610,UC1,vidA,50,0.1\n"),
    );
    let report = youtube::thumbnail_report(
        &http(),
        &fake.base_url,
        TOKEN,
        youtube::REACH_BASIC_REPORT_TYPE,
        d,
    )
    .await?;
    assert_eq!(report["vidA"], (80, 0.25));
    Ok(())
}

#[tokio::test]
async fn jobs_are_looked_for_on_every_page() -> TestResult {
    let fake = fake_reporting::start().await?;
    add_job(&fake, "channel_basic_a3");
    add_job(&fake, "channel_traffic_source_a3");
    let job = add_job(&fake, youtube::REACH_BASIC_REPORT_TYPE);
    fake.with(|state| state.page_size = 1);
    let d = day(2026, 6, 10)?;
    add_report(
        &fake,
        &job,
        d,
        30,
        &format!("{HEADER}20260610,UC1,vidA,10,0.3\n"),
    );
    let report = youtube::thumbnail_report(
        &http(),
        &fake.base_url,
        TOKEN,
        youtube::REACH_BASIC_REPORT_TYPE,
        d,
    )
    .await?;
    assert_eq!(report["vidA"].0, 10);
    let calls = fake.received();
    let tokens: Vec<Option<&str>> = calls.iter().take(3).map(|c| c.param("pageToken")).collect();
    assert_eq!(tokens, [None, Some("1"), Some("2")]);
    assert!(calls.iter().all(|c| c.method != axum::http::Method::POST));
    Ok(())
}

#[tokio::test]
async fn errors_on_the_way_are_classified() -> TestResult {
    let fake = fake_reporting::start().await?;
    let job = add_job(&fake, youtube::REACH_BASIC_REPORT_TYPE);
    let d = day(2026, 6, 10)?;
    add_report(
        &fake,
        &job,
        d,
        30,
        &format!("{HEADER}20260610,UC1,vidA,10,0.3\n"),
    );
    let client = http();
    let pull = |token: &'static str| {
        youtube::thumbnail_report(
            &client,
            &fake.base_url,
            token,
            youtube::REACH_BASIC_REPORT_TYPE,
            d,
        )
    };

    let error = failure(pull("ya29.expired").await)?;
    assert!(matches!(error, PullError::Refused(_)), "{error:?}");

    fake.inject(quota_exceeded());
    let error = failure(pull(TOKEN).await)?;
    assert!(matches!(error, PullError::Quota { .. }), "{error:?}");

    // Jobs and reports list fine; the download fails.
    let listed = fake.received().len();
    fake.inject(Canned::json(200, &serde_json::json!({"jobs": [{"id": job, "reportTypeId": youtube::REACH_BASIC_REPORT_TYPE}]})));
    fake.inject(Canned::json(200, &serde_json::json!({"reports": [{"id": "r", "jobId": job, "startTime": "2026-06-10T07:00:00Z", "endTime": "2026-06-11T07:00:00Z", "createTime": "2026-06-12T07:00:00Z", "downloadUrl": format!("{}/v1/media/report-2", fake.base_url)}]})));
    fake.inject(backend_error().with_header("retry-after", "60"));
    let error = failure(pull(TOKEN).await)?;
    assert!(
        matches!(error, PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(60)),
        "{error:?}"
    );
    assert_eq!(fake.received().len(), listed + 3);

    fake.inject(Canned::json(200, &serde_json::json!({"jobs": [{"id": job, "reportTypeId": youtube::REACH_BASIC_REPORT_TYPE}]})));
    fake.inject(Canned::json(200, &serde_json::json!({"reports": [{"id": "r", "jobId": job, "startTime": "2026-06-10T07:00:00Z", "endTime": "2026-06-11T07:00:00Z", "downloadUrl": format!("{}/v1/media/report-2", fake.base_url)}]})));
    fake.inject(Canned::text(
        200,
        "text/csv",
        "date,video_id,views\n20260610,vidA,3\n",
    ));
    let error = failure(pull(TOKEN).await)?;
    assert!(
        matches!(&error, PullError::Permanent(m) if m.contains("video_thumbnail_impressions")),
        "{error:?}"
    );
    Ok(())
}
