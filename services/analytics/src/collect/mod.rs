//! Platform analytics clients: what YouTube, TikTok, Instagram and Facebook report about our
//! videos, with every failure classified so the caller knows whether to retry, wait for a quota,
//! refresh a token or give up.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub mod meta;
pub mod tiktok;
pub mod youtube;

/// What one pull learned about one video. `None` = the platform does not report it (never invent it).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct VideoMetrics {
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    /// Total watch time.
    pub watch_seconds: Option<i64>,
    /// 0..100 as YouTube reports it.
    pub average_view_percentage: Option<f64>,
    /// Average time one view lasted (YouTube `averageViewDuration`, Meta's average watch time in
    /// ms / 1000). Meta counts replays, so it may exceed the video's length.
    pub average_watch_seconds: Option<f64>,
    /// Thumbnail impressions.
    pub impressions: Option<i64>,
    /// Thumbnail CTR 0..1.
    pub click_rate: Option<f64>,
}

impl VideoMetrics {
    /// How much of the video an average view watched, 0..100: YouTube's own figure when it gave
    /// one, otherwise the average watch time over `duration_seconds` (capped at 100, since Meta's
    /// average includes replays). `None` when neither is known.
    pub fn completion_percent(&self, duration_seconds: f64) -> Option<f64> {
        if let Some(percent) = self.average_view_percentage {
            return Some(percent);
        }
        let average = self.average_watch_seconds?;
        (duration_seconds > 0.0).then(|| (average / duration_seconds * 100.0).min(100.0))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("quota: {reason}")]
    Quota {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 401 / invalid token: caller fetches a fresh token and retries once.
    #[error("token refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Permanent(String),
}

impl PullError {
    pub fn is_transient(&self) -> bool {
        matches!(self, PullError::Transient { .. })
    }

    pub(crate) fn transient(reason: impl Into<String>, retry_after: Option<Duration>) -> Self {
        PullError::Transient {
            reason: reason.into(),
            retry_after,
        }
    }
}

impl From<reqwest::Error> for PullError {
    /// A call that never got an answer (refused connection, timeout, cut body) is worth retrying.
    /// The URL is dropped from the message: Meta's carries the access token.
    fn from(error: reqwest::Error) -> Self {
        PullError::transient(
            format!("platform unreachable: {}", error.without_url()),
            None,
        )
    }
}

/// The pause `Retry-After` asks for, in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

/// A platform's reply, read whole.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, or `Null` when it is not JSON (an HTML error page, an empty body).
    pub fn json_or_null(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The body decoded as `T`; a shape we do not understand will not change on a retry.
    pub fn decode<T: serde::de::DeserializeOwned>(&self, platform: &str) -> Result<T, PullError> {
        serde_json::from_str(&self.body).map_err(|error| {
            PullError::Permanent(format!(
                "{platform}: unexpected reply ({error}): {}",
                shortened(&self.body)
            ))
        })
    }
}

/// Sends a request and reads the whole reply.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Reply, PullError> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `base_url` with `segments` appended, each escaped as one path segment.
pub(crate) fn endpoint(base_url: &str, segments: &[&str]) -> Result<url::Url, PullError> {
    let mut url = url::Url::parse(base_url)
        .map_err(|error| PullError::Permanent(format!("bad base URL {base_url:?}: {error}")))?;
    url.path_segments_mut()
        .map_err(|()| PullError::Permanent(format!("base URL {base_url:?} cannot have a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// A reply body cut to a length worth putting in an error message.
pub(crate) fn shortened(body: &str) -> String {
    const LIMIT: usize = 300;
    match body.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

/// A JSON number, or a string holding one (Google and Meta use both).
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A count as an integer, rounding what a platform sent as a float.
pub(crate) fn count(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        other => number(other).map(|f| f.round() as i64),
    }
}

/// The US Pacific calendar day of `instant`: the days YouTube's reports are dated in.
pub fn pacific_date(instant: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    instant
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn retry_after_reads_seconds_and_dates() -> TestResult {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static(" 12 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        let later = (Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        headers.insert("retry-after", HeaderValue::from_str(&later)?);
        let pause = retry_after(&headers).ok_or("no pause")?;
        assert!(pause > Duration::from_secs(80) && pause <= Duration::from_secs(90));
        Ok(())
    }

    #[test]
    fn endpoints_escape_segments_and_keep_the_base_path() -> TestResult {
        let url = endpoint("http://h:1/api/", &["v19.0", "a/b", "insights"])?;
        assert_eq!(url.as_str(), "http://h:1/api/v19.0/a%2Fb/insights");
        assert!(matches!(
            endpoint("not a url", &["x"]),
            Err(PullError::Permanent(_))
        ));
        Ok(())
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        assert_eq!(count(&json!(12)), Some(12));
        assert_eq!(count(&json!(12.6)), Some(13));
        assert_eq!(count(&json!("40")), Some(40));
        assert_eq!(number(&json!("0.25")), Some(0.25));
        assert_eq!(count(&json!(null)), None);
    }

    #[test]
    fn completion_prefers_youtubes_figure_then_average_watch_time() {
        let youtube = VideoMetrics {
            average_view_percentage: Some(64.0),
            average_watch_seconds: Some(10.0),
            ..VideoMetrics::default()
        };
        assert_eq!(youtube.completion_percent(30.0), Some(64.0));
        let meta = VideoMetrics {
            average_watch_seconds: Some(7.5),
            ..VideoMetrics::default()
        };
        assert_eq!(meta.completion_percent(30.0), Some(25.0));
        assert_eq!(meta.completion_percent(5.0), Some(100.0));
        assert_eq!(meta.completion_percent(0.0), None);
        assert_eq!(VideoMetrics::default().completion_percent(30.0), None);
    }

    #[test]
    fn long_bodies_are_shortened() {
        let long = "é".repeat(400);
        let cut = shortened(&long);
        assert_eq!(cut.chars().count(), 301);
        assert_eq!(shortened("short"), "short");
    }
}
