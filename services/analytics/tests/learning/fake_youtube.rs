//! A fake YouTube Analytics API (v2 `reports.query`): it checks the query the way Google does
//! (channel, dates, known metrics, the `video` dimension, at most 500 ids in `filters`), answers
//! `{kind, columnHeaders: [{name, columnType, dataType}], rows}` with rows only for the videos it
//! has data for, and can send its columns in another order than asked.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::fake_server::{Canned, Fake, Received};

pub const TOKEN: &str = "ya29.analytics-token";

/// One video's totals, as the fake reports them.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub views: i64,
    pub minutes: f64,
    pub average_duration: f64,
    pub average_percentage: f64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

#[derive(Default)]
pub struct State {
    pub videos: HashMap<String, Stats>,
    /// Send the columns reversed (Google documents their order; the client must not rely on it).
    pub reversed_columns: bool,
}

pub type FakeYoutube = Fake<State>;

pub async fn start() -> std::io::Result<FakeYoutube> {
    Fake::start(State::default(), route).await
}

/// Google's error shape.
pub fn google_error(status: u16, reason: &str, message: &str) -> Canned {
    Canned::json(
        status,
        &json!({ "error": { "code": status, "message": message, "errors": [{ "message": message, "domain": "youtube", "reason": reason }] } }),
    )
}

pub fn quota_exceeded() -> Canned {
    google_error(
        403,
        "quotaExceeded",
        "The request cannot be completed because you have exceeded your quota.",
    )
}

pub fn rate_limited(retry_after: &str) -> Canned {
    google_error(403, "rateLimitExceeded", "Rate limit exceeded.")
        .with_header("retry-after", retry_after)
}

pub fn too_many_requests(retry_after: &str) -> Canned {
    google_error(429, "rateLimitExceeded", "Too many requests.")
        .with_header("retry-after", retry_after)
}

pub fn unauthorized() -> Canned {
    google_error(401, "authError", "Invalid Credentials")
}

pub fn backend_error() -> Canned {
    google_error(500, "backendError", "Backend Error")
}

fn route(state: &mut State, _base_url: &str, request: &Received) -> Canned {
    if request.bearer() != Some(TOKEN) {
        return unauthorized();
    }
    if request.method != axum::http::Method::GET || request.path != "/v2/reports" {
        return google_error(404, "notFound", "Not Found");
    }
    match query(state, request) {
        Ok(table) => Canned::json(200, &table),
        Err(message) => google_error(400, "badRequest", &message),
    }
}

const KNOWN: [(&str, &str); 7] = [
    ("views", "INTEGER"),
    ("estimatedMinutesWatched", "INTEGER"),
    ("averageViewDuration", "INTEGER"),
    ("averageViewPercentage", "FLOAT"),
    ("likes", "INTEGER"),
    ("comments", "INTEGER"),
    ("shares", "INTEGER"),
];

fn query(state: &State, request: &Received) -> Result<Value, String> {
    if request.param("ids") != Some("channel==MINE") {
        return Err("Required parameter ids is missing or not channel==MINE".into());
    }
    for date in ["startDate", "endDate"] {
        let value = request.param(date).unwrap_or_default();
        if chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err() {
            return Err(format!("Invalid value '{value}' for {date}"));
        }
    }
    if request.param("dimensions") != Some("video") {
        return Err("The query is not supported: dimensions must be video".into());
    }
    let metrics: Vec<&str> = request
        .param("metrics")
        .unwrap_or_default()
        .split(',')
        .collect();
    if let Some(unknown) = metrics
        .iter()
        .find(|m| !KNOWN.iter().any(|(name, _)| name == *m))
    {
        return Err(format!(
            "Unknown identifier ({unknown}) given in field parameters.metrics."
        ));
    }
    let ids: Vec<&str> = request
        .param("filters")
        .and_then(|f| f.strip_prefix("video=="))
        .ok_or("The query is not supported: filters must be video==…")?
        .split(',')
        .collect();
    if ids.len() > 500 {
        return Err("The filter video can have at most 500 values".into());
    }
    let mut columns =
        vec![json!({"name": "video", "columnType": "DIMENSION", "dataType": "STRING"})];
    for metric in &metrics {
        let data_type = KNOWN
            .iter()
            .find(|(name, _)| name == metric)
            .map_or("INTEGER", |(_, t)| *t);
        columns.push(json!({"name": metric, "columnType": "METRIC", "dataType": data_type}));
    }
    let mut rows: Vec<Vec<Value>> = ids
        .iter()
        .filter_map(|id| state.videos.get(*id).map(|stats| row(id, stats, &metrics)))
        .collect();
    if state.reversed_columns {
        columns.reverse();
        rows.iter_mut().for_each(|row| row.reverse());
    }
    let mut table = json!({ "kind": "youtubeAnalytics#resultTable", "columnHeaders": columns });
    if !rows.is_empty() {
        table["rows"] = json!(rows);
    }
    Ok(table)
}

fn row(id: &str, stats: &Stats, metrics: &[&str]) -> Vec<Value> {
    let mut row = vec![json!(id)];
    row.extend(metrics.iter().map(|metric| match *metric {
        "views" => json!(stats.views),
        "estimatedMinutesWatched" => json!(stats.minutes),
        "averageViewDuration" => json!(stats.average_duration),
        "averageViewPercentage" => json!(stats.average_percentage),
        "likes" => json!(stats.likes),
        "comments" => json!(stats.comments),
        _ => json!(stats.shares),
    }));
    row
}
