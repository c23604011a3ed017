//! YouTube: per-video totals from the Analytics API (`reports.query`, v2), thumbnail impressions
//! and click rate from the Reporting API's daily bulk CSVs ([`thumbnail_report`]), and how Google's
//! error replies are classified.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::{count, endpoint, number, retry_after, send, PullError, VideoMetrics};

mod reporting;

pub use reporting::{
    thumbnail_report, CTR_COLUMN, IMPRESSIONS_COLUMN, JOB_NAME, REACH_BASIC_REPORT_TYPE,
};

/// The metrics asked of `reports.query`, in this order.
pub const ANALYTICS_METRICS: &str =
    "views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage,likes,comments,shares";

/// How many video ids one `filters=video==…` may list.
pub const MAX_IDS_PER_QUERY: usize = 500;

const PLATFORM: &str = "YouTube";

/// Totals for `video_ids` between `start` and `end` (inclusive, US Pacific dates) from
/// `GET {base_url}/v2/reports`, asked in chunks of [`MAX_IDS_PER_QUERY`].
///
/// Columns are found by their name in `columnHeaders`, never by position. YouTube leaves out the
/// videos that had no data in the range: they come back with zero counts and zero watch time,
/// and an unknown (`None`) view percentage and duration. Impressions and click rate are not in
/// this API (see [`thumbnail_report`]), so they stay `None`.
pub async fn video_metrics(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    video_ids: &[String],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<HashMap<String, VideoMetrics>, PullError> {
    let mut seen = HashSet::new();
    let ids: Vec<&str> = video_ids
        .iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect();
    let url = endpoint(base_url, &["v2", "reports"])?;
    let (start, end) = (
        start.format("%Y-%m-%d").to_string(),
        end.format("%Y-%m-%d").to_string(),
    );
    let mut metrics = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
        let filters = format!("video=={}", chunk.join(","));
        let request = http.get(url.clone()).bearer_auth(access_token).query(&[
            ("ids", "channel==MINE"),
            ("startDate", start.as_str()),
            ("endDate", end.as_str()),
            ("metrics", ANALYTICS_METRICS),
            ("dimensions", "video"),
            ("filters", filters.as_str()),
        ]);
        let reply = send(request).await?;
        if !reply.is_success() {
            return Err(classify(
                reply.status,
                &reply.headers,
                &reply.json_or_null(),
            ));
        }
        let table: ResultTable = reply.decode(PLATFORM)?;
        let columns = Columns::locate(&table.column_headers)?;
        for row in table.rows.unwrap_or_default() {
            let (video_id, row_metrics) = columns.read(&row)?;
            metrics.insert(video_id, row_metrics);
        }
        for id in chunk {
            metrics.entry((*id).to_owned()).or_insert_with(no_data);
        }
    }
    Ok(metrics)
}

