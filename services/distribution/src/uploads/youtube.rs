//! YouTube: a resumable upload (the session URI recorded before any byte is sent; chunks in
//! multiples of 256 KiB; a `308` and its `Range` say where to resume; a probe after a crash asks
//! how far the session got — or for the video it already made), then `thumbnails.set` and
//! `captions.insert` (failures there are warnings, never a failed publication), then the
//! processing status until the video is processed.

use serde_json::{json, Value};

use super::{Published, Upload};
use crate::remote::{Failure, Outcome};

/// Chunks are multiples of this (all but the last).
const CHUNK_UNIT: u64 = 256 * 1024;

pub async fn publish(upload: &mut Upload<'_>) -> Outcome<Published> {
    let video_id = match upload.publication.remote["video_id"].as_str() {
        Some(id) => id.to_owned(),
        None => {
            let video = send_file(upload).await?;
            let id = video["id"]
                .as_str()
                .ok_or_else(|| {
                    Failure::Permanent("YouTube finished the upload without a video id".into())
                })?
                .to_owned();
            upload.remember("video_id", json!(id)).await?;
            sqlx::query!(
                "UPDATE distribution.publications SET state = 'processing', platform_post_id = $2, updated_at = now() WHERE id = $1",
                upload.publication.id,
                &id
            )
            .execute(upload.db)
            .await?;
            id
        }
    };
    if upload.publication.remote.get("thumbnail").is_none() {
        let outcome = set_thumbnail(upload, &video_id).await;
        settle_extra(upload, "thumbnail", outcome).await?;
    }
    if upload.publication.remote.get("captions").is_none() {
        let outcome = insert_captions(upload, &video_id).await;
        settle_extra(upload, "captions", outcome).await?;
    }
    wait_until_processed(upload, &video_id).await?;
    Ok(Published {
        permalink: Some(format!("https://www.youtube.com/watch?v={video_id}")),
        platform_post_id: video_id,
    })
}

/// Records how an extra step went; a failure becomes a warning, never the publication's failure.
async fn settle_extra(upload: &mut Upload<'_>, step: &str, outcome: Outcome<()>) -> Outcome<()> {
    match outcome {
        Ok(()) => upload.remember(step, json!("done")).await,
        Err(failure @ Failure::Transient { .. }) => Err(failure),
        Err(failure) => {
            upload
                .warn(json!({ "step": step, "reason": failure.to_string() }))
                .await?;
            upload.remember(step, json!("warned")).await
        }
    }
}

/// Uploads the file through a resumable session and returns the video resource.
async fn send_file(upload: &mut Upload<'_>) -> Outcome<Value> {
    let total = upload.publication.video_bytes;
    let chunk = (upload.pacing.chunk_bytes / CHUNK_UNIT).max(1) * CHUNK_UNIT;
    loop {
        // A session recorded earlier is asked how far it got; a new one holds nothing yet.
        let (session, mut offset) = match upload.publication.remote["session_uri"].as_str() {
            Some(session) => {
                let session = session.to_owned();
                match probe(upload, &session, total).await? {
                    Progress::Done(video) => return Ok(video),
                    Progress::Expired => {
                        upload.forget("session_uri").await?;
                        continue;
                    }
                    Progress::Received(offset) => (session, offset),
                }
            }
            None => (open_session(upload).await?, 0),
        };
        while offset < total {
            let length = chunk.min(total - offset);
            let bytes = upload.chunk(offset, length).await?;
            let last = offset + length - 1;
            let sent = upload
                .send("upload.chunk", &[308, 404, 410], |http, token| {
                    http.put(&session)
                        .bearer_auth(token)
                        .header("content-range", format!("bytes {offset}-{last}/{total}"))
                        .body(bytes.clone())
                })
                .await?;
            upload.metrics.uploaded(upload.publication.platform, length);
            match sent.status {
                308 => offset = received(&sent.headers),
                404 | 410 => break,
                _ => return Ok(sent.body),
            }
            upload.renew_lease().await?;
        }
        // The session expired mid-upload, or every byte was taken without a final answer: ask again.
        match probe(upload, &session, total).await? {
            Progress::Done(video) => return Ok(video),
            Progress::Expired => upload.forget("session_uri").await?,
            Progress::Received(_) => {}
        }
    }
}

