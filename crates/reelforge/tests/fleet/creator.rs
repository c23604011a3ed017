//! Creator tools over the provider layer: `/v1/copy` offline and through a fake OpenAI-compatible
//! server configured in `[providers]`, with the cache, usage and the admin view of the chain.

use serde_json::{json, Value};
use shared::{auth::Role, testing::TestApp};
use wiremock::{
    matchers::{header, method, path},
    Mock, MockServer, ResponseTemplate,
};

const KINDS: &[(&str, &[&str])] = &[
    ("caption_hashtags", &["caption", "hashtags"]),
    ("social_post", &["text", "hashtags", "call_to_action"]),
    (
        "ad_copy",
        &["headline", "primary_text", "description", "call_to_action"],
    ),
    (
        "email",
        &["subject", "preview_text", "body", "call_to_action"],
    ),
    (
        "blog_post",
        &["title", "slug", "meta_description", "sections", "tags"],
    ),
    (
        "video_metadata",
        &["title", "description", "tags", "hashtags"],
    ),
    (
        "music_release_metadata",
        &["title", "description", "genres", "moods", "tags"],
    ),
    (
        "book_metadata",
        &["title", "subtitle", "description", "keywords", "categories"],
    ),
];

async fn post_copy(app: &TestApp, role: Role, body: &Value) -> anyhow::Result<(u16, Value)> {
    let response = app
        .client
        .post(app.url("/v1/copy"))
        .bearer_auth(app.token(role, "acme"))
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn override_value(value: Value) -> anyhow::Result<shared::config::toml_value::Value> {
    Ok(serde_json::from_value(value)?)
}

/// The usage stream's entries once `count` arrived (or after 10 s): calls record them in the
/// outbox before they return, and the relay moves them to the stream.
async fn usage_entries(app: &TestApp, count: usize) -> anyhow::Result<Vec<shared::bus::Envelope>> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let entries = app.ctx.bus.entries("usage").await?;
        if entries.len() >= count || tokio::time::Instant::now() > deadline {
            return Ok(entries.into_iter().map(|(_, e)| e).collect());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn copy_answers_every_kind_offline_deterministically_and_refuses_bad_input(
) -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![story::service()]).await?;
    for (kind, fields) in KINDS {
        let body = json!({ "kind": kind, "topic": "Night fishing on a mountain lake", "platform": "instagram", "language": "fr" });
        let (status, reply) = post_copy(&app, Role::Operator, &body).await?;
        assert_eq!(status, 200, "{kind}: {reply}");
        assert_eq!(
            (reply["provider"].as_str(), reply["cost_micros"].as_u64()),
            (Some("offline"), Some(0))
        );
        for field in *fields {
            assert!(
                !reply["result"][field].is_null(),
                "{kind} lacks {field}: {reply}"
            );
        }
        let (_, again) = post_copy(&app, Role::Operator, &body).await?;
        assert_eq!(again["result"], reply["result"], "{kind} is deterministic");
    }
    let (status, _) = post_copy(
        &app,
        Role::Viewer,
        &json!({ "kind": "email", "topic": "x" }),
    )
    .await?;
    assert_eq!(status, 403, "writing copy spends money: operators only");
    for (body, field) in [
        (json!({ "kind": "email" }), "topic"),
        (json!({ "kind": "limerick", "topic": "x" }), "kind"),
        (
            json!({ "kind": "email", "topic": "x", "platform": "myspace" }),
            "platform",
        ),
        (json!({ "kind": "email", "topic": "   " }), "topic"),
        (
            json!({ "kind": "email", "topic": "x", "language": "tlh" }),
            "language",
        ),
    ] {
        let (status, reply) = post_copy(&app, Role::Operator, &body).await?;
        assert_eq!(status, 422, "{body}: {reply}");
        assert!(
            reply["field"].as_str().unwrap_or_default().contains(field)
                || reply["detail"].as_str().unwrap_or_default().contains(field),
            "{body}: {reply}"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn copy_goes_through_a_configured_provider_with_cache_usage_and_an_admin_view(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let content =
        json!({ "caption": "Stars on still water.", "hashtags": ["#nightfishing", "#lake"] })
            .to_string();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-from-file"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340 }
        })))
        .mount(&server)
        .await;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("openai.key");
    std::fs::write(&key_file, "sk-from-file\n")?;
    let chain = json!([
        { "provider": "openai", "base_url": format!("{}/v1", server.uri()), "api_key_file": key_file, "max_attempts": 1 },
        "offline"
    ]);
    let app = TestApp::spawn_with(
        vec![story::service()],
        &[("providers.text.chain", override_value(chain)?)],
    )
    .await?;
    let body =
        json!({ "kind": "caption_hashtags", "topic": "Night fishing", "platform": "tiktok" });
    let (status, first) = post_copy(&app, Role::Operator, &body).await?;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["result"]["caption"], "Stars on still water.");
    // 300 × $0.15/M + 40 × $0.60/M = 45 + 24 micro-dollars.
    assert_eq!(
        (
            first["provider"].as_str(),
            first["cost_micros"].as_u64(),
            first["cache_hit"].as_bool()
        ),
        (Some("openai"), Some(69), Some(false))
    );
    let (_, second) = post_copy(&app, Role::Operator, &body).await?;
    assert_eq!(
        (
            second["cache_hit"].as_bool(),
            second["cost_micros"].as_u64()
        ),
        (Some(true), Some(0))
    );
    let mut uncached = body.clone();
    uncached["cache"] = json!(false);
    let (_, third) = post_copy(&app, Role::Operator, &uncached).await?;
    assert_eq!(third["cache_hit"], false);
    assert_eq!(
        server.received_requests().await.map(|r| r.len()),
        Some(2),
        "the cache hit made no call"
    );

    let usage = usage_entries(&app, 3).await?;
    let entries: Vec<(Value, Value)> = usage
        .iter()
        .map(|e| (e.body["cost_micros"].clone(), e.body["cache_hit"].clone()))
        .collect();
    assert_eq!(
        entries,
        [
            (json!(69), json!(false)),
            (json!(0), json!(true)),
            (json!(69), json!(false))
        ]
    );
    assert!(usage
        .iter()
        .all(|e| e.body["tenant"] == "acme" && e.body["service"] == "story"));

    let view: Value = app
        .client
        .get(app.url("/v1/stories/admin/providers"))
        .bearer_auth(app.token(Role::Operator, "acme"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(view[0]["capability"], "text");
    assert_eq!(view[0]["providers"][0]["provider"], "openai");
    assert_eq!(view[0]["providers"][0]["breaker"], "closed");
    assert_eq!(view[0]["providers"][1]["provider"], "offline");
    let viewer = app
        .client
        .get(app.url("/v1/stories/admin/providers"))
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .send()
        .await?;
    assert_eq!(viewer.status().as_u16(), 403);
    app.stop().await
}

#[tokio::test]
async fn with_the_configured_server_down_copy_falls_back_offline() -> anyhow::Result<()> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = closed.local_addr()?.port();
    drop(closed);
    let chain = json!([{ "provider": "ollama", "base_url": format!("http://127.0.0.1:{port}/v1"), "max_attempts": 2 }, "offline"]);
    let app = TestApp::spawn_with(
        vec![story::service()],
        &[
            ("providers.text.chain", override_value(chain)?),
            ("providers.backoff_base_ms", override_value(json!(5))?),
        ],
    )
    .await?;
    let (status, reply) = post_copy(
        &app,
        Role::Operator,
        &json!({ "kind": "email", "topic": "Lakes" }),
    )
    .await?;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["provider"], "offline");
    let outcomes: Vec<Value> = usage_entries(&app, 3)
        .await?
        .iter()
        .map(|e| e.body["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        [json!("transient"), json!("transient"), json!("ok")]
    );
    app.stop().await
}

