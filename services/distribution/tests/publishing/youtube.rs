//! Publishing to YouTube: the happy path, every injected fault, quotas, the licence gate,
//! duplicates and dry runs.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{fake_youtube::Fault, video_bytes, World};

async fn publish(world: &World, body: Value) -> anyhow::Result<String> {
    let (status, publication) = world.post("/v1/publications", &body).await?;
    anyhow::ensure!(status == 201, "publish answered {status}: {publication}");
    Ok(publication["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_run_is_published_once_with_its_bytes_metadata_thumbnail_and_captions(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    let video = video_bytes(700 * 1024 + 123);
    let run = world.finished_run(&video, |_| {}).await?;
    let id = publish(
        &world,
        json!({"run_id": run, "account_id": account, "tags": ["kites", "wind tunnel"]}),
    )
    .await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "published", "{publication}");
    let videos = world.youtube.videos();
    assert_eq!(videos.len(), 1);
    let uploaded = &videos[0];
    assert_eq!(
        Sha256::digest(&uploaded.bytes),
        Sha256::digest(&video),
        "the bytes arrive intact"
    );
    assert_eq!(uploaded.resource["snippet"]["title"], "Kites over youtube");
    assert_eq!(
        uploaded.resource["snippet"]["tags"],
        json!(["kites", "wind tunnel"])
    );
    assert_eq!(uploaded.resource["status"]["privacyStatus"], "private");
    assert_eq!(
        uploaded.resource["status"]["selfDeclaredMadeForKids"],
        false
    );
    assert_eq!(
        uploaded.thumbnail.as_deref(),
        Some(&b"\xff\xd8\xff thumbnail"[..])
    );
    assert_eq!(uploaded.captions.len(), 1);
    assert!(
        uploaded.captions[0].contains("Hello")
            && uploaded.captions[0].contains("\"language\":\"en\"")
    );
    assert_eq!(publication["platform_post_id"], uploaded.id.as_str());
    assert_eq!(
        publication["permalink"],
        format!("https://www.youtube.com/watch?v={}", uploaded.id)
    );
    assert_eq!(publication["warnings"], json!([]));
    assert_eq!(publication["format"], "16:9");
    // 700 KiB in 256 KiB chunks: three chunk calls, each journalled with its status.
    let chunks: Vec<&Value> = publication["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "upload.chunk")
        .collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks
            .iter()
            .map(|e| e["status"].as_i64().unwrap_or_default())
            .collect::<Vec<_>>(),
        [308, 308, 201]
    );
    let metrics = world
        .app
        .client
        .get(world.app.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics
            .contains(r#"reelforge_publications_total{outcome="published",platform="youtube"} 1"#),
        "{metrics}"
    );
    let published: i64 = sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'publication.published' AND envelope->>'run_id' = $1")
        .bind(run.to_string())
        .fetch_one(&world.app.ctx.db)
        .await?;
    assert_eq!(published, 1);
    world.app.stop().await
}

#[tokio::test]
async fn server_errors_rate_limits_partial_chunks_and_an_expired_token_still_make_one_video(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    let video = video_bytes(1024 * 1024 + 7);
    let run = world.finished_run(&video, |_| {}).await?;
    world.youtube.inject(Fault::ChunkStatus(503));
    world.youtube.inject(Fault::PartialChunk);
    world.youtube.inject(Fault::ChunkRateLimited);
    world.youtube.inject(Fault::ExpireAccessTokens);
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "published", "{publication}");
    let videos = world.youtube.videos();
    assert_eq!(videos.len(), 1, "one video, whatever was retried");
    assert_eq!(Sha256::digest(&videos[0].bytes), Sha256::digest(&video));
    assert_eq!(
        world.youtube.refreshes(),
        1,
        "the expired token was refreshed once"
    );
    let statuses: Vec<i64> = publication["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["status"].as_i64())
        .collect();
    for expected in [401, 503, 429] {
        assert!(
            statuses.contains(&expected),
            "{expected} is in the journal: {statuses:?}"
        );
    }
    // The refreshed token was sealed again; the refresh token Google did not resend was kept.
    let account_row: (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT status, refreshed_at FROM distribution.accounts WHERE id = $1")
            .bind(account)
            .fetch_one(&world.app.ctx.db)
            .await?;
    assert_eq!(account_row.0, "active");
    assert!(account_row.1.is_some());
    world.app.stop().await
}

#[tokio::test]
async fn a_refused_thumbnail_is_a_warning_and_a_failed_processing_is_a_failure_with_its_reason(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    world.youtube.inject(Fault::ThumbnailForbidden);
    let run = world.finished_run(&video_bytes(300_000), |_| {}).await?;
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "published", "{publication}");
    assert_eq!(publication["warnings"][0]["step"], "thumbnail");
    assert!(publication["warnings"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("thumbnails"));

    world.youtube.inject(Fault::ProcessingFailed);
    let run = world.finished_run(&video_bytes(300_000), |_| {}).await?;
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "failed");
    assert!(
        publication["error"]
            .as_str()
            .unwrap_or_default()
            .contains("could not process"),
        "{publication}"
    );
    let notices: i64 = sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'distribution.notification' AND envelope->'body'->>'kind' = 'publication.failed'")
        .fetch_one(&world.app.ctx.db)
        .await?;
    assert_eq!(notices, 1);
    world.app.stop().await
}

#[tokio::test]
async fn a_permanent_error_fails_with_the_platforms_reason_and_a_revoked_grant_asks_for_reconnection(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    world.youtube.inject(Fault::InvalidTitle);
    let run = world.finished_run(&video_bytes(100_000), |_| {}).await?;
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert!(
        publication["error"]
            .as_str()
            .unwrap_or_default()
            .contains("invalidTitle"),
        "{publication}"
    );
    assert!(world.youtube.videos().is_empty());

    world.youtube.inject(Fault::ExpireAccessTokens);
    world.youtube.inject(Fault::RevokeRefreshToken);
    let run = world.finished_run(&video_bytes(100_000), |_| {}).await?;
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "failed");
    let (_, account_view) = world.get(&format!("/v1/accounts/{account}")).await?;
    assert_eq!(
        account_view["status"], "reconnect_required",
        "{account_view}"
    );
    assert!(account_view.get("token_ciphertext").is_none());
    let notices: i64 = sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE envelope->'body'->>'kind' = 'account.reconnect_required'")
        .fetch_one(&world.app.ctx.db)
        .await?;
    assert_eq!(notices, 1);
    // Reconnecting renews the same account, and a retry then publishes.
    assert_eq!(world.connect_youtube().await?, account);
    let (status, _) = world
        .post(&format!("/v1/publications/{id}/retry"), &json!({}))
        .await?;
    assert_eq!(status, 202);
    let publication = world.until_state(&id, &["published"]).await?;
    assert_eq!(publication["state"], "published");
    world.app.stop().await
}

#[tokio::test]
async fn a_spent_quota_defers_the_publication_until_the_reset_then_it_resumes_by_itself(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    world.youtube.inject(Fault::QuotaExceeded);
    let run = world.finished_run(&video_bytes(100_000), |_| {}).await?;
    let id = publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let publication = world
        .until_state(&id, &["deferred", "failed", "published"])
        .await?;
    assert_eq!(publication["state"], "deferred", "{publication}");
    let resume_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(publication["resume_at"].clone())?;
    let pacific = resume_at.with_timezone(&chrono_tz::US::Pacific);
    assert_eq!(
        pacific.format("%H:%M").to_string(),
        "00:00",
        "YouTube's quota resets at midnight Pacific"
    );
    // Nothing happens before the reset…
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        world.get(&format!("/v1/publications/{id}")).await?.1["state"],
        "deferred"
    );
    // …and once the clock passes it (moved here by moving the reset into the past), it resumes.
    sqlx::query("UPDATE distribution.publications SET resume_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&world.app.ctx.db)
        .await?;
    let publication = world.until_state(&id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "published", "{publication}");
    assert_eq!(world.youtube.videos().len(), 1);
    world.app.stop().await
}

#[tokio::test]
async fn preflight_refuses_missing_licences_long_titles_and_duplicates_and_a_dry_run_sends_nothing(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    let unlicensed = world
        .finished_run(&video_bytes(10_000), |manifest| {
            if let Some(licences) = manifest["licences"].as_array_mut() {
                licences.retain(|l| l["asset"] != "background music");
            }
        })
        .await?;
    let (status, error) = world
        .post(
            "/v1/publications",
            &json!({"run_id": unlicensed, "account_id": account}),
        )
        .await?;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("licence_missing")),
        "{error}"
    );
    assert!(error["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("background music"));

    let run = world.finished_run(&video_bytes(10_000), |_| {}).await?;
    let (status, error) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account, "title": "x".repeat(101)}),
        )
        .await?;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("preflight_failed")),
        "{error}"
    );
    assert!(error["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("metadata.title"));

    let (status, report) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account, "format": "9:16", "dry_run": true}),
        )
        .await?;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["file"]["format"], "9:16");
    assert_eq!(report["metadata"]["title"], "Kites over youtube");
    assert!(report["checks"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["name"] == "licences" && c["ok"] == true)));
    let (_, listed) = world.get("/v1/publications").await?;
    assert_eq!(listed["items"], json!([]), "a dry run stores nothing");
    assert!(
        !world.youtube.calls().iter().any(|c| c == "videos.insert"),
        "a dry run uploads nothing"
    );

    let (status, missing) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account, "format": "1:1"}),
        )
        .await?;
    assert_eq!(
        (status, missing["code"].as_str()),
        (422, Some("format_missing")),
        "{missing}"
    );

    publish(&world, json!({"run_id": run, "account_id": account})).await?;
    let (status, duplicate) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account}),
        )
        .await?;
    assert_eq!(
        (status, duplicate["code"].as_str()),
        (409, Some("duplicate_publication")),
        "{duplicate}"
    );
    let forced = publish(
        &world,
        json!({"run_id": run, "account_id": account, "force": true}),
    )
    .await?;
    world.until_state(&forced, &["published"]).await?;

    let (status, unknown) = world
        .post(
            "/v1/publications",
            &json!({"run_id": uuid::Uuid::now_v7(), "account_id": account}),
        )
        .await?;
    assert_eq!(status, 404, "{unknown}");
    let (status, bad) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account, "privacy": "everyone"}),
        )
        .await?;
    assert_eq!(status, 422, "{bad}");
    world.app.stop().await
}
