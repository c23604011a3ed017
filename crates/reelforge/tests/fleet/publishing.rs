//! A run asked to publish goes topic → video → published on two platforms (fake YouTube and fake
//! TikTok, the same fakes distribution's own tests use), with the orchestrator's `publish` step.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::{auth::Role, config::toml_value::Value as Setting, testing::TestApp};

use crate::pipeline::{get_json, submit, wait_for};

// The fakes serve more faults than this test injects.
#[allow(dead_code)]
#[path = "../../../../services/distribution/tests/publishing/fake_server.rs"]
mod fake_server;
#[allow(dead_code)]
#[path = "../../../../services/distribution/tests/publishing/fake_tiktok.rs"]
mod fake_tiktok;
#[allow(dead_code)]
#[path = "../../../../services/distribution/tests/publishing/fake_youtube.rs"]
mod fake_youtube;

/// Connects `platform`'s fake account through the OAuth flow; returns its id.
async fn connect(app: &TestApp, platform: &str) -> anyhow::Result<String> {
    let consent: Value = app
        .client
        .post(app.url("/v1/accounts/connect"))
        .bearer_auth(app.token(Role::Operator, "acme"))
        .json(&json!({"platform": platform, "redirect_uri": "https://studio.example/callback"}))
        .send()
        .await?
        .json()
        .await?;
    let state = consent["state"].as_str().unwrap_or_default();
    let connected: Value = app
        .client
        .get(app.url(&format!(
            "/v1/accounts/callback/{platform}?code=good-code&state={state}"
        )))
        .send()
        .await?
        .json()
        .await?;
    Ok(connected["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_run_with_publish_targets_ends_published_on_youtube_and_tiktok() -> anyhow::Result<()> {
    let youtube = fake_youtube::FakeYoutube::start().await?;
    let tiktok = fake_tiktok::FakeTiktok::start().await?;
    let mut owned = vec![
        (
            "secrets_key".to_owned(),
            Setting::from("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ),
        (
            "services.distribution.poll_interval_ms".to_owned(),
            Setting::from(100),
        ),
    ];
    for (platform, base) in [("youtube", &youtube.base_url), ("tiktok", &tiktok.base_url)] {
        let key = |name: &str| format!("platforms.{platform}.{name}");
        for (name, value) in [("client_id", "client"), ("client_secret", "secret")] {
            owned.push((key(name), Setting::from(value)));
        }
        for name in ["oauth_base", "api_base", "upload_base"] {
            owned.push((key(name), Setting::from(base.clone())));
        }
    }
    let settings: Vec<(&str, Setting)> = owned
        .iter()
        .map(|(key, value)| (key.as_str(), value.clone()))
        .collect();
    let services = reelforge::fleet::all();
    let app = TestApp::spawn_configured(services.clone(), &settings, |settings, address| {
        reelforge::fleet::call_peers_locally(settings, &services, address);
    })
    .await?;
    let youtube_account = connect(&app, "youtube").await?;
    let tiktok_account = connect(&app, "tiktok").await?;
    let id = submit(
        &app,
        json!({ "topic": "kites over the dunes", "length_seconds": 12, "seed": 11, "formats": ["16:9", "9:16"],
                "publish": [{"account_id": youtube_account, "privacy": "unlisted"}, {"account_id": tiktok_account, "privacy": "public"}] }),
    )
    .await?;
    let run = wait_for(&app, &id, &["published", "succeeded", "failed"], 600).await?;
    assert_eq!(run["state"], "published", "{run}");
    let steps: Vec<&str> = run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(steps.last(), Some(&"publish"));
    assert!(
        run["steps"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["state"] == "succeeded")),
        "{run}"
    );

    // The files that arrived are the run's renders, byte for byte.
    let manifest = get_json(&app, &format!("/v1/runs/{id}/manifest")).await?;
    let render = |format: &str| -> String {
        manifest["outputs"]["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["format"] == format)
            .and_then(|o| o["media_key"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let videos = youtube.videos();
    assert_eq!(videos.len(), 1);
    assert_eq!(
        hex::encode(Sha256::digest(&videos[0].bytes)),
        render("16:9").trim_end_matches(".mp4")
    );
    assert_eq!(videos[0].resource["status"]["privacyStatus"], "unlisted");
    assert_eq!(
        videos[0].resource["snippet"]["title"],
        manifest["story"]["metadata"]["youtube"]["title"]
    );
    let posts = tiktok.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        hex::encode(Sha256::digest(&posts[0].bytes)),
        render("9:16").trim_end_matches(".mp4")
    );
    assert_eq!(posts[0].post_info["is_aigc"], true);

    let publications = get_json(&app, "/v1/publications").await?;
    assert_eq!(
        publications["items"].as_array().map(Vec::len),
        Some(2),
        "{publications}"
    );
    assert!(publications["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|p| p["state"] == "published" && p["run_id"] == id.as_str()));
    app.stop().await
}
