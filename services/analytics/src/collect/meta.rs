//! Meta: Instagram Reels media insights and Facebook Reels video insights from the Graph API,
//! and how Graph errors (`{"error": {message, type, code, error_subcode, is_transient}}`) are
//! classified.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::{count, endpoint, number, retry_after, send, PullError, VideoMetrics};

/// The metrics asked of `GET /{media-id}/insights` for a reel. Watch times are milliseconds.
pub const INSTAGRAM_METRICS: &str =
    "views,likes,comments,shares,ig_reels_avg_watch_time,ig_reels_video_view_total_time";

/// The Reels metrics asked of `GET /{video-id}/video_insights` (all `lifetime`; times in ms).
/// `post_video_likes_by_reaction_type` is an object of counts per reaction and
/// `post_video_social_actions` one of counts per action (`COMMENT`, `SHARE`).
pub const FACEBOOK_REEL_METRICS: &str = "blue_reels_play_count,post_video_avg_time_watched,\
post_video_view_time,post_video_likes_by_reaction_type,post_video_social_actions";

/// Graph error codes that mean "slow down": application, user, Page and custom rate limits (the
/// business-use-case limits, 80001–80014, are matched as a range).
const RATE_LIMIT_CODES: [i64; 4] = [4, 17, 32, 613];

/// An Instagram reel's lifetime insights.
///
/// `ig_reels_video_view_total_time` (ms) becomes `watch_seconds` and `ig_reels_avg_watch_time`
/// (ms) `average_watch_seconds`; the view percentage stays `None` (Instagram does not report it:
/// [`VideoMetrics::completion_percent`] computes it from the video's length). A metric Instagram
/// leaves out counts as zero, or `None` for watch times; no insights at all (they lag up to
/// 48 h) is a transient error rather than a row of zeros.
pub async fn instagram_metrics(
    http: &reqwest::Client,
    base_url: &str,
    api_version: &str,
    access_token: &str,
    media_id: &str,
) -> Result<VideoMetrics, PullError> {
    let insights = fetch(
        http,
        base_url,
        &[api_version, media_id, "insights"],
        access_token,
        INSTAGRAM_METRICS,
    )
    .await?;
    Ok(VideoMetrics {
        views: insights.count("views"),
        likes: insights.count("likes"),
        comments: insights.count("comments"),
        shares: insights.count("shares"),
        watch_seconds: insights
            .millis("ig_reels_video_view_total_time")
            .map(f64::round)
            .map(|s| s as i64),
        average_watch_seconds: insights.millis("ig_reels_avg_watch_time"),
        ..VideoMetrics::default()
    })
}

/// A Facebook Page reel's lifetime insights.
///
/// Views are `blue_reels_play_count` (plays of 1 ms or more, replays excluded); likes sum every
/// reaction type; comments and shares come from `post_video_social_actions`; watch time is
/// `post_video_view_time` and the average `post_video_avg_time_watched` (both ms, replays
/// included). No insights at all is a transient error, as for Instagram.
pub async fn facebook_metrics(
    http: &reqwest::Client,
    base_url: &str,
    api_version: &str,
    access_token: &str,
    video_id: &str,
) -> Result<VideoMetrics, PullError> {
    let insights = fetch(
        http,
        base_url,
        &[api_version, video_id, "video_insights"],
        access_token,
        FACEBOOK_REEL_METRICS,
    )
    .await?;
    let social = insights.value("post_video_social_actions");
    Ok(VideoMetrics {
        views: insights.count("blue_reels_play_count"),
        likes: summed(insights.value("post_video_likes_by_reaction_type")),
        comments: action(social, "COMMENT"),
        shares: action(social, "SHARE"),
        watch_seconds: insights
            .millis("post_video_view_time")
            .map(f64::round)
            .map(|s| s as i64),
        average_watch_seconds: insights.millis("post_video_avg_time_watched"),
        ..VideoMetrics::default()
    })
}

#[derive(Deserialize)]
struct Insights {
    #[serde(default)]
    data: Vec<Insight>,
}

#[derive(Deserialize)]
struct Insight {
    name: String,
    #[serde(default)]
    values: Vec<InsightValue>,
    total_value: Option<InsightValue>,
}

#[derive(Deserialize)]
struct InsightValue {
    #[serde(default)]
    value: Value,
}

impl Insights {
    /// A metric's lifetime value: the first of `values`, or `total_value` (newer versions).
    fn value(&self, name: &str) -> &Value {
        self.data
            .iter()
            .find(|insight| insight.name == name)
            .and_then(|insight| insight.values.first().or(insight.total_value.as_ref()))
            .map_or(&Value::Null, |v| &v.value)
    }

    fn count(&self, name: &str) -> i64 {
        count(self.value(name)).unwrap_or(0)
    }

