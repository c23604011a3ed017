//! A fake YouTube speaking the documented wire format: Google's token endpoint, `channels.list`,
//! resumable uploads (`308` + `Range`, probes with `bytes */N`), `thumbnails.set`,
//! `captions.insert` and `videos.list` status — with faults to inject and a count of the videos
//! it created.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde_json::{json, Value};

/// A fault the next matching call meets.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The next chunk or probe answers this status.
    ChunkStatus(u16),
    /// The next chunk answers 429 with `Retry-After: 1`.
    ChunkRateLimited,
    /// The next chunk keeps only its first half (`308` with a shorter `Range`).
    PartialChunk,
    /// The access tokens issued so far stop working (401).
    ExpireAccessTokens,
    /// Refreshing fails with `invalid_grant`.
    RevokeRefreshToken,
    /// The next upload start answers 403 `quotaExceeded`.
    QuotaExceeded,
    /// Processing ends in `failed`.
    ProcessingFailed,
    /// `thumbnails.set` answers 403.
    ThumbnailForbidden,
    /// The next upload start answers 400 `invalidTitle`.
    InvalidTitle,
}

#[derive(Debug, Clone)]
pub struct Video {
    pub id: String,
    pub bytes: Vec<u8>,
    pub resource: Value,
    pub thumbnail: Option<Vec<u8>>,
    pub captions: Vec<String>,
}

#[derive(Default)]
struct Session {
    total: u64,
    received: Vec<u8>,
    resource: Value,
    video_id: Option<String>,
}

#[derive(Default)]
struct Inner {
    faults: Vec<Fault>,
    valid_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    issued: u64,
    sessions: HashMap<String, Session>,
    videos: Vec<Video>,
    refreshes: u64,
    call_delay: Duration,
    calls: Vec<String>,
}

#[derive(Clone, Default)]
pub struct FakeYoutube {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

impl FakeYoutube {
    pub async fn start() -> anyhow::Result<FakeYoutube> {
        let (listener, base_url) = super::fake_server::listen().await?;
        let fake = FakeYoutube {
            inner: Arc::default(),
            base_url,
        };
        let app = Router::new()
            .route("/token", post(token))
            .route("/youtube/v3/channels", get(channels))
            .route("/youtube/v3/videos", get(video_status))
            .route("/upload/youtube/v3/videos", post(start).put(chunk))
            .route("/upload/youtube/v3/thumbnails/set", post(thumbnail))
            .route("/upload/youtube/v3/captions", post(captions))
            .with_state(fake.clone());
        super::fake_server::serve(listener, app);
        Ok(fake)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        super::fake_server::lock(&self.inner)
    }

    pub fn inject(&self, fault: Fault) {
        if fault == Fault::ExpireAccessTokens {
            self.lock().valid_tokens.clear();
        } else {
            self.lock().faults.push(fault);
        }
    }

    /// Slows every authorized call down, so a test can kill the uploader in the middle of one.
    pub fn delay_calls(&self, delay: Duration) {
        self.lock().call_delay = delay;
    }

    pub fn videos(&self) -> Vec<Video> {
        self.lock().videos.clone()
    }

    pub fn refreshes(&self) -> u64 {
        self.lock().refreshes
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// A valid token pair, as if the user had just granted access.
    pub fn grant(&self) -> (String, String) {
        let mut inner = self.lock();
        issue(&mut inner, true)
    }

    fn take(&self, wanted: impl Fn(&Fault) -> bool) -> Option<Fault> {
        super::fake_server::take_fault(&mut self.lock().faults, wanted)
    }

    async fn authorized(&self, headers: &HeaderMap, call: &str) -> Option<Response> {
        let delay = self.lock().call_delay;
        let checked = self.check_token(headers, call);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        checked
    }

    fn check_token(&self, headers: &HeaderMap, call: &str) -> Option<Response> {
        let mut inner = self.lock();
        inner.calls.push(call.to_owned());
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if inner.valid_tokens.iter().any(|t| t == token) {
            None
        } else {
            Some(google_error(401, "authError", "Invalid Credentials"))
        }
    }
}

fn issue(inner: &mut Inner, with_refresh: bool) -> (String, String) {
    inner.issued += 1;
    let access = format!("ya29.access-{}", inner.issued);
    let refresh = format!("1//refresh-{}", inner.issued);
    inner.valid_tokens.push(access.clone());
    if with_refresh {
        inner.refresh_tokens.push(refresh.clone());
    }
    (access, refresh)
}

fn google_error(status: u16, reason: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({ "error": { "code": status, "message": message, "errors": [{ "domain": "youtube", "reason": reason, "message": message }] } }))).into_response()
}

