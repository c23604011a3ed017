//! A fake Meta Graph API for Instagram Reels and Facebook Page Reels: the Facebook Login token
//! exchanges, `/me/accounts`, `content_publishing_limit`, resumable containers and `rupload`,
//! container status, `media_publish`, media listing, `video_reels` start/finish and video status —
//! errors in Meta's `{error: {message, type, code, error_subcode, is_transient, fbtrace_id}}` shape.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The Instagram account has used its 100 posts of the last 24 hours.
    QuotaUsed,
    /// The next Graph call answers code 4 (application request limit), transient.
    RateLimited,
    /// The next container ends in `ERROR`.
    ContainerFails,
    /// Every token issued so far is invalidated (code 190).
    InvalidateTokens,
}

/// A post that went live: an Instagram reel or a Facebook reel.
#[derive(Debug, Clone)]
pub struct Post {
    pub id: String,
    pub owner: String,
    pub bytes: Vec<u8>,
    pub caption: String,
}

#[derive(Default)]
struct Upload {
    owner: String,
    caption: String,
    bytes: Vec<u8>,
    failed: bool,
    published: Option<String>,
}

#[derive(Default)]
struct Inner {
    faults: Vec<Fault>,
    tokens: Vec<String>,
    issued: u64,
    /// Containers (Instagram) and reel uploads (Facebook), by id.
    uploads: HashMap<String, Upload>,
    posts: Vec<Post>,
}

#[derive(Clone, Default)]
pub struct FakeMeta {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

fn graph_error(
    status: StatusCode,
    code: i64,
    subcode: i64,
    transient: bool,
    message: &str,
) -> Response {
    (status, Json(json!({ "error": { "message": message, "type": "OAuthException", "code": code, "error_subcode": subcode, "is_transient": transient, "fbtrace_id": "AbCdEf" } }))).into_response()
}

impl FakeMeta {
    pub async fn start() -> anyhow::Result<FakeMeta> {
        let (listener, base_url) = super::fake_server::listen().await?;
        let fake = FakeMeta {
            inner: Arc::default(),
            base_url,
        };
        let app = Router::new()
            .route("/{version}/{node}", get(node))
            .route("/{version}/{node}/{edge}", get(edge_get).post(edge_post))
            .route("/ig-api-upload/{version}/{id}", post(rupload))
            .route("/video-upload/{version}/{id}", post(rupload))
            .with_state(fake.clone());
        super::fake_server::serve(listener, app);
        Ok(fake)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        super::fake_server::lock(&self.inner)
    }

    pub fn inject(&self, fault: Fault) {
        let mut inner = self.lock();
        if fault == Fault::InvalidateTokens {
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

    fn issue(&self, prefix: &str) -> String {
        let mut inner = self.lock();
        inner.issued += 1;
        let token = format!("{prefix}-{}", inner.issued);
        inner.tokens.push(token.clone());
        token
    }

    /// Refuses a call without a valid token (or hit by an injected rate limit).
    fn check(&self, headers: &HeaderMap) -> Option<Response> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("OAuth "))
            })
            .unwrap_or_default();
        if !self.lock().tokens.iter().any(|t| t == token) {
            return Some(graph_error(
                StatusCode::BAD_REQUEST,
                190,
                463,
                false,
                "Error validating access token: Session has expired.",
            ));
        }
        if self.take(&Fault::RateLimited) {
            let mut response = graph_error(
                StatusCode::BAD_REQUEST,
                4,
                0,
                true,
                "Application request limit reached",
            );
            if let Ok(usage) = r#"{"1":[{"type":"instagram","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}"#.parse() {
                response.headers_mut().insert("x-business-use-case-usage", usage);
            }
            return Some(response);
        }
        None
    }
}

async fn node(
    State(fake): State<FakeMeta>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = fake.check(&headers) {
        return refused;
    }
    let inner = fake.lock();
    if let Some(post) = inner.posts.iter().find(|p| p.id == id) {
        let permalink = if post.owner.starts_with("ig") {
            format!("https://www.instagram.com/reel/{}/", post.id)
        } else {
            format!("/reel/{}", post.id)
        };
        return Json(json!({ "id": post.id, "permalink": permalink, "permalink_url": permalink, "status": { "video_status": "ready", "processing_phase": { "status": "complete" }, "publishing_phase": { "status": "complete" } } })).into_response();
    }
    let Some(upload) = inner.uploads.get(&id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            33,
            false,
            "Object does not exist",
        );
    };
    if id.starts_with("fbv") {
        // A Facebook reel: its status object.
        let publishing = if upload.published.is_some() {
            "complete"
        } else {
            "not_started"
        };
        let processing = if upload.failed {
            "error"
        } else if upload.bytes.is_empty() {
            "not_started"
        } else {
            "complete"
        };
        return Json(json!({ "id": id, "status": {
            "video_status": if upload.failed { "error" } else { "ready" },
            "uploading_phase": { "status": if upload.bytes.is_empty() { "in_progress" } else { "complete" } },
            "processing_phase": { "status": processing, "error": { "message": "unsupported codec" } },
            "publishing_phase": { "status": publishing },
        } }))
        .into_response();
    }
    let code = match (
        upload.failed && !upload.bytes.is_empty(),
        upload.published.is_some(),
        upload.bytes.is_empty(),
    ) {
        (true, _, _) => "ERROR",
        (_, true, _) => "PUBLISHED",
        (_, _, true) => "IN_PROGRESS",
        _ => "FINISHED",
    };
    let status = if code == "ERROR" {
        "Error: video format not supported (2207026)"
    } else {
        code
    };
    Json(json!({ "id": id, "status_code": code, "status": status })).into_response()
}

