//! Publishing to Instagram Reels and Facebook Page Reels through the Graph API.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{fake_meta::Fault, video_bytes, World};

#[tokio::test]
async fn a_reel_goes_to_instagram_and_to_a_facebook_page_with_their_permalinks(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let instagram = world.connect("instagram").await?;
    let facebook = world.connect("facebook").await?;
    let (_, accounts) = world.get("/v1/accounts").await?;
    let ids: Vec<&str> = accounts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["platform_account_id"].as_str())
        .collect();
    assert!(
        ids.contains(&"ig-1") && ids.contains(&"page-1"),
        "{accounts}"
    );
    let video = video_bytes(900_000);
    let run = world
        .finished_run(&video, |manifest| {
            manifest["outputs"]["outputs"][1]["media_key"] =
                manifest["outputs"]["outputs"][0]["media_key"].clone();
        })
        .await?;
    world.meta.inject(Fault::RateLimited);
    let mut published = Vec::new();
    for account in [instagram, facebook] {
        let (status, publication) = world
            .post(
                "/v1/publications",
                &json!({"run_id": run, "account_id": account}),
            )
            .await?;
        assert_eq!(status, 201, "{publication}");
        let publication = world
            .until_state(
                publication["id"].as_str().unwrap_or_default(),
                &["published", "failed"],
            )
            .await?;
        assert_eq!(publication["state"], "published", "{publication}");
        published.push(publication);
    }
    let posts = world.meta.posts();
    assert_eq!(posts.len(), 2);
    for post in &posts {
        assert_eq!(Sha256::digest(&post.bytes), Sha256::digest(&video));
        assert_eq!(post.caption, "Why kites fly. #kites #wind");
    }
    assert!(published[0]["permalink"]
        .as_str()
        .unwrap_or_default()
        .starts_with("https://www.instagram.com/reel/"));
    assert!(published[1]["permalink"]
        .as_str()
        .unwrap_or_default()
        .starts_with("https://www.facebook.com/reel/"));
    world.app.stop().await
}

#[tokio::test]
async fn instagrams_publishing_limit_defers_a_failed_container_fails_and_an_invalid_token_asks_to_reconnect(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect("instagram").await?;
    world.meta.inject(Fault::QuotaUsed);
    let run = world.finished_run(&video_bytes(100_000), |_| {}).await?;
    let (_, publication) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account}),
        )
        .await?;
    let id = publication["id"].as_str().unwrap_or_default().to_owned();
    let deferred = world
        .until_state(&id, &["deferred", "failed", "published"])
        .await?;
    assert_eq!(deferred["state"], "deferred", "{deferred}");
    let resume_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(deferred["resume_at"].clone())?;
    assert!(
        resume_at > chrono::Utc::now() + chrono::Duration::hours(23),
        "a rolling 24 hours"
    );
    sqlx::query("UPDATE distribution.publications SET resume_at = now() WHERE id = $1::uuid")
        .bind(&id)
        .execute(&world.app.ctx.db)
        .await?;
    assert_eq!(
        world.until_state(&id, &["published", "failed"]).await?["state"],
        "published"
    );

    world.meta.inject(Fault::ContainerFails);
    let failed = world.publish_new_run(account, json!({})).await?;
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("2207026"),
        "{failed}"
    );

    world.meta.inject(Fault::InvalidateTokens);
    let failed = world.publish_new_run(account, json!({})).await?;
    assert_eq!(failed["state"], "failed");
    let (_, account_view) = world.get(&format!("/v1/accounts/{account}")).await?;
    assert_eq!(
        account_view["status"], "reconnect_required",
        "{account_view}"
    );
    assert_eq!(
        world.meta.posts().len(),
        1,
        "only the deferred reel went out"
    );
    world.app.stop().await
}

#[tokio::test]
async fn an_accounts_quota_defers_the_post_beyond_it_until_a_slot_frees() -> anyhow::Result<()> {
    let quota = (
        "services.distribution.quotas.facebook.uploads_per_window",
        shared::config::toml_value::Value::from(1),
    );
    let world = World::start_with(true, &[quota]).await?;
    let account = world.connect("facebook").await?;
    let first = world.publish_new_run(account, json!({})).await?;
    assert_eq!(first["state"], "published", "{first}");
    let (_, view) = world.get(&format!("/v1/accounts/{account}")).await?;
    assert_eq!(
        (
            view["quota"]["limit"].as_u64(),
            view["quota"]["used"].as_u64(),
            view["quota"]["remaining"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{view}"
    );

    let second = world.publish_new_run(account, json!({})).await?;
    assert_eq!(second["state"], "deferred", "{second}");
    assert_eq!(
        second["resume_at"], view["quota"]["resets_at"],
        "it waits until the first upload leaves the rolling window"
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
        metrics.contains(&format!(
            r#"reelforge_platform_quota_remaining{{account_id="{account}",platform="facebook"}} 0"#
        )),
        "{metrics}"
    );

    // A day passes (the first upload's start moves out of the window, and the deferral comes due).
    let db = &world.app.ctx.db;
    sqlx::query("UPDATE distribution.publications SET sent_at = sent_at - interval '25 hours' WHERE id = $1::uuid").bind(first["id"].as_str()).execute(db).await?;
    sqlx::query("UPDATE distribution.publications SET resume_at = now() WHERE id = $1::uuid")
        .bind(second["id"].as_str())
        .execute(db)
        .await?;
    let second = world
        .until_state(
            second["id"].as_str().unwrap_or_default(),
            &["published", "failed"],
        )
        .await?;
    assert_eq!(second["state"], "published", "{second}");
    assert_eq!(world.meta.posts().len(), 2);
    world.app.stop().await
}
