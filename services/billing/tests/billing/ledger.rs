//! Ingestion: the `usage` stream into the ledger, rollups and monthly charges, exactly once; quota
//! notifications; plan changes applying on the next request.

use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::json;
use shared::auth::Role;

use shared::testing::TestApp;

use crate::support::{call, entry, publish, spawn, spawn_on_cluster, wait_for_ledger};

#[tokio::test]
async fn usage_entries_land_once_in_the_ledger_rollups_and_monthly_charge() -> anyhow::Result<()> {
    usage_lands_once(spawn().await?).await
}

#[tokio::test]
async fn usage_entries_land_once_in_the_ledger_rollups_and_monthly_charge_on_a_redis_cluster(
) -> anyhow::Result<()> {
    usage_lands_once(spawn_on_cluster().await?).await
}

async fn usage_lands_once(app: TestApp) -> anyhow::Result<()> {
    let now = Utc::now();
    let entries: Vec<_> = (0..300u64)
        .map(|i| {
            let provider = if i % 3 == 0 { "anthropic" } else { "openai" };
            entry("acme", provider, "m1", now, 1_000 + i)
        })
        .collect();
    publish(&app, &entries).await?;
    // Redelivered duplicates and an entry that is not a usage entry at all.
    publish(&app, &entries[..50]).await?;
    app.ctx
        .bus
        .publish(
            "usage",
            &shared::bus::Envelope::new("usage.recorded", None, json!({ "nonsense": true })),
        )
        .await?;
    wait_for_ledger(&app, 300).await?;
    let expected: i64 = entries.iter().map(|e| e.cost_micros as i64).sum();
    // Give the duplicates time to be processed too, then check nothing was counted twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (daily, calls): (i64, i64) = sqlx::query_as(
        "SELECT sum(cost_micros)::int8, sum(calls)::int8 FROM billing.daily_rollups WHERE tenant = 'acme'",
    )
    .fetch_one(&app.ctx.db)
    .await?;
    assert_eq!((daily, calls), (expected, 300));
    let charge: i64 =
        sqlx::query_scalar("SELECT cost_micros FROM billing.monthly_charges WHERE tenant = 'acme'")
            .fetch_one(&app.ctx.db)
            .await?;
    assert_eq!(charge, expected);
    let providers: Vec<(String, i64)> = sqlx::query_as(
        "SELECT provider, calls FROM billing.monthly_rollups WHERE tenant = 'acme' ORDER BY provider",
    )
    .fetch_all(&app.ctx.db)
    .await?;
    assert_eq!(
        providers,
        vec![("anthropic".to_owned(), 100), ("openai".to_owned(), 200)]
    );

    // A redelivered batch (the consumer crashed before its ack) changes nothing.
    let mut tx = app.ctx.db.begin().await?;
    let touched = billing::ledger::record(&mut tx, &entries).await?;
    tx.commit().await?;
    assert!(touched.is_empty(), "{touched:?}");
    let again: i64 =
        sqlx::query_scalar("SELECT cost_micros FROM billing.monthly_charges WHERE tenant = 'acme'")
            .fetch_one(&app.ctx.db)
            .await?;
    assert_eq!(again, expected);
    app.stop().await
}