/// A video `reports.query` had no row for: nothing watched in the range.
fn no_data() -> VideoMetrics {
    VideoMetrics {
        watch_seconds: Some(0),
        ..VideoMetrics::default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultTable {
    #[serde(default)]
    column_headers: Vec<ColumnHeader>,
    rows: Option<Vec<Vec<Value>>>,
}

#[derive(Deserialize)]
struct ColumnHeader {
    name: String,
}

/// Where each wanted column sits in a row.
struct Columns {
    video: usize,
    views: usize,
    minutes: usize,
    duration: usize,
    percentage: usize,
    likes: usize,
    comments: usize,
    shares: usize,
}

impl Columns {
    fn locate(headers: &[ColumnHeader]) -> Result<Columns, PullError> {
        let at = |name: &str| {
            headers
                .iter()
                .position(|header| header.name == name)
                .ok_or_else(|| {
                    PullError::Permanent(format!("{PLATFORM}: no {name:?} column in the report"))
                })
        };
        Ok(Columns {
            video: at("video")?,
            views: at("views")?,
            minutes: at("estimatedMinutesWatched")?,
            duration: at("averageViewDuration")?,
            percentage: at("averageViewPercentage")?,
            likes: at("likes")?,
            comments: at("comments")?,
            shares: at("shares")?,
        })
    }

    fn read(&self, row: &[Value]) -> Result<(String, VideoMetrics), PullError> {
        let cell = |index: usize| row.get(index).unwrap_or(&Value::Null);
        let video_id = cell(self.video)
            .as_str()
            .ok_or_else(|| PullError::Permanent(format!("{PLATFORM}: a row without a video id")))?
            .to_owned();
        let integer = |index: usize| {
            count(cell(index)).ok_or_else(|| {
                PullError::Permanent(format!(
                    "{PLATFORM}: not a number in a row of {video_id}: {}",
                    cell(index)
                ))
            })
        };
        let metrics = VideoMetrics {
            views: integer(self.views)?,
            likes: integer(self.likes)?,
            comments: integer(self.comments)?,
            shares: integer(self.shares)?,
            watch_seconds: number(cell(self.minutes))
                .map(|minutes| (minutes * 60.0).round() as i64),
            average_view_percentage: number(cell(self.percentage)),
            average_watch_seconds: number(cell(self.duration)),
            impressions: None,
            click_rate: None,
        };
        Ok((video_id, metrics))
    }
}

/// Classifies a Google error reply (`{"error": {code, message, errors: [{domain, reason}]}}`).
///
/// Spent daily quotas are [`PullError::Quota`] without a pause (they reset at midnight Pacific:
/// the caller's business); rate limits, 429 and 5xx are transient and honour `Retry-After`;
/// 401 refuses the token; any other 4xx is permanent, with Google's message.
pub fn classify(status: u16, headers: &HeaderMap, body: &Value) -> PullError {
    let error = &body["error"];
    let reason = error["errors"][0]["reason"]
        .as_str()
        .or_else(|| error["status"].as_str())
        .unwrap_or_default();
    let message = error["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .or_else(|| error.as_str())
        .unwrap_or("no message");
    let described = format!("{PLATFORM} {status} {reason}: {message}");
    match (status, reason) {
        (401, _) => PullError::Refused(described),
        (_, "quotaExceeded" | "dailyLimitExceeded") => PullError::Quota {
            reason: described,
            retry_after: None,
        },
        (_, "rateLimitExceeded" | "userRateLimitExceeded" | "backendError")
        | (429 | 500..=599, _) => PullError::transient(described, retry_after(headers)),
        _ => PullError::Permanent(described),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    fn google(status: u16, reason: &str) -> Value {
        json!({"error": {"code": status, "message": "m", "errors": [{"domain": "youtube", "reason": reason}]}})
    }

    #[test]
    fn google_errors_map_to_what_happens_next() {
        let none = HeaderMap::new();
        for reason in ["quotaExceeded", "dailyLimitExceeded"] {
            assert!(matches!(
                classify(403, &none, &google(403, reason)),
                PullError::Quota {
                    retry_after: None,
                    ..
                }
            ));
        }
        let mut pause = HeaderMap::new();
        pause.insert("retry-after", HeaderValue::from_static("30"));
        assert!(matches!(
            classify(403, &pause, &google(403, "rateLimitExceeded")),
            PullError::Transient { retry_after: Some(p), .. } if p.as_secs() == 30
        ));
        assert!(classify(429, &none, &json!({})).is_transient());
        assert!(classify(503, &none, &Value::Null).is_transient());
        assert!(matches!(
            classify(401, &none, &google(401, "authError")),
            PullError::Refused(_)
        ));
        assert!(matches!(
            classify(400, &none, &google(400, "badRequest")),
            PullError::Permanent(m) if m.contains("badRequest")
        ));
        assert!(matches!(
            classify(403, &none, &google(403, "forbidden")),
            PullError::Permanent(_)
        ));
    }
}
