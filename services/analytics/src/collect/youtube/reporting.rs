//! The YouTube Reporting API, for what `reports.query` will not give: thumbnail impressions and
//! their click rate. A reporting job for the reach report type makes YouTube write one CSV per
//! day; we find (or create) the job, find the report covering a day and sum it per video.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use super::{classify, PLATFORM};
use crate::collect::{endpoint, send, shortened, PullError};

/// The channel report type carrying `video_thumbnail_impressions` and
/// `video_thumbnail_impressions_ctr` (dimensions `date, channel_id, video_id`), added to the
/// Reporting API on 2026-01-15.
pub const REACH_BASIC_REPORT_TYPE: &str = "channel_reach_basic_a1";
/// How many times a video's thumbnail was shown.
pub const IMPRESSIONS_COLUMN: &str = "video_thumbnail_impressions";
/// Clicks divided by impressions (a fraction).
pub const CTR_COLUMN: &str = "video_thumbnail_impressions_ctr";
/// The name given to a job we create.
pub const JOB_NAME: &str = "reelforge thumbnail reach";

/// A bound on pagination, so a misbehaving server cannot keep us listing forever.
const MAX_PAGES: usize = 50;

/// Thumbnail impressions and click rate per video on `for_date` (a US Pacific day), from the
/// daily report of `report_type_id` (normally [`REACH_BASIC_REPORT_TYPE`]).
///
/// Looks the job up with `GET {base_url}/v1/jobs` and creates it (`POST {base_url}/v1/jobs`) when
/// absent. No report for that day yet (a new job's first ones arrive about two days later) gives
/// an empty map: the caller tries again later. Where YouTube regenerated a day, the newest report
/// wins. Impressions are summed over a video's rows and the click rate is their
/// impressions-weighted mean; videos without impressions are left out (YouTube omits all-zero rows).
pub async fn thumbnail_report(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    report_type_id: &str,
    for_date: NaiveDate,
) -> Result<HashMap<String, (i64, f64)>, PullError> {
    let job_id = match find_job(http, base_url, access_token, report_type_id).await? {
        Some(job_id) => job_id,
        None => {
            create_job(http, base_url, access_token, report_type_id).await?;
            return Ok(HashMap::new());
        }
    };
    let Some(report) = find_report(http, base_url, access_token, &job_id, for_date).await? else {
        return Ok(HashMap::new());
    };
    let reply = send(http.get(&report.download_url).bearer_auth(access_token)).await?;
    if !reply.is_success() {
        return Err(classify(
            reply.status,
            &reply.headers,
            &reply.json_or_null(),
        ));
    }
    summed(&reply.body, for_date)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    id: String,
    #[serde(default)]
    report_type_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobList {
    #[serde(default)]
    jobs: Vec<Job>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    create_time: Option<DateTime<Utc>>,
    download_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportList {
    #[serde(default)]
    reports: Vec<Report>,
    next_page_token: Option<String>,
}

async fn find_job(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    report_type_id: &str,
) -> Result<Option<String>, PullError> {
    let url = endpoint(base_url, &["v1", "jobs"])?;
    let mut page_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = http.get(url.clone()).bearer_auth(access_token);
        if let Some(token) = &page_token {
            request = request.query(&[("pageToken", token)]);
        }
        let reply = send(request).await?;
        if !reply.is_success() {
            return Err(classify(
                reply.status,
                &reply.headers,
                &reply.json_or_null(),
            ));
        }
        let page: JobList = reply.decode(PLATFORM)?;
        if let Some(job) = page
            .jobs
            .into_iter()
            .find(|j| j.report_type_id == report_type_id)
        {
            return Ok(Some(job.id));
        }
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => page_token = Some(next),
            None => return Ok(None),
        }
    }
    Err(PullError::Permanent(format!(
        "{PLATFORM}: more than {MAX_PAGES} pages of reporting jobs"
    )))
}

async fn create_job(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    report_type_id: &str,
) -> Result<String, PullError> {
    let url = endpoint(base_url, &["v1", "jobs"])?;
    let body = serde_json::json!({ "reportTypeId": report_type_id, "name": JOB_NAME });
    let reply = send(http.post(url).bearer_auth(access_token).json(&body)).await?;
    if !reply.is_success() {
        return Err(classify(
            reply.status,
            &reply.headers,
            &reply.json_or_null(),
        ));
    }
    let job: Job = reply.decode(PLATFORM)?;
    Ok(job.id)
}

