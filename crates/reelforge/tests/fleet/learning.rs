//! The loop closed across services: a run created without creative parameters asks analytics,
//! gets its experiment arm layered on the tenant's config, records what was recommended and why,
//! and its story request carries the tenant's insights and best titles to the text provider; a run
//! that sets some choices keeps them and stays out of an experiment over them.

use std::time::Duration;

use serde_json::{json, Value};
use shared::{auth::Role, config::toml_value::Value as Setting, testing::TestApp};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    route: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let reply = app
        .client
        .request(method, app.url(route))
        .bearer_auth(app.token(Role::Operator, "acme"))
        .json(body)
        .send()
        .await?;
    let status = reply.status().as_u16();
    Ok((status, reply.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn a_run_without_parameters_gets_an_arm_and_its_story_prompt_carries_the_insights(
) -> anyhow::Result<()> {
    let text_provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({ "error": { "message": "busy", "type": "server_error" } })),
        )
        .mount(&text_provider)
        .await;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("openai.key");
    std::fs::write(&key_file, "sk-test\n")?;
    let chain = json!([
        { "provider": "openai", "base_url": format!("{}/v1", text_provider.uri()), "api_key_file": key_file, "max_attempts": 1 },
        "offline"
    ]);
    let chain: Setting = serde_json::from_value(chain)?;
    let services = vec![
        orchestrator::service(),
        story::service(),
        analytics::service(),
    ];
    let app = TestApp::spawn_configured(
        services.clone(),
        &[("providers.text.chain", chain)],
        |settings, address| {
            reelforge::fleet::call_peers_locally(settings, &services, address);
        },
    )
    .await?;

    let config = json!({ "genre": "mystery", "length_seconds": 40 });
    assert_eq!(
        send(&app, reqwest::Method::PUT, "/v1/configs/acme", &config)
            .await?
            .0,
        200
    );
    let arms = json!([{ "name": "calm", "params": { "tone": "calm" } }, { "name": "dark", "params": { "tone": "dark" } }]);
    let experiment =
        json!({ "name": "tone", "method": "ab", "reward": "completion_rate", "arms": arms });
    let (status, experiment) =
        send(&app, reqwest::Method::POST, "/v1/experiments", &experiment).await?;
    assert_eq!(status, 201, "{experiment}");
    let insight = json!({ "source": "analytics", "type": "tone", "tenant": "acme", "confidence": 0.9,
                          "summary": "calm tone: +23 % completion vs dark (n = 40 vs 38)" });
    assert_eq!(
        send(&app, reqwest::Method::POST, "/v1/insights", &insight)
            .await?
            .0,
        201
    );

    let (status, run) = send(
        &app,
        reqwest::Method::POST,
        "/v1/runs",
        &json!({ "topic": "a lighthouse keeper's last night" }),
    )
    .await?;
    assert_eq!(status, 201, "{run}");
    let params = &run["params"];
    let recommendation = &params["recommendation"];
    assert_eq!(recommendation["experiment_id"], experiment["id"]);
    let arm = recommendation["arm"].as_str().unwrap_or_default();
    assert_eq!(params["tone"], arm, "the arm decides the tone");
    assert_eq!(
        (params["genre"].as_str(), params["length_seconds"].as_i64()),
        (Some("mystery"), Some(40)),
        "the config the rest"
    );
    assert_eq!(recommendation["config_version"], 1);
    assert!(
        recommendation["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("experiment `tone`"),
        "{recommendation}"
    );
    assert_eq!(recommendation["context"]["insights"][0], insight["summary"]);

    let mut prompt = String::new();
    for _ in 0..200 {
        if let Some(request) = text_provider
            .received_requests()
            .await
            .and_then(|requests| requests.into_iter().next())
        {
            prompt = String::from_utf8_lossy(&request.body).into_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        prompt.contains("calm tone: +23 % completion vs dark (n = 40 vs 38)"),
        "the insight reaches the story prompt: {prompt}"
    );
    assert!(
        prompt.contains("What worked for this channel so far"),
        "{prompt}"
    );

    // A run that sets the tested parameter itself keeps it, stays out of the experiment, and
    // takes the rest from the tenant's config.
    let (_, explicit) = send(
        &app,
        reqwest::Method::POST,
        "/v1/runs",
        &json!({ "topic": "tides", "tone": "uplifting" }),
    )
    .await?;
    let params = &explicit["params"];
    assert_eq!(
        (params["tone"].as_str(), params["genre"].as_str()),
        (Some("uplifting"), Some("mystery")),
        "{explicit}"
    );
    assert_eq!(
        params["recommendation"]["experiment_id"],
        Value::Null,
        "{explicit}"
    );
    assert!(
        params["recommendation"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not in it"),
        "{explicit}"
    );
    // One that makes every choice itself is made exactly as asked, with nothing recommended.
    let every = json!({ "topic": "tides", "tone": "dark", "genre": "drama", "length_seconds": 20, "language": "en" });
    let (_, explicit) = send(&app, reqwest::Method::POST, "/v1/runs", &every).await?;
    assert!(
        explicit["params"].get("recommendation").is_none(),
        "{explicit}"
    );
    app.stop().await
}
