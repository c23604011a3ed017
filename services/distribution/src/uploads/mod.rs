//! Sending a claimed publication through its platform's official protocol. What each protocol
//! creates remotely is written to the publication's `remote` record before the call that creates
//! it returns control to anyone else, so a retry — in this process or after a crash — resumes it
//! or asks the platform about it instead of creating it again.

mod facebook;
mod instagram;
mod tiktok;
mod youtube;

use std::{sync::Arc, time::Duration};

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use shared::storage::{MediaKey, MediaStore};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    accounts::{Accounts, Credential},
    platform::{Platform, PlatformClient},
    preflight::Metadata,
    remote::{classify, is_refusal, Failure, Journal, Outcome},
};

/// A publication a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub tenant: String,
    pub run_id: Uuid,
    /// The attempt of the run's `publish` step this publication reports to, if a run asked for it.
    pub run_attempt: Option<i32>,
    pub account_id: Uuid,
    pub platform: Platform,
    pub media_key: MediaKey,
    pub video_bytes: u64,
    pub metadata: Metadata,
    pub extras: Value,
    pub publish_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What was already created remotely (session URI, publish_id, container id, video id…).
    pub remote: Value,
    pub warnings: Vec<Value>,
}

/// Where a finished upload ended up.
#[derive(Debug, Clone)]
pub struct Published {
    pub platform_post_id: String,
    pub permalink: Option<String>,
}

/// How uploads pace themselves.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub chunk_bytes: u64,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub poll_for: Duration,
}

/// One upload in progress: the publication, its account's credential, and the means to call.
pub struct Upload<'a> {
    pub db: &'a PgPool,
    pub http: &'a reqwest::Client,
    pub client: &'a PlatformClient,
    pub accounts: &'a Accounts,
    pub store: Arc<dyn MediaStore>,
    pub journal: &'a Journal,
    pub pacing: &'a Pacing,
    pub metrics: &'a crate::metrics::PublishingMetrics,
    pub publication: Claimed,
    pub credential: Credential,
}

/// The video in the media store, as streaming request bodies.
#[derive(Clone)]
struct VideoSource {
    store: Arc<dyn MediaStore>,
    key: MediaKey,
    total: u64,
    piece: u64,
}

impl VideoSource {
    /// The video from `offset` to its end, read a piece at a time (never the whole file in memory).
    fn body_from(&self, offset: u64) -> reqwest::Body {
        let source = self.clone();
        let pieces = futures::stream::try_unfold(offset, move |at| {
            let source = source.clone();
            async move {
                if at >= source.total {
                    return Ok(None);
                }
                let length = source.piece.min(source.total - at);
                let bytes = source
                    .store
                    .read_range(&source.key, at, length)
                    .await
                    .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
                Ok::<_, std::io::Error>(Some((bytes, at + length)))
            }
        });
        reqwest::Body::wrap_stream(pieces)
    }
}