async fn token(
    State(fake): State<FakeYoutube>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = fake.lock();
    inner.calls.push(format!(
        "token:{}",
        form.get("grant_type").map_or("", String::as_str)
    ));
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") if form.get("code").is_some_and(|c| c == "good-code") => {
            let (access, refresh) = issue(&mut inner, true);
            Json(json!({ "access_token": access, "expires_in": 3599, "refresh_token": refresh, "scope": "https://www.googleapis.com/auth/youtube.upload", "token_type": "Bearer" })).into_response()
        }
        Some("refresh_token") => {
            let revoked = super::fake_server::take_fault(&mut inner.faults, |f| {
                *f == Fault::RevokeRefreshToken
            });
            let known = form
                .get("refresh_token")
                .is_some_and(|r| inner.refresh_tokens.contains(r));
            if revoked.is_some() {
                return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant", "error_description": "Token has been expired or revoked." }))).into_response();
            }
            if !known {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": "invalid_grant", "error_description": "Bad Request" })),
                )
                    .into_response();
            }
            inner.refreshes += 1;
            let (access, _) = issue(&mut inner, false);
            // Google's refresh replies carry no new refresh token.
            Json(json!({ "access_token": access, "expires_in": 3599, "scope": "https://www.googleapis.com/auth/youtube.upload", "token_type": "Bearer" })).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_grant", "error_description": "Malformed auth code." })),
        )
            .into_response(),
    }
}

async fn channels(State(fake): State<FakeYoutube>, headers: HeaderMap) -> Response {
    if let Some(refused) = fake.authorized(&headers, "channels.list").await {
        return refused;
    }
    Json(json!({ "kind": "youtube#channelListResponse", "items": [{ "kind": "youtube#channel", "id": "UC-fake-channel", "snippet": { "title": "Fake Channel" } }] })).into_response()
}

async fn start(
    State(fake): State<FakeYoutube>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(resource): Json<Value>,
) -> Response {
    if let Some(refused) = fake.authorized(&headers, "videos.insert").await {
        return refused;
    }
    if query.get("uploadType").map(String::as_str) != Some("resumable") {
        return google_error(400, "invalidUploadType", "expected uploadType=resumable");
    }
    if fake.take(|f| *f == Fault::QuotaExceeded).is_some() {
        return google_error(
            403,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
        );
    }
    if fake.take(|f| *f == Fault::InvalidTitle).is_some() {
        return google_error(
            400,
            "invalidTitle",
            "The request metadata specifies an invalid or empty video title.",
        );
    }
    let Some(total) = headers
        .get("x-upload-content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    else {
        return google_error(400, "badContent", "X-Upload-Content-Length is required");
    };
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    fake.lock().sessions.insert(
        upload_id.clone(),
        Session {
            total,
            resource,
            ..Session::default()
        },
    );
    let location = format!(
        "{}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}",
        fake.base_url
    );
    (StatusCode::OK, [("location", location)]).into_response()
}

