//! The budget gate against a fake billing service: reserve the estimate, settle the exact cost,
//! skip a paid provider whose budget is exhausted, and fail closed when billing cannot answer.

use std::{sync::Arc, time::Duration};

use providers::{
    budget::BudgetGate,
    capability::Capability as _,
    chain::{CallOptions, Chain},
    pricing::cost_micros,
    Text,
};
use serde_json::{json, Value};
use shared::{
    auth::TokenSigner,
    peer::{Credentials, Peer},
};
use wiremock::{
    matchers::{method, path, path_regex},
    Mock, MockServer, ResponseTemplate,
};

use crate::support::{
    completion, context, link, openai, policy, title_request, Harness, OfflineTitles,
};

fn gated(harness: &Harness, billing_url: &str) -> anyhow::Result<providers::chain::Layer> {
    let signer = Arc::new(TokenSigner::hs256(b"a test secret of at least 32 bytes!"));
    let billing = Peer::new(
        billing_url,
        Credentials::Signer(signer),
        "provider-layer",
        Duration::from_millis(500),
    )?;
    let mut layer = harness.layer.clone();
    layer.budget = Some(Arc::new(BudgetGate::new(billing, 600)));
    layer.cache = None;
    Ok(layer)
}

async fn bodies(server: &MockServer, suffix: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with(suffix))
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

#[tokio::test]
async fn a_paid_call_reserves_its_estimate_and_settles_its_exact_cost() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let (provider, billing) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            r#"{"title":"Tide"}"#,
            1200,
            200,
            380,
        )))
        .mount(&provider)
        .await;
    let lease = uuid::Uuid::now_v7();
    Mock::given(method("POST"))
        .and(path("/v1/billing/reservations"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": lease })))
        .mount(&billing)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/billing/reservations/.+/settle$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": lease })))
        .mount(&billing)
        .await;
    let chain = Chain::new(
        vec![link(openai(&provider)?, 1)],
        policy(3),
        gated(&harness, &billing.uri())?,
    );
    let request = title_request("tides");
    let done = chain
        .call(&context(), &request, CallOptions::default())
        .await?;
    assert_eq!(done.cost_micros, 393);

    let today = chrono::Utc::now().date_naive();
    let price = harness.layer.prices.price("openai", "gpt-4o-mini", today);
    let estimate = price.map_or(0, |p| cost_micros(p, &Text::estimate(&request)));
    assert!(estimate > 0);
    let reserved = bodies(&billing, "/reservations").await;
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0]["tenant"], "acme");
    assert_eq!(reserved[0]["provider"], "openai");
    assert_eq!(reserved[0]["estimate_micros"].as_u64(), Some(estimate));
    let settled = bodies(&billing, "/settle").await;
    assert_eq!(settled, vec![json!({ "cost_micros": 393 })]);
    let received = billing.received_requests().await.unwrap_or_default();
    let token = received[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        token.starts_with("Bearer ey"),
        "billing is called with a service token"
    );
    assert!(received
        .iter()
        .any(|r| r.url.path() == format!("/v1/billing/reservations/{lease}/settle")));
    Ok(())
}

#[tokio::test]
async fn an_exhausted_budget_skips_the_paid_provider_without_calling_it() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let (provider, billing) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v1/billing/reservations"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({
            "code": "budget_exhausted", "detail": "the daily budget of tenant `acme` ($1.000000) is exhausted"
        })))
        .mount(&billing)
        .await;
    let chain = Chain::new(
        vec![
            link(openai(&provider)?, 3),
            link(Arc::new(OfflineTitles), 1),
        ],
        policy(6),
        gated(&harness, &billing.uri())?,
    );
    let done = chain
        .call(&context(), &title_request("owls"), CallOptions::default())
        .await?;
    assert_eq!(done.provider, "offline");
    assert_eq!(provider.received_requests().await.map(|r| r.len()), Some(0));
    assert_eq!(
        bodies(&billing, "/reservations").await.len(),
        1,
        "the free provider reserves nothing"
    );

    let paid_only = Chain::new(
        vec![link(openai(&provider)?, 3)],
        policy(6),
        gated(&harness, &billing.uri())?,
    );
    let error = paid_only
        .call(&context(), &title_request("owls"), CallOptions::default())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("budget: the daily budget of tenant `acme`"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn with_billing_unreachable_paid_calls_fail_closed() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let provider = MockServer::start().await;
    let chain = Chain::new(
        vec![
            link(openai(&provider)?, 3),
            link(Arc::new(OfflineTitles), 1),
        ],
        policy(6),
        gated(&harness, "http://127.0.0.1:1")?,
    );
    let done = chain
        .call(&context(), &title_request("moths"), CallOptions::default())
        .await?;
    assert_eq!(done.provider, "offline");
    assert_eq!(provider.received_requests().await.map(|r| r.len()), Some(0));
    let paid_only = Chain::new(
        vec![link(openai(&provider)?, 3)],
        policy(6),
        gated(&harness, "http://127.0.0.1:1")?,
    );
    let error = paid_only
        .call(&context(), &title_request("moths"), CallOptions::default())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("budget cannot be verified"), "{error}");
    Ok(())
}
