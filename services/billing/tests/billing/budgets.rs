//! Budgets and reservations: exact under 200 concurrent reservations, no phantom spend after
//! failures and expiry, idempotent settle and release, an admin raise reopening calls.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use shared::auth::Role;

use crate::support::{call, spawn};

async fn budget_figures(app: &shared::testing::TestApp) -> anyhow::Result<(i64, i64)> {
    let (_, budgets) = call(
        app,
        Method::GET,
        "/v1/billing/budgets",
        Some((Role::Admin, "ops")),
        None,
    )
    .await?;
    let budget = &budgets[0];
    Ok((
        budget["settled_micros"].as_i64().unwrap_or(-1),
        budget["reserved_micros"].as_i64().unwrap_or(-1),
    ))
}

#[tokio::test]
async fn concurrent_reservations_never_overspend_and_leave_no_phantom_spend() -> anyhow::Result<()>
{
    let app = spawn().await?;
    let admin = Some((Role::Admin, "ops"));
    let (status, budget) = call(
        &app,
        Method::PUT,
        "/v1/billing/budgets",
        admin,
        Some(json!({ "scope": "tenant", "subject": "acme", "period": "daily", "limit_micros": 10_050 })),
    )
    .await?;
    assert_eq!(status, 200, "{budget}");

    let token = app.token(Role::Service, "acme");
    let attempts = (0..200).map(|_| {
        let (client, url, token) = (app.client.clone(), app.url("/v1/billing/reservations"), token.clone());
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 100, "ttl_secs": 60 }))
                .send()
                .await?;
            let status = response.status().as_u16();
            let body: Value = response.json().await?;
            anyhow::Ok((status, body))
        }
    });
    let results = futures::future::try_join_all(attempts).await?;
    let granted: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 402)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(granted.len(), 100, "exactly as many as the budget holds");
    assert_eq!(refused.len(), 100);
    assert!(refused.iter().all(|r| r["code"] == "budget_exhausted"
        && r["detail"]
            .as_str()
            .is_some_and(|d| d.contains("daily budget of tenant `acme`"))));
    assert_eq!(budget_figures(&app).await?, (0, 10_000));

    // Settle half of the long leases at their real cost, release the other half as failed calls,
    // and let the short leases expire.
    let (short, long) = granted.split_at(30);
    let short_ids: Vec<uuid::Uuid> = short
        .iter()
        .filter_map(|r| r["id"].as_str().and_then(|id| id.parse().ok()))
        .collect();
    // Their calls hang: the leases run out (as if 60 s had passed).
    sqlx::query("UPDATE billing.reservations SET expires_at = now() - interval '1 second' WHERE id = ANY($1)")
        .bind(&short_ids)
        .execute(&app.ctx.db)
        .await?;
    for (i, reservation) in long.iter().enumerate() {
        let id = reservation["id"].as_str().unwrap_or_default();
        let (path, body) = if i % 2 == 0 {
            (
                format!("/v1/billing/reservations/{id}/settle"),
                Some(json!({ "cost_micros": 80 })),
            )
        } else {
            (format!("/v1/billing/reservations/{id}/release"), None)
        };
        let (status, closed) = call(
            &app,
            Method::POST,
            &path,
            Some((Role::Service, "acme")),
            body.clone(),
        )
        .await?;
        assert_eq!(status, 200, "{closed}");
        // Repeating either is harmless.
        let (again, _) = call(
            &app,
            Method::POST,
            &path,
            Some((Role::Service, "acme")),
            body,
        )
        .await?;
        assert_eq!(again, 200);
    }
    let settled_count = long.len().div_ceil(2) as i64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (settled, reserved) = budget_figures(&app).await?;
        if reserved == 0 {
            assert_eq!(
                settled,
                settled_count * 80,
                "settled spend is the real cost"
            );
            assert!(settled <= 10_050);
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{reserved} still reserved after every lease expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expired: i64 =
        sqlx::query_scalar("SELECT count(*) FROM billing.reservations WHERE state = 'expired'")
            .fetch_one(&app.ctx.db)
            .await?;
    assert_eq!(expired, short.len() as i64);
    app.stop().await
}