/// A reply the protocol expected, with its status, headers and body.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Upload<'_> {
    /// Sends the whole publication; returns where it was published.
    pub async fn run(&mut self) -> Outcome<Published> {
        match self.publication.platform {
            Platform::Youtube => youtube::publish(self).await,
            Platform::Tiktok => tiktok::publish(self).await,
            Platform::Instagram => instagram::publish(self).await,
            Platform::Facebook => facebook::publish(self).await,
        }
    }

    /// Records `value` under `key` of the publication's remote record (and renews the lease),
    /// committed before the caller goes on.
    pub async fn remember(&mut self, key: &str, value: Value) -> Outcome<()> {
        sqlx::query!(
            "UPDATE distribution.publications SET remote = remote || jsonb_build_object($2::text, $3::jsonb),
                 lease_until = now() + make_interval(secs => $4), updated_at = now() WHERE id = $1",
            self.publication.id,
            key,
            &value,
            self.pacing.lease.as_secs_f64()
        )
        .execute(self.db)
        .await?;
        if let Some(remote) = self.publication.remote.as_object_mut() {
            remote.insert(key.to_owned(), value);
        } else {
            self.publication.remote = json!({ key: value });
        }
        Ok(())
    }

    /// Forgets `key` of the remote record (an expired session).
    pub async fn forget(&mut self, key: &str) -> Outcome<()> {
        sqlx::query!(
            "UPDATE distribution.publications SET remote = remote - $2::text, updated_at = now() WHERE id = $1",
            self.publication.id,
            key
        )
        .execute(self.db)
        .await?;
        if let Some(remote) = self.publication.remote.as_object_mut() {
            remote.remove(key);
        }
        Ok(())
    }

    /// Keeps the lease while a long step runs.
    pub async fn renew_lease(&self) -> Outcome<()> {
        sqlx::query!(
            "UPDATE distribution.publications SET lease_until = now() + make_interval(secs => $2) WHERE id = $1",
            self.publication.id,
            self.pacing.lease.as_secs_f64()
        )
        .execute(self.db)
        .await?;
        Ok(())
    }

    /// Between two status polls: waits the poll interval (keeping the lease), unless `what` has
    /// been processing longer than the poll window — then the publication waits its turn again.
    pub async fn wait_turn(&self, started: tokio::time::Instant, what: &str) -> Outcome<()> {
        if started.elapsed() >= self.pacing.poll_for {
            return Err(Failure::Transient {
                reason: format!("{what} is still processing"),
                retry_after: Some(self.pacing.poll_interval.max(Duration::from_secs(60))),
            });
        }
        self.renew_lease().await?;
        tokio::time::sleep(self.pacing.poll_interval).await;
        Ok(())
    }

    /// Notes a problem that does not fail the publication (a thumbnail refused, say).
    pub async fn warn(&mut self, warning: Value) -> Outcome<()> {
        sqlx::query!(
            "UPDATE distribution.publications SET warnings = warnings || jsonb_build_array($2::jsonb), updated_at = now() WHERE id = $1",
            self.publication.id,
            &warning
        )
        .execute(self.db)
        .await?;
        self.publication.warnings.push(warning);
        Ok(())
    }

    /// Sends the request `build` makes with the access token; a refused token is refreshed and
    /// the request sent once more. Statuses outside 2xx and `also` are classified failures.
    pub async fn send(
        &mut self,
        action: &str,
        also: &[u16],
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Outcome<Reply> {
        let mut refreshed = false;
        loop {
            let response = build(self.http, &self.credential.access_token).send().await;
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    self.journal
                        .record(action, None, json!({ "error": error.to_string() }))
                        .await;
                    return Err(error.into());
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or_else(|_| {
                if text.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                }
            });
            self.journal
                .record(action, Some(status), body.clone())
                .await;
            if !is_refusal(self.publication.platform, status, &body) || also.contains(&status) {
                return Ok(Reply {
                    status,
                    headers,
                    body,
                });
            }
            match classify(self.publication.platform, status, &headers, &body) {
                Failure::Unauthorized(_) if !refreshed => {
                    refreshed = true;
                    let refused = self.credential.access_token.clone();
                    self.credential = self
                        .accounts
                        .after_refusal(self.publication.account_id, &refused)
                        .await?;
                    self.journal
                        .record("token.refresh", None, json!({ "after": action }))
                        .await;
                }
                Failure::Unauthorized(reason) => return Err(Failure::Revoked(reason)),
                failure => return Err(failure),
            }
        }
    }

    /// Streams the whole file to Meta's `rupload` URI recorded as `upload_uri` (Instagram
    /// containers and Facebook reels). Sending it again is harmless: an upload is not a post.
    pub async fn send_to_rupload(&mut self) -> Outcome<()> {
        let uri = self.publication.remote["upload_uri"]
            .as_str()
            .ok_or_else(|| Failure::Permanent("no upload URI was recorded".into()))?
            .to_owned();
        let total = self.publication.video_bytes;
        let video = self.video_source();
        self.send("rupload", &[], |http, token| {
            http.post(&uri)
                .header("authorization", format!("OAuth {token}"))
                .header("offset", "0")
                .header("file_size", total.to_string())
                .header("content-length", total.to_string())
                .body(video.body_from(0))
        })
        .await?;
        self.metrics.uploaded(self.publication.platform, total);
        self.remember("uploaded", json!(true)).await
    }

    /// Where request bodies streaming the video come from.
    fn video_source(&self) -> VideoSource {
        VideoSource {
            store: self.store.clone(),
            key: self.publication.media_key.clone(),
            total: self.publication.video_bytes,
            piece: self.pacing.chunk_bytes.max(64 * 1024),
        }
    }

    /// `length` bytes of the video from `offset`, read from the media store.
    pub async fn chunk(&self, offset: u64, length: u64) -> Outcome<bytes::Bytes> {
        Ok(self
            .store
            .read_range(&self.publication.media_key, offset, length)
            .await?)
    }
}