/// The newest report whose period covers `day`: its start falls on that day (UTC midnight to
/// midnight brackets the Pacific midnight YouTube starts a daily report at).
async fn find_report(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    job_id: &str,
    day: NaiveDate,
) -> Result<Option<Report>, PullError> {
    let url = endpoint(base_url, &["v1", "jobs", job_id, "reports"])?;
    let from = day.and_time(NaiveTime::MIN).and_utc();
    let until = from + chrono::Duration::days(1);
    let noon = from + chrono::Duration::hours(12);
    let stamp = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut best: Option<Report> = None;
    let mut page_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("startTimeAtOrAfter", stamp(from)),
            ("startTimeBefore", stamp(until)),
        ];
        if let Some(token) = &page_token {
            query.push(("pageToken", token.clone()));
        }
        let request = http
            .get(url.clone())
            .bearer_auth(access_token)
            .query(&query);
        let reply = send(request).await?;
        if !reply.is_success() {
            return Err(classify(
                reply.status,
                &reply.headers,
                &reply.json_or_null(),
            ));
        }
        let page: ReportList = reply.decode(PLATFORM)?;
        let covering = page
            .reports
            .into_iter()
            .filter(|r| r.start_time >= from && r.start_time < until && r.end_time > noon);
        for report in covering {
            if best
                .as_ref()
                .is_none_or(|b| report.create_time > b.create_time)
            {
                best = Some(report);
            }
        }
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => page_token = Some(next),
            None => return Ok(best),
        }
    }
    Err(PullError::Permanent(format!(
        "{PLATFORM}: more than {MAX_PAGES} pages of reports"
    )))
}

/// Per video: summed impressions and the impressions-weighted click rate of the rows for `day`.
fn summed(csv_text: &str, day: NaiveDate) -> Result<HashMap<String, (i64, f64)>, PullError> {
    let malformed = |what: String| PullError::Permanent(format!("{PLATFORM} reach report: {what}"));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| malformed(format!("unreadable header: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| {
        column(name).ok_or_else(|| {
            malformed(format!(
                "no {name:?} column in {:?}",
                shortened(&headers.iter().collect::<Vec<_>>().join(","))
            ))
        })
    };
    let (video, impressions, ctr) = (
        need("video_id")?,
        need(IMPRESSIONS_COLUMN)?,
        need(CTR_COLUMN)?,
    );
    let date = column("date");
    let wanted = [
        day.format("%Y%m%d").to_string(),
        day.format("%Y-%m-%d").to_string(),
    ];
    let mut totals: HashMap<String, (i64, f64)> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| malformed(format!("unreadable row: {e}")))?;
        if let Some(date) = date.and_then(|i| record.get(i)) {
            if !wanted.iter().any(|w| w == date) {
                continue;
            }
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        let shown: i64 = parse(field(impressions))
            .map(|n: f64| n.round() as i64)
            .ok_or_else(|| malformed(format!("impressions {:?}", field(impressions))))?;
        let rate: f64 = if field(ctr).is_empty() && shown == 0 {
            0.0
        } else {
            parse(field(ctr)).ok_or_else(|| malformed(format!("click rate {:?}", field(ctr))))?
        };
        let entry = totals.entry(field(video).to_owned()).or_default();
        entry.0 += shown;
        entry.1 += shown as f64 * rate;
    }
    Ok(totals
        .into_iter()
        .filter(|(id, (shown, _))| *shown > 0 && !id.is_empty())
        .map(|(id, (shown, clicks))| (id, (shown, clicks / shown as f64)))
        .collect())
}

fn parse(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn rows_of_the_day_are_summed_and_weighted() -> TestResult {
        let day = NaiveDate::from_ymd_opt(2026, 3, 4).ok_or("date")?;
        let csv = "date,channel_id,video_id,video_thumbnail_impressions,video_thumbnail_impressions_ctr\n\
                   20260304,UC1,a,100,0.1\n20260304,UC1,a,300,0.02\n20260303,UC1,a,999,0.9\n\
                   20260304,UC1,b,50,0.04\n20260304,UC1,c,0,\n";
        let totals = summed(csv, day)?;
        assert_eq!(totals.len(), 2);
        let (shown, rate) = totals["a"];
        assert_eq!(shown, 400);
        assert!((rate - 0.04).abs() < 1e-12);
        assert_eq!(totals["b"].0, 50);
        Ok(())
    }

    #[test]
    fn a_report_without_the_columns_is_refused() -> TestResult {
        let day = NaiveDate::from_ymd_opt(2026, 3, 4).ok_or("date")?;
        let result = summed("date,video_id,views\n20260304,a,3\n", day);
        assert!(matches!(result, Err(PullError::Permanent(m)) if m.contains(IMPRESSIONS_COLUMN)));
        Ok(())
    }
}
