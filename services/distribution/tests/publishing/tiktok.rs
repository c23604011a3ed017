//! Publishing to TikTok: a direct post with `is_aigc`, chunked to TikTok's rules, privacy from
//! `creator_info`, and its faults.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{fake_tiktok::Fault, video_bytes, World};

#[tokio::test]
async fn a_portrait_render_is_posted_in_chunks_as_ai_generated_through_faults_and_a_refresh(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect("tiktok").await?;
    let (_, listed) = world.get(&format!("/v1/accounts/{account}")).await?;
    assert_eq!(listed["platform_account_id"], "open-fake");
    // 11 MiB: two chunks, 5 MiB and 6 MiB (the remainder rides on the last).
    let video = video_bytes(11 * 1024 * 1024);
    let run = world
        .finished_run(&video, |manifest| {
            // Make the portrait render the file under test.
            manifest["outputs"]["outputs"][1]["media_key"] =
                manifest["outputs"]["outputs"][0]["media_key"].clone();
        })
        .await?;
    world.tiktok.inject(Fault::InitRateLimited);
    world.tiktok.inject(Fault::ChunkFails);
    world.tiktok.inject(Fault::ExpireAccessTokens);
    let (status, publication) = world
        .post(
            "/v1/publications",
            &json!({"run_id": run, "account_id": account, "privacy": "public"}),
        )
        .await?;
    assert_eq!(status, 201, "{publication}");
    assert_eq!(publication["format"], "9:16");
    let id = publication["id"].as_str().unwrap_or_default();
    let publication = world.until_state(id, &["published", "failed"]).await?;
    assert_eq!(publication["state"], "published", "{publication}");
    let posts = world.tiktok.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(Sha256::digest(&posts[0].bytes), Sha256::digest(&video));
    assert_eq!(posts[0].post_info["is_aigc"], true);
    assert_eq!(posts[0].post_info["privacy_level"], "PUBLIC_TO_EVERYONE");
    assert_eq!(posts[0].post_info["title"], "Why kites fly. #kites #wind");
    assert_eq!(world.tiktok.refreshes(), 1);
    assert!(publication["permalink"]
        .as_str()
        .unwrap_or_default()
        .starts_with("https://www.tiktok.com/"));
    let chunks = publication["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "upload.chunk")
        .count();
    assert_eq!(chunks, 3, "two chunks, one of them sent twice after a 500");
    world.app.stop().await
}

#[tokio::test]
async fn a_privacy_the_creator_cannot_use_a_failed_post_and_the_daily_cap_are_handled(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect("tiktok").await?;
    world.tiktok.inject(Fault::OnlySelfOnly);
    let failed = world
        .publish_new_run(account, json!({"privacy": "public"}))
        .await?;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("SELF_ONLY"),
        "{failed}"
    );

    world.tiktok.inject(Fault::PostFails);
    let failed = world.publish_new_run(account, json!({})).await?;
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .contains("file_format_check_failed"),
        "{failed}"
    );

    world.tiktok.inject(Fault::TooManyPosts);
    let deferred = world.publish_new_run(account, json!({})).await?;
    assert_eq!(deferred["state"], "deferred", "{deferred}");
    world.app.stop().await
}
