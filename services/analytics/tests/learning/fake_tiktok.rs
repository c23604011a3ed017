//! A fake TikTok Display API: `POST /v2/video/query/?fields=…` with `{"filters": {"video_ids":
//! […]}}` (at most 20), answering only the fields asked for, in the `{data, error: {code,
//! message, log_id}}` envelope.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::fake_server::{Canned, Fake, Received};

pub const TOKEN: &str = "act.tiktok-token";

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

#[derive(Default)]
pub struct State {
    pub videos: HashMap<String, Counts>,
}

pub type FakeTiktok = Fake<State>;

pub async fn start() -> std::io::Result<FakeTiktok> {
    Fake::start(State::default(), route).await
}

pub fn envelope(status: u16, code: &str, message: &str, data: Value) -> Canned {
    Canned::json(
        status,
        &json!({ "data": data, "error": { "code": code, "message": message, "log_id": "202607010000fake" } }),
    )
}

pub fn token_invalid() -> Canned {
    envelope(
        401,
        "access_token_invalid",
        "The access token is invalid or not found in the request.",
        json!({}),
    )
}

pub fn rate_limited(retry_after: &str) -> Canned {
    envelope(
        429,
        "rate_limit_exceeded",
        "API rate limit was exceeded.",
        json!({}),
    )
    .with_header("retry-after", retry_after)
}

pub fn internal_error() -> Canned {
    envelope(500, "internal_error", "Something went wrong.", json!({}))
}

const FIELDS: [&str; 5] = [
    "id",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
];

fn route(state: &mut State, _base_url: &str, request: &Received) -> Canned {
    if request.bearer() != Some(TOKEN) {
        return token_invalid();
    }
    if request.method != axum::http::Method::POST || request.path != "/v2/video/query/" {
        return envelope(404, "not_found", "Not found.", json!({}));
    }
    let fields: Vec<&str> = request
        .param("fields")
        .unwrap_or_default()
        .split(',')
        .collect();
    if let Some(unknown) = fields.iter().find(|f| !FIELDS.contains(f)) {
        return envelope(
            400,
            "invalid_params",
            &format!("Invalid field: {unknown}"),
            json!({}),
        );
    }
    let Some(ids) = request.body["filters"]["video_ids"].as_array() else {
        return envelope(
            400,
            "invalid_params",
            "filters.video_ids is required",
            json!({}),
        );
    };
    if ids.is_empty() || ids.len() > 20 {
        return envelope(
            400,
            "invalid_params",
            "video_ids must hold 1 to 20 ids",
            json!({}),
        );
    }
    let videos: Vec<Value> = ids
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| {
            state
                .videos
                .get(id)
                .map(|counts| video(id, counts, &fields))
        })
        .collect();
    envelope(
        200,
        "ok",
        "",
        json!({ "videos": videos, "cursor": 0, "has_more": false }),
    )
}

fn video(id: &str, counts: &Counts, fields: &[&str]) -> Value {
    let mut video = Map::new();
    for field in fields {
        let value = match *field {
            "id" => json!(id),
            "view_count" => json!(counts.views),
            "like_count" => json!(counts.likes),
            "comment_count" => json!(counts.comments),
            _ => json!(counts.shares),
        };
        video.insert((*field).to_owned(), value);
    }
    Value::Object(video)
}
