//! TikTok Content Posting (direct post): `creator_info` (privacy options, longest video), `init`
//! (its `publish_id` and upload URL recorded before a byte is sent; `is_aigc` set), chunked `PUT`s
//! with `Content-Range` (5–64 MB chunks, the remainder riding on the last, files under 5 MB in one),
//! then `status/fetch` until the post is complete. A retry that finds a `publish_id` asks its status
//! and resumes from the bytes TikTok holds instead of posting again.

use serde_json::{json, Value};

use super::{Published, Upload};
use crate::remote::{Failure, Outcome};

const MIN_CHUNK: u64 = 5 * 1024 * 1024;
const MAX_CHUNK: u64 = 64 * 1024 * 1024;

/// The chunk size and count TikTok expects for a file of `total` bytes.
pub fn chunking(total: u64, wanted: u64) -> (u64, u64) {
    if total < MIN_CHUNK {
        return (total, 1);
    }
    let size = wanted.clamp(MIN_CHUNK, MAX_CHUNK).min(total);
    (size, (total / size).max(1))
}

/// TikTok's privacy level for ours, when the creator may post with it (an unaudited app may
/// only post `SELF_ONLY`): a post is never made more or less public than asked.
fn privacy_level(wanted: &str, options: &[String]) -> Option<String> {
    let level = match wanted {
        "public" => "PUBLIC_TO_EVERYONE",
        "unlisted" => "FOLLOWER_OF_CREATOR",
        _ => "SELF_ONLY",
    };
    options.iter().find(|option| *option == level).cloned()
}

pub async fn publish(upload: &mut Upload<'_>) -> Outcome<Published> {
    let api = upload.client.api_base.clone();
    let total = upload.publication.video_bytes;
    let (chunk_size, chunk_count) = chunking(total, upload.pacing.chunk_bytes);
    loop {
        // A post recorded earlier is asked how much TikTok holds; a new one holds nothing yet.
        let (publish_id, upload_url, held) = match (
            upload.publication.remote["publish_id"].as_str(),
            upload.publication.remote["upload_url"].as_str(),
        ) {
            (Some(id), Some(url)) => {
                let (id, url) = (id.to_owned(), url.to_owned());
                let status = fetch_status(upload, &api, &id).await?;
                let held = (status["status"] == "PROCESSING_UPLOAD")
                    .then(|| status["uploaded_bytes"].as_u64().unwrap_or(0));
                (id, url, held)
            }
            _ => {
                let (id, url) = init(upload, &api, total, chunk_size, chunk_count).await?;
                (id, url, Some(0))
            }
        };
        if let Some(held) = held {
            // Resume at the first chunk TikTok does not hold whole.
            let first = (held / chunk_size).min(chunk_count - 1);
            let sent =
                send_chunks(upload, &upload_url, first, chunk_size, chunk_count, total).await?;
            if !sent {
                // The upload URL expired (it lives an hour): nothing was posted; start again.
                upload.forget("publish_id").await?;
                upload.forget("upload_url").await?;
                continue;
            }
        }
        return wait_for_post(upload, &api, &publish_id).await;
    }
}