#[tokio::test]
async fn a_misconfigured_chain_stops_the_service_with_the_key_named() -> anyhow::Result<()> {
    let chain = json!([{ "provider": "anthropic", "api_key_env": "REELFORGE_TEST_NEVER_SET_KEY" }, "offline"]);
    let started = TestApp::spawn_with(
        vec![story::service()],
        &[("providers.text.chain", override_value(chain)?)],
    )
    .await?;
    // The chain is built with the router, so the fleet stops at once with the reason.
    let error = tokio::time::timeout(std::time::Duration::from_secs(10), started.join())
        .await?
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        error.contains("`providers.text.chain`")
            && error.contains(
                "provider `anthropic` is listed but REELFORGE_TEST_NEVER_SET_KEY is not set"
            ),
        "{error}"
    );
    Ok(())
}

/// When every provider fails, the client learns which providers failed and how, never their
/// addresses or what they answered (upstream text can hold internal hostnames or echoed keys).
#[tokio::test]
async fn a_502_names_providers_and_outcomes_but_leaks_no_address_or_upstream_text(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string("db-7.internal.corp refused: key sk-leaky-123 is invalid"),
        )
        .mount(&server)
        .await;
    let chain = json!([{ "provider": "ollama", "base_url": format!("{}/v1", server.uri()), "max_attempts": 1 }]);
    let app = TestApp::spawn_with(
        vec![story::service()],
        &[("providers.text.chain", override_value(chain)?)],
    )
    .await?;
    let (status, reply) = post_copy(
        &app,
        Role::Operator,
        &json!({ "kind": "email", "topic": "Lakes" }),
    )
    .await?;
    assert_eq!(status, 502, "{reply}");
    assert_eq!(reply["code"], "providers_failed");
    let detail = reply["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("ollama (refused)"), "{detail}");
    for secret in ["127.0.0.1", "internal.corp", "sk-leaky", &server.uri()] {
        assert!(!detail.contains(secret), "{secret} leaked: {detail}");
    }
    app.stop().await
}
