//! A fake Meta Graph API for insights: `GET /{version}/{media-id}/insights` (Instagram) and
//! `GET /{version}/{video-id}/video_insights` (Facebook), the token as the `access_token` query
//! parameter, unknown metrics refused with `(#100)` as Graph does, and answers in
//! `{data: [{name, period, values: [{value}], title, description, id}]}`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::fake_server::{Canned, Fake, Received};

pub const TOKEN: &str = "EAAG-meta-token";

const INSTAGRAM: [&str; 9] = [
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
];

const FACEBOOK: [&str; 9] = [
    "blue_reels_play_count",
    "fb_reels_total_plays",
    "post_impressions_unique",
    "post_video_avg_time_watched",
    "post_video_view_time",
    "post_video_likes_by_reaction_type",
    "post_video_social_actions",
    "total_video_views",
    "total_video_avg_time_watched",
];

#[derive(Default)]
pub struct State {
    /// Metric values per media or video id.
    pub media: HashMap<String, HashMap<String, Value>>,
    /// Answer with `total_value: {value}` instead of `values: [{value}]`.
    pub total_value_style: bool,
}

pub type FakeMeta = Fake<State>;

pub async fn start() -> std::io::Result<FakeMeta> {
    Fake::start(State::default(), route).await
}

/// Seeds `id` with `metrics`.
pub fn add_media(fake: &FakeMeta, id: &str, metrics: &[(&str, Value)]) {
    fake.with(|state| {
        state.media.insert(
            id.to_owned(),
            metrics
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        );
    });
}

pub fn graph_error(status: u16, code: i64, subcode: i64, transient: bool, message: &str) -> Canned {
    Canned::json(
        status,
        &json!({ "error": { "message": message, "type": "OAuthException", "code": code, "error_subcode": subcode, "is_transient": transient, "fbtrace_id": "AbCdEfFake" } }),
    )
}

pub fn invalid_token() -> Canned {
    graph_error(
        400,
        190,
        463,
        false,
        "Error validating access token: Session has expired.",
    )
}

fn route(state: &mut State, _base_url: &str, request: &Received) -> Canned {
    if request.param("access_token") != Some(TOKEN) {
        return graph_error(
            400,
            190,
            0,
            false,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let segments = request.segments();
    let [_version, node, edge] = segments.as_slice() else {
        return graph_error(400, 2500, 0, false, "Unknown path components");
    };
    let allowed: &[&str] = match *edge {
        "insights" => &INSTAGRAM,
        "video_insights" => &FACEBOOK,
        _ => return graph_error(400, 2500, 0, false, "Unknown path components"),
    };
    let Some(media) = state.media.get(*node) else {
        return graph_error(
            400,
            100,
            33,
            false,
            &format!("Unsupported get request. Object with ID '{node}' does not exist"),
        );
    };
    let metrics: Vec<&str> = request
        .param("metric")
        .unwrap_or_default()
        .split(',')
        .collect();
    if let Some((index, _)) = metrics
        .iter()
        .enumerate()
        .find(|(_, m)| !allowed.contains(m))
    {
        return graph_error(
            400,
            100,
            0,
            false,
            &format!(
                "(#100) metric[{index}] must be one of the following values: {}",
                allowed.join(", ")
            ),
        );
    }
    let data: Vec<Value> = metrics
        .iter()
        .filter_map(|name| media.get(*name).map(|value| (name, value)))
        .map(|(name, value)| {
            let mut entry = json!({
                "name": name, "period": "lifetime", "title": name, "description": name,
                "id": format!("{node}/{edge}/{name}/lifetime"),
            });
            if state.total_value_style {
                entry["total_value"] = json!({ "value": value });
            } else {
                entry["values"] = json!([{ "value": value }]);
            }
            entry
        })
        .collect();
    Canned::json(200, &json!({ "data": data }))
}
