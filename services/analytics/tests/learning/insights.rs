//! The knowledge network: every insight written is read back (whatever its source), confidence
//! decays 20 % per 30 days at read time, ranking weighs relevance, imports cannot come from the
//! future, and each insight is announced as `insight.created`.

use chrono::{Duration, Utc};
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::{json, Value};
use shared::auth::Role;

use super::harness::Harness;

async fn write(
    harness: &Harness,
    role: Role,
    tenant: &str,
    insight: &Value,
) -> anyhow::Result<(u16, Value)> {
    harness
        .send_json(Method::POST, "/v1/insights", role, tenant, insight)
        .await
}

#[tokio::test]
async fn confidence_decays_a_fifth_every_thirty_days_at_read_time() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let now = Utc::now();
    for days in [0, 30, 60, 90] {
        let insight = json!({
            "source": "import", "type": "decay", "tenant": "acme", "confidence": 1.0,
            "summary": format!("{days} days old"), "created_at": now - Duration::days(days),
        });
        assert_eq!(
            write(&harness, Role::Operator, "acme", &insight).await?.0,
            201
        );
    }
    let (_, read) = harness
        .get("/v1/insights?type=decay", Role::Viewer, "acme")
        .await?;
    let read = read.as_array().cloned().unwrap_or_default();
    let expected = [1.0, 0.8, 0.64, 0.512];
    assert_eq!(read.len(), 4);
    for (insight, expected) in read.iter().zip(expected) {
        let confidence = insight["confidence"].as_f64().unwrap_or_default();
        assert!(
            (confidence - expected).abs() < 1e-4,
            "{insight}: expected {expected}"
        );
        assert_eq!(insight["base_confidence"], 1.0);
    }
    let future = json!({ "source": "import", "type": "decay", "tenant": "acme", "confidence": 0.5, "summary": "later", "created_at": now + Duration::days(1) });
    let (status, refused) = write(&harness, Role::Operator, "acme", &future).await?;
    assert_eq!(status, 422);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("future"),
        "{refused}"
    );
    // Text Postgres cannot store is the caller's mistake, answered as such (never a 500).
    let nul = json!({ "source": "import", "type": "decay", "tenant": "acme", "confidence": 0.5, "summary": "a\u{0}b" });
    assert_eq!(write(&harness, Role::Operator, "acme", &nul).await?.0, 422);
    harness.app.stop().await
}

#[tokio::test]
async fn every_insight_from_every_source_is_stored_and_ranked_by_relevance() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    let sources = ["analytics", "messaging-agent", "sales-agent", "operator"];
    let mut written = Vec::new();
    for index in 0..60 {
        let source = sources[index % sources.len()];
        let tenant = if index % 5 == 0 {
            Value::Null
        } else {
            json!("acme")
        };
        let kind = ["tone", "title", "slot"][index % 3];
        let insight = json!({
            "source": source, "type": kind, "tenant": tenant,
            "confidence": rng.random_range(0.0..=1.0), "summary": format!("finding {index}"),
            "data": { "index": index }, "created_at": Utc::now() - Duration::hours(rng.random_range(0..2_000)),
        });
        let role = if tenant.is_null() {
            Role::Service
        } else {
            Role::Operator
        };
        let (status, created) = write(&harness, role, "acme", &insight).await?;
        assert_eq!(status, 201, "{created}");
        written.push(insight);
    }
    let (_, read) = harness
        .get("/v1/insights?tenant=acme&limit=200", Role::Service, "fleet")
        .await?;
    let read = read.as_array().cloned().unwrap_or_default();
    assert_eq!(read.len(), written.len(), "nothing is lost");
    for insight in &written {
        let found = read.iter().find(|r| r["summary"] == insight["summary"]);
        let found = found.ok_or_else(|| anyhow::anyhow!("{insight} was not read back"))?;
        assert_eq!(
            (
                &found["source"],
                &found["type"],
                &found["tenant"],
                &found["data"]
            ),
            (
                &insight["source"],
                &insight["type"],
                &insight["tenant"],
                &insight["data"]
            )
        );
        let expected_relevance = if insight["tenant"].is_null() {
            0.5
        } else {
            1.0
        };
        let score = found["score"].as_f64().unwrap_or_default();
        assert!(
            (score - found["confidence"].as_f64().unwrap_or_default() * expected_relevance).abs()
                < 1e-9
        );
    }
    let scores: Vec<f64> = read.iter().filter_map(|r| r["score"].as_f64()).collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "ranked best first"
    );
    let sources_read: std::collections::HashSet<&str> =
        read.iter().filter_map(|r| r["source"].as_str()).collect();
    assert_eq!(
        sources_read.len(),
        sources.len(),
        "retrieval crosses sources"
    );

    let (_, titles) = harness
        .get("/v1/insights?type=title&limit=200", Role::Viewer, "acme")
        .await?;
    assert!(titles
        .as_array()
        .is_some_and(|t| !t.is_empty() && t.iter().all(|i| i["type"] == "title")));
    let (_, elsewhere) = harness
        .get("/v1/insights?limit=200", Role::Viewer, "other")
        .await?;
    assert!(
        elsewhere
            .as_array()
            .is_some_and(|all| all.iter().all(|i| i["tenant"].is_null())),
        "another tenant sees only fleet-wide insights"
    );
    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'insight.created'",
    )
    .fetch_one(&harness.app.ctx.db)
    .await?;
    assert_eq!(announced, 60);
    let fleet_wide = json!({ "source": "operator", "type": "tone", "confidence": 0.5, "summary": "for everyone" });
    assert_eq!(
        write(&harness, Role::Operator, "acme", &fleet_wide)
            .await?
            .0,
        403,
        "a tenant's operator cannot speak for the fleet"
    );
    harness.app.stop().await
}