async fn edge_get(
    State(fake): State<FakeMeta>,
    headers: HeaderMap,
    Path((_, node, edge)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match (node.as_str(), edge.as_str()) {
        ("oauth", "access_token") => {
            let exchanging =
                query.get("grant_type").map(String::as_str) == Some("fb_exchange_token");
            if !exchanging && query.get("code").map(String::as_str) != Some("good-code") {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    36_009,
                    false,
                    "This authorization code has been used.",
                );
            }
            let token = fake.issue(if exchanging { "EAAlong" } else { "EAAshort" });
            Json(json!({ "access_token": token, "token_type": "bearer", "expires_in": if exchanging { 5_183_944 } else { 3600 } })).into_response()
        }
        ("me", "accounts") => {
            if let Some(refused) = fake.check(&headers) {
                return refused;
            }
            let page_token = fake.issue("EAApage");
            Json(json!({ "data": [{ "id": "page-1", "name": "Fake Page", "access_token": page_token, "instagram_business_account": { "id": "ig-1", "username": "fakegram" } }] })).into_response()
        }
        (_, "content_publishing_limit") => {
            if let Some(refused) = fake.check(&headers) {
                return refused;
            }
            let used = if fake.take(&Fault::QuotaUsed) {
                100
            } else {
                fake.lock().posts.len()
            };
            Json(json!({ "data": [{ "config": { "quota_total": 100, "quota_duration": 86400 }, "quota_usage": used }] })).into_response()
        }
        (owner, "media") => {
            if let Some(refused) = fake.check(&headers) {
                return refused;
            }
            let posts: Vec<Value> = fake.lock().posts.iter().rev().filter(|p| p.owner == owner).map(|p| json!({ "id": p.id, "caption": p.caption, "timestamp": chrono::Utc::now().to_rfc3339() })).collect();
            Json(json!({ "data": posts })).into_response()
        }
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            0,
            false,
            "Unsupported get request.",
        ),
    }
}

async fn edge_post(
    State(fake): State<FakeMeta>,
    headers: HeaderMap,
    Path((version, node, edge)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = fake.check(&headers) {
        return refused;
    }
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    match edge.as_str() {
        "media" => {
            if param("media_type") != "REELS" || param("upload_type") != "resumable" {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    0,
                    false,
                    "media_type=REELS and upload_type=resumable expected",
                );
            }
            let id = format!("1789{}", fake.lock().uploads.len() + 1000);
            let failed = fake.take(&Fault::ContainerFails);
            fake.lock().uploads.insert(
                id.clone(),
                Upload {
                    owner: node,
                    caption: param("caption"),
                    failed,
                    ..Upload::default()
                },
            );
            Json(json!({ "id": id, "uri": format!("{}/ig-api-upload/{version}/{id}", fake.base_url) })).into_response()
        }
        "media_publish" => {
            let container = param("creation_id");
            let mut inner = fake.lock();
            let Some(upload) = inner.uploads.get_mut(&container) else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    0,
                    false,
                    "Invalid creation_id",
                );
            };
            if upload.published.is_some() || upload.bytes.is_empty() || upload.failed {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    9007,
                    2_207_027,
                    false,
                    "Media ID is not available",
                );
            }
            let media_id = format!("media-{container}");
            upload.published = Some(media_id.clone());
            let post = Post {
                id: media_id.clone(),
                owner: upload.owner.clone(),
                bytes: upload.bytes.clone(),
                caption: upload.caption.clone(),
            };
            inner.posts.push(post);
            Json(json!({ "id": media_id })).into_response()
        }
        "video_reels" => match param("upload_phase").as_str() {
            "start" => {
                let id = format!("fbv{}", fake.lock().uploads.len() + 5000);
                fake.lock().uploads.insert(
                    id.clone(),
                    Upload {
                        owner: node,
                        ..Upload::default()
                    },
                );
                Json(json!({ "video_id": id, "upload_url": format!("{}/video-upload/{version}/{id}", fake.base_url) })).into_response()
            }
            "finish" => {
                let video_id = param("video_id");
                let mut inner = fake.lock();
                let Some(upload) = inner.uploads.get_mut(&video_id) else {
                    return graph_error(StatusCode::BAD_REQUEST, 100, 0, false, "Invalid video_id");
                };
                if upload.published.is_some() {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        100,
                        0,
                        false,
                        "The video is already published",
                    );
                }
                upload.published = Some(video_id.clone());
                upload.caption = param("description");
                let post = Post {
                    id: video_id.clone(),
                    owner: upload.owner.clone(),
                    bytes: upload.bytes.clone(),
                    caption: upload.caption.clone(),
                };
                inner.posts.push(post);
                Json(json!({ "success": true })).into_response()
            }
            _ => graph_error(
                StatusCode::BAD_REQUEST,
                100,
                0,
                false,
                "upload_phase must be start or finish",
            ),
        },
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            0,
            false,
            "Unsupported post request.",
        ),
    }
}

async fn rupload(
    State(fake): State<FakeMeta>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(refused) = fake.check(&headers) {
        return refused;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
    };
    let (Some(offset), Some(size)) = (header("offset"), header("file_size")) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            0,
            false,
            "offset and file_size headers are required",
        );
    };
    let mut inner = fake.lock();
    let Some(upload) = inner.uploads.get_mut(&id) else {
        return graph_error(StatusCode::BAD_REQUEST, 100, 0, false, "no such upload");
    };
    if offset + body.len() != size {
        return graph_error(StatusCode::BAD_REQUEST, 100, 0, false, "partial upload");
    }
    upload.bytes.truncate(offset);
    upload.bytes.extend_from_slice(&body);
    Json(json!({ "success": true })).into_response()
}