/// Starts a resumable session and records its URI before a byte of the file is sent.
async fn open_session(upload: &mut Upload<'_>) -> Outcome<String> {
    let metadata = &upload.publication.metadata;
    let mut status = json!({
        "privacyStatus": if upload.publication.publish_at.is_some() { "private" } else { metadata.privacy.as_str() },
        "selfDeclaredMadeForKids": metadata.made_for_kids,
    });
    if let Some(at) = upload.publication.publish_at {
        status["publishAt"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    let body = json!({
        "snippet": { "title": metadata.title, "description": metadata.description, "tags": metadata.tags, "categoryId": "22" },
        "status": status,
    });
    let url = format!(
        "{}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        upload.client.upload_base
    );
    let total = upload.publication.video_bytes;
    let reply = upload
        .send("upload.start", &[], |http, token| {
            http.post(&url)
                .bearer_auth(token)
                .header("x-upload-content-length", total)
                .header("x-upload-content-type", "video/mp4")
                .json(&body)
        })
        .await?;
    let session = reply
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Failure::Transient {
            reason: "YouTube opened no upload session (no Location header)".into(),
            retry_after: None,
        })?
        .to_owned();
    upload.remember("session_uri", json!(session)).await?;
    Ok(session)
}

enum Progress {
    Received(u64),
    Done(Value),
    Expired,
}

/// Asks the session how many bytes it holds, or for the video it already made.
async fn probe(upload: &mut Upload<'_>, session: &str, total: u64) -> Outcome<Progress> {
    let reply = upload
        .send("upload.probe", &[308, 404, 410], |http, token| {
            http.put(session)
                .bearer_auth(token)
                .header("content-range", format!("bytes */{total}"))
                .header("content-length", "0")
        })
        .await?;
    Ok(match reply.status {
        308 => Progress::Received(received(&reply.headers)),
        404 | 410 => Progress::Expired,
        _ => Progress::Done(reply.body),
    })
}

/// The next byte to send after a `308`: one past the end of its `Range: bytes=0-k`, else 0.
fn received(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|range| range.rsplit('-').next())
        .and_then(|end| end.trim().parse::<u64>().ok())
        .map_or(0, |end| end + 1)
}

async fn set_thumbnail(upload: &mut Upload<'_>, video_id: &str) -> Outcome<()> {
    let Some(key) = upload.publication.extras["thumbnail"]
        .as_str()
        .and_then(|k| shared::storage::MediaKey::parse(k).ok())
    else {
        return Ok(());
    };
    let image = upload.store.get(&key).await?;
    let url = format!(
        "{}/upload/youtube/v3/thumbnails/set?videoId={video_id}&uploadType=media",
        upload.client.upload_base
    );
    upload
        .send("thumbnails.set", &[], |http, token| {
            http.post(&url)
                .bearer_auth(token)
                .header("content-type", "image/jpeg")
                .body(image.clone())
        })
        .await?;
    Ok(())
}

async fn insert_captions(upload: &mut Upload<'_>, video_id: &str) -> Outcome<()> {
    let tracks = upload.publication.extras["captions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for track in tracks {
        let (Some(language), Some(key)) = (
            track["language"].as_str(),
            track["srt"]
                .as_str()
                .and_then(|k| shared::storage::MediaKey::parse(k).ok()),
        ) else {
            continue;
        };
        let srt = upload.store.get(&key).await?;
        let boundary = format!("reelforge-{}", uuid::Uuid::new_v4().simple());
        let snippet = json!({ "snippet": { "videoId": video_id, "language": language, "name": "", "isDraft": false } });
        let mut body = format!("--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{snippet}\r\n--{boundary}\r\ncontent-type: application/octet-stream\r\n\r\n").into_bytes();
        body.extend_from_slice(&srt);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!(
            "{}/upload/youtube/v3/captions?part=snippet&uploadType=multipart",
            upload.client.upload_base
        );
        upload
            .send("captions.insert", &[], |http, token| {
                http.post(&url)
                    .bearer_auth(token)
                    .header(
                        "content-type",
                        format!("multipart/related; boundary={boundary}"),
                    )
                    .body(body.clone())
            })
            .await?;
    }
    Ok(())
}

/// Polls the video's status until YouTube has processed it; a failed or rejected upload fails.
async fn wait_until_processed(upload: &mut Upload<'_>, video_id: &str) -> Outcome<()> {
    let url = format!(
        "{}/youtube/v3/videos?part=status,processingDetails&id={video_id}",
        upload.client.api_base
    );
    let started = tokio::time::Instant::now();
    loop {
        let reply = upload
            .send("videos.status", &[], |http, token| {
                http.get(&url).bearer_auth(token)
            })
            .await?;
        let status = &reply.body["items"][0]["status"];
        match status["uploadStatus"].as_str() {
            Some("processed") => return Ok(()),
            Some("failed") => {
                return Err(Failure::Permanent(format!(
                    "YouTube could not process the video: {}",
                    status["failureReason"]
                        .as_str()
                        .unwrap_or("no reason given")
                )))
            }
            Some("rejected") => {
                return Err(Failure::Permanent(format!(
                    "YouTube rejected the video: {}",
                    status["rejectionReason"]
                        .as_str()
                        .unwrap_or("no reason given")
                )))
            }
            Some("deleted") => {
                return Err(Failure::Permanent(
                    "the video was deleted on YouTube".into(),
                ))
            }
            None if reply.body["items"].as_array().is_some_and(Vec::is_empty) => {
                return Err(Failure::Permanent(format!(
                    "YouTube has no video {video_id}"
                )))
            }
            _ => {}
        }
        upload
            .wait_turn(started, &format!("video {video_id}"))
            .await?;
    }
}
