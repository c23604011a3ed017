//! Facebook Page Reels: `upload_phase=start` (its video id and upload URL recorded before the file
//! is sent), the file streamed to `rupload`, `upload_phase=finish` — recorded as asked before it
//! is called, so a retry asks the video's status instead of finishing twice — then the status
//! until the reel is published, and its permalink.

use serde_json::{json, Value};

use super::{Published, Upload};
use crate::{
    platform::GRAPH_VERSION,
    remote::{Failure, Outcome},
};

pub async fn publish(upload: &mut Upload<'_>) -> Outcome<Published> {
    let graph = format!("{}/{GRAPH_VERSION}", upload.client.api_base);
    let page = upload.credential.platform_account_id.clone();
    let video_id = match upload.publication.remote["video_id"].as_str() {
        Some(id) => id.to_owned(),
        None => start(upload, &graph, &page).await?,
    };
    if upload.publication.remote.get("uploaded").is_none() {
        upload.send_to_rupload().await?;
    }
    let finish_asked = upload
        .publication
        .remote
        .get("finish_requested_at")
        .is_some();
    let unpublished = |status: &Value| {
        status["status"]["publishing_phase"]["status"]
            .as_str()
            .is_none_or(|s| s == "not_started")
    };
    if !finish_asked || unpublished(&video_status(upload, &graph, &video_id).await?) {
        upload
            .remember("finish_requested_at", json!(chrono::Utc::now()))
            .await?;
        let metadata = upload.publication.metadata.clone();
        upload
            .send("video_reels.finish", &[], |http, token| {
                http.post(format!("{graph}/{page}/video_reels"))
                    .bearer_auth(token)
                    .query(&[
                        ("upload_phase", "finish"),
                        ("video_id", video_id.as_str()),
                        ("video_state", "PUBLISHED"),
                        ("title", metadata.title.as_str()),
                        ("description", metadata.caption.as_str()),
                    ])
            })
            .await?;
    }
    wait_until_published(upload, &graph, &video_id).await?;
    let reply = upload
        .send("video.permalink", &[], |http, token| {
            http.get(format!("{graph}/{video_id}"))
                .bearer_auth(token)
                .query(&[("fields", "permalink_url")])
        })
        .await?;
    let permalink = reply.body["permalink_url"].as_str().map(|path| {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("https://www.facebook.com{path}")
        }
    });
    Ok(Published {
        platform_post_id: video_id,
        permalink,
    })
}

async fn start(upload: &mut Upload<'_>, graph: &str, page: &str) -> Outcome<String> {
    let reply = upload
        .send("video_reels.start", &[], |http, token| {
            http.post(format!("{graph}/{page}/video_reels"))
                .bearer_auth(token)
                .query(&[("upload_phase", "start")])
        })
        .await?;
    let (Some(id), Some(url)) = (
        reply.body["video_id"].as_str(),
        reply.body["upload_url"].as_str(),
    ) else {
        return Err(Failure::Transient {
            reason: "Facebook started no reel upload".into(),
            retry_after: None,
        });
    };
    let (id, url) = (id.to_owned(), url.to_owned());
    upload.remember("video_id", json!(id)).await?;
    upload.remember("upload_uri", json!(url)).await?;
    Ok(id)
}

async fn video_status(upload: &mut Upload<'_>, graph: &str, video_id: &str) -> Outcome<Value> {
    Ok(upload
        .send("video.status", &[], |http, token| {
            http.get(format!("{graph}/{video_id}"))
                .bearer_auth(token)
                .query(&[("fields", "status")])
        })
        .await?
        .body)
}

async fn wait_until_published(upload: &mut Upload<'_>, graph: &str, video_id: &str) -> Outcome<()> {
    let started = tokio::time::Instant::now();
    loop {
        let body = video_status(upload, graph, video_id).await?;
        let status = &body["status"];
        if status["video_status"] == "error"
            || status["processing_phase"]["status"] == "error"
            || status["publishing_phase"]["status"] == "error"
        {
            let reason = status["processing_phase"]["error"]["message"]
                .as_str()
                .unwrap_or("no reason given");
            return Err(Failure::Permanent(format!(
                "Facebook could not publish the reel: {reason}"
            )));
        }
        if status["publishing_phase"]["status"] == "complete" {
            return Ok(());
        }
        upload
            .wait_turn(started, &format!("reel {video_id}"))
            .await?;
    }
}
