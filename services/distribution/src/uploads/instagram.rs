//! Instagram Reels through the Graph API: the rolling 24-hour publishing limit checked first, a
//! resumable container (its id recorded before the file is sent), the file streamed to
//! `rupload`, the container polled until `FINISHED`, then `media_publish` — recorded as asked
//! before it is called, so a retry that finds the container `PUBLISHED` looks the post up instead
//! of publishing twice — and its permalink.

use serde_json::{json, Value};

use super::{Published, Upload};
use crate::{
    platform::GRAPH_VERSION,
    remote::{Failure, Outcome},
};

pub async fn publish(upload: &mut Upload<'_>) -> Outcome<Published> {
    let graph = format!("{}/{GRAPH_VERSION}", upload.client.api_base);
    let user = upload.credential.platform_account_id.clone();
    if let Some(media_id) = upload.publication.remote["media_id"]
        .as_str()
        .map(str::to_owned)
    {
        return finish(upload, &graph, &media_id).await;
    }
    loop {
        let container = match upload.publication.remote["container_id"].as_str() {
            Some(id) => id.to_owned(),
            None => create_container(upload, &graph, &user).await?,
        };
        let status = container_status(upload, &graph, &container).await?;
        match status["status_code"].as_str().unwrap_or_default() {
            "EXPIRED" => {
                for key in [
                    "container_id",
                    "upload_uri",
                    "uploaded",
                    "publish_requested_at",
                ] {
                    upload.forget(key).await?;
                }
                continue;
            }
            "PUBLISHED" => {
                let media_id = find_published(upload, &graph, &user).await?;
                upload.remember("media_id", json!(media_id)).await?;
                return finish(upload, &graph, &media_id).await;
            }
            _ => {}
        }
        if upload.publication.remote.get("uploaded").is_none() {
            upload.send_to_rupload().await?;
        }
        wait_until_finished(upload, &graph, &container).await?;
        upload
            .remember("publish_requested_at", json!(chrono::Utc::now()))
            .await?;
        let published = upload
            .send("media_publish", &[], |http, token| {
                http.post(format!("{graph}/{user}/media_publish"))
                    .bearer_auth(token)
                    .query(&[("creation_id", container.as_str())])
            })
            .await?;
        let media_id = published.body["id"]
            .as_str()
            .ok_or_else(|| Failure::Transient {
                reason: "media_publish answered without an id".into(),
                retry_after: None,
            })?
            .to_owned();
        upload.remember("media_id", json!(media_id)).await?;
        return finish(upload, &graph, &media_id).await;
    }
}

async fn create_container(upload: &mut Upload<'_>, graph: &str, user: &str) -> Outcome<String> {
    let limit = upload
        .send("content_publishing_limit", &[], |http, token| {
            http.get(format!("{graph}/{user}/content_publishing_limit"))
                .bearer_auth(token)
                .query(&[("fields", "config,quota_usage")])
        })
        .await?;
    let usage = &limit.body["data"][0];
    if let (Some(used), Some(total)) = (
        usage["quota_usage"].as_u64(),
        usage["config"]["quota_total"].as_u64(),
    ) {
        if used >= total {
            return Err(Failure::Quota {
                reason: format!("Instagram's limit of {total} posts in 24 hours is reached"),
                resume_at: None,
            });
        }
    }
    let caption = upload.publication.metadata.caption.clone();
    let reply = upload
        .send("media.create", &[], |http, token| {
            http.post(format!("{graph}/{user}/media"))
                .bearer_auth(token)
                .query(&[
                    ("media_type", "REELS"),
                    ("upload_type", "resumable"),
                    ("share_to_feed", "true"),
                    ("caption", caption.as_str()),
                ])
        })
        .await?;
    let (Some(id), Some(uri)) = (reply.body["id"].as_str(), reply.body["uri"].as_str()) else {
        return Err(Failure::Transient {
            reason: "Instagram made no resumable container".into(),
            retry_after: None,
        });
    };
    let (id, uri) = (id.to_owned(), uri.to_owned());
    upload.remember("container_id", json!(id)).await?;
    upload.remember("upload_uri", json!(uri)).await?;
    Ok(id)
}

async fn container_status(upload: &mut Upload<'_>, graph: &str, container: &str) -> Outcome<Value> {
    Ok(upload
        .send("container.status", &[], |http, token| {
            http.get(format!("{graph}/{container}"))
                .bearer_auth(token)
                .query(&[("fields", "status_code,status")])
        })
        .await?
        .body)
}

async fn wait_until_finished(upload: &mut Upload<'_>, graph: &str, container: &str) -> Outcome<()> {
    let started = tokio::time::Instant::now();
    loop {
        let status = container_status(upload, graph, container).await?;
        match status["status_code"].as_str().unwrap_or_default() {
            "FINISHED" => return Ok(()),
            "ERROR" => {
                return Err(Failure::Permanent(format!(
                    "Instagram could not process the video: {}",
                    status["status"].as_str().unwrap_or("no reason given")
                )))
            }
            "EXPIRED" => {
                return Err(Failure::Transient {
                    reason: "the container expired before it was published".into(),
                    retry_after: None,
                })
            }
            _ => {}
        }
        upload
            .wait_turn(started, &format!("container {container}"))
            .await?;
    }
}

/// The post a container became, when the reply to `media_publish` was lost: the newest reel with
/// this caption posted since the publish was asked.
async fn find_published(upload: &mut Upload<'_>, graph: &str, user: &str) -> Outcome<String> {
    let asked: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(upload.publication.remote["publish_requested_at"].clone()).map_err(
            |_| Failure::Permanent("the container is published but no publish was recorded".into()),
        )?;
    let caption = upload.publication.metadata.caption.clone();
    let media = upload
        .send("media.list", &[], |http, token| {
            http.get(format!("{graph}/{user}/media"))
                .bearer_auth(token)
                .query(&[("fields", "id,caption,timestamp")])
        })
        .await?;
    media.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["caption"].as_str() == Some(caption.as_str()))
        .filter(|m| {
            m["timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t >= asked - chrono::Duration::seconds(60))
        })
        .find_map(|m| m["id"].as_str().map(str::to_owned))
        .ok_or_else(|| Failure::Transient {
            reason: "the published reel is not listed yet".into(),
            retry_after: None,
        })
}

async fn finish(upload: &mut Upload<'_>, graph: &str, media_id: &str) -> Outcome<Published> {
    let reply = upload
        .send("media.permalink", &[], |http, token| {
            http.get(format!("{graph}/{media_id}"))
                .bearer_auth(token)
                .query(&[("fields", "permalink")])
        })
        .await?;
    Ok(Published {
        platform_post_id: media_id.to_owned(),
        permalink: reply.body["permalink"].as_str().map(str::to_owned),
    })
}
