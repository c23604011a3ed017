//! Talking to a platform: how a failed call is classified (retry, refresh, reconnect, defer or
//! give up), backoff with full jitter honouring `Retry-After` and Meta's usage headers, and the
//! journal of every call a publication made.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::platform::Platform;

/// Why a platform call did not succeed, and so what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Worth trying again after a pause (5xx, 429, `is_transient`, a dropped connection).
    #[error("{reason} (transient)")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The access token was refused: refresh it and try again.
    #[error("access token refused: {0}")]
    Unauthorized(String),
    /// The grant itself is gone: the account must be reconnected.
    #[error("grant revoked: {0}")]
    Revoked(String),
    /// A platform quota is spent: wait until it resets.
    #[error("quota exhausted: {reason}")]
    Quota {
        reason: String,
        resume_at: Option<DateTime<Utc>>,
    },
    /// Will fail the same way again (invalid title, spam risk, privacy mismatch…).
    #[error("{0}")]
    Permanent(String),
}

pub type Outcome<T> = Result<T, Failure>;

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Self {
        Failure::Transient {
            reason: format!(
                "{} unreachable: {error}",
                error.url().map_or("platform", |u| u.as_str())
            ),
            retry_after: None,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Transient {
            reason: format!("{error:#}"),
            retry_after: None,
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure::Transient {
            reason: format!("database: {error}"),
            retry_after: None,
        }
    }
}

/// The pause `Retry-After` asks for, in seconds or as an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

/// The longest `estimated_time_to_regain_access` (minutes) in Meta's `X-Business-Use-Case-Usage`.
pub fn meta_regain_access(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
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

/// Whether a reply refuses the call: a status outside 2xx, TikTok's envelope with an error code
/// other than `ok` (which may come with a 200), or an OAuth error (`{"error": "invalid_grant"}`).
pub fn is_refusal(platform: Platform, status: u16, body: &Value) -> bool {
    let tiktok_error = platform == Platform::Tiktok
        && body["error"]["code"]
            .as_str()
            .is_some_and(|code| code != "ok");
    !(200..300).contains(&status) || tiktok_error || body["error"].is_string()
}

/// Classifies a platform's error reply by its documented shape.
pub fn classify(
    platform: Platform,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
) -> Failure {
    let pause = retry_after(headers).or_else(|| meta_regain_access(headers));
    match platform {
        Platform::Youtube => classify_google(status, pause, body),
        Platform::Tiktok => classify_tiktok(status, pause, body),
        Platform::Instagram | Platform::Facebook => classify_meta(status, pause, body),
    }
}

fn classify_google(status: u16, pause: Option<Duration>, body: &Value) -> Failure {
    let error = &body["error"];
    let reason = error["errors"][0]["reason"].as_str().unwrap_or_default();
    let message = error["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .or_else(|| error.as_str())
        .unwrap_or("no message");
    let described = format!("YouTube {status} {reason}: {message}");
    if error.as_str() == Some("invalid_grant") {
        return Failure::Revoked(described);
    }
    match (status, reason) {
        (401, _) => Failure::Unauthorized(described),
        (_, "quotaExceeded" | "uploadLimitExceeded" | "dailyLimitExceeded") => Failure::Quota {
            reason: described,
            resume_at: None,
        },
        (_, "rateLimitExceeded" | "userRateLimitExceeded" | "backendError")
        | (429 | 500..=599, _) => Failure::Transient {
            reason: described,
            retry_after: pause,
        },
        _ => Failure::Permanent(described),
    }
}

fn classify_tiktok(status: u16, pause: Option<Duration>, body: &Value) -> Failure {
    let code = body["error"]["code"]
        .as_str()
        .or_else(|| body["error"].as_str())
        .unwrap_or_default();
    let message = body["error"]["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .unwrap_or_default();
    let described = format!("TikTok {status} {code}: {message}");
    match code {
        "invalid_grant" => Failure::Revoked(described),
        "access_token_invalid" => Failure::Unauthorized(described),
        "rate_limit_exceeded" | "internal_error" => Failure::Transient {
            reason: described,
            retry_after: pause,
        },
        "spam_risk_too_many_posts" => Failure::Quota {
            reason: described,
            resume_at: None,
        },
        _ if status == 429 || status >= 500 => Failure::Transient {
            reason: described,
            retry_after: pause,
        },
        _ if status == 401 => Failure::Unauthorized(described),
        _ => Failure::Permanent(described),
    }
}

fn classify_meta(status: u16, pause: Option<Duration>, body: &Value) -> Failure {
    let error = &body["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let subcode = error["error_subcode"].as_i64().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or("no message");
    let described = format!("Meta {status} code {code}/{subcode}: {message}");
    if subcode == 2_207_042 {
        return Failure::Quota {
            reason: described,
            resume_at: None,
        };
    }
    match code {
        // Meta tokens have no refresh token: an invalid one means logging in again.
        190 | 102 => Failure::Revoked(described),
        4 | 17 | 32 | 613 | 80_001..=80_014 => Failure::Transient {
            reason: described,
            retry_after: pause,
        },
        _ if error["is_transient"].as_bool() == Some(true) || status == 429 || status >= 500 => {
            Failure::Transient {
                reason: described,
                retry_after: pause,
            }
        }
        _ => Failure::Permanent(described),
    }
}

/// The pause before try `attempt` (0-based): full jitter over an exponential ceiling, never
/// shorter than what the platform asked for.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, asked: Option<Duration>) -> Duration {
    let ceiling = base
        .saturating_mul(2_u32.saturating_pow(attempt.min(20)))
        .min(cap);
    let jittered = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
    asked.map_or(jittered, |asked| asked.max(jittered))
}

/// Where a publication's calls and the platform's replies are written down.
#[derive(Clone)]
pub struct Journal {
    pub db: PgPool,
    pub publication_id: Uuid,
    pub tenant: String,
    pub attempt: i32,
}

impl Journal {
    /// Records one call: what was done, the HTTP status, and what came back (trimmed).
    pub async fn record(&self, action: &str, status: Option<u16>, detail: Value) {
        let detail = trimmed(detail);
        let written = sqlx::query!(
            "INSERT INTO distribution.publication_events (publication_id, tenant, attempt, action, status, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            self.publication_id,
            &self.tenant,
            self.attempt,
            action,
            status.map(i32::from),
            &detail
        )
        .execute(&self.db)
        .await;
        if let Err(error) = written {
            tracing::warn!(publication_id = %self.publication_id, action, %error, "cannot journal a platform call");
        }
    }
}

/// A reply cut to a size worth keeping: long strings are shortened.
fn trimmed(detail: Value) -> Value {
    match detail {
        Value::String(text) if text.len() > 2_000 => {
            let cut = text
                .char_indices()
                .take_while(|(i, _)| *i < 2_000)
                .map(|(_, c)| c)
                .collect::<String>();
            json!(format!("{cut}…"))
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, trimmed(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().take(50).map(trimmed).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn platform_errors_map_to_what_happens_next() {
        let none = HeaderMap::new();
        let quota = json!({"error": {"code": 403, "message": "quota", "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded"}]}});
        assert!(matches!(
            classify(Platform::Youtube, 403, &none, &quota),
            Failure::Quota { .. }
        ));
        let title = json!({"error": {"code": 400, "message": "bad", "errors": [{"reason": "invalidTitle"}]}});
        assert!(matches!(
            classify(Platform::Youtube, 400, &none, &title),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(
                Platform::Youtube,
                400,
                &none,
                &json!({"error": "invalid_grant"})
            ),
            Failure::Revoked(_)
        ));
        assert!(matches!(
            classify(Platform::Youtube, 401, &none, &json!({})),
            Failure::Unauthorized(_)
        ));
        assert!(matches!(
            classify(Platform::Youtube, 503, &none, &json!({})),
            Failure::Transient { .. }
        ));
        let tiktok =
            |code: &str| json!({"data": {}, "error": {"code": code, "message": "", "log_id": "x"}});
        assert!(matches!(
            classify(
                Platform::Tiktok,
                401,
                &none,
                &tiktok("access_token_invalid")
            ),
            Failure::Unauthorized(_)
        ));
        assert!(matches!(
            classify(
                Platform::Tiktok,
                400,
                &none,
                &tiktok("privacy_level_option_mismatch")
            ),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(
                Platform::Tiktok,
                403,
                &none,
                &tiktok("spam_risk_too_many_posts")
            ),
            Failure::Quota { .. }
        ));
        let meta = |code: i64, subcode: i64, transient: bool| json!({"error": {"message": "m", "type": "OAuthException", "code": code, "error_subcode": subcode, "is_transient": transient, "fbtrace_id": "t"}});
        assert!(matches!(
            classify(Platform::Instagram, 400, &none, &meta(190, 0, false)),
            Failure::Revoked(_)
        ));
        assert!(matches!(
            classify(Platform::Instagram, 400, &none, &meta(9, 2_207_042, false)),
            Failure::Quota { .. }
        ));
        assert!(matches!(
            classify(Platform::Facebook, 400, &none, &meta(2, 0, true)),
            Failure::Transient { .. }
        ));
        assert!(matches!(
            classify(Platform::Facebook, 400, &none, &meta(100, 0, false)),
            Failure::Permanent(_)
        ));
    }

    #[test]
    fn pauses_honour_retry_after_and_metas_regain_access() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let mut meta = HeaderMap::new();
        meta.insert("x-business-use-case-usage", HeaderValue::from_static(r#"{"123":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":3}]}"#));
        let failure = classify(
            Platform::Instagram,
            400,
            &meta,
            &json!({"error": {"code": 4, "message": "limit"}}),
        );
        assert!(
            matches!(failure, Failure::Transient { retry_after: Some(pause), .. } if pause == Duration::from_secs(180))
        );
        for attempt in 0..30 {
            let pause = backoff(
                attempt,
                Duration::from_millis(100),
                Duration::from_secs(5),
                None,
            );
            assert!(pause <= Duration::from_secs(5));
            let asked = backoff(
                attempt,
                Duration::from_millis(100),
                Duration::from_secs(5),
                Some(Duration::from_secs(9)),
            );
            assert!(asked >= Duration::from_secs(9));
        }
    }
}