#[tokio::test]
async fn settle_is_idempotent_late_costs_count_and_a_raise_reopens_an_exhausted_budget(
) -> anyhow::Result<()> {
    let app = spawn().await?;
    let admin = Some((Role::Admin, "ops"));
    let service = Some((Role::Service, "acme"));
    call(&app, Method::PUT, "/v1/billing/budgets", admin,
        Some(json!({ "scope": "provider", "subject": "openai", "period": "monthly", "limit_micros": 1_000 }))).await?;
    let (_, held) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        service,
        Some(json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 900 })),
    )
    .await?;
    let id = held["id"].as_str().unwrap_or_default().to_owned();
    let (status, refused) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        service,
        Some(json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 200 })),
    )
    .await?;
    assert_eq!(status, 402);
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("monthly budget of provider `openai`")),
        "{refused}"
    );
    // Other providers are not held by it.
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        service,
        Some(json!({ "tenant": "acme", "provider": "anthropic", "estimate_micros": 200 })),
    )
    .await?;
    assert_eq!(status, 201);

    let settle = format!("/v1/billing/reservations/{id}/settle");
    let (status, settled) = call(
        &app,
        Method::POST,
        &settle,
        service,
        Some(json!({ "cost_micros": 950 })),
    )
    .await?;
    assert_eq!((status, settled["state"].as_str()), (200, Some("settled")));
    let (status, same) = call(
        &app,
        Method::POST,
        &settle,
        service,
        Some(json!({ "cost_micros": 950 })),
    )
    .await?;
    assert_eq!((status, same["actual_micros"].as_i64()), (200, Some(950)));
    let (status, conflict) = call(
        &app,
        Method::POST,
        &settle,
        service,
        Some(json!({ "cost_micros": 10 })),
    )
    .await?;
    assert_eq!(
        (status, conflict["code"].as_str()),
        (409, Some("already_settled"))
    );
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/v1/billing/reservations/{id}/release"),
        service,
        None,
    )
    .await?;
    assert_eq!(
        status, 200,
        "releasing a settled reservation changes nothing"
    );
    assert_eq!(budget_figures(&app).await?, (950, 0));

    // Exhausted until an admin raises it.
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        service,
        Some(json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 100 })),
    )
    .await?;
    assert_eq!(status, 402);
    call(&app, Method::PUT, "/v1/billing/budgets", admin,
        Some(json!({ "scope": "provider", "subject": "openai", "period": "monthly", "limit_micros": 5_000 }))).await?;
    let (status, late) = call(&app, Method::POST, "/v1/billing/reservations", service,
        Some(json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 100, "ttl_secs": 1 }))).await?;
    assert_eq!(status, 201);
    // A lease that expired before its call finished still has its real cost counted.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let late_id = late["id"].as_str().unwrap_or_default();
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/v1/billing/reservations/{late_id}/settle"),
        service,
        Some(json!({ "cost_micros": 70 })),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(budget_figures(&app).await?, (1_020, 0));

    // Bad input is refused with the field named; callers need the service role.
    for (body, field) in [
        (
            json!({ "tenant": "acme", "provider": "openai", "estimate_micros": -1 }),
            "estimate_micros",
        ),
        (
            json!({ "tenant": "", "provider": "openai", "estimate_micros": 1 }),
            "tenant",
        ),
        (
            json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 1, "ttl_secs": 999_999 }),
            "ttl_secs",
        ),
    ] {
        let (status, error) = call(
            &app,
            Method::POST,
            "/v1/billing/reservations",
            service,
            Some(body),
        )
        .await?;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{error}"
        );
    }
    let (status, _) = call(
        &app,
        Method::POST,
        "/v1/billing/reservations",
        Some((Role::Operator, "acme")),
        Some(json!({ "tenant": "acme", "provider": "openai", "estimate_micros": 1 })),
    )
    .await?;
    assert_eq!(status, 403);
    let (status, error) = call(
        &app,
        Method::PUT,
        "/v1/billing/budgets",
        admin,
        Some(json!({ "scope": "global", "subject": "x", "period": "daily", "limit_micros": 1 })),
    )
    .await?;
    assert_eq!((status, error["field"].as_str()), (422, Some("subject")));
    app.stop().await
}
