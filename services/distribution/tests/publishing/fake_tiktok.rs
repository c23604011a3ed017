//! A fake TikTok speaking the Content Posting API's wire format: the OAuth token endpoint, user
//! info, `creator_info`, `video/init` (checking the chunk rules), chunked `PUT`s answered 206/201,
//! and `status/fetch` — every reply in the `{data, error: {code, message, log_id}}` envelope.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Form, Json, Router,
};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The next chunk answers 500 `internal_error`.
    ChunkFails,
    /// The next init answers 429 `rate_limit_exceeded`.
    InitRateLimited,
    /// Access tokens issued so far stop working.
    ExpireAccessTokens,
    /// The creator may only post privately (an unaudited app).
    OnlySelfOnly,
    /// The next post ends `FAILED`.
    PostFails,
    /// The next init answers `spam_risk_too_many_posts`.
    TooManyPosts,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub publish_id: String,
    pub bytes: Vec<u8>,
    pub post_info: Value,
    pub failed: bool,
}

#[derive(Default)]
struct Inner {
    faults: Vec<Fault>,
    tokens: Vec<String>,
    issued: u64,
    refreshes: u64,
    uploads: HashMap<String, (u64, Vec<u8>, Value)>,
    posts: Vec<Post>,
}

#[derive(Clone, Default)]
pub struct FakeTiktok {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

fn envelope(status: StatusCode, code: &str, message: &str, data: Value) -> Response {
    (status, Json(json!({ "data": data, "error": { "code": code, "message": message, "log_id": "20261203fake" } }))).into_response()
}

impl FakeTiktok {
    pub async fn start() -> anyhow::Result<FakeTiktok> {
        let (listener, base_url) = super::fake_server::listen().await?;
        let fake = FakeTiktok {
            inner: Arc::default(),
            base_url,
        };
        let app = Router::new()
            .route("/v2/oauth/token/", post(token))
            .route("/v2/user/info/", get(user_info))
            .route("/v2/post/publish/creator_info/query/", post(creator_info))
            .route("/v2/post/publish/video/init/", post(init))
            .route("/v2/post/publish/status/fetch/", post(status))
            .route("/upload/", put(chunk))
            .with_state(fake.clone());
        super::fake_server::serve(listener, app);
        Ok(fake)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        super::fake_server::lock(&self.inner)
    }

    pub fn inject(&self, fault: Fault) {
        let mut inner = self.lock();
        if fault == Fault::ExpireAccessTokens {
            inner.tokens.clear();
        } else {
            inner.faults.push(fault);
        }
    }

    fn take(&self, fault: &Fault) -> bool {
        super::fake_server::take_fault(&mut self.lock().faults, |f| f == fault).is_some()
    }

    pub fn posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    pub fn refreshes(&self) -> u64 {
        self.lock().refreshes
    }

    fn authorized(&self, headers: &HeaderMap) -> Option<Response> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if self.lock().tokens.iter().any(|t| t == token) {
            None
        } else {
            Some(envelope(
                StatusCode::UNAUTHORIZED,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
                json!({}),
            ))
        }
    }
}

async fn token(
    State(fake): State<FakeTiktok>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = fake.lock();
    let grant = form.get("grant_type").map(String::as_str);
    if grant == Some("authorization_code")
        && form.get("code").map(String::as_str) != Some("good-code")
    {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant", "error_description": "Authorization code is expired.", "log_id": "x" }))).into_response();
    }
    if grant == Some("refresh_token") {
        inner.refreshes += 1;
    }
    inner.issued += 1;
    let access = format!("act.tiktok-{}", inner.issued);
    inner.tokens.push(access.clone());
    // TikTok answers a refresh with a refresh token too.
    Json(json!({ "access_token": access, "expires_in": 86400, "open_id": "open-fake", "refresh_expires_in": 31_536_000, "refresh_token": format!("rft.tiktok-{}", inner.issued), "scope": "user.info.basic,video.publish", "token_type": "Bearer" })).into_response()
}

async fn user_info(State(fake): State<FakeTiktok>, headers: HeaderMap) -> Response {
    if let Some(refused) = fake.authorized(&headers) {
        return refused;
    }
    envelope(
        StatusCode::OK,
        "ok",
        "",
        json!({ "user": { "open_id": "open-fake", "display_name": "Fake Creator" } }),
    )
}