async fn chunk(
    State(fake): State<FakeYoutube>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(refused) = fake.authorized(&headers, "upload.put").await {
        return refused;
    }
    if let Some(Fault::ChunkStatus(status)) = fake.take(|f| matches!(f, Fault::ChunkStatus(_))) {
        return google_error(status, "backendError", "injected");
    }
    if fake.take(|f| *f == Fault::ChunkRateLimited).is_some() {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({ "error": { "code": 429, "message": "slow down", "errors": [{ "reason": "rateLimitExceeded" }] } }))).into_response();
    }
    let partial = !body.is_empty() && fake.take(|f| *f == Fault::PartialChunk).is_some();
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let upload_id = query.get("upload_id").cloned().unwrap_or_default();
    let mut inner = fake.lock();
    let Some(session) = inner.sessions.get_mut(&upload_id) else {
        return google_error(404, "notFound", "upload session not found");
    };
    if let Some(id) = &session.video_id {
        let resource = json!({ "kind": "youtube#video", "id": id, "snippet": session.resource["snippet"], "status": { "uploadStatus": "uploaded" } });
        return (StatusCode::OK, Json(resource)).into_response();
    }
    if let Some(start) = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse::<usize>().ok())
    {
        // Bytes that do not continue where the session stands are ignored, as the real server does.
        if start == session.received.len() {
            let keep = if partial { body.len() / 2 } else { body.len() };
            session.received.extend_from_slice(&body[..keep]);
        }
    }
    if session.received.len() as u64 == session.total && session.total > 0 {
        let id = format!("vid{}", uuid::Uuid::new_v4().simple());
        session.video_id = Some(id.clone());
        let video = Video {
            id: id.clone(),
            bytes: session.received.clone(),
            resource: session.resource.clone(),
            thumbnail: None,
            captions: Vec::new(),
        };
        let resource = json!({ "kind": "youtube#video", "id": id, "snippet": session.resource["snippet"], "status": { "uploadStatus": "uploaded" } });
        inner.videos.push(video);
        return (StatusCode::CREATED, Json(resource)).into_response();
    }
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    if !session.received.is_empty() {
        if let Ok(value) = format!("bytes=0-{}", session.received.len() - 1).parse() {
            response.headers_mut().insert("range", value);
        }
    }
    response
}

async fn thumbnail(
    State(fake): State<FakeYoutube>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(refused) = fake.authorized(&headers, "thumbnails.set").await {
        return refused;
    }
    if fake.take(|f| *f == Fault::ThumbnailForbidden).is_some() {
        return google_error(403, "forbidden", "The authenticated user doesn't have permissions to upload and set custom video thumbnails.");
    }
    let mut inner = fake.lock();
    let Some(video) = inner
        .videos
        .iter_mut()
        .find(|v| Some(&v.id) == query.get("videoId"))
    else {
        return google_error(404, "videoNotFound", "no such video");
    };
    video.thumbnail = Some(body.to_vec());
    Json(json!({ "kind": "youtube#thumbnailSetResponse", "items": [{ "default": { "url": "https://i.ytimg.com/x.jpg" } }] })).into_response()
}

async fn captions(State(fake): State<FakeYoutube>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = fake.authorized(&headers, "captions.insert").await {
        return refused;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let Some(start) = text.find('{') else {
        return google_error(400, "invalidMetadata", "no snippet part");
    };
    let snippet: Value = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    let video_id = snippet["snippet"]["videoId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut inner = fake.lock();
    let Some(video) = inner.videos.iter_mut().find(|v| v.id == video_id) else {
        return google_error(404, "videoNotFound", "no such video");
    };
    video.captions.push(text);
    Json(json!({ "kind": "youtube#caption", "id": "cap1", "snippet": snippet["snippet"] }))
        .into_response()
}

async fn video_status(
    State(fake): State<FakeYoutube>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = fake.authorized(&headers, "videos.list").await {
        return refused;
    }
    let failed = fake.take(|f| *f == Fault::ProcessingFailed).is_some();
    let inner = fake.lock();
    let items: Vec<Value> = inner
        .videos
        .iter()
        .filter(|v| Some(&v.id) == query.get("id"))
        .map(|v| {
            let status = if failed { json!({ "uploadStatus": "failed", "failureReason": "codec" }) } else { json!({ "uploadStatus": "processed", "privacyStatus": v.resource["status"]["privacyStatus"] }) };
            json!({ "kind": "youtube#video", "id": v.id, "status": status, "processingDetails": { "processingStatus": if failed { "failed" } else { "succeeded" } } })
        })
        .collect();
    Json(json!({ "kind": "youtube#videoListResponse", "items": items })).into_response()
}