#[tokio::test]
async fn monthly_and_daily_rollups_equal_the_sum_of_the_ledger_for_any_batches(
) -> anyhow::Result<()> {
    let app = spawn().await?;
    for seed in 0..12u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let count = rng.random_range(1..400);
        let entries: Vec<_> = (0..count)
            .map(|_| {
                let tenant = format!("t{seed}-{}", rng.random_range(0..3));
                let provider = ["openai", "anthropic", "gemini"][rng.random_range(0..3)];
                let model = ["a", "b"][rng.random_range(0..2)];
                // Across a month boundary, at any hour.
                let at = Utc
                    .with_ymd_and_hms(2026, 10, 25, 0, 0, 0)
                    .single()
                    .unwrap_or_else(Utc::now)
                    + chrono::Duration::minutes(rng.random_range(0..20 * 24 * 60));
                let mut e = entry(&tenant, provider, model, at, rng.random_range(0..5_000_000));
                if rng.random_bool(0.1) {
                    e.outcome = "transient".to_owned();
                }
                e
            })
            .collect();
        // Random batches, some entries sent twice.
        let mut sent = 0;
        while sent < entries.len() {
            let size = rng.random_range(1..=entries.len() - sent);
            let mut batch = entries[sent..sent + size].to_vec();
            if sent > 0 && rng.random_bool(0.5) {
                batch.push(entries[rng.random_range(0..sent)].clone());
            }
            let mut tx = app.ctx.db.begin().await?;
            billing::ledger::record(&mut tx, &batch).await?;
            tx.commit().await?;
            sent += size;
        }
        let prefix = format!("t{seed}-%");
        for (table, period) in [
            (
                "billing.monthly_rollups",
                "date_trunc('month', at AT TIME ZONE 'UTC')::date",
            ),
            ("billing.daily_rollups", "(at AT TIME ZONE 'UTC')::date"),
        ] {
            let mismatches: i64 = sqlx::query_scalar(&format!(
                "WITH l AS (SELECT {period} AS period, tenant, provider, model, count(*) AS calls,
                                   count(*) FILTER (WHERE outcome <> 'ok') AS failures, sum(cost_micros) AS cost
                            FROM billing.ledger WHERE tenant LIKE $1 GROUP BY 1, 2, 3, 4),
                      r AS (SELECT period, tenant, provider, model, calls, failures, cost_micros AS cost
                            FROM {table} WHERE tenant LIKE $1)
                 SELECT count(*) FROM (SELECT * FROM l EXCEPT SELECT * FROM r
                                       UNION ALL SELECT * FROM r EXCEPT SELECT * FROM l) d"
            ))
            .bind(&prefix)
            .fetch_one(&app.ctx.db)
            .await?;
            assert_eq!(
                mismatches, 0,
                "seed {seed}: {table} differs from the ledger"
            );
        }
        let charges_off: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT tenant, date_trunc('month', at AT TIME ZONE 'UTC')::date AS month, sum(cost_micros) AS cost
                 FROM billing.ledger WHERE tenant LIKE $1 GROUP BY 1, 2
                 EXCEPT SELECT tenant, month, cost_micros FROM billing.monthly_charges WHERE tenant LIKE $1) d",
        )
        .bind(&prefix)
        .fetch_one(&app.ctx.db)
        .await?;
        assert_eq!(charges_off, 0, "seed {seed}: monthly charges differ");
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM billing.ledger WHERE tenant LIKE $1")
                .bind(&prefix)
                .fetch_one(&app.ctx.db)
                .await?;
        assert_eq!(
            rows,
            entries.len() as i64,
            "seed {seed}: one row per usage id"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn quota_thresholds_notify_once_refuse_at_100_percent_and_an_upgrade_applies_at_once(
) -> anyhow::Result<()> {
    quota_thresholds_hold(spawn().await?).await
}

#[tokio::test]
async fn quota_thresholds_notify_once_refuse_at_100_percent_and_an_upgrade_applies_at_once_on_a_redis_cluster(
) -> anyhow::Result<()> {
    quota_thresholds_hold(spawn_on_cluster().await?).await
}

async fn quota_thresholds_hold(app: TestApp) -> anyhow::Result<()> {
    let admin = Some((Role::Admin, "ops"));
    let (status, _) = call(
        &app,
        Method::PUT,
        "/v1/billing/plans/starter",
        admin,
        Some(json!({ "monthly_quota_micros": 10_000, "requests_per_minute": 50 })),
    )
    .await?;
    assert_eq!(status, 200);
    let now = Utc::now();
    publish(&app, &[entry("acme", "openai", "m", now, 8_100)]).await?;
    wait_for_ledger(&app, 1).await?;
    publish(&app, &[entry("acme", "openai", "m", now, 1_500)]).await?;
    wait_for_ledger(&app, 2).await?;
    let (status, quota) = call(
        &app,
        Method::GET,
        "/v1/billing/tenants/acme/quota",
        Some((Role::Viewer, "acme")),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(quota["spent_micros"], 9_600);
    assert_eq!(quota["plan"], "starter");
    let reserve = json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 100 });
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        Some((Role::Service, "acme")),
        Some(reserve.clone()),
    )
    .await?;
    assert_eq!(status, 201, "under the quota, calls go through");

    publish(&app, &[entry("acme", "openai", "m", now, 400)]).await?;
    wait_for_ledger(&app, 3).await?;
    let (status, refused) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        Some((Role::Service, "acme")),
        Some(reserve.clone()),
    )
    .await?;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(refused["code"], "quota_exhausted");
    let detail = refused["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("plan `starter`") && detail.contains("$0.010000"),
        "{detail}"
    );

    let (_, notes) = call(
        &app,
        Method::GET,
        "/v1/billing/tenants/acme/notifications",
        Some((Role::Viewer, "acme")),
        None,
    )
    .await?;
    let mut kinds: Vec<&str> = notes
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["kind"].as_str()).collect())
        .unwrap_or_default();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        vec!["quota_100", "quota_80", "quota_95"],
        "each threshold once"
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM fleet.outbox WHERE stream = 'events' AND envelope->>'kind' = 'billing.notification'",
    )
    .fetch_one(&app.ctx.db)
    .await?;
    assert_eq!(events, 3, "every notification is also an event");

    // Another tenant cannot read acme's standing.
    let (status, _) = call(
        &app,
        Method::GET,
        "/v1/billing/tenants/acme/quota",
        Some((Role::Operator, "globex")),
        None,
    )
    .await?;
    assert_eq!(status, 403);

    // An upgrade applies to the very next request, and publishes the plan's rate limit.
    let (status, upgraded) = call(
        &app,
        Method::PUT,
        "/v1/billing/tenants/acme/plan",
        admin,
        Some(json!({ "plan": "pro" })),
    )
    .await?;
    assert_eq!(status, 200, "{upgraded}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        Some((Role::Service, "acme")),
        Some(reserve),
    )
    .await?;
    assert_eq!(status, 201);
    let mut redis = app.ctx.bus.redis().await?;
    let limit: Option<i64> = redis::AsyncCommands::hget(
        &mut redis,
        shared::rate_limit::limits_key(&app.ctx.bus),
        "acme",
    )
    .await?;
    assert_eq!(limit, Some(100));
    let default: Option<i64> = redis::AsyncCommands::hget(
        &mut redis,
        shared::rate_limit::limits_key(&app.ctx.bus),
        "*",
    )
    .await?;
    assert_eq!(default, Some(50));
    let (status, bad) = call(
        &app,
        Method::PUT,
        "/v1/billing/tenants/acme/plan",
        admin,
        Some(json!({ "plan": "platinum" })),
    )
    .await?;
    assert_eq!((status, bad["field"].as_str()), (422, Some("plan")));
    app.stop().await
}
