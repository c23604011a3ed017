//! HTTP plumbing shared by the clients: sending, reading errors the way each API reports them.

use std::time::Duration;

use reqwest::{header::HeaderMap, Response, StatusCode};

use crate::client::CallError;

/// The wait a 429 or 503 asks for: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A network-level failure (connection refused, reset, body read error) is transient.
pub fn network(url: &str, error: &reqwest::Error) -> CallError {
    CallError::transient(format!("{url}: {error}"))
}

/// The usual mapping of an error status: 401/403 auth, 402 quota, 408/409/425/429/5xx transient,
/// other 4xx refused. `quota_marker` recognises quota errors some APIs send as 429 with a body code.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    quota_markers: &[&str],
) -> CallError {
    let detail = format!("{status}: {}", excerpt(body));
    let code = status.as_u16();
    if code == 402 || quota_markers.iter().any(|m| body.contains(m)) {
        return CallError::Quota { detail };
    }
    match code {
        401 | 403 => CallError::Auth { detail },
        408 | 409 | 425 | 429 => CallError::Transient {
            detail,
            retry_after: retry_after(headers),
        },
        500..=599 => CallError::Transient {
            detail,
            retry_after: retry_after(headers),
        },
        _ => CallError::Refused { detail },
    }
}

/// Reads a response: the body text on success, a classified error otherwise.
pub async fn read_text(
    url: &str,
    response: Response,
    quota_markers: &[&str],
) -> Result<String, CallError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(|e| network(url, &e))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(classify(status, &headers, &body, quota_markers))
    }
}

/// Reads a response: the body bytes on success, a classified error otherwise.
pub async fn read_bytes(
    url: &str,
    response: Response,
    quota_markers: &[&str],
) -> Result<bytes::Bytes, CallError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| network(url, &e))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(classify(
            status,
            &headers,
            &String::from_utf8_lossy(&body),
            quota_markers,
        ))
    }
}

/// At most 300 characters of an error body, for messages.
pub fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &trimmed[..end]),
        None => trimmed.to_owned(),
    }
}

/// Parses a JSON body, calling a parse failure invalid output.
pub fn parse_json(body: &str) -> Result<serde_json::Value, CallError> {
    serde_json::from_str(body)
        .map_err(|e| CallError::invalid(format!("the reply is not JSON: {e}")))
}

/// The shared HTTP client: connection pooling; timeouts are applied per call by the chain.
pub fn client() -> Result<reqwest::Client, CallError> {
    reqwest::Client::builder()
        .user_agent(concat!("reelforge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CallError::transient(format!("HTTP client: {e}")))
}

/// Wraps 16-bit little-endian mono PCM into a WAV file.
pub fn wav_from_pcm16(pcm: &[u8], sample_rate: u32) -> Result<bytes::Bytes, CallError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::with_capacity(pcm.len() + 44));
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec)
            .map_err(|e| CallError::invalid(format!("WAV: {e}")))?;
        for pair in pcm.chunks_exact(2) {
            writer
                .write_sample(i16::from_le_bytes([pair[0], pair[1]]))
                .map_err(|e| CallError::invalid(format!("WAV: {e}")))?;
        }
        writer
            .finalize()
            .map_err(|e| CallError::invalid(format!("WAV: {e}")))?;
    }
    Ok(bytes::Bytes::from(cursor.into_inner()))
}