async fn init(
    upload: &mut Upload<'_>,
    api: &str,
    total: u64,
    chunk_size: u64,
    chunk_count: u64,
) -> Outcome<(String, String)> {
    let creator = upload
        .send("creator_info.query", &[], |http, token| {
            http.post(format!("{api}/v2/post/publish/creator_info/query/"))
                .bearer_auth(token)
                .header("content-type", "application/json; charset=UTF-8")
        })
        .await?
        .body;
    let options: Vec<String> = creator["data"]["privacy_level_options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str().map(str::to_owned))
        .collect();
    let metadata = upload.publication.metadata.clone();
    let privacy = privacy_level(&metadata.privacy, &options).ok_or_else(|| {
        Failure::Permanent(format!(
            "TikTok lets this creator post only as {} (asked: {}); choose one of those privacies",
            options.join(", "),
            metadata.privacy
        ))
    })?;
    if let Some(longest) = creator["data"]["max_video_post_duration_sec"].as_u64() {
        let duration_ms = upload.publication.extras["duration_ms"]
            .as_u64()
            .unwrap_or(0);
        if duration_ms > longest * 1000 {
            return Err(Failure::Permanent(format!(
                "this creator may post at most {longest} s; the video runs {} s",
                duration_ms / 1000
            )));
        }
    }
    let body = json!({
        "post_info": {
            "title": metadata.caption,
            "privacy_level": privacy,
            "disable_duet": false,
            "disable_comment": creator["data"]["comment_disabled"].as_bool().unwrap_or(false),
            "disable_stitch": false,
            "video_cover_timestamp_ms": 1000,
            "is_aigc": true,
        },
        "source_info": { "source": "FILE_UPLOAD", "video_size": total, "chunk_size": chunk_size, "total_chunk_count": chunk_count },
    });
    let reply = upload
        .send("video.init", &[], |http, token| {
            http.post(format!("{api}/v2/post/publish/video/init/"))
                .bearer_auth(token)
                .json(&body)
        })
        .await?;
    let publish_id = reply.body["data"]["publish_id"].as_str().map(str::to_owned);
    let upload_url = reply.body["data"]["upload_url"].as_str().map(str::to_owned);
    let (Some(publish_id), Some(upload_url)) = (publish_id, upload_url) else {
        return Err(Failure::Transient {
            reason: "TikTok's init reply holds no publish_id or upload_url".into(),
            retry_after: None,
        });
    };
    upload.remember("publish_id", json!(publish_id)).await?;
    upload.remember("upload_url", json!(upload_url)).await?;
    Ok((publish_id, upload_url))
}

/// Sends chunks `first..count`; `false` when the upload URL has expired.
async fn send_chunks(
    upload: &mut Upload<'_>,
    url: &str,
    first: u64,
    chunk_size: u64,
    count: u64,
    total: u64,
) -> Outcome<bool> {
    for index in first..count {
        let start = index * chunk_size;
        // The last chunk carries the remainder.
        let end = if index + 1 == count {
            total
        } else {
            start + chunk_size
        };
        let bytes = upload.chunk(start, end - start).await?;
        let reply = upload
            .send("upload.chunk", &[404, 410], |http, _token| {
                http.put(url)
                    .header("content-type", "video/mp4")
                    .header(
                        "content-range",
                        format!("bytes {start}-{}/{total}", end - 1),
                    )
                    .body(bytes.clone())
            })
            .await?;
        if matches!(reply.status, 404 | 410) {
            return Ok(false);
        }
        upload
            .metrics
            .uploaded(upload.publication.platform, end - start);
        upload.renew_lease().await?;
    }
    Ok(true)
}

async fn fetch_status(upload: &mut Upload<'_>, api: &str, publish_id: &str) -> Outcome<Value> {
    let body = json!({ "publish_id": publish_id });
    let reply = upload
        .send("status.fetch", &[], |http, token| {
            http.post(format!("{api}/v2/post/publish/status/fetch/"))
                .bearer_auth(token)
                .json(&body)
        })
        .await?;
    Ok(reply.body["data"].clone())
}

/// Polls the post until TikTok has published it; a failed post fails with TikTok's reason.
async fn wait_for_post(upload: &mut Upload<'_>, api: &str, publish_id: &str) -> Outcome<Published> {
    let started = tokio::time::Instant::now();
    loop {
        let status = fetch_status(upload, api, publish_id).await?;
        match status["status"].as_str().unwrap_or_default() {
            "PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX" => {
                let post_id = status["publicaly_available_post_id"][0]
                    .as_u64()
                    .map(|id| id.to_string())
                    .or_else(|| {
                        status["publicaly_available_post_id"][0]
                            .as_str()
                            .map(str::to_owned)
                    });
                let permalink = post_id
                    .as_ref()
                    .map(|id| format!("https://www.tiktok.com/video/{id}"));
                return Ok(Published {
                    platform_post_id: post_id.unwrap_or_else(|| publish_id.to_owned()),
                    permalink,
                });
            }
            "FAILED" => {
                return Err(Failure::Permanent(format!(
                    "TikTok could not post the video: {}",
                    status["fail_reason"].as_str().unwrap_or("no reason given")
                )));
            }
            _ => {}
        }
        upload
            .wait_turn(started, &format!("TikTok post {publish_id}"))
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_tiktoks_rules() {
        const MB: u64 = 1024 * 1024;
        assert_eq!(
            chunking(3 * MB, 10 * MB),
            (3 * MB, 1),
            "small files go whole"
        );
        assert_eq!(
            chunking(23 * MB, 10 * MB),
            (10 * MB, 2),
            "the remainder rides on the last chunk"
        );
        assert_eq!(
            chunking(23 * MB, MB),
            (5 * MB, 4),
            "chunks are at least 5 MB"
        );
        assert_eq!(
            chunking(700 * MB, 100 * MB),
            (64 * MB, 10),
            "and at most 64 MB"
        );
    }

    #[test]
    fn privacy_follows_the_creators_options() {
        let all: Vec<String> = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            privacy_level("public", &all).as_deref(),
            Some("PUBLIC_TO_EVERYONE")
        );
        assert_eq!(privacy_level("private", &all).as_deref(), Some("SELF_ONLY"));
        let unaudited = vec!["SELF_ONLY".to_owned()];
        assert_eq!(
            privacy_level("private", &unaudited).as_deref(),
            Some("SELF_ONLY")
        );
        assert_eq!(
            privacy_level("public", &unaudited),
            None,
            "never posted otherwise than asked"
        );
    }
}