async fn creator_info(State(fake): State<FakeTiktok>, headers: HeaderMap) -> Response {
    if let Some(refused) = fake.authorized(&headers) {
        return refused;
    }
    let options = if fake.take(&Fault::OnlySelfOnly) {
        json!(["SELF_ONLY"])
    } else {
        json!([
            "PUBLIC_TO_EVERYONE",
            "MUTUAL_FOLLOW_FRIENDS",
            "FOLLOWER_OF_CREATOR",
            "SELF_ONLY"
        ])
    };
    envelope(
        StatusCode::OK,
        "ok",
        "",
        json!({ "creator_username": "fake", "creator_nickname": "Fake Creator", "privacy_level_options": options, "comment_disabled": false, "duet_disabled": false, "stitch_disabled": false, "max_video_post_duration_sec": 600 }),
    )
}

async fn init(
    State(fake): State<FakeTiktok>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = fake.authorized(&headers) {
        return refused;
    }
    if fake.take(&Fault::InitRateLimited) {
        return envelope(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "API rate limit was exceeded.",
            json!({}),
        );
    }
    if fake.take(&Fault::TooManyPosts) {
        return envelope(
            StatusCode::FORBIDDEN,
            "spam_risk_too_many_posts",
            "The daily post cap is reached.",
            json!({}),
        );
    }
    let source = &body["source_info"];
    let (size, chunk, count) = (
        source["video_size"].as_u64().unwrap_or(0),
        source["chunk_size"].as_u64().unwrap_or(0),
        source["total_chunk_count"].as_u64().unwrap_or(0),
    );
    const MB: u64 = 1024 * 1024;
    let valid = source["source"] == "FILE_UPLOAD"
        && chunk > 0
        && if size < 5 * MB {
            chunk == size && count == 1
        } else {
            (5 * MB..=64 * MB).contains(&chunk) && count == size / chunk
        };
    if !valid {
        return envelope(
            StatusCode::BAD_REQUEST,
            "invalid_params",
            "chunk_size or total_chunk_count is invalid",
            json!({}),
        );
    }
    let publish_id = format!("v_pub_file~v2-1.{}", uuid::Uuid::new_v4().simple());
    fake.lock().uploads.insert(
        publish_id.clone(),
        (size, Vec::new(), body["post_info"].clone()),
    );
    let upload_url = format!(
        "{}/upload/?upload_id={publish_id}&upload_token=t",
        fake.base_url
    );
    envelope(
        StatusCode::OK,
        "ok",
        "",
        json!({ "publish_id": publish_id, "upload_url": upload_url }),
    )
}

async fn chunk(
    State(fake): State<FakeTiktok>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if fake.take(&Fault::ChunkFails) {
        return envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong.",
            json!({}),
        );
    }
    let failed = fake.take(&Fault::PostFails);
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let start = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse::<usize>().ok());
    let publish_id = query.get("upload_id").cloned().unwrap_or_default();
    let mut inner = fake.lock();
    let Some((size, received, post_info)) = inner.uploads.get_mut(&publish_id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if start == Some(received.len()) {
        received.extend_from_slice(&body);
    }
    if received.len() as u64 == *size {
        let post = Post {
            publish_id: publish_id.clone(),
            bytes: received.clone(),
            post_info: post_info.clone(),
            failed,
        };
        if !inner.posts.iter().any(|p| p.publish_id == publish_id) {
            inner.posts.push(post);
        }
        return StatusCode::CREATED.into_response();
    }
    StatusCode::PARTIAL_CONTENT.into_response()
}

async fn status(
    State(fake): State<FakeTiktok>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = fake.authorized(&headers) {
        return refused;
    }
    let publish_id = body["publish_id"].as_str().unwrap_or_default();
    let inner = fake.lock();
    if let Some(post) = inner.posts.iter().find(|p| p.publish_id == publish_id) {
        return if post.failed {
            envelope(
                StatusCode::OK,
                "ok",
                "",
                json!({ "status": "FAILED", "fail_reason": "file_format_check_failed" }),
            )
        } else {
            let index = inner
                .posts
                .iter()
                .position(|p| p.publish_id == publish_id)
                .unwrap_or(0);
            envelope(
                StatusCode::OK,
                "ok",
                "",
                json!({ "status": "PUBLISH_COMPLETE", "publicaly_available_post_id": [7_300_000_000_000_000_000_u64 + index as u64], "uploaded_bytes": post.bytes.len() }),
            )
        };
    }
    match inner.uploads.get(publish_id) {
        Some((_, received, _)) => envelope(
            StatusCode::OK,
            "ok",
            "",
            json!({ "status": "PROCESSING_UPLOAD", "uploaded_bytes": received.len() }),
        ),
        None => envelope(
            StatusCode::BAD_REQUEST,
            "invalid_publish_id",
            "publish_id does not exist",
            json!({}),
        ),
    }
}
