//! Billing across services: the orchestrator asks billing before each run, so an exhausted budget
//! refuses runs (naming the budget) until an admin raises it, and an unreachable billing fails closed.

use serde_json::{json, Value};
use shared::{auth::Role, config::toml_value::Value as ConfigValue, testing::TestApp};

async fn post(
    app: &TestApp,
    path: &str,
    role: Role,
    body: Value,
    put: bool,
) -> anyhow::Result<(u16, Value)> {
    let url = app.url(path);
    let request = if put {
        app.client.put(url)
    } else {
        app.client.post(url)
    };
    let response = request
        .bearer_auth(app.token(role, "acme"))
        .json(&body)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

#[tokio::test]
async fn runs_wait_for_budget_and_fail_closed_without_billing() -> anyhow::Result<()> {
    // Two processes sharing a signing key, as a deployment shares its JWT secret.
    let secret = format!("shared-secret-{}", uuid::Uuid::new_v4().simple());
    let billing = TestApp::spawn_with(
        vec![billing::service()],
        &[("jwt_secret", ConfigValue::from(secret.clone()))],
    )
    .await?;
    let orchestrator = TestApp::spawn_with(
        vec![orchestrator::service()],
        &[
            ("jwt_secret", ConfigValue::from(secret)),
            (
                "services.orchestrator.billing.url",
                ConfigValue::from(billing.base_url.clone()),
            ),
        ],
    )
    .await?;
    let run = json!({ "topic": "tidal pools", "length_seconds": 10, "formats": ["1:1"] });

    let (status, _) = post(
        &billing,
        "/v1/billing/budgets",
        Role::Admin,
        json!({ "scope": "tenant", "subject": "acme", "period": "daily", "limit_micros": 0 }),
        true,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, refused) = post(
        &orchestrator,
        "/v1/runs",
        Role::Operator,
        run.clone(),
        false,
    )
    .await?;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(refused["code"], "budget_exhausted");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("daily budget of tenant `acme`")),
        "{refused}"
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM orchestrator.runs")
        .fetch_one(&orchestrator.ctx.db)
        .await?;
    assert_eq!(runs, 0, "a refused run leaves nothing behind");

    let (status, _) = post(&billing, "/v1/billing/budgets", Role::Admin,
        json!({ "scope": "tenant", "subject": "acme", "period": "daily", "limit_micros": 5_000_000 }), true).await?;
    assert_eq!(status, 200);
    let (status, created) = post(
        &orchestrator,
        "/v1/runs",
        Role::Operator,
        run.clone(),
        false,
    )
    .await?;
    assert_eq!(status, 201, "{created}");

    billing.stop().await?;
    let (status, unverifiable) =
        post(&orchestrator, "/v1/runs", Role::Operator, run, false).await?;
    assert_eq!(status, 503, "{unverifiable}");
    assert_eq!(unverifiable["code"], "budget_unverifiable");
    orchestrator.stop().await
}