    fn millis(&self, name: &str) -> Option<f64> {
        number(self.value(name)).map(|ms| ms / 1000.0)
    }
}

/// The sum of an object of counts (`{"REACTION_LIKE": 3, "REACTION_LOVE": 1}`) or a plain count.
fn summed(value: &Value) -> i64 {
    match value {
        Value::Object(counts) => counts.values().filter_map(count).sum(),
        other => count(other).unwrap_or(0),
    }
}

/// One action's count in `post_video_social_actions` (`{"COMMENT": 2, "SHARE": 5}`).
fn action(value: &Value, name: &str) -> i64 {
    value
        .as_object()
        .and_then(|actions| {
            actions
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, n)| count(n))
        })
        .unwrap_or(0)
}

async fn fetch(
    http: &reqwest::Client,
    base_url: &str,
    path: &[&str],
    access_token: &str,
    metrics: &str,
) -> Result<Insights, PullError> {
    let url = endpoint(base_url, path)?;
    let request = http
        .get(url)
        .query(&[("metric", metrics), ("access_token", access_token)]);
    let reply = send(request).await?;
    let body = reply.json_or_null();
    if !reply.is_success() || body["error"].is_object() {
        return Err(classify(reply.status, &reply.headers, &body));
    }
    let insights: Insights = reply.decode("Meta")?;
    if insights.data.is_empty() {
        return Err(PullError::transient(
            format!(
                "Meta: no insights yet for {} (they lag up to 48 h)",
                path.get(1).unwrap_or(&"")
            ),
            None,
        ));
    }
    Ok(insights)
}

/// The longest `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`.
pub fn regain_access(headers: &HeaderMap) -> Option<Duration> {
    let usage: Value =
        serde_json::from_str(headers.get("x-business-use-case-usage")?.to_str().ok()?).ok()?;
    usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry["estimated_time_to_regain_access"].as_u64())
        .max()
        .filter(|minutes| *minutes > 0)
        .map(|minutes| Duration::from_secs(minutes * 60))
}

/// Classifies a Graph error: code 190 refuses the token; the rate-limit codes (4, 17, 32, 613,
/// 80001–80014), `is_transient`, 429 and 5xx are transient, waiting as long as `Retry-After` or
/// Meta's usage header asks; anything else is permanent, with Meta's message.
pub fn classify(status: u16, headers: &HeaderMap, body: &Value) -> PullError {
    let error = &body["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let subcode = error["error_subcode"].as_i64().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or("no message");
    let trace = error["fbtrace_id"].as_str().unwrap_or_default();
    let described = format!("Meta {status} code {code}/{subcode}: {message} (fbtrace_id {trace})");
    let pause = || retry_after(headers).or_else(|| regain_access(headers));
    if code == 190 {
        return PullError::Refused(described);
    }
    let rate_limited = RATE_LIMIT_CODES.contains(&code) || (80_001..=80_014).contains(&code);
    if rate_limited
        || error["is_transient"].as_bool() == Some(true)
        || status == 429
        || status >= 500
    {
        return PullError::transient(described, pause());
    }
    PullError::Permanent(described)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    fn graph(code: i64, transient: bool) -> Value {
        json!({"error": {"message": "m", "type": "OAuthException", "code": code, "error_subcode": 0, "is_transient": transient, "fbtrace_id": "t"}})
    }

    #[test]
    fn graph_errors_map_to_what_happens_next() {
        let none = HeaderMap::new();
        assert!(matches!(
            classify(400, &none, &graph(190, false)),
            PullError::Refused(_)
        ));
        for code in [4, 17, 32, 613, 80_001] {
            assert!(classify(400, &none, &graph(code, false)).is_transient());
        }
        assert!(classify(400, &none, &graph(2, true)).is_transient());
        assert!(classify(500, &none, &Value::Null).is_transient());
        assert!(matches!(
            classify(400, &none, &graph(100, false)),
            PullError::Permanent(m) if m.contains("code 100")
        ));
        let mut usage = HeaderMap::new();
        usage.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"1":[{"type":"instagram","estimated_time_to_regain_access":2}]}"#,
            ),
        );
        assert!(matches!(
            classify(400, &usage, &graph(4, false)),
            PullError::Transient { retry_after: Some(p), .. } if p == Duration::from_secs(120)
        ));
    }

    #[test]
    fn reactions_and_actions_are_read_from_their_objects() {
        assert_eq!(summed(&json!({"REACTION_LIKE": 3, "REACTION_LOVE": 2})), 5);
        assert_eq!(summed(&json!(4)), 4);
        assert_eq!(summed(&Value::Null), 0);
        let social = json!({"COMMENT": 2, "share": 7});
        assert_eq!(action(&social, "COMMENT"), 2);
        assert_eq!(action(&social, "SHARE"), 7);
        assert_eq!(action(&json!(9), "SHARE"), 0);
    }
}
