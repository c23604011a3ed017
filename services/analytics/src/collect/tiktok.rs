//! TikTok: public counts of our videos from the Display API's `POST /v2/video/query/`, and how
//! TikTok's `{data, error: {code, message, log_id}}` envelope is classified.

use std::collections::{HashMap, HashSet};

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{endpoint, retry_after, send, PullError, VideoMetrics};

/// The fields asked of `video/query`.
pub const FIELDS: &str = "id,view_count,like_count,comment_count,share_count";

/// How many video ids one query may filter on.
pub const MAX_IDS_PER_QUERY: usize = 20;

const PLATFORM: &str = "TikTok";

/// Views, likes, comments and shares of `video_ids`, asked in chunks of [`MAX_IDS_PER_QUERY`].
///
/// The Display API has no watch time or completion (only the Business API does), so those stay
/// `None`, as do impressions and click rate. A video TikTok does not return (deleted, private,
/// or not this user's) is left out of the map rather than given zero counts.
pub async fn video_metrics(
    http: &reqwest::Client,
    base_url: &str,
    access_token: &str,
    video_ids: &[String],
) -> Result<HashMap<String, VideoMetrics>, PullError> {
    let mut seen = HashSet::new();
    let ids: Vec<&str> = video_ids
        .iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect();
    let url = endpoint(base_url, &["v2", "video", "query", ""])?;
    let mut metrics = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
        let request = http
            .post(url.clone())
            .bearer_auth(access_token)
            .query(&[("fields", FIELDS)])
            .json(&json!({ "filters": { "video_ids": chunk } }));
        let reply = send(request).await?;
        let body = reply.json_or_null();
        if !reply.is_success() || is_error(&body) {
            return Err(classify(reply.status, &reply.headers, &body));
        }
        let envelope: Envelope = reply.decode(PLATFORM)?;
        for video in envelope.data.videos {
            metrics.insert(
                video.id,
                VideoMetrics {
                    views: video.view_count,
                    likes: video.like_count,
                    comments: video.comment_count,
                    shares: video.share_count,
                    ..VideoMetrics::default()
                },
            );
        }
    }
    Ok(metrics)
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    videos: Vec<Video>,
}

#[derive(Deserialize)]
struct Video {
    id: String,
    #[serde(default)]
    view_count: i64,
    #[serde(default)]
    like_count: i64,
    #[serde(default)]
    comment_count: i64,
    #[serde(default)]
    share_count: i64,
}

/// TikTok may refuse with a 200: any error code other than `ok` is a refusal.
fn is_error(body: &Value) -> bool {
    body["error"]["code"]
        .as_str()
        .is_some_and(|code| code != "ok")
}

/// Classifies TikTok's error envelope.
///
/// `access_token_invalid` (or a bare 401) refuses the token; `rate_limit_exceeded`, 429,
/// `internal_error` and 5xx are transient and honour `Retry-After`; everything else —
/// `scope_not_authorized` (a fresh token has the same scopes), `invalid_params`… — is permanent.
pub fn classify(status: u16, headers: &HeaderMap, body: &Value) -> PullError {
    let code = body["error"]["code"]
        .as_str()
        .or_else(|| body["error"].as_str())
        .unwrap_or_default();
    let message = body["error"]["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .unwrap_or_default();
    let log_id = body["error"]["log_id"].as_str().unwrap_or_default();
    let described = format!("{PLATFORM} {status} {code}: {message} (log_id {log_id})");
    match code {
        "access_token_invalid" => PullError::Refused(described),
        "rate_limit_exceeded" | "internal_error" => {
            PullError::transient(described, retry_after(headers))
        }
        "scope_not_authorized" => PullError::Permanent(described),
        _ if status == 429 || status >= 500 => {
            PullError::transient(described, retry_after(headers))
        }
        _ if status == 401 => PullError::Refused(described),
        _ => PullError::Permanent(described),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(code: &str) -> Value {
        json!({"data": {}, "error": {"code": code, "message": "m", "log_id": "l"}})
    }

    #[test]
    fn tiktok_errors_map_to_what_happens_next() {
        let none = HeaderMap::new();
        assert!(matches!(
            classify(401, &none, &envelope("access_token_invalid")),
            PullError::Refused(_)
        ));
        assert!(classify(429, &none, &envelope("rate_limit_exceeded")).is_transient());
        assert!(classify(500, &none, &envelope("internal_error")).is_transient());
        assert!(classify(502, &none, &Value::Null).is_transient());
        assert!(matches!(
            classify(401, &none, &envelope("scope_not_authorized")),
            PullError::Permanent(_)
        ));
        assert!(matches!(
            classify(400, &none, &envelope("invalid_params")),
            PullError::Permanent(m) if m.contains("invalid_params")
        ));
        assert!(is_error(&envelope("invalid_params")));
        assert!(!is_error(&envelope("ok")));
    }
}
