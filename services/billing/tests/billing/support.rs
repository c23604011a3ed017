//! Helpers: a billing service on port 0, usage entries as the provider layer emits them.

use std::time::Duration;

use providers::{
    units::Units,
    usage::{UsageEntry, USAGE_KIND, USAGE_STREAM},
};
use serde_json::{json, Value};
use shared::{auth::Role, bus::Envelope, testing::TestApp};

pub async fn spawn() -> anyhow::Result<TestApp> {
    TestApp::spawn_with(
        vec![billing::service()],
        &[("services.billing.sweep_interval_ms", 50.into())],
    )
    .await
}

/// The billing service with its bus, plan limits and usage stream on the test Redis Cluster.
pub async fn spawn_on_cluster() -> anyhow::Result<TestApp> {
    TestApp::spawn_with(
        vec![billing::service()],
        &[
            ("services.billing.sweep_interval_ms", 50.into()),
            ("redis_url", shared::testing::redis_cluster_url().into()),
        ],
    )
    .await
}

/// A usage entry of `tenant` at `at` costing `cost`.
pub fn entry(
    tenant: &str,
    provider: &str,
    model: &str,
    at: chrono::DateTime<chrono::Utc>,
    cost: u64,
) -> UsageEntry {
    UsageEntry {
        usage_id: uuid::Uuid::now_v7(),
        at,
        run_id: None,
        tenant: tenant.to_owned(),
        service: "story".to_owned(),
        capability: "text".to_owned(),
        provider: provider.to_owned(),
        model: model.to_owned(),
        units: Units {
            input_tokens: 100,
            output_tokens: 50,
            ..Units::default()
        },
        cost_micros: cost,
        priced: true,
        latency_ms: 12,
        outcome: "ok".to_owned(),
        cache_hit: false,
    }
}

/// Puts entries on the `usage` stream exactly as the provider layer does.
pub async fn publish(app: &TestApp, entries: &[UsageEntry]) -> anyhow::Result<()> {
    let envelopes: Vec<Envelope> = entries
        .iter()
        .map(|e| Envelope {
            id: e.usage_id,
            kind: USAGE_KIND.to_owned(),
            run_id: e.run_id,
            body: serde_json::to_value(e).unwrap_or_default(),
            expires_at: None,
        })
        .collect();
    app.ctx.bus.publish_batch(USAGE_STREAM, &envelopes).await
}

/// Waits until the ledger holds `count` rows.
pub async fn wait_for_ledger(app: &TestApp, count: i64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.ledger")
            .fetch_one(&app.ctx.db)
            .await?;
        if rows >= count {
            anyhow::ensure!(rows == count, "ledger has {rows} rows, expected {count}");
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "ledger has {rows} of {count} rows after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `method path` with a token of `role` in `tenant` (or none) and a JSON body.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    auth: Option<(Role, &str)>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = app.client.request(method, app.url(path));
    if let Some((role, tenant)) = auth {
        request = request.bearer_auth(app.token(role, tenant));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let value = serde_json::from_str(&text).unwrap_or_else(|_| json!(text));
    Ok((status, value))
}
